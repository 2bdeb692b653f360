"""Corrections after the fact: a held claim released (or one of its edits waived), an adjudicated
claim replaced (frequency 7) or voided (frequency 8), by an operator or by the system (a new
encounter revision)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.chassis.ids import new_id
from services.claims.domain.claim import Claim
from services.claims.domain.model import ClaimDraft
from services.claims.domain.scrubber import OVERRIDABLE
from services.claims.service.scrubbing import create_claim, drafts_for, scrub_and_route
from services.claims.service.transitions import Refused, move
from services.claims.store import ClaimsStore


async def release(db: ClaimsStore, claim_id: str, operator_id: str, reason: str, now: datetime) -> Claim:
    """Re-scrub a held or rejected claim from the current encounter data and queue it when clean."""
    claim = await db.get_claim(claim_id)
    if claim is None:
        raise Refused("no such claim")
    if claim.state not in {"held", "rejected"}:
        raise Refused(f"only held or rejected claims are released; this one is {claim.state}")
    if claim.origin == "original" and claim.coverage_rank == 1:
        enc = await db.get_encounter(claim.encounter_id)
        if enc is not None:
            match = fresh_draft(await drafts_for(db, enc), claim)
            if match is not None:
                claim.rebuild(match, enc.revision)
    await scrub_and_route(db, claim, now, released_by="operator", operator_id=operator_id, reason=reason)
    return claim


async def waive(db: ClaimsStore, claim_id: str, edit_id: str, operator_id: str, reason: str, now: datetime) -> Claim:
    """An operator's judgement on one held claim: the edit stops holding it (its findings stay on
    the claim as warnings naming the waiver), then the claim is scrubbed again and queued when
    nothing else holds it. The waiver belongs to this claim only; a replacement is scrubbed in full."""
    claim = await db.get_claim(claim_id)
    if claim is None:
        raise Refused("no such claim")
    if claim.state != "held":
        raise Refused(f"only a held claim's edits are waived; this one is {claim.state}")
    if edit_id not in OVERRIDABLE:
        raise Refused(f"{edit_id} cannot be waived (the payer would reject the claim anyway); edits that can: "
                      f"{', '.join(sorted(OVERRIDABLE))}")
    if edit_id not in {f.edit_id for f in claim.edits if f.severity == "error"}:
        raise Refused(f"the claim is not held by {edit_id}")
    await db.waive(claim.claim_id, edit_id, reason, operator_id, now)
    await db.add_history(claim.claim_id, claim.claim_family_id, "waive_edit", claim.state, claim.state, None, now,
                         detail={"edit_id": edit_id, "reason": reason[:200], "operator_id": operator_id})
    return await release(db, claim.claim_id, operator_id, f"{edit_id} waived: {reason}", now)


async def correct(db: ClaimsStore, claim: Claim, reason: str, operator_id: str | None, now: datetime,
                  *, draft: ClaimDraft | None = None, revision: int | None = None) -> Claim:
    """Frequency 7: replace a claim the payer adjudicated (REF*F8 = its payer claim control number)."""
    _require_adjudicated(claim)
    await _require_not_followed(db, claim)
    if draft is None:
        draft = claim.draft
        enc = await db.get_encounter(claim.encounter_id)
        if enc is not None and claim.coverage_rank == 1:
            draft = fresh_draft(await drafts_for(db, enc), claim) or draft
            revision = enc.revision
    replacement_id = new_id("clm")
    await move(db, claim, now, partial(claim.correct, replacement_id, reason, operator_id, now),
               detail={"replacement_claim_id": replacement_id})
    await move(db, claim, now, partial(claim.close, "replaced", now))
    return await create_claim(db, draft, origin="replacement", family_id=claim.claim_family_id,
                              revision=revision or claim.encounter_revision, now=now,
                              origin_claim_id=claim.claim_id, claim_id=replacement_id)


async def void(db: ClaimsStore, claim: Claim, reason: str, operator_id: str | None, now: datetime) -> Claim:
    """Frequency 8: void a claim the payer adjudicated."""
    _require_adjudicated(claim)
    await _require_not_followed(db, claim)
    void_id = new_id("clm")
    await move(db, claim, now, partial(claim.void, void_id, reason, operator_id, now),
               detail={"void_claim_id": void_id})
    await move(db, claim, now, partial(claim.close, "voided", now))
    return await create_claim(db, claim.draft, origin="void", family_id=claim.claim_family_id,
                              revision=claim.encounter_revision, now=now, origin_claim_id=claim.claim_id,
                              claim_id=void_id)


def fresh_draft(drafts: list[ClaimDraft], claim: Claim) -> ClaimDraft | None:
    """The draft, among an encounter's current ones, that rebuilds this claim: the first of the
    same claim type that bills any of its charges."""
    kind, billed = claim.draft.claim_type, set(claim.charge_ids)
    return next((d for d in drafts if d.claim_type == kind and billed & set(d.charge_ids)), None)


def _require_adjudicated(claim: Claim) -> None:
    if not claim.payer_adjudicated or claim.payer_claim_control_number is None:
        raise Refused(f"the payer never adjudicated this claim (state {claim.state}): correct the data and it goes "
                      "again as a new original (`rcm claims release`)")


async def _require_not_followed(db: ClaimsStore, claim: Claim) -> None:
    followers = [c for c in await db.family(claim.claim_family_id)
                 if c.origin_claim_id == claim.claim_id and c.origin in {"replacement", "void"}]
    if followers:
        raise Refused(f"this claim was already {'replaced' if followers[0].origin == 'replacement' else 'voided'} "
                      f"by {followers[0].claim_id}: act on that claim instead")
