"""Events in -> domain calls: the ClaimSubmitted and statement projections, patient payments and refunds."""

from __future__ import annotations

from typing import Any

from schemas.claims import ClaimSubmitted
from schemas.intake import PatientPaymentReceived, PatientRefundIssued
from schemas.notifications import NotificationSent
from services.chassis.consumer import Handler, HandlerContext
from services.remits import intake, patients, store


async def on_claim_submitted(ctx: HandlerContext, event: Any) -> None:
    e: ClaimSubmitted = event
    await store.save_submission(ctx.conn, {
        "submission_id": e.submission_id, "claim_id": e.claim_id, "claim_family_id": e.claim_family_id,
        "encounter_id": e.encounter_id, "patient_account_id": e.patient_account_id, "payer_id": e.payer.payer_id,
        "payer_name": e.payer.payer_name, "coverage_rank": e.coverage_rank,
        "next_payer_rank": e.next_payer.coverage_rank if e.next_payer else None,
        "next_payer_id": e.next_payer.payer_id if e.next_payer else None, "frequency": e.frequency,
        "total_charge": e.total_charge, "lines": [ln.model_dump(mode="json") for ln in e.lines],
        "submitted_at": e.submitted_at,
        "protection": e.patient_protection.reason if e.patient_protection else None,
        "share_of_cost": e.patient_protection.share_of_cost if e.patient_protection else None,
    })


async def on_payment(ctx: HandlerContext, event: Any) -> None:
    e: PatientPaymentReceived = event
    await patients.post_payment(ctx.conn, idempotency_key=e.idempotency_key, patient_account_id=e.patient_account_id,
                                amount=e.amount, method=e.method, received_on=e.received_on,
                                encounter_id=e.encounter_id, statement_id=e.statement_id, at=ctx.clock.now())


async def on_refund(ctx: HandlerContext, event: Any) -> None:
    e: PatientRefundIssued = event
    await patients.issue_refund(ctx.conn, idempotency_key=e.idempotency_key, credit_balance_id=e.credit_balance_id,
                                amount=e.amount, at=ctx.clock.now(), patient_account_id=e.patient_account_id)


async def on_notification_sent(ctx: HandlerContext, event: Any) -> None:
    """Keep statement id -> balance id, so a payment naming the statement pays that balance.
    Notifications that are not statements (no statement_id or no balance_id) are ignored."""
    e: NotificationSent = event
    if e.related.statement_id is None or e.related.balance_id is None:
        return
    await store.save_statement(ctx.conn, e.related.statement_id, e.related.balance_id, e.related.patient_account_id,
                               e.notification_id, e.sent_at)


HANDLERS: dict[str, Handler] = {
    "rcm.claims.ClaimSubmitted.v1": intake.matching(on_claim_submitted),  # then re-post what waited in suspense
    "rcm.intake.PatientPaymentReceived.v1": on_payment,
    "rcm.intake.PatientRefundIssued.v1": on_refund,
    "rcm.notifications.NotificationSent.v1": on_notification_sent,
}
