"""Events of the notifications service, on `rcm.notifications.v1`, keyed by `notification_id`.

They record that someone was (or could not be) told something. They never carry the
recipient's address, email or phone, nor the message body: the ids say what it was about.
"""

from __future__ import annotations

from typing import Any, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from schemas.base import Contract, Event, examples, rule
from schemas.examples import BALANCE_ID, CLAIM_ID, ENCOUNTER_ID, PATIENT_ACCOUNT_ID
from schemas.types import EventTypeName, OpaqueId, TemplateId

__all__ = ["NotificationFailed", "NotificationSent", "RelatedIds"]


class RelatedIds(Contract):
    """What the notification is about (opaque ids only)."""

    patient_account_id: OpaqueId | None = None
    encounter_id: OpaqueId | None = None
    claim_id: OpaqueId | None = None
    balance_id: OpaqueId | None = None
    remittance_id: OpaqueId | None = None
    statement_id: OpaqueId | None = None


class _Notification(Event):
    notification_id: OpaqueId
    """The Kafka key."""
    channel: Literal["email", "mail", "webhook"]
    """email: SMTP; mail: a printed statement handed to the mail vendor; webhook: a signed HTTP POST."""
    template: TemplateId
    recipient_kind: Literal["patient", "guarantor", "staff", "webhook_subscriber"]
    related: RelatedIds
    trigger_event_id: UUID
    """ce_id of the event that caused the notification."""
    trigger_event_type: EventTypeName


_STATEMENT: dict[str, Any] = {
    "notification_id": "ntf_01JPB2E5V7",
    "channel": "email",
    "template": "patient-statement",
    "recipient_kind": "guarantor",
    "related": {
        "patient_account_id": PATIENT_ACCOUNT_ID,
        "encounter_id": ENCOUNTER_ID,
        "claim_id": None,
        "balance_id": BALANCE_ID,
        "remittance_id": None,
        "statement_id": "stm_01JPD7Q2W5",
    },
    "trigger_event_id": "c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f",
    "trigger_event_type": "rcm.patient-balances.PatientBalanceCreated.v1",
}


class NotificationSent(_Notification):
    """The message was handed over (SMTP accepted it, the webhook answered 2xx, ...)."""

    model_config = ConfigDict(
        json_schema_extra=examples({**_STATEMENT, "attempt": 1, "sent_at": "2026-04-08T15:05:00Z"})
    )

    attempt: int = Field(ge=1)
    sent_at: AwareDatetime


class NotificationFailed(_Notification):
    """The message could not be delivered; retried unless `permanent`."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "notification_id": "ntf_01JPB9K2C4",
                "channel": "webhook",
                "template": "claim-denied",
                "recipient_kind": "webhook_subscriber",
                "related": {
                    "patient_account_id": None,
                    "encounter_id": ENCOUNTER_ID,
                    "claim_id": CLAIM_ID,
                    "balance_id": None,
                    "remittance_id": None,
                    "statement_id": None,
                },
                "trigger_event_id": "3a5c7e9b-2d4f-4a6b-8c0e-1f3a5c7e9b2d",
                "trigger_event_type": "rcm.remittances.ClaimDenied.v1",
                "attempts": 3,
                "error_class": "webhook_http_error",
                "permanent": False,
                "next_attempt_at": "2026-04-08T16:05:00Z",
                "failed_at": "2026-04-08T15:35:00Z",
            }
        )
    )

    attempts: int = Field(ge=1)
    error_class: Literal[
        "smtp_rejected", "smtp_unavailable", "webhook_http_error", "webhook_timeout",
        "no_contact_details", "opted_out", "template_error",
    ]  # fmt: skip
    permanent: bool
    next_attempt_at: AwareDatetime | None = None
    """When the next attempt is scheduled; absent when permanent."""
    failed_at: AwareDatetime

    @model_validator(mode="after")
    def _retry(self) -> Self:
        if self.permanent != (self.next_attempt_at is None):
            raise rule("retry", "next_attempt_at is required unless the failure is permanent")
        return self
