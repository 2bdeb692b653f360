"""Inbound events: what hospital integrations and the front desk publish.

Topics `rcm.intake.encounters.v1` and `rcm.intake.charges.v1` are keyed by
`source_encounter_id`; `rcm.intake.payments.v1` by `patient_account_id`. Every change of
money carries an `idempotency_key` (source_system + ":" + the sender's transaction id):
the platform processes each key once, however often it is sent.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from schemas import examples as ex
from schemas.base import Contract, Event, examples, rule
from schemas.common import ClaimType, EncounterDetails, Provider, Text80, Text200
from schemas.types import (
    CENT,
    ChargemasterCode,
    IdempotencyKey,
    Modifier,
    Ndc,
    NonNegativeMoney,
    Npi,
    OpaqueId,
    PlaceOfService,
    PositiveMoney,
    ProcedureCode,
    RevenueCode,
    SourceId,
    SourceSystem,
    Units,
)

__all__ = [
    "ChargeCorrected",
    "ChargeSubmitted",
    "ChargeVoided",
    "DiagnosisPointer",
    "EncounterClosed",
    "EncounterRegistered",
    "EncounterUpdated",
    "NdcUnit",
    "PatientPaymentReceived",
    "PatientRefundIssued",
    "PaymentMethod",
]

DiagnosisPointer = Annotated[int, Field(ge=1, le=12)]
"""1-based position in the encounter's diagnosis list."""

NdcUnit = Literal["F2", "GR", "ME", "ML", "UN"]
"""837P CTP05 unit: F2 international unit, GR gram, ME milligram, ML milliliter, UN unit."""

PaymentMethod = Literal["cash", "check", "card", "ach", "other"]


def _check_idempotency_key(key: str, source_system: str, source_id: str) -> None:
    if key != f"{source_system}:{source_id}":
        raise rule("idempotency_key_mismatch", "idempotency_key must equal source_system + ':' + the source id")


# --------------------------------------------------------------------------- encounters


class EncounterRegistered(EncounterDetails, Event):
    """A new encounter (visit) exists in the EHR. Carries the full encounter.

    Send it once per visit, before or after its charges: charges that arrive first are
    parked until it does.
    """

    model_config = ConfigDict(json_schema_extra=examples(ex.ENCOUNTER, ex.INPATIENT_ENCOUNTER))


class EncounterUpdated(EncounterDetails, Event):
    """The encounter changed (demographics, coverage, diagnoses...). Carries the full new state.

    Not a patch: every field is the current value, so send the whole encounter again.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {**ex.ENCOUNTER, "diagnoses": ["J020", "R509", "R070"]},
        )
    )


class EncounterClosed(Event):
    """Coding is complete: the encounter may be billed once the payer's bill hold has passed."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "closed_at": "2026-03-02T18:40:00Z",
                "expected_source_charge_ids": ["chg-88412-1", "chg-88412-2", "chg-88412-3"],
            }
        )
    )

    source_system: SourceSystem
    source_encounter_id: SourceId
    closed_at: AwareDatetime
    """When coding was completed in the EHR."""
    expected_source_charge_ids: list[SourceId] = Field(default_factory=list, max_length=500)
    """The sender's ids of every charge sent for the encounter (recommended). Charges and
    encounters travel on different topics, so their order is not guaranteed: billing waits
    until each listed charge has been processed (posted or rejected), so a charge still in
    flight is not left off the claim. Empty: bill what has been posted when this arrives."""


# --------------------------------------------------------------------------- charges


class _ChargeIds(Contract):
    source_system: SourceSystem
    source_charge_id: SourceId
    """The sender's id for this charge transaction (a correction or void has its own)."""
    idempotency_key: IdempotencyKey
    """Exactly source_system + ":" + source_charge_id; a key already processed is ignored."""
    source_encounter_id: SourceId
    """The encounter the charge belongs to (also the Kafka key)."""

    @model_validator(mode="after")
    def _key_matches(self) -> Self:
        _check_idempotency_key(self.idempotency_key, self.source_system, self.source_charge_id)
        return self


