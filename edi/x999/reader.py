"""The X12 999 reader: ``read_999`` / ``read_999_all`` turn a file into ``Ack999`` values.

IK404 (a copy of the bad element) is read past and never kept: it may be PHI.
"""

from __future__ import annotations

from edi.envelope import read_interchanges, transaction_sets
from edi.segments import is_digits
from edi.x12 import Segment, TransactionSet, X12EnvelopeError
from edi.x12values import Cursor, element_error, optional_int, parse_enum, required, required_int
from edi.x999.model import (
    FUNCTIONAL_ID,
    Ack999,
    AckCode,
    ElementError,
    GroupAckCode,
    SegmentError,
    TransactionSetAck,
)


def read_999_all(text: str) -> tuple[Ack999, ...]:
    """Every ST 999 of a file (a sender may acknowledge several groups, in one interchange or
    several); trailer counts that do not match are the envelope's findings, not errors here."""
    sets = transaction_sets(read_interchanges(text), FUNCTIONAL_ID, "999", "a 999 (GS01 FA, ST01 999)")
    return tuple(read_transaction_set(ts) for ts in sets)


def read_999(text: str) -> Ack999:
    """The single 999 of a file; a file with several raises (use ``read_999_all``)."""
    acks = read_999_all(text)
    if len(acks) > 1:
        raise X12EnvelopeError(f"file holds {len(acks)} 999 transaction sets; use read_999_all")
    return acks[0]


def read_transaction_set(ts: TransactionSet) -> Ack999:
    cur = Cursor(ts.segments[1:-1], ts.segments[-1])
    ak1 = cur.expect("AK1", what="functional group response header")
    sets: list[TransactionSetAck] = []
    while cur.at("AK2"):
        sets.append(_read_set(cur))
    ak9 = cur.expect("AK9", what="functional group response trailer")
    if cur.peek() is not None:
        raise cur.unexpected("the 999 after AK9")
    accepted = required_int(ak9, 4)
    received = required_int(ak9, 3)
    if accepted > received:
        raise element_error(ak9, 4, "counts more accepted than received transaction sets")
    return Ack999(
        functional_id=required(ak1, 1),
        group_control_number=required(ak1, 2),
        version=ak1.el(3),
        transaction_sets=tuple(sets),
        group_code=parse_enum(ak9, 1, GroupAckCode, "valid functional group acknowledge code"),
        included_count=required_int(ak9, 2),
        received_count=received,
        accepted_count=accepted,
        group_error_codes=tuple(ak9.el(i) for i in range(5, 10) if ak9.el(i)),
        control_number=ts.control_number,
    )


def _read_set(cur: Cursor) -> TransactionSetAck:
    ak2 = cur.next()
    errors: list[SegmentError] = []
    while cur.at("IK3"):
        errors.append(_read_segment_error(cur))
    ik5 = cur.expect("IK5", what="transaction set response trailer")
    return TransactionSetAck(
        set_id=required(ak2, 1),
        control_number=required(ak2, 2),
        implementation=ak2.el(3),
        code=parse_enum(ik5, 1, AckCode, "valid transaction set acknowledgment code"),
        syntax_error_codes=tuple(ik5.el(i) for i in range(2, 7) if ik5.el(i)),
        segment_errors=tuple(errors),
    )


def _business_unit(seg: Segment) -> tuple[str, str] | None:
    name = seg.comp(1, 1)
    if name == "SITUATIONAL TRIGGER":
        return None  # points at the segment that made this one required; not kept
    if not name or not seg.comp(1, 2):
        raise element_error(seg, 1, "needs a context name and reference")
    return name, seg.comp(1, 2)


def _read_segment_error(cur: Cursor) -> SegmentError:
    ik3 = cur.next()
    business_unit: tuple[str, str] | None = None
    while (ctx := cur.take("CTX")) is not None:
        business_unit = _business_unit(ctx) or business_unit
    elements: list[ElementError] = []
    while cur.at("IK4"):
        ik4 = cur.next()
        while cur.take("CTX") is not None:
            pass  # element context (situational trigger) is not kept
        elements.append(_read_element_error(ik4))
    return SegmentError(
        segment_id=required(ik3, 1),
        position=required_int(ik3, 2),
        loop_id=ik3.el(3),
        code=ik3.el(4),
        business_unit=business_unit,
        element_errors=tuple(elements),
    )


def _read_element_error(ik4: Segment) -> ElementError:
    parts = ik4.comps(1)
    if not parts or not is_digits(parts[0]):
        raise element_error(ik4, 1, "needs a numeric element position")
    for part in parts[1:3]:
        if part and not is_digits(part):
            raise element_error(ik4, 1, "has a non-numeric component or repetition position")
    component = int(parts[1]) if len(parts) > 1 and parts[1] else None
    repetition = int(parts[2]) if len(parts) > 2 and parts[2] else None
    # Validate IK402 as a number without keeping IK404.
    reference = ik4.el(2)
    if reference:
        optional_int(ik4, 2)
    return ElementError(position=int(parts[0]), component=component, repetition=repetition,
                        reference_number=reference, code=required(ik4, 3))
