"""Opaque ids: a short prefix naming the kind, then time-ordered random characters.

Time-ordered so ids sort roughly by creation (handy in logs and tables); random so they reveal
nothing about the patient or the sender's numbers.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str, random_chars: int = 10) -> str:
    """e.g. new_id("enc") -> "enc_01JNQ8R6T2K9QX4M7B"; at most len(prefix) + 1 + 9 + random_chars."""
    millis = int(time.time() * 1000)
    return f"{prefix}_{_base32(millis, 9)}{_base32(secrets.randbits(5 * random_chars), random_chars)}"
