"""The normalized JSON document of a 270 (the CLI prints it); ``plain`` also serves the 271's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from edi.x12values import format_amount
from edi.x270.model import Inquiry


def plain(value: Any) -> Any:
    """A model value as JSON: dataclasses as objects (fields not compared, such as positions,
    left out), dates ISO, decimals as the X12 text ("0.2", "350"), tuples as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value) if f.compare}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def to_json_dict(inquiries: Sequence[Inquiry]) -> dict[str, Any]:
    """{"transaction": "270", "inquiries": [...]}: each inquiry's fields, the patient's own."""
    return {"transaction": "270", "inquiries": [plain(i) for i in inquiries]}
