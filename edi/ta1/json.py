"""The normalized JSON document of the TA1 acknowledgments of a file (the CLI prints it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.ta1.model import InterchangeAck


def to_json_dict(acks: Sequence[InterchangeAck]) -> dict[str, Any]:
    return {
        "transaction": "TA1",
        "acknowledgments": [
            {"control_number": a.control_number, "date": a.date, "time": a.time, "code": a.code.value,
             "note_code": a.note_code, "note": a.note}
            for a in acks
        ],
    }