class _ChargeLine(Contract):
    service_date: date
    service_end_date: date | None = None
    """Last day for a service spanning several days."""
    procedure_code: ProcedureCode | None = None
    """CPT or HCPCS Level II code. Exactly one of procedure_code and chargemaster_code, or
    neither on a facility line that has only a revenue_code (room and board, supplies)."""
    chargemaster_code: ChargemasterCode | None = None
    """Chargemaster item the charges service maps to a procedure code, revenue code and price."""
    revenue_code: RevenueCode | None = None
    """NUBC revenue code of a facility line (837I SV201); the chargemaster item's when omitted.
    Required on an institutional line, by the sender or the chargemaster."""
    claim_type: ClaimType | None = None
    """The claim the line goes on. Omit it when the encounter bills one claim (the line goes
    on that one); required when the encounter bills both."""
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    description: Text80 | None = None
    units: Units
    unit_price: NonNegativeMoney | None = None
    """Price per unit. At least one of unit_price and amount (both may be omitted with a
    chargemaster_code: the chargemaster prices it); when both, amount = unit_price x units."""
    amount: NonNegativeMoney | None = None
    """Extended amount for the line."""
    diagnosis_pointers: list[DiagnosisPointer] = Field(min_length=1, max_length=4)
    """1 to 4 positions (1-based) in the encounter's diagnosis list, most relevant first."""
    place_of_service: PlaceOfService | None = None
    """Only when it differs from the encounter's place of service."""
    rendering_provider_npi: Npi | None = None
    """Only when it differs from the encounter's rendering provider. Prefer rendering_provider:
    the claim names a line's own rendering provider (837P loop 2420A), which an NPI alone
    cannot do unless the encounter lists that NPI as its rendering or referring provider."""
    rendering_provider: Provider | None = None
    """The line's rendering practitioner in full, when it differs from the encounter's
    (837P loop 2420A). Give this or rendering_provider_npi, not both."""
    ordering_provider: Provider | None = None
    """Who ordered the service (lab test, imaging, equipment) when another practitioner
    performed it (837P loop 2420E)."""
    ndc: Ndc | None = None
    """National Drug Code for a drug line (837P loop 2410 LIN); then ndc_quantity and ndc_unit
    are required. Medicaid requires it on physician-administered drugs (J codes)."""
    ndc_quantity: Units | None = None
    """Quantity of the drug in ndc_unit (837P CTP04), not the HCPCS billing units."""
    ndc_unit: NdcUnit | None = None

    @model_validator(mode="after")
    def _line_rules(self) -> Self:
        if self.procedure_code is not None and self.chargemaster_code is not None:
            raise rule("code_choice", "exactly one of procedure_code and chargemaster_code is required")
        if self.procedure_code is None and self.chargemaster_code is None and self.revenue_code is None:
            raise rule("code_choice", "exactly one of procedure_code and chargemaster_code is required (or a "
                                      "revenue_code alone on a facility line)")
        if len(set(self.modifiers)) != len(self.modifiers):
            raise rule("modifier_duplicate", "modifiers must not repeat")
        if len(set(self.diagnosis_pointers)) != len(self.diagnosis_pointers):
            raise rule("pointer_duplicate", "diagnosis_pointers must not repeat")
        if self.service_end_date is not None and self.service_end_date < self.service_date:
            raise rule("service_dates", "service_end_date must not be before service_date")
        if self.unit_price is None and self.amount is None and self.chargemaster_code is None:
            # A chargemaster code alone is enough: the charges service prices it.
            raise rule("price_required", "unit_price or amount is required unless chargemaster_code is given")
        if (
            self.unit_price is not None
            and self.amount is not None
            and self.amount != (self.unit_price * self.units).quantize(CENT, rounding=ROUND_HALF_UP)
        ):
            raise rule("amount_mismatch", "amount must equal unit_price x units (rounded to cents)")
        ndc_parts = (self.ndc_quantity is not None, self.ndc_unit is not None)
        if self.ndc is not None and ndc_parts != (True, True):
            raise rule("ndc_incomplete", "ndc_quantity and ndc_unit are required with ndc")
        if self.ndc is None and any(ndc_parts):
            raise rule("ndc_missing", "ndc_quantity and ndc_unit are only allowed with ndc")
        if self.rendering_provider is not None and self.rendering_provider_npi is not None:
            raise rule("rendering_provider_choice", "give rendering_provider or rendering_provider_npi, not both")
        return self


