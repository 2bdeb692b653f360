"""Money rules for charge lines: Decimal only, two places, half-up rounding to the cent."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from schemas.types import CENT

# numeric(12,2) in the ledger: at most ten integer digits.
MAX_AMOUNT = Decimal("9999999999.99")
# Units bounded like the wire type Units (7 integer digits), which also keeps units x price
# far inside the default 28-digit context, so the product never traps.
MAX_UNITS = Decimal("9999999.999")

_AMOUNT_TEXT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")


def has_cents_precision(value: Decimal) -> bool:
    """Finite and no finer than a cent (2.5 and 2.50 qualify; 2.505 does not)."""
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        return False
    return value == value.quantize(CENT)


def is_positive_amount(value: Decimal) -> bool:
    return value.is_finite() and Decimal(0) < value <= MAX_AMOUNT


def extended_amount(units: Decimal, unit_price: Decimal) -> Decimal:
    """units x unit price, rounded half-up to the cent (the way the contracts define amount)."""
    return (units * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount_text(text: str) -> Decimal | None:
    """A positive amount written as digits with at most two decimals, as two-place Decimal.

    None for anything else (sign, exponent, thousands separator, zero, three decimals):
    files such as the chargemaster must say exactly what they mean.
    """
    if not _AMOUNT_TEXT.fullmatch(text):
        return None
    value = Decimal(text).quantize(CENT)
    return value if value > 0 else None
