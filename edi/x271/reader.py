"""The X12 271 reader: ``read_271`` turns a file into ``EligibilityResponse`` values
(005010X279A1 only), walking the HL tree the 270 reader walks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from edi.envelope import read_interchanges, transaction_sets
from edi.x12 import Segment, TransactionSet
from edi.x12values import (
    element_error,
    expect_code,
    optional_decimal,
    optional_quantity,
    parse_period,
    required,
    segment_error,
)
from edi.x270.model import IMPLEMENTATION, Person
from edi.x270.reader import LEVEL_LOOP, NAME_LOOP, Branch, Level, branches, entity_name, levels, person, trace_number
from edi.x271.model import (
    FUNCTIONAL_ID,
    BenefitDate,
    BenefitEntity,
    BenefitInfo,
    EligibilityResponse,
    Rejection,
)


def read_271(text: str) -> list[EligibilityResponse]:
    """Every response of every 271 in ``text``, in file order."""
    sets = transaction_sets(read_interchanges(text), FUNCTIONAL_ID, "271",
                            "a 271 (GS01 HB, ST01 271, 005010X279A1)", IMPLEMENTATION)
    return [response for ts in sets for response in read_transaction_set(ts)]


def read_transaction_set(ts: TransactionSet) -> list[EligibilityResponse]:
    bht, found = levels(ts, "11")
    reference = bht.el(3)
    out: list[EligibilityResponse] = []
    answered: set[int] = set()
    for branch in branches(found):
        answered.update((branch.source.hl.position, branch.receiver.hl.position))
        out.append(_response(branch, reference))
    # A request rejected at the payer or provider level comes back without a subscriber level.
    source: Level | None = None
    for level in found:
        if level.code == "20":
            source = level
        if level.code in {"20", "21"} and level.hl.el(4) == "0" and level.hl.position not in answered:
            assert source is not None
            out.append(_unanswered(source, level if level.code == "21" else None, reference))
    return out


def _rejections(level: Level) -> list[Rejection]:
    """The level's AAA segments, each with the loop it sits in: before the NM1 the 2000 loop,
    after it the 2100 loop, after an EB the 2110 loop."""
    out: list[Rejection] = []
    loop = LEVEL_LOOP[level.code]
    for seg in level.segments:
        if seg.tag == "NM1" and loop.startswith("2000"):
            loop = NAME_LOOP[level.code]
        elif seg.tag == "EB":
            loop = "2110" + NAME_LOOP[level.code][-1]
        elif seg.tag == "LS":
            loop = "2120" + NAME_LOOP[level.code][-1]
        elif seg.tag == "LE":
            loop = "2110" + NAME_LOOP[level.code][-1]
        elif seg.tag == "AAA":
            valid = expect_code(seg, 1, ("Y", "N"))
            out.append(Rejection(loop=loop, valid=valid == "Y", reason_code=required(seg, 3), follow_up=seg.el(4)))
    return out


def _plan_dates(own: Sequence[Segment]) -> tuple[date | None, date | None]:
    begin = end = None
    for dtp in (s for s in own if s.tag == "DTP"):
        start, stop = parse_period(dtp, 2, 3)
        if dtp.el(1) == "346":
            begin = start
        elif dtp.el(1) == "347":
            end = stop
        elif dtp.el(1) in {"291", "307"} and start != stop:
            begin, end = begin or start, end or stop
    return begin, end


def _yes_no(seg: Segment, i: int) -> bool | None:
    return {"Y": True, "N": False}.get(seg.el(i))


def _benefits(level: Level) -> list[BenefitInfo]:
    out: list[BenefitInfo] = []
    current: list[Segment] = []
    for seg in level.segments:
        if seg.tag == "EB":
            if current:
                out.append(_benefit(current))
            current = [seg]
        elif current:
            current.append(seg)
    if current:
        out.append(_benefit(current))
    return out


def _benefit(segments: list[Segment]) -> BenefitInfo:
    eb = segments[0]
    dates: list[BenefitDate] = []
    messages: list[str] = []
    entity: BenefitEntity | None = None
    in_2120 = False
    for seg in segments[1:]:
        if seg.tag == "LS":
            in_2120 = True
        elif seg.tag == "LE":
            in_2120 = False
        elif seg.tag == "NM1" and in_2120 and entity is None:
            entity = BenefitEntity(role=required(seg, 1), entity_type=required(seg, 2), name=seg.el(3),
                                   id_qualifier=seg.el(8), id=seg.el(9))
        elif seg.tag == "DTP" and not in_2120:
            start, end = parse_period(seg, 2, 3)
            dates.append(BenefitDate(qualifier=required(seg, 1), start=start, end=end))
        elif seg.tag == "MSG":
            messages.append(seg.el(1))
    if bool(eb.el(9)) != bool(eb.el(10)):
        raise element_error(eb, 10, "and EB09 go together")
    if eb.el(13) and (eb.comp(13, 1) != "HC" or not eb.comp(13, 2)):
        raise element_error(eb, 13, "must be HC and a procedure code")
    return BenefitInfo(code=required(eb, 1), coverage_level=eb.el(2), service_types=tuple(eb.reps(3)),
                       insurance_type=eb.el(4), plan_description=eb.el(5), time_period=eb.el(6),
                       amount=optional_decimal(eb, 7), percent=optional_decimal(eb, 8, "decimal percent"),
                       quantity_qualifier=eb.el(9), quantity=optional_quantity(eb, 10),
                       authorization_required=_yes_no(eb, 11), in_network=_yes_no(eb, 12),
                       procedure_code=eb.comp(13, 2), dates=tuple(dates),
                       messages=tuple(messages), benefit_entity=entity)


def _response(branch: Branch, reference: str) -> EligibilityResponse:
    patient = branch.patient
    payer_name, payer_id = entity_name(branch.source, "PR")
    provider_name, npi = entity_name(branch.receiver, "1P")
    begin, end = _plan_dates(patient.before("EB"))
    if begin is None and end is None and branch.dependent is not None:
        begin, end = _plan_dates(branch.subscriber.before("EB"))
    levels_above = [branch.source, branch.receiver, branch.subscriber]
    rejections = [r for level in (*levels_above, *([branch.dependent] if branch.dependent else []))
                  for r in _rejections(level)]
    return EligibilityResponse(
        trace_number=trace_number(patient, "2"), payer_name=payer_name, payer_id=payer_id,
        provider_name=provider_name, provider_npi=npi, subscriber=person(branch.subscriber),
        dependent=person(branch.dependent) if branch.dependent else None, plan_begin=begin, plan_end=end,
        benefits=tuple(_benefits(patient)), rejections=tuple(rejections), reference=reference,
    )


def _unanswered(source: Level, receiver: Level | None, reference: str) -> EligibilityResponse:
    payer_name, payer_id = entity_name(source, "PR")
    provider_name, npi = entity_name(receiver, "1P") if receiver is not None else ("", "")
    rejections = _rejections(source) + (_rejections(receiver) if receiver is not None else [])
    if not rejections:
        raise segment_error((receiver or source).hl, "HL04 says no subordinate level, but the level has no AAA")
    return EligibilityResponse(trace_number="", payer_name=payer_name, payer_id=payer_id,
                               provider_name=provider_name, provider_npi=npi, subscriber=Person(last_name=""),
                               rejections=tuple(rejections), reference=reference)
