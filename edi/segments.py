"""Delimiters and segment splitting: the lowest layer of the X12 reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from edi.errors import X12SyntaxError

_BOM = "\ufeff"
ISA_LENGTH = 106  # fixed width of the ISA segment including its terminator
_ISA_ELEMENTS = 16
_TAG_RE = re.compile(r"[A-Z][A-Z0-9]{1,2}")


def is_digits(text: str) -> bool:
    """ASCII digits only, at least one. str.isdigit() alone also takes superscripts such as '\u00b9',
    which int() then refuses with a bare ValueError, and other scripts' digits, which are no
    X12 number."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def chars(self) -> frozenset[str]:
        return frozenset(c for c in (self.element, self.repetition, self.component, self.segment) if c)


DEFAULT_DELIMITERS = Delimiters()


@dataclass(frozen=True)
class Segment:
    """One segment; ``elements[0]`` is XX01, so X12 numbering maps to ``el(i)``."""

    tag: str
    elements: tuple[str, ...]
    position: int  # 1-based number of the segment in the interchange (ISA = 1)
    delimiters: Delimiters = field(default=DEFAULT_DELIMITERS, compare=False, repr=False)

    def el(self, i: int) -> str:
        """Element ``i`` in X12 numbering (``el(1)`` is XX01); '' when absent."""
        return self.elements[i - 1] if 0 < i <= len(self.elements) else ""

    def comp(self, i: int, j: int) -> str:
        """Component ``j`` (1-based) of element ``i``; '' when absent."""
        value = self.el(i)
        if not value:
            return ""
        parts = value.split(self.delimiters.component)
        return parts[j - 1] if 0 < j <= len(parts) else ""

    def comps(self, i: int) -> list[str]:
        value = self.el(i)
        return value.split(self.delimiters.component) if value else []

    def reps(self, i: int) -> list[str]:
        """Repetitions of element ``i``; [] when the element is empty."""
        value = self.el(i)
        if not value:
            return []
        if not self.delimiters.repetition:
            return [value]
        return value.split(self.delimiters.repetition)

    def name(self, i: int) -> str:
        """X12 reference of element ``i`` (``CLP04``), for error messages."""
        return f"{self.tag}{i:02d}"


def read_delimiters(text: str, position: int = 1) -> Delimiters:
    """Read the delimiters from the ISA segment at the start of ``text``.

    The element separator is the 4th character; ISA11 is the repetition separator, ISA16 the
    component separator and the character right after ISA16 the segment terminator. The ISA
    is located by counting element separators rather than fixed offsets, so a non-padded ISA
    from a sloppy sender still reads; the fixed width is checked by the validator, not here.
    """
    text = text.removeprefix(_BOM)
    start = len(text) - len(text.lstrip())
    if not text[start : start + 3] == "ISA":
        raise X12SyntaxError("text does not start with an ISA segment", position=position)
    if len(text) - start < 4:
        raise X12SyntaxError("truncated ISA segment", position=position, segment_id="ISA")
    element = text[start + 3]
    if element.isalnum() or element.isspace():
        raise X12SyntaxError("invalid element separator in ISA", position=position, segment_id="ISA")
    idx = start + 3
    for _ in range(_ISA_ELEMENTS - 1):
        idx = text.find(element, idx + 1)
        if idx < 0:
            raise X12SyntaxError("truncated ISA segment", position=position, segment_id="ISA")
    # idx is the separator before ISA16; ISA16 is one character, the terminator follows.
    if idx + 2 >= len(text):
        raise X12SyntaxError("truncated ISA segment", position=position, segment_id="ISA")
    component = text[idx + 1]
    segment = text[idx + 2]
    isa11 = text[start:idx].split(element)[11]
    # 4010 put a standards id ('U') in ISA11; only punctuation is a real repetition separator.
    repetition = isa11 if len(isa11) == 1 and not isa11.isalnum() and not isa11.isspace() else ""
    if component.isalnum() or segment.isalnum() or len({element, component, segment}) < 3:
        raise X12SyntaxError(
            "invalid component separator or segment terminator in ISA", position=position, segment_id="ISA"
        )
    if repetition in {element, component, segment}:
        raise X12SyntaxError(
            "ISA11 repetition separator clashes with another delimiter", position=position, segment_id="ISA"
        )
    return Delimiters(element=element, repetition=repetition, component=component, segment=segment)


def parse_segments(text: str) -> tuple[Delimiters, list[Segment]]:
    """Split ``text`` (one interchange or several in a row) into segments.

    Each ISA sets the delimiters of the segments up to its IEA, so interchanges from different
    senders can be concatenated. A UTF-8 byte-order mark, CR/LF after terminators and blank text
    between interchanges are tolerated. Returns the first ISA's delimiters and every segment,
    numbered from 1 across the whole file.
    """
    text = text.removeprefix(_BOM)
    first = delimiters = read_delimiters(text)
    segments: list[Segment] = []
    start: int | None = 0
    while start is not None:
        if start:
            delimiters = read_delimiters(text[start:], position=len(segments) + 1)
        start = _split(text, start, delimiters, segments)
    return first, segments


def _split(text: str, start: int, delimiters: Delimiters, segments: list[Segment]) -> int | None:
    """Append the segments of ``text[start:]``; stop at an ISA (after an IEA) that says other
    delimiters and return where it starts. One ``str.split`` keeps the common case fast."""
    terminator = delimiters.segment
    pieces = text[start:].split(terminator)
    offset = start
    for n, raw in enumerate(pieces):
        here, offset = offset, offset + len(raw) + 1
        piece = raw.strip("\r\n").lstrip()
        if not piece.strip():
            continue
        position = len(segments) + 1
        if piece.startswith("ISA") and segments and segments[-1].tag == "IEA":
            isa_start = here + len(raw) - len(raw.lstrip())
            if read_delimiters(text[isa_start:], position=position) != delimiters:
                return isa_start
        if n == len(pieces) - 1 and not terminator.isspace():
            # The last segment lacks its terminator: the file was cut off mid-segment.
            raise X12SyntaxError("file is truncated: last segment has no terminator", position=position)
        parts = piece.split(delimiters.element)
        tag = parts[0]
        if not _TAG_RE.fullmatch(tag):
            raise X12SyntaxError("invalid segment identifier", position=position)
        if tag == "ISA" and len(parts) - 1 != _ISA_ELEMENTS:
            raise X12SyntaxError(f"ISA has {len(parts) - 1} elements, expected 16", position=position, segment_id="ISA")
        segments.append(Segment(tag, tuple(parts[1:]), position, delimiters))
    return None