_CHARGE_EXAMPLE: dict[str, Any] = {
    "source_system": ex.SOURCE_SYSTEM,
    "source_charge_id": "chg-88412-1",
    "idempotency_key": "epic-prod:chg-88412-1",
    "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
    "service_date": "2026-03-02",
    "service_end_date": None,
    "procedure_code": "99213",
    "chargemaster_code": None,
    "modifiers": ["25"],
    "description": "Office visit, established patient, low complexity",
    "units": "1",
    "unit_price": "150.00",
    "amount": "150.00",
    "diagnosis_pointers": [1, 2],
    "place_of_service": None,
    "rendering_provider_npi": None,
    "ndc": None,
    "ndc_quantity": None,
    "ndc_unit": None,
}


class ChargeSubmitted(_ChargeLine, _ChargeIds, Event):
    """A charge (one service line) to post against the encounter."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            _CHARGE_EXAMPLE,
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_charge_id": "chg-88412-2",
                "idempotency_key": "epic-prod:chg-88412-2",
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "service_date": "2026-03-02",
                "chargemaster_code": "CDM-300-1042",
                "units": "1",
                "amount": "35.00",
                "diagnosis_pointers": [1],
            },
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_charge_id": "chg-88412-3",
                "idempotency_key": "epic-prod:chg-88412-3",
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "service_date": "2026-03-02",
                "procedure_code": "J0696",
                "description": "Ceftriaxone sodium injection, per 250 mg",
                "units": "4",
                "unit_price": "6.25",
                "diagnosis_pointers": [1],
                "ndc": "00409-7338-01",
                "ndc_quantity": "1",
                "ndc_unit": "UN",
            },
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_charge_id": "chg-90417-1",
                "idempotency_key": "epic-prod:chg-90417-1",
                "source_encounter_id": ex.INPATIENT_SOURCE_ENCOUNTER_ID,
                "service_date": "2026-03-02",
                "service_end_date": "2026-03-04",
                "chargemaster_code": "CDM-120-0001",
                "claim_type": "institutional",
                "units": "3",
                "diagnosis_pointers": [1],
            },
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_charge_id": "chg-90417-2",
                "idempotency_key": "epic-prod:chg-90417-2",
                "source_encounter_id": ex.INPATIENT_SOURCE_ENCOUNTER_ID,
                "service_date": "2026-03-03",
                "revenue_code": "0250",
                "description": "Pharmacy",
                "claim_type": "institutional",
                "units": "1",
                "amount": "312.40",
                "diagnosis_pointers": [1],
            },
        )
    )


class ChargeCorrected(_ChargeLine, _ChargeIds, Event):
    """Replaces an earlier charge: the original is reversed and these values are posted.

    Carries the complete replacement line (not a patch) and the original's idempotency key.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_CHARGE_EXAMPLE,
                "source_charge_id": "chg-88412-1c",
                "idempotency_key": "epic-prod:chg-88412-1c",
                "procedure_code": "99214",
                "description": "Office visit, established patient, moderate complexity",
                "unit_price": "210.00",
                "amount": "210.00",
                "corrects_idempotency_key": "epic-prod:chg-88412-1",
                "reason": "Level of service corrected after coding review",
            }
        )
    )

    corrects_idempotency_key: IdempotencyKey
    """The idempotency key of the charge being replaced."""
    reason: Text200 | None = None

    @model_validator(mode="after")
    def _references_other_charge(self) -> Self:
        if self.corrects_idempotency_key == self.idempotency_key:
            raise rule("self_reference", "corrects_idempotency_key must differ from idempotency_key")
        if not self.corrects_idempotency_key.startswith(self.source_system + ":"):
            raise rule("cross_system", "corrects_idempotency_key must belong to the same source_system")
        return self


