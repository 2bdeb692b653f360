"""Events of the charges service, on `rcm.charges.v1`, keyed by `encounter_id`.

Charges validates what intake sends, owns the encounter record and the charge ledger, and
tells claims and notifications everything they need (they never query charges).
Rejections echo the sender's own ids so an integration team can find what it sent.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from schemas import examples as ex
from schemas.base import Contract, Event, examples, rule
from schemas.common import ClaimType, EncounterDetails, Provider, RejectionReason, Text80, Text200, Text500
from schemas.intake import DiagnosisPointer, NdcUnit
from schemas.types import (
    CENT,
    ChargemasterCode,
    EventTypeName,
    Icd10Code,
    IdempotencyKey,
    Modifier,
    Ndc,
    NonNegativeMoney,
    Npi,
    OpaqueId,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    SourceId,
    SourceSystem,
    Units,
)

__all__ = [
    "ChargeFinding",
    "ChargePosted",
    "ChargeRejected",
    "ChargeReversed",
    "EncounterReadyToBill",
    "EncounterRejected",
]


class EncounterReadyToBill(EncounterDetails, Event):
    """The encounter is coded, past its bill hold, and every charge on it is posted.

    Carries the full normalized encounter and the ids of its posted charges (each described
    by an earlier ChargePosted on this topic and key). Re-sent with a higher `revision`
    whenever the encounter or its charges change after billing.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "encounter_id": ex.ENCOUNTER_ID,
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "revision": 1,
                "charge_ids": ex.CHARGE_IDS,
                **ex.ENCOUNTER,
            },
            {
                "encounter_id": ex.INPATIENT_ENCOUNTER_ID,
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "revision": 1,
                "charge_ids": ex.INPATIENT_CHARGE_IDS,
                **ex.INPATIENT_ENCOUNTER,
            },
        )
    )

    encounter_id: OpaqueId
    """Our encounter id (the Kafka key)."""
    patient_account_id: OpaqueId
    """Our patient account id, printed on statements."""
    revision: int = Field(ge=1)
    """1 on the first release; +1 each time the encounter is re-released. Consumers ignore a
    revision lower than one they have already applied."""
    charge_ids: list[OpaqueId] = Field(min_length=1, max_length=500)
    """Ids of the posted (not reversed) charges that make up the encounter."""
    diagnoses: list[Icd10Code] = Field(min_length=1, max_length=12)
    """ICD-10-CM codes in order, the first principal; at least one once ready to bill."""

    @model_validator(mode="after")
    def _unique_charges(self) -> Self:
        if len(set(self.charge_ids)) != len(self.charge_ids):
            raise rule("charge_duplicate", "charge_ids must not repeat")
        return self


class EncounterRejected(Event):
    """An encounter event could not be accepted; fix the listed fields and send it again."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "encounter_id": ex.ENCOUNTER_ID,
                "source_system": ex.SOURCE_SYSTEM,
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "rejected_event_id": "0b6f7d2e-3c41-4a8e-b9f5-6d2c1e8a7f03",
                "rejected_event_type": "rcm.intake.EncounterRegistered.v1",
                "reasons": [
                    {
                        "code": "PAYER_UNKNOWN",
                        "field": "coverages[0].payer_id",
                        "message": "payer is not configured for this installation",
                    }
                ],
                "rejected_at": "2026-03-02T14:05:02Z",
            }
        )
    )

    encounter_id: OpaqueId
    """Our id for the sender's encounter (assigned on first sight, even when rejected)."""
    source_system: SourceSystem
    source_encounter_id: SourceId
    rejected_event_id: UUID
    """The ce_id of the rejected intake event."""
    rejected_event_type: EventTypeName
    reasons: list[RejectionReason] = Field(min_length=1)
    rejected_at: AwareDatetime


