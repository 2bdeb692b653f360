from __future__ import annotations

from decimal import Decimal

import pytest

from services.charges.domain import (
    ChargemasterItem,
    Reason,
    Rejection,
    ResolvedCode,
    parse_chargemaster_csv,
    resolve_charge_code,
)
from tests.unit.charges.conftest import REPO, make_charge

HEADER = "cdm_code,procedure_code,modifiers,revenue_code,description,unit_price,effective_date"
GOOD = [
    "CDM-510-0213,99213,,0510,Office visit established patient low complexity,150.00,2026-01-01",
    "CDM-300-1042,87880,QW,0300,Rapid strep A antigen test,35.00,",
    "CDM-324-1047,71046,26 GC,0324,Chest x-ray professional component,40,2026-01-01",
    "CDM-636-0696,J0696,,0636,Ceftriaxone 250 mg,6.25,",
]


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def test_shipped_local_sample_parses_against_the_reference(reference) -> None:
    text = (REPO / "deploy" / "local" / "chargemaster.csv").read_text(encoding="utf-8")
    result = parse_chargemaster_csv(text, reference=reference)
    assert result.errors == ()
    assert result.chargemaster is not None and 30 <= len(result.chargemaster) <= 120  # a sample, not a CDM
    strep = result.chargemaster.get("CDM-300-1042")
    assert strep is not None and (strep.procedure_code, strep.modifiers) == ("87880", ("QW",))


def test_good_file_yields_typed_items() -> None:
    result = parse_chargemaster_csv(csv_text(*GOOD))
    assert result.ok and result.chargemaster is not None and len(result.chargemaster) == 4
    item = result.chargemaster.get("CDM-324-1047")
    assert item is not None
    assert item == ChargemasterItem(
        "CDM-324-1047",
        "71046",
        ("26", "GC"),
        "0324",
        "Chest x-ray professional component",
        Decimal("40.00"),
        item.effective_date,
    )
    assert str(item.unit_price) == "40.00"
    assert item.effective_date is not None and item.effective_date.isoformat() == "2026-01-01"
    assert result.chargemaster.get("CDM-300-1042").effective_date is None  # type: ignore[union-attr]


def test_columns_may_come_in_any_order_and_optional_ones_may_be_missing() -> None:
    text = "unit_price,description,revenue_code,procedure_code,cdm_code\n12.00,Venous blood draw,0300,36415,CDM-1\n"
    result = parse_chargemaster_csv(text)
    assert result.ok and result.chargemaster is not None
    assert result.chargemaster.get("CDM-1").modifiers == ()  # type: ignore[union-attr]


def test_comments_and_blank_lines_are_skipped_but_keep_line_numbers() -> None:
    text = "# sample\n\n" + csv_text(GOOD[0], "", "CDM-9,99213,,0510,Visit,abc,")
    (error,) = parse_chargemaster_csv(text).errors
    assert error.line == 6


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("CDM 1,99213,,0510,Visit,10.00,", "cdm_code", "cdm_code must be"),
        ("CDM-1,9921,,0510,Visit,10.00,", "procedure_code", "CPT code must be"),
        ("CDM-1,W1234,,0510,Visit,10.00,", "procedure_code", "HCPCS Level II code must be"),
        ("CDM-1,99213,25 25,0510,Visit,10.00,", "modifiers", "modifier repeats"),
        ("CDM-1,99213,25 59 LT GP KX,0510,Visit,10.00,", "modifiers", "a line carries at most 4 modifiers"),
        ("CDM-1,99213,X,0510,Visit,10.00,", "modifiers", "modifier is not"),
        ("CDM-1,99213,,510,Visit,10.00,", "revenue_code", "revenue_code must be 4 digits"),
        ("CDM-1,99213,,0510,,10.00,", "description", "description must be"),
        ("CDM-1,99213,,0510," + "x" * 81 + ",10.00,", "description", "description must be"),
        (
            "CDM-1,99213,,0510,Visit,10.005,",
            "unit_price",
            "unit_price must be a positive amount with at most two decimals",
        ),
        ("CDM-1,99213,,0510,Visit,0.00,", "unit_price", "unit_price must be a positive amount"),
        ("CDM-1,99213,,0510,Visit,-10.00,", "unit_price", "unit_price must be a positive amount"),
        ("CDM-1,99213,,0510,Visit,,", "unit_price", "unit_price must be a positive amount"),
        ("CDM-1,99213,,0510,Visit,10.00,2026-02-30", "effective_date", "effective_date must be"),
        ("CDM-1,99213,,0510,Visit,10.00,01/02/2026", "effective_date", "effective_date must be"),
    ],
)
def test_each_kind_of_bad_row_is_reported_with_its_line_number(row: str, field: str, message: str) -> None:
    result = parse_chargemaster_csv(csv_text(GOOD[0], GOOD[1], row))
    assert result.chargemaster is None
    (error,) = result.errors
    assert (error.line, error.field) == (4, field)
    assert str(error).startswith(f"line 4: {message}")


