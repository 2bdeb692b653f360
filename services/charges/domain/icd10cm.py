"""The ICD-10-CM code set the charges service ships, and the dates it is authoritative for.

simple-icd-10-cm 1.5.0 carries one release: the April 1, 2026 update of FY2026, in force for
dates of service from October 1, 2025 to September 30, 2026. Two consequences the rules must
not hide:

* for a date outside that fiscal year the verdict comes from the wrong year's code set, so it
  is reported as a warning naming the year that was not checked, never as a silent pass;
* within the year, codes added by the April 1 update also pass for October-March dates,
  when they did not exist yet (the October 2025 release is not shipped to tell them apart).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from enum import Enum
from functools import cache
from typing import Any, Protocol

from services.charges.domain.codes import is_icd10cm_shape


class DiagnosisStatus(Enum):
    BILLABLE = "billable"
    NOT_BILLABLE = "not_billable"
    """A chapter, block, category or subcategory that has more specific codes below it."""
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CodeSetRelease:
    name: str
    valid_from: date
    valid_through: date
    caveat: str
    """What even an in-year verdict cannot tell; repeated in the out-of-year warning."""

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_through


SHIPPED_RELEASE = CodeSetRelease(
    name="ICD-10-CM FY2026 (April 1, 2026 update)",
    valid_from=date(2025, 10, 1),
    valid_through=date(2026, 9, 30),
    caveat="codes added by the April 1, 2026 update also pass for October 2025 to March 2026 dates of service",
)


class DiagnosisCodeSet(Protocol):
    release: CodeSetRelease

    def status(self, code: str) -> DiagnosisStatus: ...


@cache
def _library() -> Any:
    # Importing parses a 10 MB XML file (about 4 s): pay it on first use, not on import of the
    # domain, so services and tests that never look up a diagnosis stay fast. Its loader
    # uses importlib.resources APIs deprecated in 3.11+: known, harmless, not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


class SimpleIcd10CmCodeSet:
    """The release shipped in simple-icd-10-cm; expects canonical codes (uppercase, no dot)."""

    release = SHIPPED_RELEASE

    def status(self, code: str) -> DiagnosisStatus:
        # The library also knows chapters ("1") and blocks ("A00-A09"): the shape check keeps
        # them, and dotted spellings, from counting as diagnosis codes.
        if not is_icd10cm_shape(code):
            return DiagnosisStatus.UNKNOWN
        lib = _library()
        if not lib.is_valid_item(code):
            return DiagnosisStatus.UNKNOWN
        return DiagnosisStatus.BILLABLE if lib.is_leaf(code) else DiagnosisStatus.NOT_BILLABLE


@cache
def shipped_code_set() -> SimpleIcd10CmCodeSet:
    return SimpleIcd10CmCodeSet()
