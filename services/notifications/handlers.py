"""Events in -> the contact projection, balances, statements, staff alerts and webhook deliveries.

Handlers only write rows (in the consumer's transaction); the sender (delivery.py) does the
talking in the background, never inside a consumer transaction.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from schemas import charges, claims, remits
from schemas.notifications import NotificationFailed, RelatedIds
from schemas.registry import specs_for_topic
from services.chassis import outbox
from services.chassis.clock import Clock
from services.chassis.consumer import Handler, HandlerContext
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.notifications import store
from services.notifications.domain.policy import webhook_body
from services.notifications.domain.statements import choose_recipient, guarantor_key

log = logging.getLogger(__name__)

STATEMENT_TEMPLATE = "patient-statement"
REMINDER_TEMPLATE = "patient-statement-reminder"
DIGEST_TEMPLATE = "staff-digest"

UNMATCHED = "rcm.remittances.UnmatchedRemittance.v1"
UNMATCHED_RESOLVED = "rcm.remittances.UnmatchedRemittanceResolved.v1"

STAFF_ALERTS = frozenset({
    "rcm.claims.ClaimHeld.v1",
    "rcm.claims.ClaimRejected.v1",
    "rcm.remittances.ClaimDenied.v1",
    "rcm.remittances.UnderpaymentDetected.v1",
    UNMATCHED,
    "rcm.claims.ClaimFollowUpDue.v1",
})


def unmatched_alert_key(remittance_id: str, position: remits.RemittancePosition) -> str:
    """The claim payment an UnmatchedRemittance alert is about, as its resolution names it too."""
    return f"{remittance_id}/{position.transaction_set_control_number}/{position.claim_index}"


def contact_park_key(encounter_id: str) -> str:
    return f"contact:{encounter_id}"


# --- webhooks: every consumed event may fan out to subscribers ------------------------------


async def fan_out(ctx: HandlerContext, event: BaseModel) -> int:
    """One pending webhook delivery per enabled subscription to this event type."""
    event_type = ctx.envelope.type
    subs = await store.subscriptions_for(ctx.conn, event_type)
    if not subs:
        return 0
    data = event.model_dump()
    body = webhook_body(str(ctx.envelope.id), event_type, ctx.envelope.time, data)
    related = RelatedIds(
        patient_account_id=data.get("patient_account_id"), encounter_id=data.get("encounter_id"),
        claim_id=data.get("claim_id"), balance_id=data.get("balance_id"), remittance_id=data.get("remittance_id"),
    )
    for sub in subs:
        await store.insert_notification(
            ctx.conn, notification_id=new_id("ntf"),
            idempotency_key=f"webhook:{sub['subscription_id']}:{ctx.envelope.id}", kind="webhook",
            channel="webhook", template=_template(event_type), recipient_kind="webhook_subscriber",
            related=related.model_dump(mode="json"), trigger_event_id=ctx.envelope.id,
            trigger_event_type=event_type, now=ctx.clock.now(), body=body,
            subscription_id=sub["subscription_id"],
        )
    return len(subs)


def _template(event_type: str) -> str:
    """rcm.remittances.ClaimDenied.v1 -> claim-denied."""
    name = event_type.split(".")[2]
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


# --- contacts ------------------------------------------------------------------------------


async def on_ready_to_bill(ctx: HandlerContext, event: charges.EncounterReadyToBill) -> None:
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


# --- balances and statements ---------------------------------------------------------------


async def on_balance(ctx: HandlerContext, event: remits.PatientBalanceCreated | remits.PatientBalanceUpdated) -> None:
    if await store.load_contact(ctx.conn, event.encounter_id) is None:
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
        kind="statement", body={"revision": revision},
    )


async def create_statement(
    conn: Any, clock: Clock, trigger_id: UUID, trigger_type: str, *, balance_id: str, encounter_id: str,
    patient_account_id: str, idempotency_key: str, template: str, kind: str, body: dict[str, Any],
) -> bool:
    """A statement (or reminder) row: pending, or skipped with a reason and a NotificationFailed."""
    contact = await store.load_contact(conn, encounter_id)
    details = contact["details"] if contact else {}
    recipient = choose_recipient(details)
    notification_id = new_id("ntf")
    related = RelatedIds(patient_account_id=patient_account_id, encounter_id=encounter_id, balance_id=balance_id,
                         statement_id=new_id("stm"))
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
        log.info("statement skipped", extra=ids(notification_id=notification_id, reason=recipient.error_class))
    return inserted


async def on_payment(ctx: HandlerContext, event: remits.PatientPaymentPosted) -> None:
    """A payment stops the reminders of every balance it pays off."""
    for application in event.applications:
        remaining = await store.reduce_balance(ctx.conn, application.balance_id, application.amount, ctx.clock.now())
        if remaining is not None and remaining <= Decimal("0"):
            await store.close_balance(ctx.conn, application.balance_id, "paid", ctx.clock.now())
    await fan_out(ctx, event)


async def on_write_off(ctx: HandlerContext, event: remits.BalanceWrittenOff) -> None:
    await store.set_amount_due(ctx.conn, event.balance_id, event.remaining_amount_due, ctx.clock.now())
    if event.remaining_amount_due <= 0:
        await store.close_balance(ctx.conn, event.balance_id, f"written off: {event.reason}", ctx.clock.now())
    await fan_out(ctx, event)


# --- staff alerts --------------------------------------------------------------------------


def alert_summary(event: BaseModel) -> dict[str, Any]:
    """Ids and codes a biller needs to open the item; no patient data."""
    data = event.model_dump(mode="json")
    keep = ("claim_id", "encounter_id", "remittance_id", "submission_id", "reason", "state", "days_outstanding",
            "due_on", "total_variance", "total_paid", "denial_scope", "source")
    out = {k: data[k] for k in keep if k in data and data[k] is not None}
    if isinstance(event, claims.ClaimHeld):
        out["edits"] = ",".join(e.edit_id for e in event.edits)
    if isinstance(event, claims.ClaimRejected):
        out.pop("reason", None)  # free text: the codes say enough, `rcm claims show` says the rest
        out["codes"] = ",".join(c.code for c in event.codes)
    if isinstance(event, remits.ClaimDenied):
        out["carcs"] = ",".join(f"{d.group}-{d.reason_code}" for d in event.denials)
        out["actions"] = ",".join(sorted({d.recommended_action for d in event.denials}))
    if isinstance(event, remits.UnmatchedRemittance | claims.ClaimFollowUpDue):
        out["payer_id"] = data["payer"]["payer_id"]
    if isinstance(event, remits.UnmatchedRemittanceResolved):
        out = {"state": "resolved", "remittance_id": event.remittance_id,
               "position": f"ST {event.position.transaction_set_control_number} claim {event.position.claim_index}",
               "claim_id": event.claim_id, "encounter_id": event.encounter_id,
               "amount_released": data["amount_released"], "resolution": event.resolution}
    return out


async def on_staff_alert(ctx: HandlerContext, event: BaseModel) -> None:
    key = None
    if isinstance(event, remits.UnmatchedRemittance):
        key = unmatched_alert_key(event.remittance_id, event.position)
    await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, alert_summary(event), ctx.clock.now(),
                          alert_key=key)
    await fan_out(ctx, event)


async def on_unmatched_resolved(ctx: HandlerContext, event: remits.UnmatchedRemittanceResolved) -> None:
    """The staff alert of that unmatched claim payment is resolved: skipped with reason "resolved" if
    still pending; if it was already delivered (or is unknown here, e.g. stored before alert keys),
    a "resolved" line goes into the next digest. A repeated resolution adds nothing."""
    key = unmatched_alert_key(event.remittance_id, event.position)
    now = ctx.clock.now()
    counts = await store.resolve_alerts(ctx.conn, UNMATCHED, key, now)
    if counts["delivered"] or not any(counts.values()):
        await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, alert_summary(event), now, alert_key=key)
    log.info("unmatched remittance alert resolved", extra=ids(remittance_id=event.remittance_id,
                                                              claim_id=event.claim_id))
    await fan_out(ctx, event)


async def on_provider_adjustment(ctx: HandlerContext, event: remits.ProviderAdjustmentPosted) -> None:
    """A PLB recoupment that named one of our claims took back part of its payment and reopened
    its books: a work item (review it, appeal it, or write it off with `rcm remits writeoff`)."""
    recouped = [a for a in event.adjustments if a.claim_id is not None]
    if recouped:
        summary = {"remittance_id": event.remittance_id, "payer_id": event.payer.payer_id,
                   "claims": ",".join(f"{a.claim_id}:{a.reason_code}:{a.amount}" for a in recouped)}
        await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, summary, ctx.clock.now())
        log.info("recoupment work item raised", extra=ids(remittance_id=event.remittance_id, count=len(recouped)))
    await fan_out(ctx, event)


async def on_other(ctx: HandlerContext, event: BaseModel) -> None:
    await fan_out(ctx, event)


def _handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for topic in ("rcm.charges.v1", "rcm.claims.v1", "rcm.remittances.v1", "rcm.patient-balances.v1"):
        for spec in specs_for_topic(topic):
            handlers[spec.type] = on_other
    for event_type in STAFF_ALERTS:
        handlers[event_type] = on_staff_alert
    handlers["rcm.charges.EncounterReadyToBill.v1"] = on_ready_to_bill
    handlers["rcm.patient-balances.PatientBalanceCreated.v1"] = on_balance
    handlers["rcm.patient-balances.PatientBalanceUpdated.v1"] = on_balance
    handlers["rcm.patient-balances.PatientPaymentPosted.v1"] = on_payment
    handlers["rcm.patient-balances.BalanceWrittenOff.v1"] = on_write_off
    handlers[UNMATCHED_RESOLVED] = on_unmatched_resolved
    handlers["rcm.remittances.ProviderAdjustmentPosted.v1"] = on_provider_adjustment
    return handlers


HANDLERS: dict[str, Handler] = _handlers()
