"""The event registry: every event type with its model, topic, key field and producer.

`deploy/topics.yaml` lists the same event types per topic; a test keeps the two in step.
Event types read `rcm.<domain>.<EventName>.v1`.

Producers build the model (strict: unknown fields refused) and `encode` it; consumers of our
own topics `decode` the bytes tolerantly (unknown fields ignored at every level), so a producer
may add an optional field within a version without breaking a consumer. The intake topics are
where outside data enters: the chassis consumer reads them with `validate`, as strictly as the
HTTP door.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ValidationError

from schemas import charges, claims, eligibility, intake, notifications, remits
from schemas.errors import ContractError

__all__ = [
    "INTAKE_TOPICS",
    "REGISTRY",
    "ContractError",
    "EventSpec",
    "Producer",
    "UnknownEventType",
    "decode",
    "encode",
    "event_type_of",
    "key_of",
    "spec_for",
    "spec_for_model",
    "specs_for_topic",
    "validate",
]

Producer = Literal["integration", "charges", "claims", "remits", "notifications"]

INTAKE_TOPICS: tuple[str, ...] = ("rcm.intake.encounters.v1", "rcm.intake.charges.v1", "rcm.intake.payments.v1")


# An alias, because inside EventSpec the name `type` is the event-type field.
ModelClass = type[BaseModel]


@dataclass(frozen=True)
class EventSpec:
    type: str
    """e.g. rcm.claims.ClaimSubmitted.v1"""
    name: str
    """e.g. ClaimSubmitted"""
    model: ModelClass
    """The strict producing model; `decode` reads it tolerantly."""
    topic: str
    """Unprefixed topic name; RCM_TOPIC_PREFIX is prepended at run time."""
    key_field: str
    """The model attribute whose value is the Kafka record key (and ce_subject)."""
    producer: Producer

    @property
    def version(self) -> str:
        return self.type.rsplit(".", 1)[1]


class UnknownEventType(KeyError):
    """No event of this type exists in the registry."""

    def __str__(self) -> str:
        return f"unknown event type: {self.args[0] if self.args else '?'}"


# (model, domain, topic, key field, producer) in catalog order: this order is the order of
# the generated documentation.
_TABLE: tuple[tuple[type[BaseModel], str, str, str, Producer], ...] = (
    (intake.EncounterRegistered, "intake", "rcm.intake.encounters.v1", "source_encounter_id", "integration"),
    (intake.EncounterUpdated, "intake", "rcm.intake.encounters.v1", "source_encounter_id", "integration"),
    (intake.EncounterClosed, "intake", "rcm.intake.encounters.v1", "source_encounter_id", "integration"),
    (intake.ChargeSubmitted, "intake", "rcm.intake.charges.v1", "source_encounter_id", "integration"),
    (intake.ChargeCorrected, "intake", "rcm.intake.charges.v1", "source_encounter_id", "integration"),
    (intake.ChargeVoided, "intake", "rcm.intake.charges.v1", "source_encounter_id", "integration"),
    (intake.PatientPaymentReceived, "intake", "rcm.intake.payments.v1", "patient_account_id", "integration"),
    (intake.PatientRefundIssued, "intake", "rcm.intake.payments.v1", "patient_account_id", "integration"),
    (charges.EncounterReadyToBill, "charges", "rcm.charges.v1", "encounter_id", "charges"),
    (charges.EncounterRejected, "charges", "rcm.charges.v1", "encounter_id", "charges"),
    (charges.ChargePosted, "charges", "rcm.charges.v1", "encounter_id", "charges"),
    (charges.ChargeRejected, "charges", "rcm.charges.v1", "encounter_id", "charges"),
    (charges.ChargeReversed, "charges", "rcm.charges.v1", "encounter_id", "charges"),
    (claims.ClaimCreated, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimHeld, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimReleased, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimSubmitted, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimAccepted, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimRejected, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimResubmitted, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimAdjudicated, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimForwarded, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimCorrected, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimVoided, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimFollowUpDue, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimStatusChecked, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (claims.ClaimClosed, "claims", "rcm.claims.v1", "claim_id", "claims"),
    (eligibility.EligibilityChecked, "eligibility", "rcm.eligibility.v1", "encounter_id", "claims"),
    (eligibility.PatientEstimated, "eligibility", "rcm.eligibility.v1", "encounter_id", "claims"),
    (remits.RemittanceReceived, "remittances", "rcm.remittances.v1", "remittance_id", "remits"),
    (remits.ClaimPaymentPosted, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.ClaimDenied, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.ClaimPaymentReversed, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.UnderpaymentDetected, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.OverpaymentDetected, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.UnmatchedRemittance, "remittances", "rcm.remittances.v1", "remittance_id", "remits"),
    (remits.UnmatchedRemittanceResolved, "remittances", "rcm.remittances.v1", "remittance_id", "remits"),
    (remits.ProviderAdjustmentPosted, "remittances", "rcm.remittances.v1", "remittance_id", "remits"),
    (remits.InsuranceBalanceWrittenOff, "remittances", "rcm.remittances.v1", "claim_id", "remits"),
    (remits.PatientBalanceCreated, "patient-balances", "rcm.patient-balances.v1", "patient_account_id", "remits"),
    (remits.PatientBalanceUpdated, "patient-balances", "rcm.patient-balances.v1", "patient_account_id", "remits"),
    (remits.PatientPaymentPosted, "patient-balances", "rcm.patient-balances.v1", "patient_account_id", "remits"),
    (remits.CreditBalanceCreated, "patient-balances", "rcm.patient-balances.v1", "patient_account_id", "remits"),
    (remits.BalanceWrittenOff, "patient-balances", "rcm.patient-balances.v1", "patient_account_id", "remits"),
    (notifications.NotificationSent, "notifications", "rcm.notifications.v1", "notification_id", "notifications"),
    (notifications.NotificationFailed, "notifications", "rcm.notifications.v1", "notification_id", "notifications"),
)


def _build() -> dict[str, EventSpec]:
    out: dict[str, EventSpec] = {}
    for model, domain, topic, key_field, producer in _TABLE:
        name = model.__name__
        event_type = f"rcm.{domain}.{name}.v1"
        if key_field not in model.model_fields:
            raise TypeError(f"{name}: key field {key_field} is not a field of the model")
        if not model.model_fields[key_field].is_required():
            raise TypeError(f"{name}: key field {key_field} must be required")
        if event_type in out:
            raise TypeError(f"duplicate event type {event_type}")
        out[event_type] = EventSpec(event_type, name, model, topic, key_field, producer)
    return out


REGISTRY: Mapping[str, EventSpec] = MappingProxyType(_build())
_BY_MODEL: Mapping[type[BaseModel], EventSpec] = MappingProxyType({s.model: s for s in REGISTRY.values()})


def spec_for(event_type: str) -> EventSpec:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def spec_for_model(model: type[BaseModel]) -> EventSpec:
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise UnknownEventType(model.__name__) from None


def specs_for_topic(topic: str) -> list[EventSpec]:
    """Event specs carried by an (unprefixed) topic, in catalog order."""
    return [s for s in REGISTRY.values() if s.topic == topic]


def event_type_of(event: BaseModel) -> str:
    return spec_for_model(type(event)).type


def key_of(event: BaseModel) -> str:
    """The Kafka record key (and ce_subject) of an event."""
    value = getattr(event, spec_for_model(type(event)).key_field)
    return str(value)


def encode(event: BaseModel) -> bytes:
    """The record value: compact JSON, money as "125.00" strings, dates ISO 8601."""
    spec_for_model(type(event))
    return event.model_dump_json().encode("utf-8")


def decode(event_type: str, payload: bytes | bytearray | str) -> BaseModel:
    """Tolerant read of a record value: unknown fields are ignored at every nesting level.

    Raises UnknownEventType, or ContractError whose `errors` hold field paths, error types
    and fixed messages, never input values.
    """
    spec = spec_for(event_type)
    try:
        return spec.model.model_validate_json(payload, extra="ignore")
    except ValidationError as exc:
        raise ContractError.from_validation_error(f"payload does not match {event_type}", exc) from None


def validate(event_type: str, data: object) -> BaseModel:
    """Strict validation of a producer's event in JSON form (JSON text, or what json.loads
    returns): unknown fields are refused, money must be strings, nothing is coerced.

    Raises UnknownEventType or ContractError (safe errors, as `decode`).
    """
    spec = spec_for(event_type)
    text = data if isinstance(data, bytes | bytearray | str) else json.dumps(data)
    try:
        return spec.model.model_validate_json(text)
    except ValidationError as exc:
        raise ContractError.from_validation_error(f"data does not match {event_type}", exc) from None
