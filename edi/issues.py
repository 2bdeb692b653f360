"""What validation and the readers report: ``X12Issue`` (one finding, never an element value)
and the conversion of a codec error into one. The envelope reader, the transaction readers and
the per-transaction checks build these; ``edi.validate`` collects them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from edi.errors import X12Error

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class X12Issue:
    """One finding. ``message`` never contains element values (X12 files carry PHI)."""

    code: str  # stable id: "pyx12:<code>", "envelope", "npi_check_digit", "writer_rule", "unreadable", ...
    message: str
    position: int | None = None  # 1-based segment number in the interchange (ISA = 1)
    segment_id: str | None = None
    element: str | None = None  # e.g. "CLM02"
    severity: Severity = "error"
    source: Literal["pyx12", "revcycle"] = "revcycle"

    def __str__(self) -> str:
        where = f"segment {self.position}" if self.position is not None else "interchange"
        if self.segment_id:
            where += f" ({self.segment_id})"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "position": self.position,
            "segment_id": self.segment_id,
            "element": self.element,
            "severity": self.severity,
            "source": self.source,
        }


def issue_from_error(error: X12Error, code: str = "syntax") -> X12Issue:
    return X12Issue(code=code, message=error.message, position=error.position, segment_id=error.segment_id)
