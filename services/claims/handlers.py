"""Events in -> the claims use cases (service/), in the consumer's transaction.

rcm.charges.v1: claims keeps its own projection of posted charges (ChargePosted,
ChargeReversed) and assembles claims from EncounterReadyToBill once the payer's bill hold is
over (0 days locally: at once); an EncounterReadyToBill that names a charge not seen yet is
parked until its ChargePosted. rcm.remittances.v1: adjudication of our claims.
"""

from __future__ import annotations

from schemas import charges as ch
from schemas import remits as rm
from services.chassis.consumer import HandlerContext, HandlerTable
from services.chassis.parking import ParkKey
from services.claims.service import adjudication, assembly
from services.claims.store import ClaimsStore

table = HandlerTable()


def charge_park_key(charge_id: str) -> ParkKey:
    return ParkKey.of("charge", charge_id)


@table.handles(ch.ChargePosted, park_keys=lambda event: (charge_park_key(event.charge_id),))
async def on_charge_posted(ctx: HandlerContext, event: ch.ChargePosted) -> None:
    await assembly.record_charge(ClaimsStore(ctx.conn), event)
    await ctx.release_parked(charge_park_key(event.charge_id))


@table.handles(ch.ChargeReversed)
async def on_charge_reversed(ctx: HandlerContext, event: ch.ChargeReversed) -> None:
    await assembly.reverse_charge(ClaimsStore(ctx.conn), event)


@table.handles(ch.EncounterReadyToBill)
async def on_ready_to_bill(ctx: HandlerContext, event: ch.EncounterReadyToBill) -> None:
    db = ClaimsStore(ctx.conn)  # one store: the charge lines it reads for `missing` make the claims
    missing = await assembly.missing_charges(db, event)
    if missing:  # the ChargePosted is normally earlier on the same partition; wait for it
        await ctx.park(charge_park_key(missing[0]), "waiting for a ChargePosted")
        return
    await assembly.ready_to_bill(db, event, ctx.clock.now())


@table.handles(rm.ClaimPaymentPosted)
async def on_payment_posted(ctx: HandlerContext, event: rm.ClaimPaymentPosted) -> None:
    await adjudication.on_payment_posted(ClaimsStore(ctx.conn), event, ctx.clock.now())


@table.handles(rm.ClaimDenied)
async def on_denied(ctx: HandlerContext, event: rm.ClaimDenied) -> None:
    await adjudication.on_denied(ClaimsStore(ctx.conn), event, ctx.clock.now())


@table.handles(rm.ClaimPaymentReversed)
async def on_payment_reversed(ctx: HandlerContext, event: rm.ClaimPaymentReversed) -> None:
    await adjudication.on_payment_reversed(ClaimsStore(ctx.conn), event, ctx.clock.now())


@table.handles(rm.InsuranceBalanceWrittenOff)
async def on_insurance_written_off(ctx: HandlerContext, event: rm.InsuranceBalanceWrittenOff) -> None:
    await adjudication.on_insurance_written_off(ClaimsStore(ctx.conn), event, ctx.clock.now())


HANDLERS = table.by_type
PARK_KEYS = table.park_keys
