"""Value types: money, quantities, NPI and code shapes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from schemas.types import (
    CENT,
    DrgCode,
    Factor,
    Icd10Code,
    Modifier,
    Money,
    Ndc,
    NonNegativeMoney,
    Npi,
    PlaceOfService,
    PositiveMoney,
    ProcedureCode,
    TaxId,
    Units,
    ZipCode,
    ZipPlus4,
    money_str,
    npi_is_valid,
    to_money,
)


class M(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    money: Money | None = None
    nonneg: NonNegativeMoney | None = None
    pos: PositiveMoney | None = None
    units: Units | None = None
    npi: Npi | None = None
    icd: Icd10Code | None = None
    proc: ProcedureCode | None = None
    mod: Modifier | None = None
    pos_code: PlaceOfService | None = None
    zip: ZipCode | None = None
    zip4: ZipPlus4 | None = None
    ndc: Ndc | None = None
    tax: TaxId | None = None
    drg: DrgCode | None = None
    factor: Factor | None = None


def one(field: str, value: object) -> object:
    return getattr(M.model_validate({field: value}), field)


def one_json(field: str, raw_json_value: str) -> object:
    return getattr(M.model_validate_json(f'{{"{field}": {raw_json_value}}}'), field)


def fails(field: str, value: object) -> str:
    with pytest.raises(ValidationError) as info:
        M.model_validate({field: value})
    return str(info.value.errors()[0]["type"])


# --------------------------------------------------------------------------- NPI


@pytest.mark.parametrize("npi", ["1234567893", "1999999984", "1123456786"])
def test_valid_npis(npi: str) -> None:
    assert npi_is_valid(npi)
    assert one("npi", npi) == npi


@pytest.mark.parametrize(
    "npi", ["1234567890", "3234567893", "123456789", "12345678933", "12345678a3", "\uff11234567893"]
)
def test_invalid_npis(npi: str) -> None:
    assert not npi_is_valid(npi)
    assert fails("npi", npi) == "npi_invalid"


def _check_digit(first9: str) -> str:
    return next(d for d in "0123456789" if npi_is_valid(first9 + d))


@settings(max_examples=60)
@given(st.from_regex(r"\A[12][0-9]{8}\Z", fullmatch=True))
def test_every_payload_has_exactly_one_check_digit(first9: str) -> None:
    good = _check_digit(first9)
    assert [d for d in "0123456789" if npi_is_valid(first9 + d)] == [good]


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("125", "125.00"),
        ("12.5", "12.50"),
        ("0.01", "0.01"),
        ("-40.00", "-40.00"),
        ("-0", "0.00"),
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_money_normalizes_to_two_places(raw: str, expected: str) -> None:
    value = one("money", raw)
    assert value == Decimal(expected)
    assert M.model_validate({"money": value}).model_dump_json().count(f'"{expected}"') == 1


@pytest.mark.parametrize("raw", ["12.505", "1e3", "NaN", "12.", ".5", "1,000.00", " 12.00", "10000000000.00", "",
                                 "12.00\n"])
def test_money_rejects_bad_strings(raw: str) -> None:
    assert fails("money", raw) == "money_format"


def test_money_rejects_floats_and_json_numbers() -> None:
    assert fails("money", 12.5) == "money_type"
    assert fails("money", True) == "money_type"
    with pytest.raises(ValidationError) as info:
        one_json("money", "12.50")
    assert info.value.errors()[0]["type"] == "money_type"
    with pytest.raises(ValidationError):
        one_json("money", "12")


def test_money_from_python_decimal_and_int() -> None:
    assert one("money", Decimal("1.5")) == Decimal("1.50")
    assert one("money", 7) == Decimal("7.00")
    assert fails("money", Decimal("1.005")) == "money_format"
    assert fails("money", Decimal("Infinity")) == "money_format"


def test_money_serializes_as_string_with_two_places() -> None:
    assert M(money=Decimal("125")).model_dump_json(exclude_none=True) == '{"money":"125.00"}'
    assert M(money=Decimal("125")).model_dump(exclude_none=True) == {"money": Decimal("125.00")}


def test_money_sign_rules() -> None:
    assert fails("nonneg", "-1.00") == "money_format"
    assert one("nonneg", "0") == Decimal("0.00")
    assert fails("pos", "0.00") == "money_not_positive"
    assert one("pos", "0.01") == Decimal("0.01")


@settings(max_examples=100)
@given(st.decimals(min_value=Decimal("-9999999999.99"), max_value=Decimal("9999999999.99"), places=2))
def test_money_round_trips_exactly(value: Decimal) -> None:
    dumped = M(money=value).model_dump_json(exclude_none=True)
    back = M.model_validate_json(dumped).money
    assert back == value
    assert back is not None and back.as_tuple().exponent == -2


class Slow(Decimal):
    """A Decimal subclass: to_money takes its general path (the fast one is for plain Decimals)."""


def money_outcome(value: Decimal, **flags: bool) -> tuple[str, int | str, int] | str:
    try:
        got = to_money(value, **flags)
    except PydanticCustomError as exc:
        return exc.type
    except InvalidOperation:  # beyond the context's precision: neither path makes it money
        return "InvalidOperation"
    sign, _, exponent = got.as_tuple()
    return str(got), exponent, sign


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        (Decimal("-0.00"), "money", "0.00"),
        (Decimal("0.00"), "nonneg", "0.00"),
        (Decimal("125.40"), "pos", "125.40"),
        (Decimal("9999999999.99"), "money", "9999999999.99"),
        (Decimal("-9999999999.99"), "money", "-9999999999.99"),
    ],
)
def test_money_from_decimals_already_in_cents(value: Decimal, field: str, expected: str) -> None:
    got = one(field, value)
    assert isinstance(got, Decimal) and str(got) == expected and got.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "field", "error"),
    [
        (Decimal("10000000000.00"), "money", "money_format"),
        (Decimal("-10000000000.00"), "money", "money_format"),
        (Decimal("0.00"), "pos", "money_not_positive"),
        (Decimal("-0.00"), "pos", "money_not_positive"),
        (Decimal("-1.00"), "nonneg", "money_negative"),
        (Decimal("-1.00"), "pos", "money_negative"),
        (Decimal("NaN"), "money", "money_format"),
        (Decimal("-Infinity"), "money", "money_format"),
        (Decimal("1.001"), "money", "money_format"),
    ],
)
def test_money_refusals_of_python_decimals(value: Decimal, field: str, error: str) -> None:
    assert fails(field, value) == error


def test_money_json_mode_refuses_a_decimal_in_cents() -> None:
    with pytest.raises(PydanticCustomError) as info:
        to_money(Decimal("12.50"), json_mode=True)
    assert info.value.type == "money_type"


@settings(max_examples=300)
@given(
    st.decimals(allow_nan=True, allow_infinity=True, places=None)
    | st.decimals(min_value=Decimal("-2e10"), max_value=Decimal("2e10"), places=2),
    st.booleans(),
    st.booleans(),
)
def test_money_fast_path_agrees_with_the_general_one(value: Decimal, allow_negative: bool, allow_zero: bool) -> None:
    flags = {"allow_negative": allow_negative, "allow_zero": allow_zero}
    assert money_outcome(value, **flags) == money_outcome(Slow(value), **flags)


@settings(max_examples=300)
@given(st.decimals(allow_nan=True, allow_infinity=False, places=None)
       | st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2)
       | st.sampled_from([Decimal("-0.00"), Decimal("0E-7"), Decimal("1.5E+3"), Decimal("12.5"), Decimal("1E+1")]))
def test_money_str_is_the_quantized_amount(value: Decimal) -> None:
    try:
        want = f"{value.quantize(CENT):f}"
    except InvalidOperation:
        # Beyond the context's precision nothing can be quantized: an amount already in cents is
        # written exactly as it is (its str() is its wire form), any other is refused.
        try:
            got = money_str(value)
        except InvalidOperation:
            return
        _, point, cents = got.partition(".")
        assert (point, len(cents), "E" in got, Decimal(got)) == (".", 2, False, value)
        return
    assert money_str(value) == want


# --------------------------------------------------------------------------- units


def test_units() -> None:
    assert one("units", "1") == Decimal("1")
    assert one("units", "2.5") == Decimal("2.5")
    assert fails("units", "0") == "quantity_not_positive"
    assert fails("units", "-1") == "quantity_not_positive"
    assert fails("units", "1.2345") == "quantity_format"
    assert fails("units", 1.5) == "quantity_type"
    assert M(units=Decimal("2.5")).model_dump_json(exclude_none=True) == '{"units":"2.5"}'


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("J02.0", "J020"),
        ("j020", "J020"),
        ("E11.65", "E1165"),
        ("U07.1", "U071"),
        ("R50.9", "R509"),
        ("S72.001A", "S72001A"),
        ("I10", "I10"),
    ],
)
def test_icd10_stored_without_dot_uppercase(raw: str, stored: str) -> None:
    assert one("icd", raw) == stored


@pytest.mark.parametrize("raw", ["J0", "02.0", "J02.", "J.020", "J02.00000", "J02-0", "JJ20", "J02.0\n"])
def test_icd10_shape(raw: str) -> None:
    assert fails("icd", raw) == "icd10_format"


@pytest.mark.parametrize("code", ["99213", "0001F", "0042T", "0001U", "0002M", "J1100", "A0428", "V2020", "g0463"])
def test_procedure_codes_valid(code: str) -> None:
    assert one("proc", code) == code.upper()


@pytest.mark.parametrize("code", ["9921", "992134", "0001X", "W1234", "J110", "1234A", "99213 ",
                                  "99213\n"])
def test_procedure_codes_invalid(code: str) -> None:
    assert fails("proc", code) == "procedure_code_format"


def test_modifier_pos_zip_ndc_tax() -> None:
    assert one("mod", "gp") == "GP"
    assert fails("mod", "GPX") == "modifier_format"
    assert one("pos_code", "11") == "11"
    assert fails("pos_code", "1") == "place_of_service_format"
    assert one("zip", "94110-1234") == "941101234"
    assert one("zip", "94110") == "94110"
    assert fails("zip4", "94110") == "zip_plus4_required"
    assert one("zip4", "94115-1234") == "941151234"
    assert one("ndc", "00409-4888-01") == "00409488801"
    assert one("tax", "52-1234567") == "521234567"
    assert fails("npi", 1234567893) == "string_type"


def test_drg_codes_and_factors() -> None:
    assert one("drg", "194") == "194" and one("drg", "A12") == "A12"
    assert fails("drg", "19401") == "drg_format" and fails("drg", "19-4") == "drg_format"
    assert one_json("factor", '"0.8851"') == Decimal("0.8851") and one_json("factor", '"-1.25"') == Decimal("-1.25")
    assert one("factor", Decimal("0.80")) == Decimal("0.80")
    assert M(factor=Decimal("0.8")).model_dump_json(exclude_none=True) == '{"factor":"0.8"}'
    for bad in ('"1e3"', '"0.8%"', "0.8", '"12345678901"'):
        with pytest.raises(ValidationError) as info:
            M.model_validate_json(f'{{"factor": {bad}}}')
        assert info.value.errors()[0]["type"] == "factor_format"
