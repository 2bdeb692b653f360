"""Opaque ids: a short prefix naming the kind, then time-ordered random characters.

Time-ordered so ids sort roughly by creation (handy in logs and tables); random so they reveal
nothing about the patient or the sender's numbers.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
# Every two digits (ten bits) at once: an id is made for each posting, journal and balance, and
# the digit-by-digit loop showed in the 835 posting's profile (base64.b32encode is no faster:
# it is Python too, and its alphabet is not Crockford's).
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)


def _base32(value: int, length: int) -> str:
    """The last `length` base-32 digits of `value` (value mod 32**length), most significant first."""
    pairs = (length + 1) // 2
    digits = "".join([_PAIRS[(value >> (10 * i)) & 1023] for i in range(pairs - 1, -1, -1)])
    return digits[len(digits) - length:]


def new_id(prefix: str, random_chars: int = 10) -> str:
    """e.g. new_id("enc") -> "enc_01JNQ8R6T2K9QX4M7B"; at most len(prefix) + 1 + 9 + random_chars."""
    millis = int(time.time() * 1000)
    random_bits = 5 * random_chars
    # Nine digits of the clock (millis mod 32**9), then the random digits: one number, one pass.
    stamp = (millis % (1 << 45)) << random_bits | secrets.randbits(random_bits)
    return f"{prefix}_{_base32(stamp, 9 + random_chars)}"
