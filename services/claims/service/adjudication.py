"""Remits' events on our claims: payment, crossover, denial, reversal, an insurance write-off;
after a payment (or a denial that leaves the patient a share) the next payer is billed."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas import claims as ev
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain.assembly import prior_payer_from_remit, secondary_draft
from services.claims.domain.x837 import (
    line_control_number,
)
from services.claims.service.corrections import correct
from services.claims.service.scrubbing import create_claim, fee_schedule
from services.claims.service.transitions import close, draft_of, ids_of, move, note
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)


CROSSOVER_STATUSES = frozenset({"19", "20", "21"})


async def on_payment_posted(conn: asyncpg.Connection, event: Any, now: datetime) -> None:
    claim = await store.get_claim(conn, event.claim_id)
    if claim is None:
        log.warning("remittance for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    payload = json.loads(event.model_dump_json())
    claim.payer_claim_control_number = event.payer_claim_control_number
    claim.adjudication = payload
    claim.total_paid = claim.total_paid + event.total_paid
    detail = {"remittance_id": event.remittance_id, "claim_status": event.claim_status}
    if event.claim_status in CROSSOVER_STATUSES or event.crossover_payer_name:
        draft = draft_of(claim.doc)
        nxt = draft.next_coverage()
        await move(conn, claim, "cross_over", now, ev.ClaimForwarded(
            **ids_of(claim), submission_id=event.submission_id, remittance_id=event.remittance_id,
            from_payer=event.payer, to_payer_name=event.crossover_payer_name or (nxt.payer_name if nxt else None),
            to_coverage_rank=nxt.rank if nxt else None,  # type: ignore[arg-type]
            forwarded_on=event.adjudication_date), detail=detail)
        return
    outcome = "paid" if event.total_paid > 0 else "patient_responsibility_only"
    if event.total_paid > 0 and any(line.paid == 0 and line.charge > 0 for line in event.lines):
        outcome = "partially_denied"  # some lines paid nothing; their ClaimDenied (line scope) follows
    crossed_over = claim.state == "forwarded"  # this is the next payer's remittance: nothing left to bill
    if not await move(conn, claim, "pay", now, _adjudicated(claim, event, outcome), detail=detail):
        return
    await after_adjudication(conn, claim, event, now, bill_next=not crossed_over)


def _adjudicated(claim: ClaimRow, event: Any, outcome: str) -> ev.ClaimAdjudicated:
    return ev.ClaimAdjudicated(
        **ids_of(claim), submission_id=event.submission_id, remittance_id=event.remittance_id, payer=event.payer,
        claim_status=event.claim_status, payer_claim_control_number=event.payer_claim_control_number,
        outcome=outcome, total_charge=event.total_charge, total_paid=event.total_paid,  # type: ignore[arg-type]
        patient_responsibility=event.patient_responsibility, adjudicated_on=event.adjudication_date)


async def after_adjudication(conn: asyncpg.Connection, claim: ClaimRow, event: Any, now: datetime, *,
                             bill_next: bool = True) -> None:
    """A pending revision becomes a replacement; otherwise bill the next payer (COB), then close."""
    if claim.pending_doc is not None:
        draft = draft_of(claim.pending_doc)
        await correct(conn, claim, "encounter changed while the claim was with the payer", None, now, draft=draft)
        return
    if bill_next:
        await bill_next_payer(conn, claim, event, now)
    resolution = "paid_in_full" if event.patient_responsibility == 0 else "paid_with_patient_balance"
    await close(conn, claim, resolution, now)


async def bill_next_payer(conn: asyncpg.Connection, claim: ClaimRow, event: Any, now: datetime) -> None:
    """Send the next coverage its claim (COB: the 2320/2430 loops carry this payer's adjudication),
    unless the family already has one at that rank."""
    draft = draft_of(claim.doc)
    nxt = draft.next_coverage()
    if nxt is None or claim.origin not in {"original", "replacement", "secondary"}:
        return
    if [c for c in await store.family(conn, claim.claim_family_id) if c.coverage_rank == nxt.rank]:
        return
    sub_lines = {line_control_number(claim.submission_id or "", n): line.charge_id
                 for n, line in enumerate(draft.lines, start=1)}
    prior = prior_payer_from_remit(draft, json.loads(event.model_dump_json()), sub_lines)
    second = secondary_draft(draft, prior, await fee_schedule(conn, nxt.payer_id))
    if second is not None:
        await create_claim(conn, second, origin="secondary", family_id=claim.claim_family_id,
                           revision=claim.encounter_revision, now=now, origin_claim_id=claim.claim_id)


async def on_denied(conn: asyncpg.Connection, event: Any, now: datetime) -> None:
    claim = await store.get_claim(conn, event.claim_id)
    if claim is None:
        log.warning("denial for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"remittance_id": event.remittance_id, "denials": [d.reason_code for d in event.denials],
              "scope": event.denial_scope}
    if event.denial_scope == "line":
        await note(conn, claim, "line_denied", now, detail)
        return
    claim.payer_claim_control_number = event.payer_claim_control_number
    claim.adjudication = json.loads(event.model_dump_json())
    payer = await store.get_payer(conn, claim.payer_id)
    claim.follow_up_on = now.date() + timedelta(days=payer.follow_up_days if payer else 30)
    crossed_over = claim.state == "forwarded"  # the next payer's own denial: nothing left to bill
    if not await move(conn, claim, "deny", now, _adjudicated(claim, event, "denied"), detail=detail):
        return
    if event.patient_responsibility > 0 and not crossed_over:
        # A denial that leaves the patient a share (say PR-96, not covered) is the next payer's to
        # consider: remits has already moved that share to the next payer's receivable.
        await bill_next_payer(conn, claim, event, now)


async def on_insurance_written_off(conn: asyncpg.Connection, event: Any, now: datetime) -> None:
    """Remits wrote off what a payer left open on the claim (`rcm remits writeoff`): a denied claim
    with nothing left open is settled (closed, written off), so its follow-ups stop; otherwise the
    write-off is recorded in the claim's history."""
    claim = await store.get_claim(conn, event.claim_id)
    if claim is None:
        log.warning("write-off for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    detail = {"amount": str(event.amount), "reason": event.reason, "payer_id": event.payer.payer_id,
              "coverage_rank": event.coverage_rank, "remaining_open": str(event.remaining_open)}
    if claim.state == "denied" and event.remaining_open == 0:
        claim.follow_up_on = None
        await close(conn, claim, "written_off", now)
        return
    await note(conn, claim, "insurance_written_off", now, detail)


async def on_payment_reversed(conn: asyncpg.Connection, event: Any, now: datetime) -> None:
    claim = await store.get_claim(conn, event.claim_id)
    if claim is None:
        log.warning("reversal for an unknown claim ignored", extra=ids(claim_id=event.claim_id))
        return
    claim.total_paid = claim.total_paid + event.total_paid
    detail = {"remittance_id": event.remittance_id}
    replaced = any(h["trigger"] in {"correct", "void"} for h in await store.history(conn, claim.claim_family_id)
                   if h["claim_id"] == claim.claim_id)
    if replaced:
        await store.save_claim(conn, claim)
        await note(conn, claim, "payment_reversed", now, detail)
        return
    await move(conn, claim, "reverse", now, _adjudicated(claim, event, "reversed"), detail=detail)
