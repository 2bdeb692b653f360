"""Charge-level rules, one at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import pytest

from services.charges.domain import HcpcsCode, Reason, Rejection
from services.charges.domain.rules import (
    check_amount_agreement,
    check_diagnosis_pointers,
    check_modifiers,
    check_money,
    check_pointed_diagnoses,
    check_procedure_code,
    check_service_dates,
    check_units,
)
from services.chassis.icd10cm import SHIPPED
from tests.unit.charges.conftest import SERVICE_DAY, TODAY


def codes(findings) -> list[Reason]:
    return [f.code for f in findings]


# --------------------------------------------------------------------------- procedure codes


@pytest.mark.parametrize("code", ["99213", "0001F", "0042T", "0001U", "0002M", "J1100", "A0425", "G0463"])
def test_procedure_code_with_known_shape_passes(reference, code: str) -> None:
    assert check_procedure_code(code, "procedure_code", SERVICE_DAY, reference) == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("9921", Reason.CHG_CPT_SHAPE),
        ("99213A", Reason.CHG_CPT_SHAPE),
        ("0001X", Reason.CHG_CPT_SHAPE),
        ("W1234", Reason.CHG_HCPCS_SHAPE),
        ("J110", Reason.CHG_HCPCS_SHAPE),
        ("", Reason.CHG_HCPCS_SHAPE),
    ],
)
def test_procedure_code_with_wrong_shape_is_rejected(reference, code: str, reason: Reason) -> None:
    assert codes(check_procedure_code(code, "procedure_code", SERVICE_DAY, reference)) == [reason]


def test_cpt_is_checked_against_a_licensed_list_only_when_configured(reference) -> None:
    assert reference.cpt_codes is None
    assert check_procedure_code("12345", "procedure_code", SERVICE_DAY, reference) == []
    licensed = replace(reference, cpt_codes=frozenset({"99213"}))
    assert check_procedure_code("99213", "procedure_code", SERVICE_DAY, licensed) == []
    assert codes(check_procedure_code("12345", "procedure_code", SERVICE_DAY, licensed)) == [Reason.CHG_CPT_UNKNOWN]


def test_hcpcs_must_be_on_the_loaded_list(reference) -> None:
    (finding,) = check_procedure_code("J9999", "procedure_code", SERVICE_DAY, reference)
    assert finding.code is Reason.CHG_HCPCS_UNKNOWN
    assert "sample" in finding.message  # tells the operator which list said no


def test_hcpcs_must_be_in_effect_on_the_service_date(reference) -> None:
    dated = replace(
        reference,
        hcpcs=MappingProxyType(
            {
                "G0202": HcpcsCode("G0202", "discontinued", added=date(2002, 1, 1), terminated=date(2016, 12, 31)),
                "Q5999": HcpcsCode("Q5999", "new", added=date(2026, 10, 1)),
            }
        ),
    )
    assert check_procedure_code("G0202", "procedure_code", date(2016, 12, 31), dated) == []
    assert codes(check_procedure_code("G0202", "procedure_code", date(2017, 1, 1), dated)) == [
        Reason.CHG_HCPCS_NOT_EFFECTIVE
    ]
    assert codes(check_procedure_code("Q5999", "procedure_code", date(2026, 9, 30), dated)) == [
        Reason.CHG_HCPCS_NOT_EFFECTIVE
    ]
    assert check_procedure_code("Q5999", "procedure_code", None, dated) == []  # no date, no date check


def test_procedure_shape_only_without_reference() -> None:
    assert check_procedure_code("J9999", "procedure_code", None, None) == []
    assert codes(check_procedure_code("J99", "procedure_code", None, None)) == [Reason.CHG_HCPCS_SHAPE]


# --------------------------------------------------------------------------- modifiers


def test_known_modifiers_pass(reference) -> None:
    common = [
        "25",
        "26",
        "59",
        "76",
        "77",
        "91",
        "TC",
        "GP",
        "GO",
        "GN",
        "XE",
        "XP",
        "XS",
        "XU",
        "LT",
        "RT",
        "50",
        "51",
        "KX",
        "GA",
        "GY",
        "GZ",
        "Q5",
        "Q6",
        "QW",
    ]
    for modifier in common:
        assert check_modifiers([modifier], reference.modifiers) == [], modifier
    assert check_modifiers(["25", "59", "LT", "GP"], reference.modifiers) == []
    assert check_modifiers([], reference.modifiers) == []


def test_unknown_or_malformed_modifier_is_rejected_at_its_position(reference) -> None:
    (finding,) = check_modifiers(["25", "ZZ"], reference.modifiers)
    assert (finding.code, finding.field) == (Reason.CHG_MODIFIER_INVALID, "modifiers[1]")
    assert codes(check_modifiers(["2"], reference.modifiers)) == [Reason.CHG_MODIFIER_INVALID]
    assert codes(check_modifiers(["gp"], reference.modifiers)) == [Reason.CHG_MODIFIER_INVALID]


def test_too_many_or_repeated_modifiers(reference) -> None:
    assert codes(check_modifiers(["25", "59", "LT", "GP", "KX"], reference.modifiers)) == [Reason.CHG_MODIFIER_COUNT]
    (dup,) = check_modifiers(["59", "59"], reference.modifiers)
    assert (dup.code, dup.field) == (Reason.CHG_MODIFIER_DUPLICATE, "modifiers[1]")


def test_modifier_shape_only_without_a_list() -> None:
    assert check_modifiers(["ZZ"], None) == []


# --------------------------------------------------------------------------- units and money


@pytest.mark.parametrize("units", ["1", "0.5", "2.125", "9999999.999"])
def test_positive_units_pass(units: str) -> None:
    assert check_units(Decimal(units)) == []


@pytest.mark.parametrize("units", ["0", "-1", "0.0001", "10000000", "NaN", "sNaN", "Infinity"])
def test_bad_units_are_rejected(units: str) -> None:
    assert codes(check_units(Decimal(units))) == [Reason.CHG_UNITS]


@pytest.mark.parametrize("amount", ["0.01", "150", "150.5", "150.00", "9999999999.99"])
def test_positive_cents_amount_passes(amount: str) -> None:
    assert check_money(Decimal(amount), "amount") == []
    assert check_money(None, "amount") == []


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", Reason.CHG_AMOUNT),
        ("-5.00", Reason.CHG_AMOUNT),
        ("NaN", Reason.CHG_AMOUNT),
        ("sNaN", Reason.CHG_AMOUNT),
        ("1e10", Reason.CHG_AMOUNT),
        ("150.001", Reason.CHG_AMOUNT_PRECISION),
        ("0.005", Reason.CHG_AMOUNT_PRECISION),
    ],
)
def test_bad_amount_is_rejected(amount: str, reason: Reason) -> None:
    (finding,) = check_money(Decimal(amount), "unit_price")
    assert (finding.code, finding.field) == (reason, "unit_price")
    assert amount not in finding.message


def test_amount_must_agree_with_units_times_price() -> None:
    assert check_amount_agreement(Decimal("4"), Decimal("6.25"), Decimal("25.00")) == []
    assert check_amount_agreement(Decimal("2.5"), Decimal("10.01"), Decimal("25.03")) == []  # half up
    assert codes(check_amount_agreement(Decimal("2.5"), Decimal("10.01"), Decimal("25.02"))) == [
        Reason.CHG_AMOUNT_MISMATCH
    ]


# --------------------------------------------------------------------------- dates


def test_service_dates() -> None:
    assert check_service_dates(SERVICE_DAY, None, TODAY) == []
    assert check_service_dates(TODAY, TODAY, TODAY) == []
    assert codes(check_service_dates(date(2026, 3, 17), None, TODAY)) == [Reason.CHG_SERVICE_DATE_FUTURE]
    (end,) = check_service_dates(SERVICE_DAY, date(2026, 3, 17), TODAY)
    assert (end.code, end.field) == (Reason.CHG_SERVICE_DATE_FUTURE, "service_end_date")
    assert codes(check_service_dates(SERVICE_DAY, date(2026, 3, 1), TODAY)) == [Reason.CHG_SERVICE_DATE_ORDER]


# --------------------------------------------------------------------------- diagnosis pointers


def test_pointers_inside_the_diagnosis_list_pass() -> None:
    assert check_diagnosis_pointers([1], 1) == []
    assert check_diagnosis_pointers([4, 1, 2, 3], 12) == []


def test_pointer_out_of_range_names_its_position() -> None:
    (finding,) = check_diagnosis_pointers([1, 3], 2)
    assert (finding.code, finding.field) == (Reason.CHG_DX_POINTER_RANGE, "diagnosis_pointers[1]")
    assert codes(check_diagnosis_pointers([0], 2)) == [Reason.CHG_DX_POINTER_RANGE]
    assert codes(check_diagnosis_pointers([-1], 2)) == [Reason.CHG_DX_POINTER_RANGE]
    (none,) = check_diagnosis_pointers([1], 0)
    assert "no diagnoses" in none.message


def test_pointer_count_and_repeats() -> None:
    assert codes(check_diagnosis_pointers([], 2)) == [Reason.CHG_DX_POINTER_COUNT]
    assert codes(check_diagnosis_pointers([1, 2, 3, 4, 5], 12)) == [Reason.CHG_DX_POINTER_COUNT]
    assert codes(check_diagnosis_pointers([2, 2], 2)) == [Reason.CHG_DX_POINTER_DUPLICATE]


def test_pointed_diagnoses_must_be_billable_on_the_service_date() -> None:
    code_set = SHIPPED
    assert check_pointed_diagnoses([1], ["J020", "J02"], SERVICE_DAY, code_set) == []
    (finding,) = check_pointed_diagnoses([2], ["J020", "J02"], SERVICE_DAY, code_set)
    assert isinstance(finding, Rejection)
    assert (finding.code, finding.field) == (Reason.CHG_ICD_NOT_BILLABLE, "diagnosis_pointers[0]")
    assert codes(check_pointed_diagnoses([1], ["J0200"], SERVICE_DAY, code_set)) == [Reason.CHG_ICD_UNKNOWN]
    assert check_pointed_diagnoses([5], ["J02"], SERVICE_DAY, code_set) == []  # range is the pointer rule's job


def test_pointed_diagnoses_past_fy2026_are_judged_with_it_and_warn_once() -> None:
    """Behaviour change: the verdicts stand (they used to become warnings) and one warning says
    which edition judged the date."""
    findings = check_pointed_diagnoses([1, 2], ["J020", "J02"], date(2026, 10, 5), SHIPPED)
    assert [(type(f).__name__, f.code) for f in findings] == [("Rejection", Reason.CHG_ICD_NOT_BILLABLE),
                                                               ("Warning", Reason.ICD10_EDITION_STALE)]
