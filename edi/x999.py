"""X12 999 (005010X231A1) implementation acknowledgment: model, reader, writer, builder, JSON.

A 999 answers one functional group: AK1 names it, one AK2..IK5 loop per transaction set says
whether that set was accepted (IK501 A or E) or rejected (M, R, W, X) and why (IK3 segment
errors, IK4 element errors), and AK9 sums up the group. A rejected transaction set rejects
every claim in it.

IK404 (a copy of the bad element) is read past and never kept or written: it may be PHI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edi.x12 import (
    EnvelopeParams,
    FunctionalGroup,
    Interchange,
    Segment,
    SegmentSpec,
    TransactionSet,
    X12EnvelopeError,
    read_interchange,
    write_interchange,
)
from edi.x12values import (
    Cursor,
    element_error,
    optional_int,
    parse_enum,
    required,
    required_int,
)

IMPLEMENTATION = "005010X231A1"
FUNCTIONAL_ID = "FA"


class AckCode(StrEnum):
    """IK501."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED_MESSAGE_AUTHENTICATION = "M"
    REJECTED = "R"
    REJECTED_ASSURANCE = "W"
    REJECTED_CONTENT_AFTER_DECRYPTION = "X"

    @property
    def accepted(self) -> bool:
        return self in (AckCode.ACCEPTED, AckCode.ACCEPTED_WITH_ERRORS)


