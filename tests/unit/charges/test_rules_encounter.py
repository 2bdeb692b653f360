"""Encounter-level rules, one at a time."""

from __future__ import annotations

from datetime import date

import pytest

from services.charges.domain import Reason, Rejection, Warning
from services.charges.domain.rules import (
    ENCOUNTER_DIAGNOSIS,
    check_admission_date,
    check_coverages,
    check_diagnosis_code,
    check_diagnosis_list,
    check_edition,
    check_npi,
    check_place_of_service,
    check_principal_diagnosis,
)
from services.chassis.icd10cm import SHIPPED, Edition, Editions, LoadedCodeSet
from tests.unit.charges.conftest import TODAY, VALID_NPIS


@pytest.mark.parametrize("npi", [*VALID_NPIS, None])
def test_npi_with_valid_check_digit_passes(npi: str | None) -> None:
    assert check_npi(npi, "billing_provider.npi", Reason.ENC_NPI_CHECK_DIGIT) == []


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "3234567893", "12345678931", "12345678a3", ""])
def test_npi_with_bad_check_digit_or_shape_is_rejected(npi: str) -> None:
    (finding,) = check_npi(npi, "billing_provider.npi", Reason.ENC_NPI_CHECK_DIGIT)
    assert finding == Rejection(Reason.ENC_NPI_CHECK_DIGIT, "billing_provider.npi", finding.message)
    assert npi not in finding.message or not npi


def test_place_of_service(reference) -> None:
    known = reference.places_of_service
    for code in ("11", "12", "19", "20", "21", "22", "23", "24", "31", "32", "49", "50", "81", "02", "10"):
        assert check_place_of_service(code, "place_of_service", Reason.ENC_POS_INVALID, known) == [], code
    for code in ("00", "30", "1", "011", "AA"):
        (finding,) = check_place_of_service(code, "place_of_service", Reason.ENC_POS_INVALID, known)
        assert finding.code is Reason.ENC_POS_INVALID


def test_diagnosis_list_counts_and_repeats() -> None:
    assert check_diagnosis_list(["J020"]) == []
    assert [f.code for f in check_diagnosis_list([])] == [Reason.ENC_NO_DIAGNOSIS]
    twelve = [f"A0{n:02d}" for n in range(12)]
    assert check_diagnosis_list(twelve) == []
    assert [f.code for f in check_diagnosis_list([*twelve, "R509"])] == [Reason.ENC_DX_TOO_MANY]
    (dup,) = check_diagnosis_list(["J020", "R509", "J020"])
    assert (dup.code, dup.field) == (Reason.ENC_DX_DUPLICATE, "diagnoses[2]")


@pytest.mark.parametrize("code", ["J020", "R509", "E1165", "I10", "S0101XA", "Z23"])
def test_billable_diagnosis_passes(code: str) -> None:
    assert check_diagnosis_code(code, "diagnoses[0]", SHIPPED.for_day(TODAY), ENCOUNTER_DIAGNOSIS) == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("J02", Reason.ENC_DX_NOT_BILLABLE),  # category with children
        ("E11", Reason.ENC_DX_NOT_BILLABLE),
        ("S0101", Reason.ENC_DX_NOT_BILLABLE),  # needs its 7th character
        ("J0200", Reason.ENC_DX_INVALID),  # right shape, not a code
        ("J02.0", Reason.ENC_DX_INVALID),  # dotted form: facts carry codes without the dot
        ("j020", Reason.ENC_DX_INVALID),
        ("A00-A09", Reason.ENC_DX_INVALID),  # a block, which the library also knows
        ("1", Reason.ENC_DX_INVALID),  # a chapter
    ],
)
def test_non_billable_diagnosis_is_rejected_naming_the_edition_not_the_code_or_date(code: str, reason: Reason) -> None:
    (finding,) = check_diagnosis_code(code, "diagnoses[0]", SHIPPED.for_day(TODAY), ENCOUNTER_DIAGNOSIS)
    assert isinstance(finding, Rejection)
    assert finding.code is reason
    assert f"diagnosis {code}" not in finding.message and "ICD-10-CM FY2026" in finding.message
    assert TODAY.isoformat() not in finding.message


def test_past_every_edition_the_newest_judges_and_rejects() -> None:
    """Behaviour change: a date after FY2026 used to downgrade verdicts to warnings (checks off)."""
    (finding,) = check_diagnosis_code("J02X", "diagnoses[0]", SHIPPED.for_day(date(2026, 12, 1)), ENCOUNTER_DIAGNOSIS)
    assert isinstance(finding, Rejection) and finding.code is Reason.ENC_DX_INVALID
    assert "ICD-10-CM FY2026" in finding.message
    assert "J02X" not in finding.message and "2026-12-01" not in finding.message


@pytest.mark.parametrize("day", [date(2025, 10, 1), TODAY, date(2026, 9, 30)])
def test_edition_in_force_is_silent(day: date) -> None:
    assert check_edition(SHIPPED.for_day(day), "diagnoses") == []


def test_stale_and_earlier_editions_warn_naming_the_edition() -> None:
    (stale,) = check_edition(SHIPPED.for_day(date(2026, 10, 1)), "diagnoses")
    assert isinstance(stale, Warning) and stale.code is Reason.ICD10_EDITION_STALE
    assert "2026-10-01" not in stale.message and "ICD-10-CM FY2026" in stale.message and "FY2027" in stale.message
    (earlier,) = check_edition(SHIPPED.for_day(date(2025, 9, 30)), "diagnoses")
    assert earlier.code is Reason.ICD10_EDITION_EARLIER and "FY2025" in earlier.message


def test_october_first_switches_to_the_loaded_edition() -> None:
    fy2027 = Editions({**SHIPPED.by_year, 2027: LoadedCodeSet(Edition(2027, "icd10cm_codes_2027.txt"),
                                                              {"J020": True, "J02": False, "Z9999": True})})
    assert check_diagnosis_code("Z9999", "diagnoses[0]", fy2027.for_day(date(2026, 10, 1)), ENCOUNTER_DIAGNOSIS) == []
    (before,) = check_diagnosis_code("Z9999", "diagnoses[0]", fy2027.for_day(date(2026, 9, 30)), ENCOUNTER_DIAGNOSIS)
    assert before.code is Reason.ENC_DX_INVALID and "FY2026" in before.message
    assert check_edition(fy2027.for_day(date(2026, 10, 1)), "diagnoses") == []


def test_external_cause_is_never_first_listed() -> None:
    (finding,) = check_principal_diagnosis(["W010XXA", "S0990XA"])
    assert (finding.code, finding.field) == (Reason.ENC_DX_EXTERNAL_CAUSE_FIRST, "diagnoses[0]")
    assert "I.C.20" in finding.message
    assert check_principal_diagnosis(["S0990XA", "W010XXA"]) == []
    assert check_principal_diagnosis([]) == []


def test_coverages() -> None:
    assert check_coverages([1]) == [] and check_coverages([1, 2, 3]) == []
    assert [f.code for f in check_coverages([])] == [Reason.ENC_COVERAGE_MISSING]
    for ranks in ([2], [1, 3], [2, 1], [1, 1], [0, 1]):
        assert [f.code for f in check_coverages(ranks)] == [Reason.ENC_COVERAGE_RANK], ranks


def test_admission_date() -> None:
    assert check_admission_date(None, TODAY) == []
    assert check_admission_date(TODAY, TODAY) == []
    assert [f.code for f in check_admission_date(date(2026, 3, 17), TODAY)] == [Reason.ENC_ADMISSION_DATE_FUTURE]
