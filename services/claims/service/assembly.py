"""Encounters to claims: the projection of posted charges, EncounterReadyToBill after the bill
hold, and each new encounter revision rebuilt, re-scrubbed, resubmitted or replaced."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from schemas.charges import ChargePosted, ChargeReversed, EncounterReadyToBill
from schemas.common import ClaimType
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims.domain.claim import Claim
from services.claims.domain.model import ClaimDraft, billed_payer_ids
from services.claims.service import eligibility
from services.claims.service.corrections import correct
from services.claims.service.scrubbing import create_claim, drafts_for, scrub_and_route
from services.claims.service.transitions import note
from services.claims.store import ClaimsStore, EncounterRow

log = logging.getLogger(__name__)


async def assemble_encounter(db: ClaimsStore, encounter_id: str, now: datetime) -> int:
    """Build (or update) the primary claims of an encounter's latest release; returns claims touched."""
    enc = await db.get_encounter(encounter_id, lock=True)
    return 0 if enc is None else await _assemble(db, enc, now)


async def _assemble(db: ClaimsStore, enc: EncounterRow, now: datetime) -> int:
    """`assemble_encounter` of an encounter row this transaction has locked."""
    if enc.assembled_revision >= enc.revision:
        return 0
    encounter_id = enc.encounter_id
    drafts = await drafts_for(db, enc)
    # Claims are made from an assembled revision only: none exist before the first assembly.
    existing = await db.claims_of_encounter(encounter_id) if enc.assembled_revision > 0 else []
    # A draft rebuilds the family at its position among the original claims of its claim type:
    # a revision of an encounter that bills both rebuilds the facility claim from the facility draft.
    families: dict[ClaimType, list[str]] = {}
    for c in existing:
        if c.coverage_rank == 1 and c.origin == "original":
            of_type = families.setdefault(c.draft.claim_type, [])
            if c.claim_family_id not in of_type:
                of_type.append(c.claim_family_id)
    seen: dict[ClaimType, int] = {}
    for draft in drafts:
        i = seen[draft.claim_type] = seen.get(draft.claim_type, -1) + 1
        of_type = families.get(draft.claim_type, [])
        live = _live_claim([c for c in existing if i < len(of_type) and c.claim_family_id == of_type[i]])
        if live is None:
            await create_claim(db, draft, origin="original", family_id=new_id("clf"), revision=enc.revision,
                               now=now)
        else:
            await update_for_revision(db, live, draft, enc.revision, now)
    await db.mark_assembled(encounter_id, enc.revision)
    if not drafts:
        log.info("encounter has nothing to bill to a payer", extra=ids(encounter_id=encounter_id))
    return len(drafts)


def _live_claim(family: list[Claim]) -> Claim | None:
    """The rank-1 claim of a family that is still the payer's current version."""
    live = [c for c in family if c.coverage_rank == 1 and c.origin in {"original", "replacement"}
            and c.state not in {"corrected", "voided"}]
    return live[-1] if live else None


async def update_for_revision(db: ClaimsStore, claim: Claim, draft: ClaimDraft, revision: int,
                              now: datetime) -> None:
    """A new encounter revision: rebuild what is not submitted, resubmit what was rejected, replace
    what the payer adjudicated, and wait for adjudication of what is in flight."""
    detail = {"encounter_revision": revision}
    if claim.state in {"created", "held", "ready", "rejected"}:
        claim.rebuild(draft, revision)
        await db.save_claim(claim)
        await note(db, claim, "rebuild", now, detail)
        await scrub_and_route(db, claim, now, released_by="scrubber",
                              reason=f"encounter revision {revision}")
    elif claim.state in {"submitted", "accepted"}:
        claim.pending_draft = draft
        await db.save_claim(claim)
        await note(db, claim, "revision_waits_for_adjudication", now, detail)
    elif claim.payer_adjudicated:
        await correct(db, claim, f"encounter revision {revision}", None, now, draft=draft, revision=revision)


async def record_charge(db: ClaimsStore, event: ChargePosted) -> None:
    """The projection of a posted charge (what a claim line is built from)."""
    await db.save_charge(event)


async def reverse_charge(db: ClaimsStore, event: ChargeReversed) -> None:
    if not await db.reverse_charge(event.charge_id):
        log.info("reversal of a charge claims never saw", extra=ids(charge_id=event.charge_id))


async def missing_charges(db: ClaimsStore, event: EncounterReadyToBill) -> list[str]:
    """The charges an EncounterReadyToBill names that claims has not seen posted yet."""
    return await db.missing_charges(event.charge_ids)


async def ready_to_bill(db: ClaimsStore, event: EncounterReadyToBill, now: datetime) -> None:
    """Keep the encounter revision; assemble its claims at once, or after the payer's bill hold
    (the timers assemble what is due)."""
    hold_days = 0
    if event.coverages:
        # The longest hold of the payers the encounter's claims go to (Part B and Part A).
        for payer_id in billed_payer_ids(event.coverages[0], event.bills):
            payer = await db.get_payer(payer_id)
            hold_days = max(hold_days, payer.bill_hold_days if payer else 0)
    stored = await db.save_encounter(event, now, now + timedelta(days=hold_days))
    if stored is None:
        log.info("older encounter revision ignored", extra=ids(encounter_id=event.encounter_id))
        return
    # Asked before the claims exist: they wait for the answers (or are held by a cached one).
    await eligibility.request_checks(db, stored, "ready_to_bill", eligibility.Policy.current(), now)
    if hold_days == 0:
        await _assemble(db, stored, now)
