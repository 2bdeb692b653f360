"""ISA/GS/ST envelopes: reading (several interchanges, TA1, control-number and count findings) and writing."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from edi.errors import X12EnvelopeError, X12Error
from edi.issues import X12Issue
from edi.segments import DEFAULT_DELIMITERS, Delimiters, Segment, is_digits, parse_segments


@dataclass
class TransactionSet:
    id: str  # ST01: "837", "835", "999", "277"
    control_number: str  # ST02
    implementation: str  # ST03, or GS08 when ST03 is absent (the 835)
    segments: list[Segment]  # ST..SE inclusive

    @property
    def body(self) -> list[Segment]:
        """Segments between ST and SE."""
        return self.segments[1:-1]


@dataclass
class FunctionalGroup:
    functional_id: str  # GS01
    sender: str  # GS02
    receiver: str  # GS03
    date: str  # GS04 CCYYMMDD
    time: str  # GS05
    control_number: str  # GS06
    version: str  # GS08
    transactions: list[TransactionSet] = field(default_factory=list)


@dataclass
class Interchange:
    delimiters: Delimiters
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    control_number: str  # ISA13
    usage_indicator: str  # ISA15 T/P
    ack_requested: str  # ISA14
    groups: list[FunctionalGroup] = field(default_factory=list)
    version: str = "00501"  # ISA12
    position: int = 1  # segment number of the ISA in its file
    acknowledgments: list[Segment] = field(default_factory=list)  # TA1 segments before the first GS
    findings: list[X12Issue] = field(default_factory=list)  # trailer counts and control numbers that do not match

    def transactions(self) -> list[TransactionSet]:
        return [ts for group in self.groups for ts in group.transactions]


def _env_error(seg: Segment, message: str) -> X12EnvelopeError:
    return X12EnvelopeError(message, position=seg.position, segment_id=seg.tag)


def _finding(seg: Segment, i: int, message: str) -> X12Issue:
    return X12Issue(code="envelope", message=message, position=seg.position, segment_id=seg.tag,
                    element=seg.name(i))


def _count(seg: Segment, i: int, expected: int, what: str) -> list[X12Issue]:
    value = seg.el(i)
    if not is_digits(value):
        return [_finding(seg, i, f"{seg.name(i)} is not a number")]
    if int(value) != expected:
        return [_finding(seg, i, f"{seg.name(i)} says {int(value)} {what}, found {expected}")]
    return []


def _match(seg: Segment, i: int, opener: Segment, j: int) -> list[X12Issue]:
    if seg.el(i) != opener.el(j):
        return [_finding(seg, i, f"{seg.name(i)} does not match {opener.name(j)} of segment {opener.position}")]
    return []


def read_interchanges(text: str) -> list[Interchange]:
    """Parse ``text`` (one or more ISA..IEA interchanges) into envelope trees.

    Raises X12SyntaxError for text that cannot be split into segments and X12EnvelopeError for a
    structure that cannot be read (a segment outside its envelope, an envelope left open); each
    names the segment position. Trailer counts and control numbers that do not match are not
    reasons to read nothing: they come back as ``Interchange.findings`` and the caller decides.
    """
    _, segments = parse_segments(text)
    interchanges: list[Interchange] = []
    start = 0
    for end in range(1, len(segments) + 1):
        if end == len(segments) or (segments[end].tag == "ISA" and segments[end - 1].tag == "IEA"):
            interchanges.append(_read_one(segments[start:end]))
            start = end
    return interchanges


def read_interchange(text: str) -> Interchange:
    """The one interchange of ``text``, envelope findings raised as errors (for our own files,
    where a wrong count means a bug; readers of partners' files use ``read_interchanges``)."""
    interchanges = read_interchanges(text)
    if len(interchanges) > 1:
        second = interchanges[1]
        raise X12EnvelopeError(f"file holds {len(interchanges)} interchanges; use read_interchanges",
                               position=second.position, segment_id="ISA")
    interchange = interchanges[0]
    if interchange.findings:
        first = interchange.findings[0]
        raise X12EnvelopeError(first.message, position=first.position, segment_id=first.segment_id)
    return interchange


def transaction_sets(interchanges: list[Interchange], functional_id: str, set_id: str, name: str,
                     implementation: str | None = None) -> list[TransactionSet]:
    """Every transaction set of ``interchanges``, each checked to be a ``set_id`` (of
    ``implementation`` when given) in a ``functional_id`` group; ``name`` (e.g. "an 835 (GS01 HP,
    ST01 835)") says what was expected when one is not, or when there is none."""
    found: list[TransactionSet] = []
    for group in (g for interchange in interchanges for g in interchange.groups):
        for ts in group.transactions:
            if group.functional_id != functional_id or ts.id != set_id or (
                    implementation is not None and ts.implementation != implementation):
                st = ts.segments[0]
                raise X12EnvelopeError(f"transaction set is not {name}", position=st.position, segment_id=st.tag)
            found.append(ts)
    if not found:
        raise X12EnvelopeError(f"file holds no transaction set: expected {name}", position=1, segment_id="ISA")
    return found


def _read_one(segments: list[Segment]) -> Interchange:
    isa = segments[0]
    if isa.tag != "ISA":
        raise _env_error(isa, "segment outside an interchange (no ISA)")
    if not is_digits(isa.el(13)) or len(isa.el(13)) != 9:
        raise _env_error(isa, "ISA13 must be a 9-digit control number")
    interchange = Interchange(
        delimiters=isa.delimiters,
        sender_qualifier=isa.el(5).strip(),
        sender_id=isa.el(6).strip(),
        receiver_qualifier=isa.el(7).strip(),
        receiver_id=isa.el(8).strip(),
        date=isa.el(9),
        time=isa.el(10),
        control_number=isa.el(13),
        usage_indicator=isa.el(15),
        ack_requested=isa.el(14),
        version=isa.el(12),
        position=isa.position,
    )
    findings = interchange.findings
    group: FunctionalGroup | None = None
    gs: Segment | None = None
    st: Segment | None = None
    current: list[Segment] = []
    iea: Segment | None = None
    for seg in segments[1:]:
        if iea is not None:
            raise _env_error(seg, "segment after IEA")
        tag = seg.tag
        if tag == "ISA":
            raise _env_error(seg, "ISA inside an open interchange")
        if st is not None:
            current.append(seg)
            if tag == "SE":
                findings += _match(seg, 2, st, 2) + _count(seg, 1, len(current), "segments")
                assert group is not None
                group.transactions.append(TransactionSet(st.el(1), st.el(2), st.el(3) or group.version, current))
                st, current = None, []
            elif tag in {"ST", "GS", "GE", "IEA"}:
                raise _env_error(seg, f"{tag} before SE closed the transaction set of segment {st.position}")
            continue
        if tag == "ST":
            if group is None:
                raise _env_error(seg, "ST outside a functional group (no GS)")
            if not seg.el(1) or not seg.el(2):
                raise _env_error(seg, "ST01 and ST02 are required")
            st, current = seg, [seg]
        elif tag == "GS":
            if group is not None:
                raise _env_error(seg, "GS before GE closed the group")
            if not is_digits(seg.el(6)):
                raise _env_error(seg, "GS06 must be a numeric control number")
            gs = seg
            group = FunctionalGroup(seg.el(1), seg.el(2), seg.el(3), seg.el(4), seg.el(5), seg.el(6), seg.el(8))
        elif tag == "GE":
            if group is None or gs is None:
                raise _env_error(seg, "GE without GS")
            findings += _match(seg, 2, gs, 6) + _count(seg, 1, len(group.transactions), "transaction sets")
            interchange.groups.append(group)
            group, gs = None, None
        elif tag == "IEA":
            if group is not None and gs is not None:
                raise _env_error(seg, f"IEA before GE closed the group of segment {gs.position}")
            findings += _match(seg, 2, isa, 13) + _count(seg, 1, len(interchange.groups), "functional groups")
            iea = seg
        elif tag == "TA1" and group is None and not interchange.groups:
            # An interchange acknowledgment sits between ISA and the first GS (X12.56).
            interchange.acknowledgments.append(seg)
        else:
            where = "outside a transaction set (no ST)" if group is not None else "outside a functional group"
            raise _env_error(seg, f"segment {where}")
    last = segments[-1]
    if st is not None:
        raise _env_error(last, f"file ends inside the transaction set opened at segment {st.position} (no SE)")
    if gs is not None:
        raise _env_error(last, f"file ends inside the functional group opened at segment {gs.position} (no GE)")
    if iea is None:
        raise _env_error(last, "file ends without IEA")
    return interchange


# --- writing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Repeats:
    """A written element that repeats (EB03 service types): joined with the repetition separator."""

    values: tuple[str, ...]


Element = str | Sequence[str] | Repeats
"""A written element: a plain string, a sequence of components joined with the component
separator, or ``Repeats``. Trailing empty components and trailing empty elements are dropped."""

SegmentSpec = Sequence[Element]
"""A written segment: ``[tag, XX01, XX02, ...]``."""


@dataclass(frozen=True)
class EnvelopeParams:
    sender_id: str
    receiver_id: str
    interchange_control_number: int
    group_control_number: int
    created: datetime
    usage_indicator: str = "T"
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    ack_requested: str = "0"
    delimiters: Delimiters = DEFAULT_DELIMITERS


_EXTENDED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"&'()*+,-./:;?= %~@[]_{}\\|<>^`#$"
)
"""The X12 5010 extended character set; anything else is not transmissible."""


