"""Composite elements shared by several transactions: the procedure identifier (C003) of the
835 SVC01/SVC06 and the 277CA SVC01."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), AD (ADA), NU (revenue code), N4 (NDC), ...
    code: str
    modifiers: tuple[str, ...] = ()
    description: str = ""  # SVC06-07 only
