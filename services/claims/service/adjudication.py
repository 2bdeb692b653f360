"""Remits' events on our claims: payment, crossover, denial, reversal, an insurance write-off;
after a payment (or a denial that leaves the patient a share) the next payer is billed."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import partial

from schemas import remits as rm
from services.chassis.logs import ids
from services.claims.domain.assembly import prior_payer_from_remit, secondary_draft
from services.claims.domain.claim import Adjudication, Claim, Outcome, Resolution
from services.claims.domain.model import billed_payer
from services.claims.domain.x837parts import line_control_number
from services.claims.service.corrections import correct
from services.claims.service.scrubbing import create_claim, fee_schedule
from services.claims.service.transitions import Writes, move, note
from services.claims.store import ClaimsStore

log = logging.getLogger(__name__)


CROSSOVER_STATUSES = frozenset({"19", "20", "21"})


async def on_payment_posted(db: ClaimsStore, event: rm.ClaimPaymentPosted, now: datetime) -> None:
    claim = await db.get_claim(event.claim_id)
    if claim is None:
        log.warning("remittance for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"remittance_id": event.remittance_id, "claim_status": event.claim_status}
    if event.claim_status in CROSSOVER_STATUSES or event.crossover_payer_name:
        await move(db, claim, now, partial(claim.cross_over, event, now), detail=detail)
        return
    outcome: Outcome = "paid" if event.total_paid > 0 else "patient_responsibility_only"
    if event.total_paid > 0 and any(line.paid == 0 and line.charge > 0 for line in event.lines):
        outcome = "partially_denied"  # some lines paid nothing; their ClaimDenied (line scope) follows
    crossed_over = claim.state == "forwarded"  # this is the next payer's remittance: nothing left to bill
    writes = Writes()  # paid and closed in one write when no other claim comes between
    if not writes.move(claim, now, partial(claim.pay, event, outcome, now), detail=detail):
        await writes.flush(db)
        return
    await after_adjudication(db, claim, event, now, writes, bill_next=not crossed_over)


async def after_adjudication(db: ClaimsStore, claim: Claim, event: rm.ClaimPaymentPosted, now: datetime,
                             writes: Writes, *, bill_next: bool = True) -> None:
    """A pending revision becomes a replacement; otherwise bill the next payer (COB), then close.
    What `writes` holds is written too."""
    if claim.pending_draft is not None:
        await writes.flush(db)
        await correct(db, claim, "encounter changed while the claim was with the payer", None, now,
                      draft=claim.pending_draft)
        return
    if bill_next:
        await bill_next_payer(db, claim, event, now, writes)
    resolution: Resolution = "paid_in_full" if event.patient_responsibility == 0 else "paid_with_patient_balance"
    writes.move(claim, now, partial(claim.close, resolution, now))
    await writes.flush(db)


async def bill_next_payer(db: ClaimsStore, claim: Claim, event: Adjudication, now: datetime,
                          writes: Writes) -> None:
    """Send the next coverage its claim (COB: the 2320/2430 loops carry this payer's adjudication),
    unless the family already has one at that rank. What `writes` holds is written before the
    next claim is made (the family's history keeps its order)."""
    draft = claim.draft
    nxt = draft.next_coverage()
    if nxt is None or claim.origin not in {"original", "replacement", "secondary"}:
        return
    if [c for c in await db.family(claim.claim_family_id) if c.coverage_rank == nxt.rank]:
        return
    await writes.flush(db)
    sub_lines = {line_control_number(claim.submission_id or "", n): line.charge_id
                 for n, line in enumerate(draft.lines, start=1)}
    prior = prior_payer_from_remit(draft, json.loads(event.model_dump_json()), sub_lines)
    second = secondary_draft(draft, prior, await fee_schedule(db, billed_payer(nxt, draft.claim_type)[0]))
    if second is not None:
        await create_claim(db, second, origin="secondary", family_id=claim.claim_family_id,
                           revision=claim.encounter_revision, now=now, origin_claim_id=claim.claim_id)


async def on_denied(db: ClaimsStore, event: rm.ClaimDenied, now: datetime) -> None:
    claim = await db.get_claim(event.claim_id)
    if claim is None:
        log.warning("denial for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"remittance_id": event.remittance_id, "denials": [d.reason_code for d in event.denials],
              "scope": event.denial_scope}
    if event.denial_scope == "line":
        await note(db, claim, "line_denied", now, detail)
        return
    payer = await db.get_payer(claim.payer_id)
    follow_up_days = payer.follow_up_days if payer else 30
    crossed_over = claim.state == "forwarded"  # the next payer's own denial: nothing left to bill
    writes = Writes()
    if writes.move(claim, now, partial(claim.deny, event, follow_up_days, now), detail=detail) \
            and event.patient_responsibility > 0 and not crossed_over:
        # A denial that leaves the patient a share (say PR-96, not covered) is the next payer's to
        # consider: remits has already moved that share to the next payer's receivable.
        await bill_next_payer(db, claim, event, now, writes)
    await writes.flush(db)


async def on_insurance_written_off(db: ClaimsStore, event: rm.InsuranceBalanceWrittenOff, now: datetime) -> None:
    """Remits wrote off what a payer left open on the claim (`rcm remits writeoff`): a denied claim
    with nothing left open is settled (closed, written off), so its follow-ups stop; otherwise the
    write-off is recorded in the claim's history."""
    claim = await db.get_claim(event.claim_id)
    if claim is None:
        log.warning("write-off for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"amount": str(event.amount), "reason": event.reason, "payer_id": event.payer.payer_id,
              "coverage_rank": event.coverage_rank, "remaining_open": str(event.remaining_open)}
    if claim.state == "denied" and event.remaining_open == 0:
        await move(db, claim, now, partial(claim.close, "written_off", now))
        return
    await note(db, claim, "insurance_written_off", now, detail)


async def on_payment_reversed(db: ClaimsStore, event: rm.ClaimPaymentReversed, now: datetime) -> None:
    claim = await db.get_claim(event.claim_id)
    if claim is None:
        log.warning("reversal for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"remittance_id": event.remittance_id}
    replaced = any(h.trigger in {"correct", "void"} for h in await db.history(claim.claim_family_id)
                   if h.claim_id == claim.claim_id)
    if replaced:
        claim.record_reversal(event)
        await db.save_claim(claim)
        await note(db, claim, "payment_reversed", now, detail)
        return
    await move(db, claim, now, partial(claim.reverse, event, now), detail=detail)
