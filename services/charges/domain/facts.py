"""The facts validation needs, independent of the wire models.

A handler maps an intake event (or an HL7 DFT message) into these; the rules never see
pydantic models, so they can be tested and reused without the contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

ClaimType = Literal["professional", "institutional"]
Bills = Literal["professional", "institutional", "both"]


@dataclass(frozen=True, slots=True)
class CodedDiagnosis:
    code: str
    """ICD-10-CM, canonical."""
    present_on_admission: str | None = None


@dataclass(frozen=True, slots=True)
class DatedCode:
    """An ICD-10-PCS procedure or a NUBC occurrence code, and its date."""

    code: str
    on: date


@dataclass(frozen=True, slots=True)
class SpanCode:
    code: str
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class InstitutionalFacts:
    """The institutional claim's data on an encounter (schemas.common.InstitutionalDetails)."""

    type_of_bill: str
    """Facility type digit and classification digit."""
    statement_from: date
    statement_through: date
    attending_npi: str
    principal_diagnosis: CodedDiagnosis
    admission_type: str | None = None
    admission_source: str | None = None
    admission_hour: int | None = None
    discharge_hour: int | None = None
    billing_npi: str | None = None
    operating_npi: str | None = None
    other_operating_npi: str | None = None
    admitting_diagnosis: str | None = None
    reason_for_visit: tuple[str, ...] = ()
    other_diagnoses: tuple[CodedDiagnosis, ...] = ()
    principal_procedure: DatedCode | None = None
    other_procedures: tuple[DatedCode, ...] = ()
    condition_codes: tuple[str, ...] = ()
    occurrence_codes: tuple[DatedCode, ...] = ()
    occurrence_spans: tuple[SpanCode, ...] = ()
    value_codes: tuple[str, ...] = ()
    """The value codes alone: their amounts are checked by the contract's money type."""


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
    discharge_date: date | None = None
    bills: Bills = "professional"
    institutional: InstitutionalFacts | None = None


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
    revenue_code: str | None = None
    """The sender's own; else the chargemaster item's."""
    claim_type: ClaimType | None = None
    """None: the encounter's only claim."""


@dataclass(frozen=True, slots=True)
class PostedLineFacts:
    """A posted (not reversed) charge line, as a change of its encounter must still fit it."""

    claim_type: ClaimType
    service_date: date
    service_end_date: date | None = None
