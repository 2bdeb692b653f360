"""new_id: Crockford base32 of the clock then of random bits, the same format the digit loop wrote."""

from __future__ import annotations

import random
import re
import secrets
import time

import pytest

from services.chassis import ids

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def by_digit(value: int, length: int) -> str:
    """The reference: the last `length` base-32 digits of value, one at a time."""
    out = ""
    for _ in range(length):
        value, rem = divmod(value, 32)
        out = ALPHABET[rem] + out
    return out


@pytest.mark.parametrize("random_chars", [0, 1, 6, 7, 10, 16, 22])
def test_new_id_is_the_clock_then_the_random_digits(monkeypatch: pytest.MonkeyPatch, random_chars: int) -> None:
    rng = random.Random(random_chars)
    for _ in range(300):
        now = rng.choice([0.0, 1.0, 1_765_000_000.123, 32**9 / 1000 + 5.0, rng.uniform(0, 4e12)])
        bits = rng.getrandbits(5 * random_chars)
        monkeypatch.setattr(time, "time", lambda now=now: now)
        monkeypatch.setattr(secrets, "randbits", lambda k, bits=bits: bits if k == 5 * random_chars else -1)
        want = f"enc_{by_digit(int(now * 1000), 9)}{by_digit(bits, random_chars)}"
        assert ids.new_id("enc", random_chars) == want


def test_new_id_shape_and_order() -> None:
    a, b = ids.new_id("pst"), ids.new_id("pst")
    assert re.fullmatch(r"pst_[0-9A-HJKMNP-TV-Z]{19}", a)
    assert a != b
    assert a[:13] <= b[:13]  # the clock digits sort by creation