class ChargeVoided(_ChargeIds, Event):
    """Cancels an earlier charge: it is reversed and not billed."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "source_system": ex.SOURCE_SYSTEM,
                "source_charge_id": "chg-88412-2v",
                "idempotency_key": "epic-prod:chg-88412-2v",
                "source_encounter_id": ex.SOURCE_ENCOUNTER_ID,
                "voids_idempotency_key": "epic-prod:chg-88412-2",
                "reason": "Test not performed",
            }
        )
    )

    voids_idempotency_key: IdempotencyKey
    """The idempotency key of the charge being voided."""
    reason: Text200 | None = None

    @model_validator(mode="after")
    def _references_other_charge(self) -> Self:
        if self.voids_idempotency_key == self.idempotency_key:
            raise rule("self_reference", "voids_idempotency_key must differ from idempotency_key")
        if not self.voids_idempotency_key.startswith(self.source_system + ":"):
            raise rule("cross_system", "voids_idempotency_key must belong to the same source_system")
        return self


# --------------------------------------------------------------------------- patient payments


class PatientPaymentReceived(Event):
    """A patient (or guarantor) paid at the front desk or in the portal."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "source_system": "portal",
                "source_payment_id": "pay-20260415-0071",
                "idempotency_key": "portal:pay-20260415-0071",
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "amount": "40.00",
                "method": "card",
                "received_on": "2026-04-15",
                "encounter_id": None,
                "statement_id": "stm_01JPD7Q2W5",
                "reference": "AUTH-839201",
            }
        )
    )

    source_system: SourceSystem
    source_payment_id: SourceId
    idempotency_key: IdempotencyKey
    """Exactly source_system + ":" + source_payment_id."""
    patient_account_id: OpaqueId
    """Our patient account id, as printed on statements (the Kafka key)."""
    amount: PositiveMoney
    method: PaymentMethod
    received_on: date
    encounter_id: OpaqueId | None = None
    """Apply to this encounter's balance; otherwise the oldest open balances are paid first."""
    statement_id: OpaqueId | None = None
    """The statement the patient is paying, when known."""
    reference: SourceId | None = None
    """Check number or card authorization code."""

    @model_validator(mode="after")
    def _key_matches(self) -> Self:
        _check_idempotency_key(self.idempotency_key, self.source_system, self.source_payment_id)
        return self


class PatientRefundIssued(Event):
    """Money from a credit balance was returned to the patient."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "source_system": "portal",
                "source_refund_id": "rfd-20260502-0003",
                "idempotency_key": "portal:rfd-20260502-0003",
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "credit_balance_id": "crd_01JPF0N6E2",
                "amount": "15.00",
                "method": "check",
                "issued_on": "2026-05-02",
                "reference": "CHK-100482",
            }
        )
    )

    source_system: SourceSystem
    source_refund_id: SourceId
    idempotency_key: IdempotencyKey
    """Exactly source_system + ":" + source_refund_id."""
    patient_account_id: OpaqueId
    credit_balance_id: OpaqueId
    """The credit balance refunded (from CreditBalanceCreated)."""
    amount: PositiveMoney
    method: PaymentMethod
    issued_on: date
    reference: SourceId | None = None

    @model_validator(mode="after")
    def _key_matches(self) -> Self:
        _check_idempotency_key(self.idempotency_key, self.source_system, self.source_refund_id)
        return self