class ChargeRejected(Event):
    """A charge event could not be posted; fix the listed fields and send it again
    (with a new source_charge_id, since the rejected key counts as processed)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "encounter_id": ex.ENCOUNTER_ID,
                "source_system": ex.SOURCE_SYSTEM,
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "source_charge_id": "chg-88412-4",
                "idempotency_key": "epic-prod:chg-88412-4",
                "rejected_event_id": "5e1a9c3b-7d2f-4b60-8a1e-9c4d2f6b0e17",
                "rejected_event_type": "rcm.intake.ChargeSubmitted.v1",
                "reasons": [
                    {
                        "code": "DIAGNOSIS_POINTER_OUT_OF_RANGE",
                        "field": "diagnosis_pointers[1]",
                        "message": "the encounter has 2 diagnoses; pointer must be 1 or 2",
                    }
                ],
                "rejected_at": "2026-03-02T14:07:40Z",
            }
        )
    )

    encounter_id: OpaqueId
    source_system: SourceSystem
    source_encounter_id: SourceId
    source_charge_id: SourceId
    idempotency_key: IdempotencyKey
    rejected_event_id: UUID
    """The ce_id of the rejected intake event."""
    rejected_event_type: EventTypeName
    reasons: list[RejectionReason] = Field(min_length=1)
    rejected_at: AwareDatetime


class ChargeFinding(Contract):
    """Something validation found that did not stop the posting but that billing staff should see,
    e.g. ICD10_EDITION_STALE: the date of service is past every loaded ICD-10-CM edition, and the
    diagnoses were judged with the newest one."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "code": "ICD10_EDITION_STALE",
                "field": "service_date",
                "message": "the date of service 2026-12-01 is past every loaded ICD-10-CM edition: judged with "
                "ICD-10-CM FY2026 (valid through 2026-09-30); load the FY2027 code file with "
                "`rcm codesets load icd10cm FILE`",
            }
        )
    )

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
    """Stable machine-readable code."""
    field: Text200 | None = None
    """The field of the sender's charge it is about."""
    message: Text500


_POSTED_EXAMPLE: dict[str, Any] = {
    "encounter_id": ex.ENCOUNTER_ID,
    "charge_id": ex.CHARGE_IDS[0],
    "patient_account_id": ex.PATIENT_ACCOUNT_ID,
    "source_system": ex.SOURCE_SYSTEM,
    "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
    "source_charge_id": "chg-88412-1",
    "idempotency_key": "epic-prod:chg-88412-1",
    "service_date": "2026-03-02",
    "service_end_date": None,
    "procedure_code": "99213",
    "modifiers": ["25"],
    "chargemaster_code": None,
    "revenue_code": "0510",
    "claim_type": "professional",
    "description": "Office visit, established patient, low complexity",
    "units": "1",
    "unit_price": "150.00",
    "amount": "150.00",
    "diagnosis_pointers": [1, 2],
    "diagnosis_codes": ["J020", "R509"],
    "place_of_service": "11",
    "rendering_provider_npi": "1999999984",
    "ndc": None,
    "ndc_quantity": None,
    "ndc_unit": None,
    "replaces_charge_id": None,
    "posted_at": "2026-03-02T14:07:12Z",
}


