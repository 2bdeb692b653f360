"""What a scrubber edit reports: a finding with its edit id, severity, message and rule source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
Source = Literal[
    "required-fields", "diagnosis-pointer", "icd10", "ncci-ptp", "mue", "age-sex", "institutional",
    "duplicate", "timely-filing", "correction-reference", "payer-rule", "pos-component", "em-procedure",
    "eligibility",
]  # fmt: skip


@dataclass(frozen=True)
class Finding:
    edit_id: str
    severity: Severity
    message: str
    source: Source
    line_number: int | None = None
