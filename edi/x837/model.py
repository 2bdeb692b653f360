"""Typed 837P claim model (005010X222A1): what the writer renders and the reader returns.

The parts the 837I shares (envelope, submitter, billing provider, subscriber, patient, payer,
other payers, adjustments) live in ``edi.x837common.model`` and are re-exported here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from edi.x837common.model import (
    BatchBase,
    ClaimBase,
    Diagnosis,
    LineAdjudicationBase,
    LineBase,
    Model,
    Modifier,
    Procedure,
    Provider,
    Quantity,
    ServiceFacility,
)

IMPLEMENTATION_837P = "005010X222A1"
MAX_LINES = 50
MAX_DIAGNOSES = 12

PlaceOfService = Annotated[str, Field(pattern=r"^\d{2}$")]
RelatedCause = Literal["AA", "EM", "OA"]  # CLM11: auto accident, employment, other accident
DrugUnit = Literal["F2", "GR", "ME", "ML", "UN"]  # CTP05-1


class Drug(Model):
    """2410: the National Drug Code of a drug line and the quantity given (LIN, CTP)."""

    ndc: Annotated[str, Field(pattern=r"^\d{11}$")]  # LIN03, 5-4-2 without hyphens
    quantity: Quantity  # CTP04
    unit: DrugUnit  # CTP05-1


class LineAdjudication(LineAdjudicationBase):
    """2430: how another payer adjudicated this line (secondary claims)."""

    procedure_code: Procedure  # SVD03
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []


class ServiceLine(LineBase):
    procedure_code: Procedure
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    units: Quantity = Decimal(1)
    unit_code: Literal["UN", "MJ"] = "UN"
    place_of_service: PlaceOfService | None = None  # SV105, only when it differs from CLM05-1
    diagnosis_pointers: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=1, max_length=4)]
    service_date: date
    service_date_end: date | None = None
    line_control_number: Annotated[str | None, Field(max_length=50, pattern=r"^[A-Za-z0-9\-]+$")] = None
    drug: Drug | None = None  # 2410
    rendering_provider: Provider | None = None  # 2420A, only when it differs from the claim's
    ordering_provider: Provider | None = None  # 2420E
    adjudications: list[LineAdjudication] = []

    @model_validator(mode="after")
    def _date_range(self) -> ServiceLine:
        if self.service_date_end is not None:
            if self.service_date_end < self.service_date:
                raise ValueError("service_date_end is before service_date")
            if self.service_date_end == self.service_date:
                # A one-day range is written as a single D8 date; normalizing keeps round trips exact.
                object.__setattr__(self, "service_date_end", None)
        return self


class Claim(ClaimBase):
    LINE_CHARGE: ClassVar[str] = "SV102"

    place_of_service: PlaceOfService
    frequency: Literal["1", "7", "8"] = "1"
    clia_number: Annotated[str | None, Field(pattern=r"^\d{2}D\d{7}$")] = None  # REF*X4
    related_causes: Annotated[list[RelatedCause], Field(max_length=2)] = []  # CLM11-1, CLM11-2
    accident_state: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None  # CLM11-4, auto accidents
    accident_date: date | None = None  # DTP*439
    provider_signature: bool = True  # CLM06
    diagnoses: Annotated[list[Diagnosis], Field(min_length=1, max_length=MAX_DIAGNOSES)]
    referring_provider: Provider | None = None
    rendering_provider: Provider | None = None
    service_facility: ServiceFacility | None = None  # 2310C
    lines: Annotated[list[ServiceLine], Field(min_length=1, max_length=MAX_LINES)]

    @model_validator(mode="after")
    def _professional_rules(self) -> Claim:
        for n, line in enumerate(self.lines, start=1):
            if max(line.diagnosis_pointers) > len(self.diagnoses):
                raise ValueError(f"line {n}: diagnosis pointer beyond the {len(self.diagnoses)} diagnoses")
            if len(set(line.diagnosis_pointers)) != len(line.diagnosis_pointers):
                raise ValueError(f"line {n}: repeated diagnosis pointer")
        self._check_accident()
        return self

    def _check_accident(self) -> None:
        if len(set(self.related_causes)) != len(self.related_causes):
            raise ValueError("related_causes (CLM11) must not repeat")
        if ("AA" in self.related_causes) != (self.accident_state is not None):
            raise ValueError("accident_state (CLM11-4) is required with related cause AA and only allowed with it")
        if {"AA", "OA"} & set(self.related_causes) and self.accident_date is None:
            raise ValueError("related cause AA or OA needs accident_date (DTP*439)")
        if self.accident_date is not None and not self.related_causes:
            raise ValueError("accident_date (DTP*439) needs related_causes (CLM11)")


class ClaimBatch(BatchBase):
    """One 837P interchange: envelope parameters, submitter/receiver and the claims.

    A single claim can be given as ``"claim": {...}`` instead of ``"claims": [...]``.
    """

    claims: Annotated[list[Claim], Field(min_length=1)]