def sanitize_text(value: str, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Make free text (names, addresses) safe to write, deterministically.

    X12 has no escape mechanism, so: accents are dropped (NFKD, ``Zoë`` -> ``Zoe``), every
    delimiter character and every character outside the X12 extended set becomes a space,
    and runs of spaces collapse to one. Use it for free text only: identifiers and codes are
    refused by the writer instead, because silently changing them breaks matching.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    bad = delimiters.chars()
    kept = (c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if (c in _EXTENDED and c not in bad) else " " for c in kept)
    return " ".join(cleaned.split())


class SegmentWriter:
    """Joins segment specs into text, refusing values that contain a delimiter."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.d = delimiters
        self._bad = delimiters.chars()

    def _check(self, value: str, tag: str, index: int, position: int) -> str:
        for c in value:
            if c in self._bad or ord(c) < 0x20 or ord(c) == 0x7F:
                raise X12Error(
                    f"{tag}{index:02d} contains a delimiter or control character",
                    position=position,
                    segment_id=tag,
                )
        return value

    def join(self, spec: SegmentSpec, position: int) -> str:
        tag = str(spec[0])
        out: list[str] = [tag]
        for index, element in enumerate(spec[1:], start=1):
            if isinstance(element, str):
                out.append(self._check(element, tag, index, position))
            elif isinstance(element, Repeats):
                if len(element.values) > 1 and not self.d.repetition:
                    raise X12Error(f"{tag}{index:02d} repeats but ISA11 has no repetition separator",
                                   position=position, segment_id=tag)
                out.append(self.d.repetition.join(self._check(v, tag, index, position) for v in element.values))
            else:
                comps = [self._check(c, tag, index, position) for c in element]
                while comps and comps[-1] == "":
                    comps.pop()
                out.append(self.d.component.join(comps))
        while len(out) > 1 and out[-1] == "":
            out.pop()
        return self.d.element.join(out)


def _isa_field(value: str, width: int, what: str) -> str:
    if len(value) > width:
        raise X12Error(f"{what} is longer than {width} characters", segment_id="ISA", position=1)
    return value.ljust(width)


def _control(value: int, what: str) -> None:
    if not 0 < value <= 999_999_999:
        raise X12Error(f"{what} must be between 1 and 999999999")


def isa_segment(params: EnvelopeParams) -> str:
    """The ISA of an interchange, without its terminator (fixed width, delimiters from ``params``)."""
    _control(params.interchange_control_number, "interchange control number")
    if params.usage_indicator not in {"T", "P"}:
        raise X12Error("usage indicator must be T or P", segment_id="ISA", position=1)
    d = params.delimiters
    created = params.created
    return d.element.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            _isa_field(params.sender_qualifier, 2, "sender qualifier"),
            _isa_field(params.sender_id, 15, "sender id"),
            _isa_field(params.receiver_qualifier, 2, "receiver qualifier"),
            _isa_field(params.receiver_id, 15, "receiver id"),
            created.strftime("%y%m%d"),
            created.strftime("%H%M"),
            d.repetition,
            "00501",
            f"{params.interchange_control_number:09d}",
            params.ack_requested,
            params.usage_indicator,
            d.component,
        ]
    )


def write_interchange(
    params: EnvelopeParams,
    functional_id: str,
    implementation: str,
    transactions: Sequence[Sequence[SegmentSpec]],
    *,
    st03: bool = True,
    first_st_control: int = 1,
    line_breaks: bool = False,
) -> str:
    """Wrap transaction bodies (segments between ST and SE) in ST/SE, one GS/GE and ISA/IEA.

    ``transactions[k]`` lists the segments of one transaction set without ST and SE; each
    segment is ``[tag, XX01, ...]`` where an element is a string or a sequence of components.
    The ST01 transaction id is taken from ``implementation`` (``005010X222A1`` -> ``837``) by
    the caller through ``functional_id``; see ``TRANSACTION_IDS``.
    """
    _control(params.group_control_number, "group control number")
    if functional_id not in TRANSACTION_IDS:
        raise X12Error(f"unknown functional identifier code {functional_id}")
    for value, what in ((params.sender_id, "sender id"), (params.receiver_id, "receiver id")):
        if not 2 <= len(value.strip()) <= 15:  # GS02/GS03 are 2-15 characters
            raise X12Error(f"{what} must be 2 to 15 characters")
    d = params.delimiters
    writer = SegmentWriter(d)
    created = params.created
    icn = f"{params.interchange_control_number:09d}"
    gcn = str(params.group_control_number)
    isa = isa_segment(params)
    lines = [isa]
    specs: list[SegmentSpec] = [
        [
            "GS",
            functional_id,
            params.sender_id,
            params.receiver_id,
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            gcn,
            "X",
            implementation,
        ],
    ]
    st_id = TRANSACTION_IDS[functional_id]
    for offset, body in enumerate(transactions):
        control = f"{first_st_control + offset:04d}"
        specs.append(["ST", st_id, control, implementation if st03 else ""])
        specs.extend(body)
        specs.append(["SE", str(len(body) + 2), control])
    specs.append(["GE", str(len(transactions)), gcn])
    specs.append(["IEA", "1", icn])
    lines.extend(writer.join(spec, position) for position, spec in enumerate(specs, start=2))
    terminator = d.segment + ("\n" if line_breaks and d.segment != "\n" else "")
    return terminator.join(lines) + terminator


TRANSACTION_IDS: dict[str, str] = {"HC": "837", "HP": "835", "FA": "999", "HN": "277", "HS": "270", "HB": "271"}
"""GS01 functional identifier code -> ST01 transaction set id."""
