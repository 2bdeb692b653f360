"""Shape checks refuse a value with a trailing newline: `re.match` with `$` accepts one ("99213\\n"
passed the procedure-code check and was then refused as a record key), so every anchored shape is
checked with `fullmatch`."""

from __future__ import annotations

import pytest

from services.chassis import tokens
from services.claims.domain import codesets

GOOD_SECRET = "rcm_" + "A" * 43


def test_a_token_secret_with_a_trailing_newline_is_not_well_formed() -> None:
    assert tokens.well_formed(GOOD_SECRET)
    assert not tokens.well_formed(GOOD_SECRET + "\n")


def test_a_quarter_with_a_trailing_newline_is_refused() -> None:
    assert codesets.quarter_start("2026Q1").isoformat() == "2026-01-01"
    with pytest.raises(ValueError, match="quarter"):
        codesets.quarter_start("2026Q1\n")