def test_wrong_number_of_cells_is_a_line_error() -> None:
    (error,) = parse_chargemaster_csv(csv_text(GOOD[0], "CDM-1,99213,0510")).errors
    assert str(error) == "line 3: expected 7 columns, found 3"


def test_all_or_nothing_and_every_bad_row_listed() -> None:
    rows = [GOOD[0], "CDM-2,99213,,0510,Visit,1.001,", GOOD[1], "CDM-4,99213,,05X0,Visit,10.00,", GOOD[2]]
    result = parse_chargemaster_csv(csv_text(*rows))
    assert result.chargemaster is None and not result.ok
    assert [e.line for e in result.errors] == [3, 5]


def test_duplicate_cdm_codes_are_refused_naming_the_first_line() -> None:
    result = parse_chargemaster_csv(csv_text(GOOD[0], GOOD[1], GOOD[0]))
    (error,) = result.errors
    assert str(error) == "line 4: cdm_code already used on line 2"
    assert result.chargemaster is None


def test_header_problems() -> None:
    (missing,) = parse_chargemaster_csv(csv_text(GOOD[0], header=HEADER.replace(",unit_price", ""))).errors
    assert str(missing) == "line 1: missing column unit_price"
    unknown = parse_chargemaster_csv(csv_text(header=HEADER + ",price")).errors
    assert [str(e) for e in unknown] == ["line 1: unknown column number 8"]
    assert [str(e) for e in parse_chargemaster_csv("").errors] == ["line 1: the file has no header row"]
    assert [str(e) for e in parse_chargemaster_csv(csv_text()).errors] == ["line 1: the chargemaster has no items"]


def test_reference_makes_codes_and_modifiers_known(reference) -> None:
    result = parse_chargemaster_csv(csv_text("CDM-1,J9999,ZZ,0636,Unknown drug,1.00,"), reference=reference)
    assert sorted(e.field or "" for e in result.errors) == ["modifiers", "procedure_code"]
    assert parse_chargemaster_csv(csv_text("CDM-1,J9999,ZZ,0636,Unknown drug,1.00,")).ok  # shape only


# --------------------------------------------------------------------------- resolution


@pytest.fixture
def chargemaster():
    result = parse_chargemaster_csv(csv_text(*GOOD))
    assert result.chargemaster is not None
    return result.chargemaster


def test_resolve_charge_code(chargemaster) -> None:
    charge = make_charge(
        procedure_code=None, chargemaster_code="CDM-300-1042", modifiers=("59",), unit_price=None, amount=None
    )
    resolved = resolve_charge_code(charge, chargemaster)
    assert resolved == ResolvedCode("87880", ("QW", "59"), "0300", Decimal("35.00"), "Rapid strep A antigen test")


def test_resolve_merges_modifiers_without_repeats(chargemaster) -> None:
    charge = make_charge(procedure_code=None, chargemaster_code="CDM-300-1042", modifiers=("QW",))
    resolved = resolve_charge_code(charge, chargemaster)
    assert isinstance(resolved, ResolvedCode) and resolved.modifiers == ("QW",)


def test_resolve_unknown_code_is_cdm_unknown(chargemaster) -> None:
    rejection = resolve_charge_code(make_charge(procedure_code=None, chargemaster_code="CDM-NOPE"), chargemaster)
    assert isinstance(rejection, Rejection)
    assert (rejection.code, rejection.field) == (Reason.CDM_UNKNOWN, "chargemaster_code")
    assert "CDM-NOPE" not in rejection.message


def test_resolve_before_the_item_is_effective(chargemaster) -> None:
    from datetime import date

    charge = make_charge(procedure_code=None, chargemaster_code="CDM-510-0213", service_date=date(2025, 12, 31))
    rejection = resolve_charge_code(charge, chargemaster)
    assert isinstance(rejection, Rejection) and rejection.code is Reason.CDM_NOT_EFFECTIVE


def test_resolve_needs_a_chargemaster_code(chargemaster) -> None:
    with pytest.raises(ValueError, match="chargemaster code"):
        resolve_charge_code(make_charge(), chargemaster)
