"""A claim from its draft: created, scrubbed (the edits of domain/scrubber.py), then held or
made ready for the next 837P batch; what the scrubber needs (drafts, fee schedules, the payer
claim number a correction names)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from schemas import claims as ev
from schemas.charges import EncounterReadyToBill
from schemas.common import EncounterDetails, PayerRef
from services.chassis import outbox
from services.chassis.ids import new_id
from services.claims import store
from services.claims.domain.assembly import PostedCharge, assemble
from services.claims.domain.model import ClaimDraft
from services.claims.domain.payers import FeeSchedule, PayerConfig
from services.claims.domain.scrubber import Finding, ScrubInput, holds, scrub
from services.claims.domain.states import Trigger, transition
from services.claims.service.transitions import doc_of, draft_of, ids_of, move, new_submission_id
from services.claims.store import ClaimRow


def encounter_details(ready: dict[str, Any]) -> EncounterDetails:
    fields = {k: v for k, v in ready.items() if k in EncounterDetails.model_fields}
    return EncounterDetails.model_validate_json(json.dumps(fields))


async def fee_schedule(conn: asyncpg.Connection, payer_id: str) -> FeeSchedule:
    return await store.fee_schedule(conn, payer_id)


async def drafts_for(conn: asyncpg.Connection, enc: store.EncounterRow, rank: int = 1) -> list[ClaimDraft]:
    ready = EncounterReadyToBill.model_validate_json(json.dumps(enc.ready))
    details = encounter_details(enc.ready)
    if len(details.coverages) < rank:
        return []
    lines = await store.charge_lines(conn, ready.charge_ids)
    charges = [PostedCharge.from_event(lines[c]) for c in ready.charge_ids if c in lines]
    if not charges:
        return []
    fees = await fee_schedule(conn, details.coverages[rank - 1].payer_id)
    return assemble(details, enc.encounter_id, enc.patient_account_id, charges, fees, rank)


async def _payer(conn: asyncpg.Connection, draft: ClaimDraft) -> tuple[PayerConfig | None, PayerRef]:
    cov = draft.coverage
    payer = await store.get_payer(conn, cov.payer_id)
    return payer, PayerRef(payer_id=cov.payer_id, payer_name=payer.name if payer else cov.payer_name)


async def create_claim(
    conn: asyncpg.Connection, draft: ClaimDraft, *, origin: str, family_id: str, revision: int, now: datetime,
    origin_claim_id: str | None = None, claim_id: str | None = None,
) -> ClaimRow:
    payer, ref = await _payer(conn, draft)
    frequency = {"replacement": "7", "void": "8"}.get(origin, "1")
    claim = ClaimRow(
        claim_id=claim_id or new_id("clm"), claim_family_id=family_id, encounter_id=draft.encounter_id,
        patient_account_id=draft.patient_account_id, payer_id=ref.payer_id, payer_name=ref.payer_name,
        coverage_rank=draft.coverage_rank, origin=origin, origin_claim_id=origin_claim_id, frequency=frequency,
        state="created", encounter_revision=revision, charge_ids=[line.charge_id for line in draft.lines],
        total_charge=draft.total_charge, doc=doc_of(draft), edits=[], submission_id=None,
        payer_claim_control_number=None, total_paid=Decimal("0.00"), adjudication=None, follow_up_on=None,
        timely_filing_deadline=(draft.first_service_date + timedelta(days=payer.timely_filing_days)
                                if payer else None),
        pending_doc=None, created_at=now, updated_at=now,
    )
    t = transition(None, "create")
    await store.insert_claim(conn, claim)
    await outbox.enqueue(conn, ev.ClaimCreated(
        **ids_of(claim), patient_account_id=claim.patient_account_id, payer=ref,
        coverage_rank=claim.coverage_rank, origin=origin, origin_claim_id=origin_claim_id,  # type: ignore[arg-type]
        frequency=frequency, charge_ids=claim.charge_ids, total_charge=claim.total_charge,  # type: ignore[arg-type]
        encounter_revision=revision, created_at=now,
    ), occurred_at=now)
    await store.add_history(conn, claim.claim_id, family_id, "create", None, t.to_state, "ClaimCreated", now,
                            detail={"origin": origin, "frequency": frequency})
    await scrub_and_route(conn, claim, now)
    return claim


def failed_edits(findings: list[Finding]) -> list[ev.FailedEdit]:
    return [ev.FailedEdit(edit_id=f.edit_id, severity=f.severity, message=f.message[:500], source=f.source,
                          line_number=f.line_number) for f in findings]


async def reference_number(conn: asyncpg.Connection, claim: ClaimRow) -> str | None:
    """REF*F8 for a replacement or void: the payer's number of the claim it follows from."""
    if claim.frequency == "1" or claim.origin_claim_id is None:
        return None
    origin = await store.get_claim(conn, claim.origin_claim_id, lock=False)
    return origin.payer_claim_control_number if origin else None