class GroupAckCode(StrEnum):
    """AK901."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED_MESSAGE_AUTHENTICATION = "M"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"
    REJECTED_ASSURANCE = "W"
    REJECTED_CONTENT_AFTER_DECRYPTION = "X"


@dataclass(frozen=True, kw_only=True)
class ElementError:
    """IK4. The bad value itself (IK404) is deliberately not part of the model."""

    position: int  # IK401-1: element position in the segment
    component: int | None = None  # IK401-2
    repetition: int | None = None  # IK401-3
    reference_number: str = ""  # IK402: data element dictionary number
    code: str  # IK403: 1 mandatory missing, 7 invalid code value, I12 pattern mismatch, ...


@dataclass(frozen=True, kw_only=True)
class SegmentError:
    """IK3 with its element errors. ``business_unit`` is the CTX that ties the error to a
    business object, e.g. ("CLM01", patient control number), so one claim can be singled out."""

    segment_id: str  # IK301
    position: int  # IK302: position in the transaction set, ST = 1
    loop_id: str = ""  # IK303
    code: str = ""  # IK304: 3 mandatory segment missing, 8 segment has data element errors, ...
    business_unit: tuple[str, str] | None = None
    element_errors: tuple[ElementError, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TransactionSetAck:
    """One AK2..IK5 loop."""

    set_id: str  # AK201: "837"
    control_number: str  # AK202: the acknowledged ST02
    implementation: str = ""  # AK203
    code: AckCode  # IK501
    syntax_error_codes: tuple[str, ...] = ()  # IK502-IK506
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code.accepted


@dataclass(frozen=True, kw_only=True)
class Ack999:
    """One ST 999: the acknowledgment of one functional group."""

    functional_id: str  # AK101: HC for an 837
    group_control_number: str  # AK102: the acknowledged GS06
    version: str = ""  # AK103: the acknowledged GS08
    transaction_sets: tuple[TransactionSetAck, ...] = ()
    group_code: GroupAckCode  # AK901
    included_count: int  # AK902
    received_count: int  # AK903
    accepted_count: int  # AK904
    group_error_codes: tuple[str, ...] = ()  # AK905-AK909
    control_number: str = field(default="", compare=False)  # ST02 of the 999 itself

    @property
    def accepted_control_numbers(self) -> tuple[str, ...]:
        return tuple(t.control_number for t in self.transaction_sets if t.accepted)

    @property
    def rejected_control_numbers(self) -> tuple[str, ...]:
        return tuple(t.control_number for t in self.transaction_sets if not t.accepted)


# --- reading --------------------------------------------------------------------------------


def read_999_all(text: str) -> tuple[Ack999, ...]:
    """Every ST 999 of a file (a sender may acknowledge several groups in one interchange)."""
    interchange = read_interchange(text)
    acks: list[Ack999] = []
    for group in interchange.groups:
        for ts in group.transactions:
            if group.functional_id != FUNCTIONAL_ID or ts.id != "999":
                st = ts.segments[0]
                raise X12EnvelopeError("transaction set is not a 999 (GS01 FA, ST01 999)",
                                       position=st.position, segment_id=st.tag)
            acks.append(read_transaction_set(ts))
    if not acks:
        raise X12EnvelopeError("file holds no 999 transaction set", position=1, segment_id="ISA")
    return tuple(acks)


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
    if not parts or not parts[0].isdigit():
        raise element_error(ik4, 1, "needs a numeric element position")
    for part in parts[1:3]:
        if part and not part.isdigit():
            raise element_error(ik4, 1, "has a non-numeric component or repetition position")
    component = int(parts[1]) if len(parts) > 1 and parts[1] else None
    repetition = int(parts[2]) if len(parts) > 2 and parts[2] else None
    # Validate IK402 as a number without keeping IK404.
    reference = ik4.el(2)
    if reference:
        optional_int(ik4, 2)
    return ElementError(position=int(parts[0]), component=component, repetition=repetition,
                        reference_number=reference, code=required(ik4, 3))


# --- building and writing -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransactionFinding:
    """What the acknowledging side found in one transaction set (keyed by its ST02)."""

    segment_errors: tuple[SegmentError, ...] = ()
    reject: bool = True  # False: accepted with errors (IK501 E)
    # IK502-IK506; defaults to 5 (one or more segments in error) when segment errors are given.
    syntax_error_codes: tuple[str, ...] = ()


def acknowledge(group: FunctionalGroup, findings: Mapping[str, TransactionFinding] | None = None) -> Ack999:
    """Build the 999 for a received functional group (e.g. an 837 batch).

    Transaction sets without a finding are accepted (IK501 A); AK9 is derived: A when all are
    accepted, E when all are accepted but some with errors, P when some are rejected, R when
    all are.
    """
    findings = findings or {}
    unknown = set(findings) - {ts.control_number for ts in group.transactions}
    if unknown:
        raise ValueError(f"findings name {len(unknown)} transaction set(s) not in the group")
    sets: list[TransactionSetAck] = []
    for ts in group.transactions:
        finding = findings.get(ts.control_number)
        if finding is None:
            sets.append(TransactionSetAck(set_id=ts.id, control_number=ts.control_number,
                                          implementation=ts.implementation, code=AckCode.ACCEPTED))
            continue
        codes = finding.syntax_error_codes or (("5",) if finding.segment_errors else ())
        if not codes:
            raise ValueError("a rejected transaction set needs segment errors or syntax error codes")
        sets.append(TransactionSetAck(
            set_id=ts.id, control_number=ts.control_number, implementation=ts.implementation,
            code=AckCode.REJECTED if finding.reject else AckCode.ACCEPTED_WITH_ERRORS,
            syntax_error_codes=codes, segment_errors=finding.segment_errors,
        ))
    accepted = sum(1 for s in sets if s.accepted)
    if accepted == len(sets):
        group_code = (GroupAckCode.ACCEPTED if all(s.code == AckCode.ACCEPTED for s in sets)
                      else GroupAckCode.ACCEPTED_WITH_ERRORS)
    else:
        group_code = GroupAckCode.PARTIALLY_ACCEPTED if accepted else GroupAckCode.REJECTED
    return Ack999(
        functional_id=group.functional_id, group_control_number=group.control_number, version=group.version,
        transaction_sets=tuple(sets), group_code=group_code, included_count=len(sets),
        received_count=len(sets), accepted_count=accepted,
    )


def acknowledge_interchange(
    interchange: Interchange, findings: Mapping[str, TransactionFinding] | None = None
) -> tuple[Ack999, ...]:
    """One 999 per functional group of a received interchange; ``findings`` is keyed by ST02,
    which is unique within a group (pass one interchange with one group when it is not)."""
    findings = findings or {}
    out: list[Ack999] = []
    for group in interchange.groups:
        own = {k: v for k, v in findings.items() if any(ts.control_number == k for ts in group.transactions)}
        out.append(acknowledge(group, own))
    claimed = {k for ack in out for k in (t.control_number for t in ack.transaction_sets)}
    if set(findings) - claimed:
        raise ValueError("findings name transaction set(s) not in the interchange")
    return tuple(out)


def write_999(acks: Ack999 | Sequence[Ack999], params: EnvelopeParams, *, line_breaks: bool = False) -> str:
    """Render one or more 999 transaction sets in one 005010X231A1 interchange."""
    items = [acks] if isinstance(acks, Ack999) else list(acks)
    return write_interchange(params, FUNCTIONAL_ID, IMPLEMENTATION, [_specs(a) for a in items],
                             line_breaks=line_breaks)


def _specs(ack: Ack999) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [["AK1", ack.functional_id, ack.group_control_number, ack.version]]
    for ts in ack.transaction_sets:
        out.append(["AK2", ts.set_id, ts.control_number, ts.implementation])
        for err in ts.segment_errors:
            out.append(["IK3", err.segment_id, str(err.position), err.loop_id, err.code])
            if err.business_unit:
                out.append(["CTX", list(err.business_unit)])
            for ele in err.element_errors:
                position = [str(ele.position), _opt(ele.component), _opt(ele.repetition)]
                out.append(["IK4", position, ele.reference_number, ele.code])
        out.append(["IK5", ts.code.value, *ts.syntax_error_codes[:5]])
    out.append(["AK9", ack.group_code.value, str(ack.included_count), str(ack.received_count),
                str(ack.accepted_count), *ack.group_error_codes[:5]])
    return out


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


# --- normalized JSON ------------------------------------------------------------------------


def to_json_dict(ack: Ack999) -> dict[str, Any]:
    return {
        "transaction": "999",
        "functional_id": ack.functional_id,
        "group_control_number": ack.group_control_number,
        "version": ack.version,
        "group_code": ack.group_code.value,
        "included_count": ack.included_count,
        "received_count": ack.received_count,
        "accepted_count": ack.accepted_count,
        "group_error_codes": list(ack.group_error_codes),
        "transaction_sets": [_set_json(ts) for ts in ack.transaction_sets],
    }


def _set_json(ts: TransactionSetAck) -> dict[str, Any]:
    return {
        "set_id": ts.set_id,
        "control_number": ts.control_number,
        "accepted": ts.accepted,
        "code": ts.code.value,
        "syntax_error_codes": list(ts.syntax_error_codes),
        "errors": [
            {
                "segment_id": e.segment_id,
                "position": e.position,
                "loop_id": e.loop_id,
                "code": e.code,
                "business_unit": ({"name": e.business_unit[0], "value": e.business_unit[1]}
                                  if e.business_unit else None),
                "elements": [
                    {"position": x.position, "component": x.component, "repetition": x.repetition,
                     "reference_number": x.reference_number, "code": x.code}
                    for x in e.element_errors
                ],
            }
            for e in ts.segment_errors
        ],
    }
