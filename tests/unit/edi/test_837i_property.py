"""Property-based 837I corpus: every generated batch is pyx12-clean, passes our checks and round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from edi.validate import validate
from edi.x12 import DEFAULT_DELIMITERS, Delimiters
from edi.x837i import ClaimBatch, read_837i, render_837i
from tests.unit.edi.corpus import pyx12_counted as pyx12_clean
from tests.unit.edi.roundtrip import assert_round_trip
from tests.unit.edi.strategies import batches, institutional_claims

DELIMITER_SETS = [DEFAULT_DELIMITERS, Delimiters(element="|", repetition="!", component=">", segment="\n")]


@given(doc=batches(max_claims=3, max_lines=20, claim=institutional_claims), delimiters=st.sampled_from(DELIMITER_SETS))
def test_generated_837i_batches_are_pyx12_clean_and_round_trip(doc: dict[str, Any], delimiters: Delimiters) -> None:
    batch = ClaimBatch.model_validate(doc)
    text = render_837i(batch, delimiters=delimiters)
    assert [str(i) for i in pyx12_clean(text)] == []
    assert validate(text) == []
    assert_round_trip(batch, read_837i(text), delimiters)
    assert render_837i(read_837i(text), delimiters=delimiters) == text