async def findings_for(conn: asyncpg.Connection, claim: ClaimRow, today: date) -> list[Finding]:
    draft = draft_of(claim.doc)
    payer = await store.get_payer(conn, claim.payer_id)
    found: list[Finding] = []
    if payer is None:
        found.append(Finding("PAYER-UNKNOWN", "error", "the payer is not in the payer master: load it with "
                             "`rcm payers load`", "payer-rule"))
    billed = await store.billed_lines(conn, claim.patient_account_id, claim.payer_id, claim.claim_family_id)
    found += scrub(ScrubInput(
        draft=draft, today=today, timely_filing_days=payer.timely_filing_days if payer else 365,
        frequency=claim.frequency, payer_claim_control_number=await reference_number(conn, claim),
        billed_elsewhere=billed,
    ))
    return found


async def scrub_and_route(
    conn: asyncpg.Connection, claim: ClaimRow, now: datetime, *, released_by: str = "scrubber",
    operator_id: str | None = None, reason: str | None = None,
) -> bool:
    """Scrub; hold on any error, else queue a new submission. True when queued."""
    findings = await findings_for(conn, claim, now.date())
    claim.edits = [asdict(f) for f in findings]
    if holds(findings):
        trigger: Trigger = "rehold" if claim.state == "rejected" else "hold"
        await store.drop_pending(conn, claim.claim_id)
        held = ev.ClaimHeld(**ids_of(claim), edits=failed_edits(findings), held_at=now)
        await move(conn, claim, trigger, now, held,
                   detail={"edits": [f.edit_id for f in findings if f.severity == "error"]})
        return False
    previous = claim.submission_id
    if claim.state == "ready":  # a rebuilt claim still queued: the queued submission sends the new content
        await store.save_claim(conn, claim)
        return True
    submission_id = new_submission_id()
    claim.submission_id = submission_id
    claim.pending_doc = None  # what goes now is built from the latest data
    if claim.state == "created":
        ok = await move(conn, claim, "scrub_pass", now)
    elif claim.state == "held":
        ok = await move(conn, claim, "release", now, ev.ClaimReleased(
            **ids_of(claim), released_by=released_by, operator_id=operator_id,  # type: ignore[arg-type]
            reason=(reason or None) and reason[:200], released_at=now))
    elif claim.state == "rejected":
        assert previous is not None
        ok = await move(conn, claim, "resubmit", now, ev.ClaimResubmitted(
            **ids_of(claim), previous_submission_id=previous, submission_id=submission_id,
            reason=(reason or "fixed after rejection")[:200], operator_id=operator_id, resubmitted_at=now))
    else:
        ok = False
    if ok:
        await store.add_submission(conn, submission_id, claim.claim_id, claim.frequency, now)
    else:
        claim.submission_id = previous
        await store.save_claim(conn, claim)
    return ok
