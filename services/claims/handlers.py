"""Events in -> the claims use cases (service/), in the consumer's transaction.

rcm.charges.v1: claims keeps its own projection of posted charges (ChargePosted,
ChargeReversed) and assembles claims from EncounterReadyToBill once the payer's bill hold is
over (0 days locally: at once); an EncounterReadyToBill that names a charge not seen yet is
parked until its ChargePosted. rcm.remittances.v1: adjudication of our claims.
Every handler works on the transaction's unit of work (service/unit.py).
"""

from __future__ import annotations

from schemas import charges as ch
from schemas import remits as rm
from services.chassis.consumer import HandlerContext, HandlerTable
from services.chassis.parking import ParkKey
from services.claims.service import adjudication, assembly
from services.claims.service.unit import UNIT, store

table = HandlerTable()


def charge_park_key(charge_id: str) -> ParkKey:
    return ParkKey.of("charge", charge_id)


@table.handles(ch.ChargePosted, park_keys=lambda event: (charge_park_key(event.charge_id),), unit=UNIT)
async def on_charge_posted(ctx: HandlerContext, event: ch.ChargePosted) -> None:
    await assembly.record_charge(store(ctx), event)
    await ctx.release_parked(charge_park_key(event.charge_id))


@table.handles(ch.ChargeReversed, unit=UNIT)
async def on_charge_reversed(ctx: HandlerContext, event: ch.ChargeReversed) -> None:
    await assembly.reverse_charge(store(ctx), event)


@table.handles(ch.EncounterReadyToBill, unit=UNIT)
async def on_ready_to_bill(ctx: HandlerContext, event: ch.EncounterReadyToBill) -> None:
    db = store(ctx)
    missing = await assembly.missing_charges(db, event)
    if missing:  # the ChargePosted is normally earlier on the same partition; wait for it
        await ctx.park(charge_park_key(missing[0]), "waiting for a ChargePosted")
        return
    await assembly.ready_to_bill(db, event, ctx.clock.now())


@table.handles(rm.ClaimPaymentPosted, unit=UNIT)
async def on_payment_posted(ctx: HandlerContext, event: rm.ClaimPaymentPosted) -> None:
    await adjudication.on_payment_posted(store(ctx), event, ctx.clock.now())


@table.handles(rm.ClaimDenied, unit=UNIT)
async def on_denied(ctx: HandlerContext, event: rm.ClaimDenied) -> None:
    await adjudication.on_denied(store(ctx), event, ctx.clock.now())


@table.handles(rm.ClaimPaymentReversed, unit=UNIT)
async def on_payment_reversed(ctx: HandlerContext, event: rm.ClaimPaymentReversed) -> None:
    await adjudication.on_payment_reversed(store(ctx), event, ctx.clock.now())


@table.handles(rm.InsuranceBalanceWrittenOff, unit=UNIT)
async def on_insurance_written_off(ctx: HandlerContext, event: rm.InsuranceBalanceWrittenOff) -> None:
    await adjudication.on_insurance_written_off(store(ctx), event, ctx.clock.now())


HANDLERS = table.by_type
PARK_KEYS = table.park_keys
UNITS = table.units
