"""The claims' unit of work for one consumer transaction (UNIT, the consumer's UnitOfWork): every
handler of the transaction works on one ClaimsUnit store (store.py), kept in the transaction's
memo, so a later event of a batch sees what an earlier one did (a claim paid then denied, a
charge posted then billed) and a claim is read and validated once per transaction.

`prefetch` reads what the batch's events will need in a few set-based statements before the
first handler runs: the charges and payers their releases name, their encounters locked in id
order, the claims of their patient accounts (for the duplicate edit); the claims that
remittance events name, locked in id order, and, where another payer is to be billed next, their
families, that payer and the claims of the patient account. A handler that misses (a parked
event released, a path without a prefetch) reads what it needs and keeps it in the store.

What the handlers write is buffered in the store and written by `flush`, one statement per
table: before the commit (the consumer calls it), and before any read of what it writes.
"""

from __future__ import annotations

from typing import Any

from schemas import charges as ch
from schemas import remits as rm
from services.chassis.consumer import HandlerContext
from services.claims.domain.model import billed_payer, billed_payer_ids
from services.claims.store import ClaimsUnit

_MEMO = "claims.unit"

Adjudication = rm.ClaimPaymentPosted | rm.ClaimDenied | rm.ClaimPaymentReversed | rm.InsuranceBalanceWrittenOff
"""Remittance events on one of our claims (by claim_id)."""


def store(ctx: HandlerContext) -> ClaimsUnit:
    """The transaction's store (made on first use)."""
    found = ctx.memo.get(_MEMO)
    if found is None:
        found = ctx.memo[_MEMO] = ClaimsUnit(ctx.conn)
    assert isinstance(found, ClaimsUnit)
    return found


async def prefetch(ctx: HandlerContext, events: list[Any]) -> None:
    db = store(ctx)
    ready = [e for e in events if isinstance(e, ch.EncounterReadyToBill)]
    posted = [e.charge_id for e in events if isinstance(e, ch.ChargePosted)]
    await db.load_charges(posted + [c for e in ready for c in e.charge_ids])
    if ready:
        await db.load_payers([p for e in ready for cov in e.coverages for p in billed_payer_ids(cov, e.bills)])
        await db.lock_encounters([e.encounter_id for e in ready])
        await db.load_accounts([e.patient_account_id for e in ready])
    named = [e.claim_id for e in events if isinstance(e, Adjudication)]
    if named:
        claims = (await db.claims_for_update(named)).values()
        # Those whose adjudication may bill the next payer (adjudication.bill_next_payer).
        billing = [(c, nxt) for c in claims if (nxt := c.draft.next_coverage()) is not None]
        if billing:
            await db.load_families([c.claim_family_id for c, _ in billing])
            await db.load_payers([billed_payer(nxt, c.draft.claim_type)[0] for c, nxt in billing])
            await db.load_accounts([c.patient_account_id for c, _ in billing])


class _Unit:
    """The claims' UnitOfWork for the consumer (see the module doc)."""

    async def prefetch(self, ctx: HandlerContext, events: list[Any]) -> None:
        await prefetch(ctx, events)

    async def flush(self, ctx: HandlerContext) -> None:
        found = ctx.memo.get(_MEMO)
        if isinstance(found, ClaimsUnit):  # no store: nothing buffered
            await found.flush()


UNIT = _Unit()
