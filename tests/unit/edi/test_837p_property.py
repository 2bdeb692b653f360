"""Property-based corpus: every generated batch is pyx12-clean, passes our checks and round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from edi.validate import validate
from edi.x12 import DEFAULT_DELIMITERS, Delimiters
from edi.x837 import ClaimBatch, read_837p, render_837p
from tests.unit.edi.corpus import pyx12_counted as pyx12_clean
from tests.unit.edi.roundtrip import assert_round_trip
from tests.unit.edi.strategies import batches

DELIMITER_SETS = [
    DEFAULT_DELIMITERS,
    Delimiters(element="|", repetition="!", component=">", segment="\n"),
    Delimiters(element="*", repetition="^", component=">", segment="~"),
]


@given(doc=batches(), delimiters=st.sampled_from(DELIMITER_SETS), crlf=st.booleans())
def test_generated_batches_are_pyx12_clean_and_round_trip(
    doc: dict[str, Any], delimiters: Delimiters, crlf: bool
) -> None:
    batch = ClaimBatch.model_validate(doc)
    text = render_837p(batch, delimiters=delimiters, line_breaks=crlf)
    if crlf:
        text = text.replace(delimiters.segment + "\n", delimiters.segment + "\r\n")
    assert [str(i) for i in pyx12_clean(text)] == []
    assert validate(text) == []
    assert_round_trip(batch, read_837p(text), delimiters)


@given(doc=batches(max_claims=3, max_lines=5))
def test_rendering_is_deterministic_and_reader_is_idempotent(doc: dict[str, Any]) -> None:
    batch = ClaimBatch.model_validate(doc)
    text = render_837p(batch)
    assert render_837p(batch) == text
    assert render_837p(read_837p(text)) == text
