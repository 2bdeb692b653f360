"""Comparison helpers for write-then-read round trips."""

from __future__ import annotations

from typing import Any

from edi.envelope import sanitize_text
from edi.segments import DEFAULT_DELIMITERS, Delimiters
from edi.x837common.model import BatchBase

FREE_TEXT = {"last_name", "first_name", "middle_name", "suffix", "name", "line1", "line2", "city", "contact_name"}
ROUND_TRIPS = {"batches": 0, "claims": 0, "lines": 0}


def _normalize(value: Any, delimiters: Delimiters, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v, delimiters, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "adjustments":
            # CAS segments carry one group code each: the writer groups triplets by group code
            # in order of first appearance, keeping the order within a group.
            groups = list(dict.fromkeys(adj["group"] for adj in value))
            value = sorted(value, key=lambda adj: groups.index(adj["group"]))
        return [_normalize(v, delimiters) for v in value]
    if key in FREE_TEXT and isinstance(value, str):
        return sanitize_text(value, delimiters)
    return value


def expected_after_round_trip(batch: BatchBase, delimiters: Delimiters = DEFAULT_DELIMITERS) -> dict[str, Any]:
    """What the reader must return: free text sanitized, CLM02 stated explicitly; ids and amounts unchanged."""
    doc = batch.model_dump()
    for claim, model in zip(doc["claims"], batch.claims, strict=True):
        claim["total_charge"] = model.charge
    return _normalize(doc, delimiters)  # type: ignore[no-any-return]


def differences(got: Any, want: Any, path: str = "") -> list[str]:
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want)) for d in differences(got.get(k), want.get(k), f"{path}.{k}")]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: got {got!r}, want {want!r}"]


def assert_round_trip(original: BatchBase, read_back: BatchBase, delimiters: Delimiters = DEFAULT_DELIMITERS) -> None:
    got, want = read_back.model_dump(), expected_after_round_trip(original, delimiters)
    # The writer groups claims under their billing provider/subscriber HLs, so file order is the
    # hierarchy's, not the batch's: compare claims by submission id.
    for doc in (got, want):
        doc["claims"].sort(key=lambda claim: claim["submission_id"])
    diff = differences(got, want)
    assert not diff, "\n".join(diff[:10])
    ROUND_TRIPS["batches"] += 1
    ROUND_TRIPS["claims"] += len(read_back.claims)
    ROUND_TRIPS["lines"] += sum(len(c.lines) for c in read_back.claims)
