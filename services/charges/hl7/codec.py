"""HL7 v2 text: the tokenizer, escaping, the MSH header and the errors that locate a problem.

The message is tokenized here rather than with python-hl7's containers: those change shape
with the content (a field without components is a plain string, with components a nested
list), which makes every access a type check; a uniform field -> repetition -> component ->
subcomponent split is total on any input, so hostile text can only end in Hl7MappingError.

Errors never echo message content (it may be PHI): they name the segment, its occurrence
and the field, and carry an HL7 table 0357 code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from schemas.envelope import is_safe_token

__all__ = [
    "ErrorCode",
    "Hl7Error",
    "Hl7Header",
    "Hl7Location",
    "Hl7MappingError",
    "Segment",
    "escape",
    "pick",
    "read_header",
    "tokenize",
]

ErrorCode = Literal["100", "101", "102", "103", "200", "207"]

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
MAX_FIELD_PARTS = 500
"""Repetition, component and subcomponent separators one field may hold. Real fields hold a
few dozen at most; a 1 MB frame of "~" in one field took the mapping 8 to 12 s of the event
loop (every lookup splits the whole field), so such a field is refused (AE) before mapping."""


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Hl7Location:
    """ERR-2 (ERL): segment id, its occurrence in the message (1-based), field number."""

    segment: str
    sequence: int
    field: int | None = None

    def __str__(self) -> str:
        return f"{self.segment}-{self.field}" if self.field is not None else self.segment


class Hl7MappingError(Exception):
    """The message cannot be mapped. `message` names locations only, never values."""

    def __init__(
        self,
        segment: str,
        sequence: int,
        field: int | None,
        code: ErrorCode,
        message: str,
        *,
        reject: bool = False,
    ) -> None:
        super().__init__(message)
        self.segment = segment
        self.sequence = sequence
        self.field = field
        self.code: ErrorCode = code
        self.message = message
        # AR rather than AE: the envelope itself is unusable (header, type, structure).
        self.reject = reject or code == "200"

    @property
    def location(self) -> Hl7Location:
        return Hl7Location(self.segment, self.sequence, self.field)

    def as_error(self) -> Hl7Error:
        return Hl7Error(self.location, self.code, self.message)


@dataclass(frozen=True)
class Hl7Error:
    """One ERR segment's worth: location, table 0357 code, safe text, and optionally the
    contract's error type and field path (both schema names, never values)."""

    location: Hl7Location | None
    code: ErrorCode
    message: str
    application_code: str | None = None
    diagnostic: str | None = None


# --------------------------------------------------------------------------- tokenizer


@dataclass(frozen=True)
class _Separators:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @property
    def inner(self) -> tuple[str, str, str]:
        """The separators inside a field."""
        return self.repetition, self.component, self.subcomponent


_DEFAULT_SEPARATORS = _Separators("|", "^", "~", "\\", "&")


@dataclass(frozen=True)
class Segment:
    name: str
    sequence: int
    fields: tuple[str, ...]
    """Raw field text; index n is field n (index 0 is the segment id; for MSH, 1 is MSH-1)."""
    seps: _Separators

    def repetitions(self, n: int) -> list[list[list[str]]]:
        """Field n as repetitions -> components -> subcomponents, unescaped and stripped."""
        raw = self.fields[n] if 0 < n < len(self.fields) else ""
        if not raw:
            return []
        s = self.seps
        return [
            [[_unescape(sub, s).strip() for sub in comp.split(s.subcomponent)] for comp in rep.split(s.component)]
            for rep in raw.split(s.repetition)
        ]

    def value(self, n: int, component: int = 1, sub: int = 1, rep: int = 1) -> str | None:
        reps = self.repetitions(n)
        return pick(reps[rep - 1] if rep <= len(reps) else [], component, sub)


def pick(rep: list[list[str]], component: int = 1, sub: int = 1) -> str | None:
    """One leaf of a repetition; empty and the HL7 null ("") both read as absent."""
    if component > len(rep) or sub > len(rep[component - 1]):
        return None
    text = rep[component - 1][sub - 1]
    return None if text in ("", '""') else text


_ESCAPE_HEX = re.compile(r"^X([0-9A-Fa-f]{2})+$")


