"""The TA1 reader: every interchange acknowledgment of a file, alone or before functional groups."""

from __future__ import annotations

from edi.envelope import Interchange, read_interchanges
from edi.errors import X12EnvelopeError
from edi.segments import Segment, is_digits
from edi.ta1.model import NOTE_TEXT, InterchangeAck, InterchangeAckCode
from edi.x12values import element_error, parse_enum


def read_ta1(text: str) -> tuple[InterchangeAck, ...]:
    """The TA1 segments of every interchange in ``text``; raises when there is none."""
    acks = tuple(ack for interchange in read_interchanges(text) for ack in interchange_acks(interchange))
    if not acks:
        raise X12EnvelopeError("file holds no TA1 interchange acknowledgment", position=1, segment_id="ISA")
    return acks


def interchange_acks(interchange: Interchange) -> list[InterchangeAck]:
    """The TA1 segments the envelope reader set aside for ``interchange``."""
    return [read_segment(seg) for seg in interchange.acknowledgments]


def read_segment(seg: Segment) -> InterchangeAck:
    control = seg.el(1)
    if not (is_digits(control) and len(control) <= 9):
        # Some senders drop ISA13's leading zeros here ("101"); the number is what matches.
        raise element_error(seg, 1, "must be the ISA13 control number of the acknowledged interchange")
    note = seg.el(5)
    if note not in NOTE_TEXT:
        raise element_error(seg, 5, "is not an interchange note code (000-031)")
    return InterchangeAck(
        control_number=control,
        date=seg.el(2),
        time=seg.el(3),
        code=parse_enum(seg, 4, InterchangeAckCode, "valid interchange acknowledgment code (A, E, R)"),
        note_code=note,
        position=seg.position,
    )
