"""Events in -> the remits use cases (service/): one call each, nothing else. ClaimSubmitted goes
through the unit of work (service/unit.py); the handlers that read balances (payments, refunds)
write its buffer first, so they see the books of the claims before them in the batch."""

from __future__ import annotations

from schemas.claims import ClaimSubmitted
from schemas.eligibility import PatientEstimated
from schemas.intake import PatientPaymentReceived, PatientRefundIssued
from schemas.notifications import NotificationSent
from services.chassis.consumer import HandlerContext, HandlerTable
from services.remits.service import estimates, patient_payments, unit

table = HandlerTable()


@table.handles(ClaimSubmitted, unit=unit.UNIT)
async def on_claim_submitted(ctx: HandlerContext, event: ClaimSubmitted) -> None:
    """The submission a CLP01 can match, then what waited for it in suspense, then the books."""
    await unit.record_submission(ctx, event)


@table.handles(PatientPaymentReceived)
async def on_payment(ctx: HandlerContext, event: PatientPaymentReceived) -> None:
    await unit.UNIT.flush(ctx)
    await patient_payments.post_payment(
        ctx.conn, idempotency_key=event.idempotency_key, patient_account_id=event.patient_account_id,
        amount=event.amount, method=event.method, received_on=event.received_on, encounter_id=event.encounter_id,
        statement_id=event.statement_id, at=ctx.clock.now())


@table.handles(PatientRefundIssued)
async def on_refund(ctx: HandlerContext, event: PatientRefundIssued) -> None:
    await unit.UNIT.flush(ctx)
    await patient_payments.issue_refund(
        ctx.conn, idempotency_key=event.idempotency_key, credit_balance_id=event.credit_balance_id,
        amount=event.amount, at=ctx.clock.now(), patient_account_id=event.patient_account_id)


@table.handles(NotificationSent)
async def on_notification_sent(ctx: HandlerContext, event: NotificationSent) -> None:
    # No flush first: it records which balance a statement was about, and reads nothing the unit buffers.
    await patient_payments.record_statement(ctx.conn, event)


@table.handles(PatientEstimated)
async def on_patient_estimated(ctx: HandlerContext, event: PatientEstimated) -> None:
    # No flush first: it keeps the estimate beside the books, and reads nothing the unit buffers.
    # EligibilityChecked, on the same topic, has no handler here: the consumer counts it ignored.
    await estimates.record(ctx.conn, event)


HANDLERS = table.by_type
UNITS = table.units