def _unescape(text: str, seps: _Separators) -> str:
    if seps.escape not in text:
        return text
    parts = text.split(seps.escape)
    # Escape sequences sit between pairs of escape characters: odd-numbered parts.
    if len(parts) % 2 == 0:
        return text  # an unpaired escape character: keep the text as sent
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(part)
            continue
        mapped = {
            "F": seps.field,
            "S": seps.component,
            "R": seps.repetition,
            "E": seps.escape,
            "T": seps.subcomponent,
        }.get(part)
        if mapped is not None:
            out.append(mapped)
        elif _ESCAPE_HEX.fullmatch(part):
            out.append(bytes.fromhex(part[1:]).decode("latin-1"))
        elif part in ("H", "N") or part.startswith("."):
            continue  # highlighting and formatting commands carry no data
        else:
            out.append(f"{seps.escape}{part}{seps.escape}")
    return "".join(out)


def escape(text: str, seps: _Separators = _DEFAULT_SEPARATORS) -> str:
    # Segment terminators inside a value would split the ACK; NUL then marks escapes below.
    out = re.sub(r"[\x00-\x1f\x7f]", " ", text).replace(seps.escape, "\x00E")
    for char, code in ((seps.field, "F"), (seps.component, "S"), (seps.repetition, "R"), (seps.subcomponent, "T")):
        out = out.replace(char, f"\x00{code}")
    return re.sub(r"\x00([EFSRT])", lambda m: f"{seps.escape}{m.group(1)}{seps.escape}", out)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


def _separators(msh: str) -> _Separators:
    if len(msh) < 8 or not msh.startswith("MSH"):
        raise Hl7MappingError("MSH", 1, 2, "102", "MSH-1 and MSH-2 must carry the separators", reject=True)
    field_sep = msh[3]
    encoding = msh[4:].split(field_sep, 1)[0]
    chars = [field_sep, *encoding[:4]]
    if len(encoding) not in (4, 5) or len(set(chars)) != len(chars) or any(c.isalnum() or c.isspace() for c in chars):
        raise Hl7MappingError("MSH", 1, 2, "102", "MSH-2 must hold 4 distinct encoding characters", reject=True)
    return _Separators(field_sep, encoding[0], encoding[1], encoding[2], encoding[3])


def tokenize(text: str) -> list[Segment]:
    lines = _lines(text)
    if not lines or not lines[0].startswith("MSH"):
        raise Hl7MappingError("MSH", 1, None, "100", "the message must start with an MSH segment", reject=True)
    seps = _separators(lines[0])
    counts: dict[str, int] = {}
    segments: list[Segment] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split(seps.field)
        name = parts[0]
        if not _SEGMENT_ID.fullmatch(name):
            raise Hl7MappingError(
                "UNK", number, None, "100", f"line {number} does not start with a segment id", reject=True
            )
        if name == "MSH" and number > 1:
            raise Hl7MappingError("MSH", 2, None, "100", "one message per frame: a second MSH segment", reject=True)
        counts[name] = counts.get(name, 0) + 1
        fields = (name, seps.field, *parts[1:]) if name == "MSH" else tuple(parts)
        for n, raw in enumerate(fields[1:], start=1):
            if len(raw) > MAX_FIELD_PARTS and sum(raw.count(c) for c in seps.inner) > MAX_FIELD_PARTS:
                raise Hl7MappingError(
                    name, counts[name], n, "102",
                    f"{name}-{n} holds more than {MAX_FIELD_PARTS} repetitions, components and subcomponents",
                )
        segments.append(Segment(name, counts[name], fields, seps))
    return segments


# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class Hl7Header:
    """What an ACK echoes. Empty strings when the header cannot be read."""

    control_id: str = ""
    sending_application: str = ""
    sending_facility: str = ""
    processing_id: str = ""
    version: str = ""
    message_type: str = ""
    trigger_event: str = ""


def _id_or_empty(value: str | None) -> str:
    return value if value is not None and is_safe_token(value) else ""


def read_header(text: str) -> Hl7Header | None:
    """The MSH of a message, or None when not even that can be read. Never raises."""
    try:
        lines = _lines(text)
        if not lines:
            return None
        seps = _separators(lines[0])
    except Hl7MappingError:
        return None
    parts = lines[0].split(seps.field)
    msh = Segment("MSH", 1, ("MSH", seps.field, *parts[1:]), seps)
    return Hl7Header(
        # An ACK echoes these to the sender only, yet a value that is not an id is not echoed
        # at all: the mapping refuses it (AR), and the ACK then carries the fields empty.
        control_id=_id_or_empty(msh.value(10)),
        sending_application=_id_or_empty(msh.value(3)),
        sending_facility=_id_or_empty(msh.value(4)),
        processing_id=msh.value(11) or "",
        version=msh.value(12) or "",
        message_type=msh.value(9) or "",
        trigger_event=msh.value(9, 2) or "",
    )
