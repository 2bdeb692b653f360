"""The normalized JSON document of a 271 (the CLI prints it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.x270.json import plain
from edi.x271.model import EligibilityResponse


def to_json_dict(responses: Sequence[EligibilityResponse]) -> dict[str, Any]:
    """{"transaction": "271", "responses": [...]}: each response's fields plus what they say
    (active, rejected) and the 270 it answers (reference, BHT03)."""
    return {"transaction": "271", "responses": [
        {**plain(r), "reference": r.reference, "active": r.active, "rejected": r.rejected} for r in responses]}
