from __future__ import annotations

from decimal import Decimal

import pytest

from services.charges.domain.money import extended_amount, has_cents_precision, is_positive_amount, parse_amount_text


@pytest.mark.parametrize(
    ("units", "price", "expected"),
    [
        ("1", "150.00", "150.00"),
        ("4", "6.25", "25.00"),
        ("2.5", "10.01", "25.03"),  # 25.025 rounds half up
        ("0.333", "10.00", "3.33"),  # 3.33
        ("0.125", "0.10", "0.01"),  # 0.0125 -> 0.01
        ("1.5", "0.01", "0.02"),  # 0.015 rounds half up, not to even
    ],
)
def test_extended_amount_rounds_half_up_to_cents(units: str, price: str, expected: str) -> None:
    result = extended_amount(Decimal(units), Decimal(price))
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


def test_cents_precision_and_positivity() -> None:
    assert has_cents_precision(Decimal("2.5")) and has_cents_precision(Decimal("2.50"))
    assert not has_cents_precision(Decimal("2.505"))
    assert not has_cents_precision(Decimal("NaN")) and not has_cents_precision(Decimal("Infinity"))
    assert is_positive_amount(Decimal("0.01"))
    assert not is_positive_amount(Decimal("0")) and not is_positive_amount(Decimal("-1"))
    assert not is_positive_amount(Decimal("sNaN")) and not is_positive_amount(Decimal("1e10"))


@pytest.mark.parametrize(("text", "expected"), [("125", "125.00"), ("6.5", "6.50"), ("0.01", "0.01")])
def test_parse_amount_text_accepts_plain_amounts(text: str, expected: str) -> None:
    assert parse_amount_text(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text", ["", "0", "0.00", "-5.00", "1.005", "1e3", "1,000.00", " 5.00", "$5.00", "12345678901"]
)
def test_parse_amount_text_refuses_anything_else(text: str) -> None:
    assert parse_amount_text(text) is None
