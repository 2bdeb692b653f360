"""The institutional claim's scrubber edits: each one flagging and letting through, on the
example hospital stay (schemas/examples.py INPATIENT_ENCOUNTER) and an outpatient visit made
from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest

from schemas import examples as ex
from schemas.common import EncounterDetails, is_inpatient_bill
from services.claims.domain.institutional_edits import (
    covered_days,
    institutional_edits,
    revenue_categories,
    revenue_category,
)

ADMITTED = date(2026, 3, 2)  # the example stay: admitted 2026-03-02, discharged 2026-03-05


@dataclass(frozen=True)
class Line:
    revenue_code: str | None
    procedure_code: str | None = None
    service_date: date = ADMITTED
    service_end_date: date | None = None
    units: Decimal = Decimal(1)
    charge: Decimal = Decimal("100.00")


# Three nights semi-private (summed: first to last day), pharmacy, a blood count.
STAY = [
    Line("0120", None, ADMITTED, date(2026, 3, 4), Decimal(3), Decimal("5400.00")),
    Line("0250", None, ADMITTED, date(2026, 3, 5), Decimal(6), Decimal("312.40")),
    Line("0300", "85025", date(2026, 3, 3), None, Decimal(1), Decimal("48.00")),
]
# An outpatient emergency visit: the ER level, a strep test, a drug without detailed coding.
VISIT = [Line("0450", "99284"), Line("0300", "87880"), Line("0250")]
OUTPATIENT: dict[str, Any] = {
    "type_of_bill": "13", "statement_through": "2026-03-02", "admission_hour": None, "admission_type": None,
    "admission_source": None, "discharge_hour": None, "admitting_diagnosis": None, "reason_for_visit": ["R509"],
    "principal_procedure": None, "value_codes": [],
}
NOT_ADMITTED = {"admission_date": None, "discharge_date": None, "place_of_service": "23"}
STILL_THERE = {"discharge_date": None}


def encounter(stay: dict[str, Any] | None = None, **institutional: Any) -> EncounterDetails:
    data = {**ex.INPATIENT_ENCOUNTER, **(stay or {}), "institutional": {**ex.INSTITUTIONAL, **institutional}}
    return EncounterDetails.model_validate_json(json.dumps(data))


def visit(**institutional: Any) -> EncounterDetails:
    return encounter(NOT_ADMITTED, **{**OUTPATIENT, **institutional})


def run(enc: EncounterDetails, lines: list[Line], frequency: str = "1",
        poa_required: bool = True) -> list[tuple[str, str, int | None]]:
    return [(f.edit_id, f.severity, f.line_number)
            for f in institutional_edits(enc, lines, frequency=frequency, poa_required=poa_required)]


def messages(enc: EncounterDetails, lines: list[Line], frequency: str = "1") -> list[str]:
    return [f.message for f in institutional_edits(enc, lines, frequency=frequency, poa_required=True)]


def test_the_example_stay_and_visit_pass_every_edit() -> None:
    assert run(encounter(), STAY) == []
    assert run(visit(), VISIT) == []


def test_every_finding_is_an_institutional_one_without_patient_data() -> None:
    lines = [Line("0001"), Line("0110", units=Decimal(9)), Line("0320")]
    enc = encounter(STILL_THERE, patient_status="01", discharge_hour=None,
                    principal_diagnosis={"code": "J189", "present_on_admission": None})
    findings = institutional_edits(enc, lines, frequency="1", poa_required=True)
    assert {f.edit_id for f in findings} == {"INST-TOTAL-LINE", "INST-ROOM-DAYS", "INST-DISCHARGE-DATE",
                                             "INST-POA-REQUIRED"}
    for f in findings:
        assert f.source == "institutional"
        assert len(f.message) <= 500
        assert not [text for text in ("Rivera", "Ana ", "1984", "HAR100234567", "2026-") if text in f.message]


def test_institutional_data_missing() -> None:
    professional = EncounterDetails.model_validate_json(json.dumps(ex.ENCOUNTER))
    assert run(professional, STAY) == [("INST-DATA-MISSING", "error", None)]


@pytest.mark.parametrize("type_of_bill", ["11", "12", "18", "21", "28", "41", "61"])
def test_inpatient_types_of_bill(type_of_bill: str) -> None:
    assert is_inpatient_bill(type_of_bill)


@pytest.mark.parametrize("type_of_bill", ["13", "14", "23", "32", "34", "71", "77", "83", "85", "81"])
def test_outpatient_types_of_bill(type_of_bill: str) -> None:
    assert not is_inpatient_bill(type_of_bill)


# --- patient status against the frequency and the discharge -----------------------------------


@pytest.mark.parametrize("frequency", ["1", "4"])
def test_still_a_patient_on_a_bill_that_ends_the_stay(frequency: str) -> None:
    enc = encounter(STILL_THERE, patient_status="30", discharge_hour=None)
    assert run(enc, STAY, frequency) == [("INST-STATUS-FREQUENCY", "error", None)]
    assert f"type of bill 011{frequency}" in messages(enc, STAY, frequency)[0]


@pytest.mark.parametrize("frequency", ["2", "3", "7", "8"])
def test_still_a_patient_on_an_interim_bill_or_its_correction(frequency: str) -> None:
    assert run(encounter(STILL_THERE, patient_status="30", discharge_hour=None), STAY, frequency) == []


@pytest.mark.parametrize("frequency", ["7", "8"])
def test_a_correction_says_still_a_patient_of_a_discharged_stay(frequency: str) -> None:
    assert run(encounter(patient_status="30"), STAY, frequency) == [("INST-STATUS-FREQUENCY", "error", None)]
    assert run(encounter(), STAY, frequency) == []


@pytest.mark.parametrize("frequency", ["2", "3"])
def test_an_interim_bill_with_a_discharge_status(frequency: str) -> None:
    assert run(encounter(), STAY, frequency) == [("INST-STATUS-FREQUENCY", "error", None)]


def test_a_discharge_status_needs_the_discharge_date_on_inpatient_bills() -> None:
    assert run(encounter(STILL_THERE, discharge_hour=None), STAY) == [("INST-DISCHARGE-DATE", "error", None)]
    assert run(encounter(STILL_THERE, discharge_hour=None, patient_status="20"), STAY) == [
        ("INST-DISCHARGE-DATE", "error", None)]
    # an outpatient visit has no discharge date to give
    assert run(visit(patient_status="01"), VISIT) == []


# --- admission against the statement period ---------------------------------------------------


def test_admission_after_the_statement_period_begins() -> None:
    late = encounter({"admission_date": "2026-03-03"})
    assert run(late, STAY) == [("INST-ADMISSION-DATE", "error", None)]
    # an interim continuing bill's period starts after the admission
    assert run(encounter({"admission_date": "2026-02-27"}), STAY) == []
    # an outpatient bill is not judged on an admission date
    visit_day = {"admission_date": "2026-03-02", "discharge_date": "2026-03-02"}
    assert run(encounter(visit_day, **{**OUTPATIENT, "statement_from": "2026-03-01"}), VISIT) == []


# --- present on admission ------------------------------------------------------------------------


def test_poa_required_on_every_diagnosis_of_an_inpatient_bill() -> None:
    no_poa = encounter(principal_diagnosis={"code": "J189", "present_on_admission": None},
                       other_diagnoses=[{"code": "E119", "present_on_admission": "1"},
                                        {"code": "I10", "present_on_admission": None}])
    assert run(no_poa, STAY) == [("INST-POA-REQUIRED", "error", None), ("INST-POA-REQUIRED", "error", None)]
    first, second = messages(no_poa, STAY)
    assert first.startswith("principal diagnosis (J189) has no present-on-admission indicator")
    assert second.startswith("other diagnosis 2 (I10) has no present-on-admission indicator")
    # exempt (1) and the payer that does not ask
    assert run(encounter(other_diagnoses=[{"code": "E119", "present_on_admission": "1"}]), STAY) == []
    assert run(no_poa, STAY, poa_required=False) == []
    # outpatient bills carry no POA
    assert run(visit(principal_diagnosis={"code": "J189", "present_on_admission": None}), VISIT) == []


# --- revenue codes -------------------------------------------------------------------------------


def test_revenue_code_must_be_a_nubc_category_and_never_the_total() -> None:
    lines = [*STAY, Line(None), Line("0001"), Line("0090"), Line("0025"), Line("1100"), Line("0022")]
    assert run(encounter(), lines) == [("INST-REVENUE-CODE", "error", 4), ("INST-TOTAL-LINE", "error", 5),
                                       ("INST-REVENUE-CODE", "error", 6), ("INST-REVENUE-CODE", "error", 7),
                                       ("INST-REVENUE-CODE", "error", 8)]
    found = messages(encounter(), lines)
    assert found[0].startswith("no revenue code on the line")
    assert found[1].startswith("revenue code 0001 is the claim's total line")
    assert found[2].startswith("revenue code 0090 on the line")


def test_hcpcs_required_on_outpatient_lines_of_the_listed_categories() -> None:
    lines = [Line("0450", "99284"), Line("0320"), Line("0250"), Line("0636"), Line("0637"), Line("0761"),
             Line("0982"), Line("0360", "29125")]
    assert run(visit(), lines) == [("INST-HCPCS-REQUIRED", "error", 2), ("INST-HCPCS-REQUIRED", "error", 4),
                                   ("INST-HCPCS-REQUIRED", "error", 6), ("INST-HCPCS-REQUIRED", "error", 7)]
    assert messages(visit(), lines)[0].startswith("revenue code 0320 (radiology diagnostic) needs a HCPCS/CPT code "
                                                  "on an outpatient bill (type of bill 013x)")
    # inpatient lines are coded by the ICD-10-PCS procedures, not per line
    assert run(encounter(), [*STAY, Line("0320")]) == []


def test_room_and_board_only_on_inpatient_bills() -> None:
    lines = [*VISIT, Line("0110"), Line("0219"), Line("0220")]
    assert run(visit(), lines) == [("INST-ROOM-OUTPATIENT", "error", 4), ("INST-ROOM-OUTPATIENT", "error", 5)]
    assert run(visit(type_of_bill="85"), lines) == [("INST-ROOM-OUTPATIENT", "error", 4),
                                                    ("INST-ROOM-OUTPATIENT", "error", 5)]


# --- room-and-board days -------------------------------------------------------------------------


def test_covered_days_of_the_statement_period() -> None:
    def days(enc: EncounterDetails) -> int:
        assert enc.institutional is not None
        return covered_days(enc.institutional)

    assert days(encounter()) == 3  # 3/2 to 3/5, discharged on the 5th
    assert days(encounter({"discharge_date": "2026-03-02"}, statement_through="2026-03-02", discharge_hour=20)) == 1
    # still a patient: the through day is spent in the bed
    assert days(encounter(STILL_THERE, patient_status="30", discharge_hour=None)) == 4


def test_room_and_board_units_not_more_than_the_covered_days() -> None:
    four_nights = [Line("0120", None, ADMITTED, date(2026, 3, 5), Decimal(4)), *STAY[1:]]
    assert run(encounter(), four_nights) == [("INST-ROOM-DAYS", "error", None)]
    assert messages(encounter(), four_nights)[0].startswith(
        "accommodation lines (revenue codes 0100-0219) bill 4 days and the statement period covers 3")
    # the days of all accommodation codes add up: 2 semi-private and 2 intensive care
    moved = [Line("0120", None, ADMITTED, date(2026, 3, 3), Decimal(2)),
             Line("0200", None, date(2026, 3, 4), date(2026, 3, 5), Decimal(2)), *STAY[1:]]
    assert run(encounter(), moved) == [("INST-ROOM-DAYS", "error", None)]
    assert run(encounter(), [moved[0], Line("0200", None, date(2026, 3, 4), None, Decimal(1)), *STAY[1:]]) == []
    # still a patient on an interim bill: the through day is billed
    interim = encounter(STILL_THERE, patient_status="30", discharge_hour=None)
    assert run(interim, four_nights, "2") == []
    assert run(interim, [Line("0120", units=Decimal(5)), *STAY[1:]], "2") == [("INST-ROOM-DAYS", "error", None)]


def test_a_same_day_stay_bills_one_day() -> None:
    same_day = encounter({"discharge_date": "2026-03-02"}, statement_through="2026-03-02", discharge_hour=20,
                         principal_procedure=None)
    one_day = [Line("0120"), Line("0300", "85025")]
    assert run(same_day, one_day) == []
    assert run(same_day, [Line("0120", units=Decimal(2)), *one_day[1:]]) == [("INST-ROOM-DAYS", "error", None)]


def test_an_inpatient_bill_without_accommodation_warns() -> None:
    assert run(encounter(), STAY[1:]) == [("INST-NO-ROOM", "warning", None)]
    # an inpatient Part B bill (12x) carries ancillaries only
    assert run(encounter(type_of_bill="12"), STAY[1:]) == []
    assert run(visit(), VISIT) == []


# --- the shipped table ---------------------------------------------------------------------------


def test_the_revenue_code_table() -> None:
    categories = revenue_categories()
    assert all(a.last < b.first for a, b in pairwise(categories))
    assert all(len(c.first) == len(c.last) == 4 and c.first <= c.last for c in categories)
    assert revenue_category("0001") is None
    assert [(c.name, c.hcpcs_outpatient) for c in map(revenue_category, ["0636", "0637", "0120", "0985"]) if c] == [
        ("drugs requiring detailed coding", True), ("pharmacy (extension of 025x)", False),
        ("room and board (private, semi-private, deluxe, ward, other)", False), ("professional fees", True)]
