"""NPI check digit (Luhn over the 80840 health-industry prefix)."""

from __future__ import annotations

_PREFIX_SUM = 24  # Luhn contribution of the implied prefix 80840, per the CMS NPI standard


def npi_check_digit(first9: str) -> int:
    total = _PREFIX_SUM
    for i, ch in enumerate(reversed(first9)):
        d = int(ch)
        if i % 2 == 0:  # rightmost of the 9 digits is doubled: the check digit takes position 1
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """10 digits, first digit 1 or 2, last digit the Luhn check digit."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit() or npi[0] not in "12":
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])
