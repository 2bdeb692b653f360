"""Composite elements shared by several transactions: the procedure identifier (C003) of the
835 SVC01/SVC06 and the 277CA SVC01, the health care claim status (C043) of the 277CA and 277
STC01/STC10/STC11."""

from __future__ import annotations

from dataclasses import dataclass

from edi.segments import Segment
from edi.x12values import element_error


@dataclass(frozen=True, kw_only=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), AD (ADA), NU (revenue code), N4 (NDC), ...
    code: str
    modifiers: tuple[str, ...] = ()
    description: str = ""  # SVC06-07 only


@dataclass(frozen=True)
class StatusCode:
    """One ``category:status:entity`` composite (STC01, STC10, STC11)."""

    category: str  # 507: A1 received, A2 accepted, A3/A6/A7/A8 rejected, A4 not found, F1 paid, ...
    status: str  # 508: claim status code
    entity: str = ""  # 98: who the status is about (85 billing provider, PR payer, QC patient, ...)


def read_status_code(seg: Segment, i: int) -> StatusCode:
    """The C043 composite in element ``i`` of ``seg``: category and status are required."""
    category, status = seg.comp(i, 1), seg.comp(i, 2)
    if not category or not status:
        raise element_error(seg, i, "needs a status category code and a status code")
    return StatusCode(category, status, seg.comp(i, 3))
