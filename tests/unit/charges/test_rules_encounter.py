"""Encounter-level rules, one at a time."""

from __future__ import annotations

from datetime import date

import pytest

from services.charges.domain import Reason, Rejection, Warning
from services.charges.domain.icd10cm import SHIPPED_RELEASE, shipped_code_set
from services.charges.domain.rules import (
    ENCOUNTER_DIAGNOSIS,
    check_admission_date,
    check_code_set_year,
    check_coverages,
    check_diagnosis_code,
    check_diagnosis_list,
    check_npi,
    check_place_of_service,
)
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
    assert check_diagnosis_code(code, "diagnoses[0]", TODAY, shipped_code_set(), ENCOUNTER_DIAGNOSIS) == []


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
def test_non_billable_diagnosis_is_rejected_in_the_shipped_year(code: str, reason: Reason) -> None:
    (finding,) = check_diagnosis_code(code, "diagnoses[0]", TODAY, shipped_code_set(), ENCOUNTER_DIAGNOSIS)
    assert isinstance(finding, Rejection)
    assert finding.code is reason
    assert len(code) < 3 or code not in finding.message


def test_non_billable_diagnosis_outside_the_shipped_year_is_only_a_warning() -> None:
    (finding,) = check_diagnosis_code("J02", "diagnoses[0]", date(2026, 10, 1), shipped_code_set(), ENCOUNTER_DIAGNOSIS)
    assert isinstance(finding, Warning)
    assert finding.code is Reason.ENC_DX_NOT_BILLABLE


@pytest.mark.parametrize("day", [date(2025, 10, 1), TODAY, date(2026, 9, 30)])
def test_code_set_year_inside_fy2026_is_silent(day: date) -> None:
    assert check_code_set_year(day, SHIPPED_RELEASE, Reason.ENC_DX_YEAR_NOT_CHECKED, "diagnoses") == []


@pytest.mark.parametrize("day", [date(2025, 9, 30), date(2026, 10, 1), date(2019, 1, 1)])
def test_code_set_year_outside_fy2026_warns_and_says_what_was_not_checked(day: date) -> None:
    (finding,) = check_code_set_year(day, SHIPPED_RELEASE, Reason.ENC_DX_YEAR_NOT_CHECKED, "diagnoses")
    assert isinstance(finding, Warning)
    assert "code set of that year was not checked" in finding.message
    assert "April 1" in finding.message and "October" in finding.message and "March" in finding.message


def test_coverages() -> None:
    assert check_coverages([1]) == [] and check_coverages([1, 2, 3]) == []
    assert [f.code for f in check_coverages([])] == [Reason.ENC_COVERAGE_MISSING]
    for ranks in ([2], [1, 3], [2, 1], [1, 1], [0, 1]):
        assert [f.code for f in check_coverages(ranks)] == [Reason.ENC_COVERAGE_RANK], ranks


def test_admission_date() -> None:
    assert check_admission_date(None, TODAY) == []
    assert check_admission_date(TODAY, TODAY) == []
    assert [f.code for f in check_admission_date(date(2026, 3, 17), TODAY)] == [Reason.ENC_ADMISSION_DATE_FUTURE]
