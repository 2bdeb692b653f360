"""Patients: the contact projection (EncounterReadyToBill), balances and their statements and
reminders (a statement per balance revision with something due, skipped with a reason when
nobody can be reached), payments and write-offs that close them."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from schemas import charges, remits
from schemas.notifications import NotificationFailed, RelatedIds
from services.chassis import outbox
from services.chassis.clock import Clock
from services.chassis.consumer import HandlerContext
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.parking import ParkKey
from services.notifications import store
from services.notifications.domain.statements import choose_recipient, guarantor_key
from services.notifications.service.webhooks import fan_out

log = logging.getLogger(__name__)


STATEMENT_TEMPLATE = "patient-statement"


REMINDER_TEMPLATE = "patient-statement-reminder"


def contact_park_key(encounter_id: str) -> ParkKey:
    return ParkKey.of("contact", encounter_id)


async def record_contact(ctx: HandlerContext, event: charges.EncounterReadyToBill) -> None:
    details = {
        "patient": event.patient.model_dump(mode="json"),
        "guarantor": event.guarantor.model_dump(mode="json"),
        "billing_provider": {"name": event.billing_provider.name},
    }
    await store.upsert_contact(
        ctx.conn, encounter_id=event.encounter_id, patient_account_id=event.patient_account_id,
        revision=event.revision, guarantor_key=guarantor_key(details), details=details, now=ctx.clock.now(),
    )
    await ctx.release_parked(contact_park_key(event.encounter_id))
    await fan_out(ctx, event)


async def apply_balance(ctx: HandlerContext,
                        event: remits.PatientBalanceCreated | remits.PatientBalanceUpdated) -> None:
    await ctx.hold(contact_park_key(event.encounter_id))  # the contact comes on another topic
    contact = await store.load_contact(ctx.conn, event.encounter_id)
    if contact is None:
        await ctx.park(contact_park_key(event.encounter_id), "contact details not yet known")
        return
    revision = event.revision if isinstance(event, remits.PatientBalanceUpdated) else 1
    opened_at = event.created_at if isinstance(event, remits.PatientBalanceCreated) else event.updated_at
    applied = await store.upsert_balance(
        ctx.conn, balance_id=event.balance_id, patient_account_id=event.patient_account_id,
        encounter_id=event.encounter_id, revision=revision, amount_due=event.amount_due, due_date=event.due_date,
        opened_at=opened_at, body=event.model_dump(mode="json"), now=ctx.clock.now(),
    )
    await fan_out(ctx, event)
    if not applied:
        log.info("stale balance revision ignored", extra=ids(event_id=str(ctx.envelope.id)))
        return
    if event.amount_due <= 0:
        reason = event.reason if isinstance(event, remits.PatientBalanceUpdated) else "zero"
        await store.close_balance(ctx.conn, event.balance_id, f"zeroed: {reason}", ctx.clock.now())
        return
    await create_statement(
        ctx.conn, ctx.clock, ctx.envelope.id, ctx.envelope.type, balance_id=event.balance_id,
        encounter_id=event.encounter_id, patient_account_id=event.patient_account_id,
        idempotency_key=f"statement:{event.balance_id}:{revision}", template=STATEMENT_TEMPLATE,
        kind="statement", body={"revision": revision}, contact=contact,
    )


async def create_statement(
    conn: Any, clock: Clock, trigger_id: UUID, trigger_type: str, *, balance_id: str, encounter_id: str,
    patient_account_id: str, idempotency_key: str, template: str, kind: str, body: dict[str, Any],
    contact: asyncpg.Record | None,
) -> bool:
    """A statement (or reminder) row: pending, or skipped with a reason and a NotificationFailed.
    `contact`: the encounter's (store.load_contact), read by the caller in this transaction."""
    related = RelatedIds(patient_account_id=patient_account_id, encounter_id=encounter_id, balance_id=balance_id,
                         statement_id=new_id("stm"))
    return await create_patient_email(conn, clock, trigger_id, trigger_type, related=related,
                                      idempotency_key=idempotency_key, template=template, kind=kind, body=body,
                                      contact=contact)


async def create_patient_email(
    conn: Any, clock: Clock, trigger_id: UUID, trigger_type: str, *, related: RelatedIds, idempotency_key: str,
    template: str, kind: str, body: dict[str, Any], contact: asyncpg.Record | None,
) -> bool:
    """An email to the guarantor of the encounter (a statement, a reminder, an estimate): pending, or
    skipped with a reason and a NotificationFailed when nobody may or can be reached by email."""
    details = contact["details"] if contact else {}
    recipient = choose_recipient(details)
    notification_id = new_id("ntf")
    state = "pending" if recipient.skip_reason is None else "skipped"
    inserted = await store.insert_notification(
        conn, notification_id=notification_id, idempotency_key=idempotency_key, kind=kind,
        channel="email", template=template, recipient_kind=recipient.kind, related=related.model_dump(mode="json"),
        trigger_event_id=trigger_id, trigger_event_type=trigger_type, now=clock.now(), state=state,
        reason=recipient.skip_reason, body=body,
    )
    if inserted and recipient.error_class is not None:
        failed = NotificationFailed(
            notification_id=notification_id, channel="email", template=template, recipient_kind=recipient.kind,
            related=related, trigger_event_id=trigger_id, trigger_event_type=trigger_type, attempts=1,
            error_class=recipient.error_class, permanent=True, next_attempt_at=None, failed_at=clock.now(),
        )
        await outbox.enqueue(conn, failed, occurred_at=clock.now())
        log.info("patient email skipped", extra=ids(notification_id=notification_id, reason=recipient.error_class))
    return inserted


async def apply_payment(ctx: HandlerContext, event: remits.PatientPaymentPosted) -> None:
    """A payment stops the reminders of every balance it pays off."""
    for application in event.applications:
        remaining = await store.reduce_balance(ctx.conn, application.balance_id, application.amount, ctx.clock.now())
        if remaining is not None and remaining <= Decimal("0"):
            await store.close_balance(ctx.conn, application.balance_id, "paid", ctx.clock.now())
    await fan_out(ctx, event)


async def apply_write_off(ctx: HandlerContext, event: remits.BalanceWrittenOff) -> None:
    await store.set_amount_due(ctx.conn, event.balance_id, event.remaining_amount_due, ctx.clock.now())
    if event.remaining_amount_due <= 0:
        await store.close_balance(ctx.conn, event.balance_id, f"written off: {event.reason}", ctx.clock.now())
    await fan_out(ctx, event)
