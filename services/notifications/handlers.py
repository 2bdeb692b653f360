"""Events in -> the notifications use cases (service/): the contact projection, balances and
statements, staff alerts, and a webhook fan-out of every event of the topics it consumes.

Handlers only write rows (in the consumer's transaction); the sender (service/delivery.py, run
by background.py) does the talking, never inside a consumer transaction.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas import charges, eligibility, remits
from schemas.registry import spec_for, specs_for_topic
from services.chassis.consumer import HandlerContext, HandlerTable
from services.chassis.parking import ParkKey
from services.notifications.service import alerts, estimates, statements, webhooks
from services.notifications.service.alerts import STAFF_ALERTS, UNMATCHED, UNMATCHED_RESOLVED

__all__ = ["HANDLERS", "PARK_KEYS", "STAFF_ALERTS", "UNMATCHED", "UNMATCHED_RESOLVED"]

table = HandlerTable()
FANNED_OUT = ("rcm.charges.v1", "rcm.claims.v1", "rcm.eligibility.v1", "rcm.remittances.v1", "rcm.patient-balances.v1")


def _contact_key(event: charges.EncounterReadyToBill | remits.PatientBalanceCreated | remits.PatientBalanceUpdated
                 | eligibility.PatientEstimated) -> tuple[ParkKey, ...]:
    """The contact releases what waits for it; a balance holds its key before it looks for the contact."""
    return (statements.contact_park_key(event.encounter_id),)


@table.handles(charges.EncounterReadyToBill, park_keys=_contact_key)
async def on_ready_to_bill(ctx: HandlerContext, event: charges.EncounterReadyToBill) -> None:
    await statements.record_contact(ctx, event)


@table.handles(remits.PatientBalanceCreated, remits.PatientBalanceUpdated, park_keys=_contact_key)
async def on_balance(ctx: HandlerContext, event: remits.PatientBalanceCreated | remits.PatientBalanceUpdated) -> None:
    await statements.apply_balance(ctx, event)


@table.handles(eligibility.PatientEstimated, park_keys=_contact_key)
async def on_patient_estimated(ctx: HandlerContext, event: eligibility.PatientEstimated) -> None:
    await estimates.tell_patient(ctx, event)


@table.handles(eligibility.EligibilityChecked)
async def on_eligibility_checked(ctx: HandlerContext, event: eligibility.EligibilityChecked) -> None:
    await alerts.raise_eligibility_work_items(ctx, event)


@table.handles(remits.PatientPaymentPosted)
async def on_payment(ctx: HandlerContext, event: remits.PatientPaymentPosted) -> None:
    await statements.apply_payment(ctx, event)


@table.handles(remits.BalanceWrittenOff)
async def on_write_off(ctx: HandlerContext, event: remits.BalanceWrittenOff) -> None:
    await statements.apply_write_off(ctx, event)


@table.handles(*(spec_for(event_type).model for event_type in sorted(STAFF_ALERTS)))
async def on_staff_alert(ctx: HandlerContext, event: BaseModel) -> None:
    await alerts.raise_alert(ctx, event)


@table.handles(remits.UnmatchedRemittanceResolved)
async def on_unmatched_resolved(ctx: HandlerContext, event: remits.UnmatchedRemittanceResolved) -> None:
    await alerts.resolve_unmatched_alert(ctx, event)


@table.handles(remits.ProviderAdjustmentPosted)
async def on_provider_adjustment(ctx: HandlerContext, event: remits.ProviderAdjustmentPosted) -> None:
    await alerts.raise_recoupment_alert(ctx, event)


async def on_other(ctx: HandlerContext, event: BaseModel) -> None:
    """Any other event of the topics notifications consumes: webhooks only."""
    await webhooks.fan_out(ctx, event)


table.handles(*(spec.model for topic in FANNED_OUT for spec in specs_for_topic(topic)
                if spec.type not in table.by_type))(on_other)
HANDLERS = table.by_type
PARK_KEYS = table.park_keys
