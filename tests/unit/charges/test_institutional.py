"""The institutional claim's rules: on the encounter (validate_encounter) and on its charges
(assess_charge), each rejection naming the field the sender fixes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from schemas.common import is_inpatient_bill
from services.charges.domain import (
    ChargeFacts,
    EncounterFacts,
    Reason,
    ReferenceData,
    Rejection,
    assess_charge,
    parse_chargemaster_csv,
    validate_encounter,
)
from services.charges.domain.facts import CodedDiagnosis, DatedCode, InstitutionalFacts, PostedLineFacts, SpanCode
from services.charges.domain.institutional import check_posted_lines
from services.charges.domain.validation import AWAIT_WIDER_STATEMENT, ChargeDecision, Post, Refuse, decide_charge
from tests.unit.charges.conftest import TODAY, make_charge, make_encounter

STAY = InstitutionalFacts(
    type_of_bill="11",
    statement_from=date(2026, 3, 2),
    statement_through=date(2026, 3, 5),
    attending_npi="1999999984",
    principal_diagnosis=CodedDiagnosis("J189", "Y"),
    admission_type="1",
    admission_source="1",
    admission_hour=14,
    discharge_hour=11,
    admitting_diagnosis="R509",
    other_diagnoses=(CodedDiagnosis("E119", "Y"), CodedDiagnosis("I10", "Y")),
    principal_procedure=DatedCode("0BJ08ZZ", date(2026, 3, 3)),
    occurrence_codes=(DatedCode("11", date(2026, 2, 28)),),
    value_codes=("80",),
)


def inpatient(**changes: Any) -> EncounterFacts:
    return make_encounter(place_of_service="21", diagnoses=("J189", "E119"), admission_date=date(2026, 3, 2),
                          discharge_date=date(2026, 3, 5), bills="both", institutional=replace(STAY, **changes))


def rejected(encounter: EncounterFacts) -> list[tuple[Reason, str | None]]:
    return [(r.code, r.field) for r in validate_encounter(encounter, TODAY).rejections]


# --------------------------------------------------------------------------- the encounter


def test_a_clean_inpatient_stay_passes() -> None:
    result = validate_encounter(inpatient(), TODAY)
    assert result.ok and result.warnings == ()


def test_a_professional_encounter_needs_no_institutional_data() -> None:
    assert validate_encounter(make_encounter(), TODAY).ok


@pytest.mark.parametrize("bills", ["institutional", "both"])
def test_institutional_data_is_required_when_the_encounter_bills_institutional(bills: str) -> None:
    assert rejected(make_encounter(bills=bills)) == [(Reason.ENC_INSTITUTIONAL_MISSING, "institutional")]


def test_institutional_data_on_a_professional_encounter_is_refused() -> None:
    encounter = replace(inpatient(), bills="professional")
    assert rejected(encounter) == [(Reason.ENC_INSTITUTIONAL_NOT_BILLED, "institutional")]


def test_statement_period_order_and_future() -> None:
    backwards = inpatient(statement_from=date(2026, 3, 6))
    assert (Reason.ENC_STATEMENT_PERIOD_ORDER, "institutional.statement_through") in rejected(backwards)
    future = validate_encounter(inpatient(), date(2026, 3, 4))
    assert (Reason.ENC_STATEMENT_DATE_FUTURE, "institutional.statement_through") in [
        (r.code, r.field) for r in future.rejections
    ]


def test_the_stay_lies_inside_the_statement_period() -> None:
    late_admission = replace(inpatient(statement_through=date(2026, 3, 1), statement_from=date(2026, 2, 27)))
    assert (Reason.ENC_STAY_OUTSIDE_STATEMENT, "admission_date") in rejected(late_admission)
    assert (Reason.ENC_STAY_OUTSIDE_STATEMENT, "discharge_date") in rejected(late_admission)
    interim = replace(inpatient(statement_through=date(2026, 3, 4), discharge_hour=None),
                      discharge_date=None)
    assert rejected(interim) == []


def test_an_inpatient_bill_says_how_the_patient_was_admitted() -> None:
    encounter = replace(inpatient(admission_type=None, admission_source=None, admission_hour=None),
                        admission_date=None, discharge_date=None)
    assert rejected(replace(encounter, institutional=replace(STAY, admission_type=None, admission_source=None,
                                                             admission_hour=None, discharge_hour=None))) == [
        (Reason.ENC_INPATIENT_ADMISSION_MISSING, "admission_date"),
        (Reason.ENC_INPATIENT_ADMISSION_MISSING, "institutional.admission_type"),
        (Reason.ENC_INPATIENT_ADMISSION_MISSING, "institutional.admission_source"),
    ]
    outpatient = replace(encounter, institutional=replace(STAY, type_of_bill="13", admission_type=None,
                                                          admission_source=None, admission_hour=None,
                                                          discharge_hour=None, principal_procedure=None))
    assert rejected(outpatient) == []


def test_hours_need_their_dates_and_keep_their_order() -> None:
    no_discharge = replace(inpatient(), discharge_date=None)
    assert rejected(no_discharge) == [(Reason.ENC_HOUR_WITHOUT_DATE, "institutional.discharge_hour")]
    same_day = replace(inpatient(statement_through=date(2026, 3, 2), principal_procedure=None),
                       discharge_date=date(2026, 3, 2))
    assert rejected(same_day) == [(Reason.ENC_HOURS_ORDER, "institutional.discharge_hour")]


def test_icd10_pcs_procedures_only_on_inpatient_bills_inside_the_period() -> None:
    outpatient = inpatient(type_of_bill="13")
    assert rejected(outpatient) == [(Reason.ENC_PCS_NOT_INPATIENT, "institutional.principal_procedure")]
    orphan = inpatient(principal_procedure=None, other_procedures=(DatedCode("0BJ08ZZ", date(2026, 3, 3)),))
    assert rejected(orphan) == [(Reason.ENC_PCS_PRINCIPAL_MISSING, "institutional.principal_procedure")]
    outside = inpatient(other_procedures=(DatedCode("0BH17EZ", date(2026, 3, 9)),))
    assert rejected(outside) == [
        (Reason.ENC_PCS_DATE_OUTSIDE_STATEMENT, "institutional.other_procedures[0].performed_on")
    ]


def test_facility_diagnoses_are_billable_leaves_once_each() -> None:
    encounter = inpatient(principal_diagnosis=CodedDiagnosis("W010XXA", "Y"), admitting_diagnosis="J18",
                          other_diagnoses=(CodedDiagnosis("E119", "Y"), CodedDiagnosis("E119", "N")),
                          reason_for_visit=("ZZZ99",))
    assert rejected(encounter) == [
        (Reason.ENC_DX_DUPLICATE, "institutional.other_diagnoses[1].code"),
        (Reason.ENC_DX_NOT_BILLABLE, "institutional.admitting_diagnosis"),
        (Reason.ENC_DX_INVALID, "institutional.reason_for_visit[0]"),
        (Reason.ENC_DX_EXTERNAL_CAUSE_FIRST, "institutional.principal_diagnosis.code"),
    ]


def test_nubc_codes_do_not_repeat_and_spans_run_forward() -> None:
    encounter = inpatient(condition_codes=("01", "02", "01"), value_codes=("80", "80"),
                          occurrence_spans=(SpanCode("74", date(2026, 3, 4), date(2026, 3, 3)),))
    assert rejected(encounter) == [
        (Reason.ENC_NUBC_CODE_DUPLICATE, "institutional.condition_codes[2]"),
        (Reason.ENC_NUBC_CODE_DUPLICATE, "institutional.value_codes[1].code"),
        (Reason.ENC_SPAN_ORDER, "institutional.occurrence_spans[0].through_date"),
    ]


def test_institutional_provider_npis_are_checked() -> None:
    assert rejected(inpatient(operating_npi="1234567890")) == [
        (Reason.ENC_NPI_CHECK_DIGIT, "institutional.operating_provider.npi")
    ]


@pytest.mark.parametrize(("type_of_bill", "expected"), [("11", True), ("12", True), ("18", True), ("21", True),
                                                         ("13", False), ("14", False), ("32", False), ("71", False),
                                                         ("83", False), ("85", False)])
def test_inpatient_types_of_bill(type_of_bill: str, expected: bool) -> None:
    assert is_inpatient_bill(type_of_bill) is expected


# --------------------------------------------------------------------------- charge lines

FACILITY_CDM = parse_chargemaster_csv(
    "cdm_code,procedure_code,modifiers,revenue_code,description,unit_price\n"
    "CDM-120-0001,,,0120,Room and board semi-private per day,1850.00\n"
    "CDM-450-0283,99283,,0450,Emergency department visit moderate,420.00\n"
).chargemaster


@pytest.fixture(scope="module")
def facility(reference: ReferenceData) -> ReferenceData:
    assert FACILITY_CDM is not None
    return reference.with_chargemaster(FACILITY_CDM)


def test_room_and_board_from_the_chargemaster_goes_on_the_institutional_claim(facility: ReferenceData) -> None:
    charge = make_charge(procedure_code=None, modifiers=(), chargemaster_code="CDM-120-0001", unit_price=None,
                         amount=None, units=Decimal("3"), service_end_date=date(2026, 3, 4),
                         claim_type="institutional")
    assessment = assess_charge(charge, inpatient(), TODAY, facility)
    assert assessment.result.ok, assessment.result.rejections
    assert assessment.line is not None
    assert (assessment.line.procedure_code, assessment.line.revenue_code, assessment.line.claim_type,
            assessment.line.amount) == (None, "0120", "institutional", Decimal("5550.00"))


def test_a_revenue_code_alone_prices_from_the_sender(facility: ReferenceData) -> None:
    charge = make_charge(procedure_code=None, modifiers=(), revenue_code="0250", unit_price=None,
                         amount=Decimal("312.40"), claim_type="institutional")
    assessment = assess_charge(charge, inpatient(), TODAY, facility)
    assert assessment.line is not None and assessment.line.revenue_code == "0250"
    # the sender's revenue code wins over the chargemaster item's
    own = make_charge(procedure_code=None, modifiers=(), chargemaster_code="CDM-450-0283", revenue_code="0451",
                      unit_price=None, amount=None, claim_type="institutional")
    line = assess_charge(own, inpatient(), TODAY, facility)
    assert line.line is not None and (line.line.procedure_code, line.line.revenue_code) == ("99283", "0451")


def test_a_line_of_an_encounter_billing_both_names_its_claim(reference: ReferenceData) -> None:
    assessment = assess_charge(make_charge(), inpatient(), TODAY, reference)
    assert [(r.code, r.field) for r in assessment.result.rejections] == [
        (Reason.CHG_CLAIM_TYPE_REQUIRED, "claim_type")
    ]
    professional = assess_charge(make_charge(claim_type="professional"), inpatient(), TODAY, reference)
    assert professional.line is not None and professional.line.claim_type == "professional"


def test_a_line_goes_on_a_claim_the_encounter_bills(reference: ReferenceData) -> None:
    assessment = assess_charge(make_charge(claim_type="institutional", revenue_code="0510"), make_encounter(), TODAY,
                               reference)
    assert [(r.code, r.field) for r in assessment.result.rejections] == [
        (Reason.CHG_CLAIM_TYPE_NOT_BILLED, "claim_type")
    ]
    only = replace(inpatient(), bills="institutional")
    defaulted = assess_charge(make_charge(revenue_code="0510"), only, TODAY, reference)
    assert defaulted.line is not None and defaulted.line.claim_type == "institutional"


def test_what_each_claim_needs_of_a_line(facility: ReferenceData) -> None:
    def codes(**changes: object) -> list[tuple[Reason, str | None]]:
        found = assess_charge(make_charge(**changes), inpatient(), TODAY, facility).result.rejections
        return [(r.code, r.field) for r in found]

    room = {"procedure_code": None, "modifiers": (), "chargemaster_code": "CDM-120-0001", "unit_price": None,
            "amount": None}
    assert codes(**room, claim_type="professional") == [(Reason.CHG_PROCEDURE_REQUIRED, "procedure_code")]
    assert codes(claim_type="institutional") == [(Reason.CHG_REVENUE_CODE_MISSING, "revenue_code")]
    assert codes(claim_type="institutional", revenue_code="0001") == [(Reason.CHG_REVENUE_CODE_TOTAL, "revenue_code")]
    assert codes(**room, claim_type="institutional", service_date=date(2026, 3, 1),
                 service_end_date=date(2026, 3, 6)) == [
        (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_date"),
        (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_end_date"),
    ]
    # a professional line is not held to the facility's statement period
    assert codes(claim_type="professional", service_date=date(2026, 3, 1)) == []


def test_a_line_without_any_code_is_refused_once(reference: ReferenceData) -> None:
    charge = make_charge(procedure_code=None, modifiers=(), claim_type="institutional")
    assert [r.code for r in assess_charge(charge, inpatient(), TODAY, reference).result.rejections] == [
        Reason.CHG_CODE_CHOICE
    ]


# --------------------------------------------------------------------------- a change of a billed encounter


def test_an_encounter_change_keeps_its_posted_lines_billable() -> None:
    room = PostedLineFacts("institutional", date(2026, 3, 2), date(2026, 3, 4))
    visit = PostedLineFacts("professional", date(2026, 3, 1))
    assert check_posted_lines(inpatient(), [room, visit]) == []
    dropped = replace(inpatient(), bills="professional", institutional=None)
    assert [(r.code, r.field) for r in check_posted_lines(dropped, [room, visit])] == [
        (Reason.ENC_POSTED_LINE_UNBILLED, "bills")
    ]
    shorter = inpatient(statement_from=date(2026, 3, 3), statement_through=date(2026, 3, 3))
    assert [(r.code, r.field) for r in check_posted_lines(shorter, [room, visit])] == [
        (Reason.ENC_POSTED_LINE_OUTSIDE_STATEMENT, "institutional.statement_from"),
        (Reason.ENC_POSTED_LINE_OUTSIDE_STATEMENT, "institutional.statement_through"),
    ]


# --------------------------------------------------------------------------- an interim feed's line


def stay_so_far() -> EncounterFacts:
    """A stay not discharged yet whose statement period runs to day 3 so far."""
    return replace(inpatient(statement_through=date(2026, 3, 3), discharge_hour=None), discharge_date=None)


def room_and_board(**changes: object) -> ChargeFacts:
    return make_charge(procedure_code=None, modifiers=(), chargemaster_code="CDM-120-0001", unit_price=None,
                       amount=None, claim_type="institutional", **changes)


def test_a_line_past_the_statement_period_of_an_open_stay_waits_for_its_update(facility: ReferenceData) -> None:
    """An interim feed widens statement_through day by day and sends the update and the day's
    charges on two topics: a line dated after the period the encounter has so far is parked."""
    so_far, day_4 = stay_so_far(), room_and_board(service_date=date(2026, 3, 4))

    def decide(charge: ChargeFacts, encounter: EncounterFacts, *, encounter_open: bool = True) -> ChargeDecision:
        return decide_charge(assess_charge(charge, encounter, TODAY, facility), charge, encounter,
                             encounter_open=encounter_open)

    assert decide(day_4, so_far) == AWAIT_WIDER_STATEMENT
    assert AWAIT_WIDER_STATEMENT.reason == ("dated after the encounter's statement period: waits for the update "
                                            "that widens it")
    # a span running past the period waits too
    span = replace(day_4, service_date=date(2026, 3, 3), service_end_date=date(2026, 3, 4), units=Decimal("2"))
    assert decide(span, so_far) == AWAIT_WIDER_STATEMENT
    # the update that widens the period posts it
    posted = decide(day_4, replace(so_far, institutional=replace(STAY, statement_through=date(2026, 3, 4))))
    assert isinstance(posted, Post)
    assert (posted.line.revenue_code, posted.line.claim_type, posted.line.amount) == (
        "0120", "institutional", Decimal("1850.00"))
    # at the close nothing widens it any more: refused as before
    assert decide(day_4, so_far, encounter_open=False) == Refuse((
        Rejection(Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_date", "an institutional line's service dates must "
                  "fall inside the encounter's statement covers period"),))


def test_a_line_before_the_statement_period_or_with_another_fault_is_refused_at_once(facility: ReferenceData) -> None:
    so_far, room = stay_so_far(), room_and_board()

    def refused(charge: ChargeFacts) -> list[tuple[Reason, str | None]]:
        decision = decide_charge(assess_charge(charge, so_far, TODAY, facility), charge, so_far, encounter_open=True)
        assert isinstance(decision, Refuse)
        return [(r.code, r.field) for r in decision.rejections]

    # the period only grows forward: a line before statement_from never fits
    assert refused(replace(room, service_date=date(2026, 3, 1))) == [
        (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_date")]
    # before and after at once: refused with both dates named
    assert refused(replace(room, service_date=date(2026, 3, 1), service_end_date=date(2026, 3, 4))) == [
        (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_date"),
        (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_end_date")]
    # another fault besides the date: the sender must fix the line, no update would
    assert refused(replace(room, service_date=date(2026, 3, 4), units=Decimal("0"))) == [
        (Reason.CHG_UNITS, "units"), (Reason.CHG_SERVICE_OUTSIDE_STATEMENT, "service_date")]
    # a professional line is never held to the period, and a line in the future is refused
    professional = make_charge(claim_type="professional", service_date=date(2026, 3, 4))
    assert isinstance(decide_charge(assess_charge(professional, so_far, TODAY, facility), professional, so_far,
                                    encounter_open=True), Post)
    assert (Reason.CHG_SERVICE_DATE_FUTURE, "service_date") in refused(replace(room, service_date=date(2026, 3, 20)))
