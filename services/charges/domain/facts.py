"""The facts validation needs, independent of the wire models.

A handler maps an intake event (or an HL7 DFT message) into these; the rules never see
pydantic models, so they can be tested and reused without the contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class EncounterFacts:
    billing_npi: str
    place_of_service: str
    diagnoses: tuple[str, ...]
    """ICD-10-CM codes in claim order, canonical (uppercase, no dot); the first is principal."""
    coverage_ranks: tuple[int, ...]
    """Rank of each coverage in the order listed (1 primary, 2 secondary, ...)."""
    rendering_npi: str | None = None
    referring_npi: str | None = None
    admission_date: date | None = None


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    service_date: date
    units: Decimal
    diagnosis_pointers: tuple[int, ...]
    """1-based positions in the encounter's diagnosis list."""
    procedure_code: str | None = None
    chargemaster_code: str | None = None
    modifiers: tuple[str, ...] = ()
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    service_end_date: date | None = None
    place_of_service: str | None = None
    """Only when it differs from the encounter's."""
    rendering_npi: str | None = None
    """Only when it differs from the encounter's rendering provider."""
