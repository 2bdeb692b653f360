"""Corrections after the fact: a held claim released, an adjudicated claim replaced (frequency 7)
or voided (frequency 8), by an operator or by the system (a new encounter revision)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from schemas import claims as ev
from services.chassis.ids import new_id
from services.claims import store
from services.claims.domain.model import ClaimDraft
from services.claims.domain.states import payer_adjudicated
from services.claims.service.scrubbing import create_claim, drafts_for, scrub_and_route
from services.claims.service.transitions import Refused, close, doc_of, draft_of, ids_of, move
from services.claims.store import ClaimRow


async def release(conn: asyncpg.Connection, claim_id: str, operator_id: str, reason: str, now: datetime) -> ClaimRow:
    """Re-scrub a held or rejected claim from the current encounter data and queue it when clean."""
    claim = await store.get_claim(conn, claim_id)
    if claim is None:
        raise Refused("no such claim")
    if claim.state not in {"held", "rejected"}:
        raise Refused(f"only held or rejected claims are released; this one is {claim.state}")
    if claim.origin in {"original"} and claim.coverage_rank == 1:
        enc = await store.get_encounter(conn, claim.encounter_id)
        if enc is not None:
            drafts = await drafts_for(conn, enc)
            match = [d for d in drafts if {line.charge_id for line in d.lines} & set(claim.charge_ids)]
            if match:
                claim.doc = doc_of(match[0])
                claim.charge_ids = [line.charge_id for line in match[0].lines]
                claim.total_charge = match[0].total_charge
                claim.encounter_revision = enc.revision
    await scrub_and_route(conn, claim, now, released_by="operator", operator_id=operator_id, reason=reason)
    return claim


async def correct(conn: asyncpg.Connection, claim: ClaimRow, reason: str, operator_id: str | None, now: datetime,
                  *, draft: ClaimDraft | None = None, revision: int | None = None) -> ClaimRow:
    """Frequency 7: replace a claim the payer adjudicated (REF*F8 = its payer claim control number)."""
    pccn = _require_adjudicated(claim)
    await _require_not_followed(conn, claim)
    if draft is None:
        draft = draft_of(claim.doc)
        enc = await store.get_encounter(conn, claim.encounter_id)
        if enc is not None and claim.coverage_rank == 1:
            fresh = [d for d in await drafts_for(conn, enc)
                     if {line.charge_id for line in d.lines} & set(claim.charge_ids)]
            draft = fresh[0] if fresh else draft
            revision = enc.revision
    replacement_id = new_id("clm")
    await move(conn, claim, "correct", now, ev.ClaimCorrected(
        **ids_of(claim), replacement_claim_id=replacement_id, payer_claim_control_number=pccn, reason=reason[:200],
        operator_id=operator_id, corrected_at=now), detail={"replacement_claim_id": replacement_id})
    claim.pending_doc = None
    await close(conn, claim, "replaced", now)
    return await create_claim(conn, draft, origin="replacement", family_id=claim.claim_family_id,
                              revision=revision or claim.encounter_revision, now=now,
                              origin_claim_id=claim.claim_id, claim_id=replacement_id)


async def void(conn: asyncpg.Connection, claim: ClaimRow, reason: str, operator_id: str | None,
               now: datetime) -> ClaimRow:
    """Frequency 8: void a claim the payer adjudicated."""
    pccn = _require_adjudicated(claim)
    await _require_not_followed(conn, claim)
    void_id = new_id("clm")
    await move(conn, claim, "void", now, ev.ClaimVoided(
        **ids_of(claim), void_claim_id=void_id, payer_claim_control_number=pccn, reason=reason[:200],
        operator_id=operator_id, voided_at=now), detail={"void_claim_id": void_id})
    await close(conn, claim, "voided", now)
    draft = draft_of(claim.doc)
    return await create_claim(conn, draft, origin="void", family_id=claim.claim_family_id,
                              revision=claim.encounter_revision, now=now, origin_claim_id=claim.claim_id,
                              claim_id=void_id)


def _require_adjudicated(claim: ClaimRow) -> str:
    if not payer_adjudicated(claim.state) or claim.payer_claim_control_number is None:  # type: ignore[arg-type]
        raise Refused(f"the payer never adjudicated this claim (state {claim.state}): correct the data and it goes "
                      "again as a new original (`rcm claims release`)")
    return claim.payer_claim_control_number


async def _require_not_followed(conn: asyncpg.Connection, claim: ClaimRow) -> None:
    followers = [c for c in await store.family(conn, claim.claim_family_id)
                 if c.origin_claim_id == claim.claim_id and c.origin in {"replacement", "void"}]
    if followers:
        raise Refused(f"this claim was already {'replaced' if followers[0].origin == 'replacement' else 'voided'} "
                      f"by {followers[0].claim_id}: act on that claim instead")