class ChargePosted(Event):
    """A charge line was validated, normalized and posted to the charge ledger."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            _POSTED_EXAMPLE,
            {
                **_POSTED_EXAMPLE,
                "charge_id": ex.CHARGE_IDS[1],
                "source_charge_id": "chg-88412-2",
                "idempotency_key": "epic-prod:chg-88412-2",
                "procedure_code": "87880",
                "modifiers": ["QW"],
                "chargemaster_code": "CDM-300-1042",
                "revenue_code": "0300",
                "description": "Rapid strep A antigen test",
                "unit_price": "35.00",
                "amount": "35.00",
                "diagnosis_pointers": [1],
                "diagnosis_codes": ["J020"],
                "posted_at": "2026-03-02T14:07:13Z",
            },
            {
                **_POSTED_EXAMPLE,
                "encounter_id": ex.INPATIENT_ENCOUNTER_ID,
                "charge_id": ex.INPATIENT_CHARGE_IDS[0],
                "source_encounter_id": ex.INPATIENT_SOURCE_ENCOUNTER_ID,
                "source_charge_id": "chg-90417-1",
                "idempotency_key": "epic-prod:chg-90417-1",
                "service_date": "2026-03-02",
                "service_end_date": "2026-03-04",
                "procedure_code": None,
                "modifiers": [],
                "chargemaster_code": "CDM-120-0001",
                "revenue_code": "0120",
                "claim_type": "institutional",
                "description": "Room and board semi-private, per day",
                "units": "3",
                "unit_price": "1850.00",
                "amount": "5550.00",
                "diagnosis_pointers": [1],
                "diagnosis_codes": ["J189"],
                "place_of_service": "21",
                "posted_at": "2026-03-05T16:02:40Z",
            },
        )
    )

    encounter_id: OpaqueId
    charge_id: OpaqueId
    """Ledger id of the posted charge."""
    patient_account_id: OpaqueId
    source_system: SourceSystem
    source_encounter_id: SourceId
    source_charge_id: SourceId
    idempotency_key: IdempotencyKey
    """The intake event's key (ChargeSubmitted or ChargeCorrected) this posting came from."""
    service_date: date
    service_end_date: date | None = None
    procedure_code: ProcedureCode | None
    """CPT or HCPCS, resolved also when the sender gave a chargemaster code. Always set on a
    professional line; null only on an institutional line without HCPCS (room and board,
    supplies: the revenue code alone describes it)."""
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    chargemaster_code: ChargemasterCode | None = None
    revenue_code: RevenueCode | None = None
    """NUBC revenue code (the sender's, else the chargemaster item's); always set on an
    institutional line."""
    claim_type: ClaimType = "professional"
    """The claim the line goes on: the professional (837P) or the institutional (837I) one."""
    description: Text80 | None = None
    units: Units
    unit_price: NonNegativeMoney
    amount: NonNegativeMoney
    """Extended amount = unit_price x units, rounded half up to cents."""
    diagnosis_pointers: list[DiagnosisPointer] = Field(min_length=1, max_length=4)
    diagnosis_codes: list[Icd10Code] = Field(min_length=1, max_length=4)
    """The codes the pointers designate, in pointer order."""
    place_of_service: PlaceOfService
    rendering_provider_npi: Npi | None = None
    """The line's rendering NPI: the charge's own, else the encounter's rendering provider."""
    rendering_provider: Provider | None = None
    """The line's own rendering provider when the sender named it (its NPI is
    rendering_provider_npi)."""
    ordering_provider: Provider | None = None
    """Who ordered the service, when the sender named them."""
    ndc: Ndc | None = None
    ndc_quantity: Units | None = None
    ndc_unit: NdcUnit | None = None
    replaces_charge_id: OpaqueId | None = None
    """Set when this posting is a correction; the replaced charge gets a ChargeReversed."""
    posted_at: AwareDatetime
    findings: list[ChargeFinding] = Field(default_factory=list, max_length=20)
    """Warnings of validation that did not stop the posting (none on a clean charge)."""

    @model_validator(mode="after")
    def _line_rules(self) -> Self:
        if self.amount != (self.unit_price * self.units).quantize(CENT, rounding=ROUND_HALF_UP):
            raise rule("amount_mismatch", "amount must equal unit_price x units (rounded to cents)")
        if len(self.diagnosis_codes) != len(self.diagnosis_pointers):
            raise rule("pointer_codes", "diagnosis_codes must have one code per diagnosis pointer")
        if (self.ndc is None) != (self.ndc_quantity is None) or (self.ndc is None) != (self.ndc_unit is None):
            raise rule("ndc_incomplete", "ndc, ndc_quantity and ndc_unit go together")
        if self.rendering_provider is not None and self.rendering_provider.npi != self.rendering_provider_npi:
            raise rule("rendering_provider_npi", "rendering_provider.npi must equal rendering_provider_npi")
        if self.claim_type == "professional" and self.procedure_code is None:
            raise rule("procedure_required", "a professional line needs procedure_code")
        if self.claim_type == "institutional" and self.revenue_code is None:
            raise rule("revenue_code_required", "an institutional line needs revenue_code")
        return self


class ChargeReversed(Event):
    """A posted charge was reversed by a void or a correction (a reversing ledger row)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "encounter_id": ex.ENCOUNTER_ID,
                "charge_id": ex.CHARGE_IDS[1],
                "reversal_id": "rev_01JNQ8V9H0",
                "reason": "voided",
                "idempotency_key": "epic-prod:chg-88412-2v",
                "replacement_charge_id": None,
                "amount": "35.00",
                "reversed_at": "2026-03-02T16:20:00Z",
            }
        )
    )

    encounter_id: OpaqueId
    charge_id: OpaqueId
    """The reversed charge."""
    reversal_id: OpaqueId
    """Ledger id of the reversing entry."""
    reason: Literal["voided", "corrected"]
    idempotency_key: IdempotencyKey
    """The key of the ChargeVoided or ChargeCorrected that caused the reversal."""
    replacement_charge_id: OpaqueId | None = None
    """For a correction: the charge posted in its place (see its ChargePosted)."""
    amount: NonNegativeMoney
    """The amount taken off the ledger (the original extended amount)."""
    reversed_at: AwareDatetime

    @model_validator(mode="after")
    def _replacement_iff_corrected(self) -> Self:
        if (self.reason == "corrected") != (self.replacement_charge_id is not None):
            raise rule("replacement", "replacement_charge_id is required for a correction and absent for a void")
        return self
