"""Events in -> claims workflow calls, in the consumer's transaction.

rcm.charges.v1: claims keeps its own projection of posted charges (ChargePosted,
ChargeReversed) and assembles claims from EncounterReadyToBill once the payer's bill hold is
over (0 days locally: at once). rcm.remittances.v1: adjudication of our claims.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from schemas import charges as ch
from schemas import remits as rm
from services.chassis.consumer import Handler, HandlerContext
from services.chassis.logs import ids
from services.claims import store, workflow

log = logging.getLogger(__name__)


def charge_park_key(charge_id: str) -> str:
    return f"charge:{charge_id}"


async def on_charge_posted(ctx: HandlerContext, event: ch.ChargePosted) -> None:
    await store.save_charge(ctx.conn, event.charge_id, event.encounter_id, json.loads(event.model_dump_json()))
    await ctx.release_parked(charge_park_key(event.charge_id))


async def on_charge_reversed(ctx: HandlerContext, event: ch.ChargeReversed) -> None:
    if not await store.reverse_charge(ctx.conn, event.charge_id):
        log.info("reversal of a charge claims never saw", extra=ids(charge_id=event.charge_id))


async def on_ready_to_bill(ctx: HandlerContext, event: ch.EncounterReadyToBill) -> None:
    missing = await store.missing_charges(ctx.conn, event.charge_ids)
    if missing:  # the ChargePosted is normally earlier on the same partition; wait for it
        await ctx.park(charge_park_key(missing[0]), "waiting for a ChargePosted")
        return
    now = ctx.clock.now()
    hold_days = 0
    if event.coverages:
        payer = await store.get_payer(ctx.conn, event.coverages[0].payer_id)
        hold_days = payer.bill_hold_days if payer else 0
    stored = await store.save_encounter(ctx.conn, event.encounter_id, event.patient_account_id, event.revision,
                                        json.loads(event.model_dump_json()), now, now + timedelta(days=hold_days))
    if not stored:
        log.info("older encounter revision ignored", extra=ids(encounter_id=event.encounter_id))
        return
    if hold_days == 0:
        await workflow.assemble_encounter(ctx.conn, event.encounter_id, now)


async def on_payment_posted(ctx: HandlerContext, event: rm.ClaimPaymentPosted) -> None:
    await workflow.on_payment_posted(ctx.conn, event, ctx.clock.now())


async def on_denied(ctx: HandlerContext, event: rm.ClaimDenied) -> None:
    await workflow.on_denied(ctx.conn, event, ctx.clock.now())


async def on_payment_reversed(ctx: HandlerContext, event: rm.ClaimPaymentReversed) -> None:
    await workflow.on_payment_reversed(ctx.conn, event, ctx.clock.now())


async def on_insurance_written_off(ctx: HandlerContext, event: rm.InsuranceBalanceWrittenOff) -> None:
    await workflow.on_insurance_written_off(ctx.conn, event, ctx.clock.now())


HANDLERS: dict[str, Handler] = {
    "rcm.charges.ChargePosted.v1": on_charge_posted,
    "rcm.charges.ChargeReversed.v1": on_charge_reversed,
    "rcm.charges.EncounterReadyToBill.v1": on_ready_to_bill,
    "rcm.remittances.ClaimPaymentPosted.v1": on_payment_posted,
    "rcm.remittances.ClaimDenied.v1": on_denied,
    "rcm.remittances.ClaimPaymentReversed.v1": on_payment_reversed,
    "rcm.remittances.InsuranceBalanceWrittenOff.v1": on_insurance_written_off,
}
