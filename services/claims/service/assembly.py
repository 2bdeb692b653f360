"""Encounters to claims: the projection of posted charges, EncounterReadyToBill after the bill
hold, and each new encounter revision rebuilt, re-scrubbed, resubmitted or replaced."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import asyncpg

from schemas.charges import ChargePosted, ChargeReversed, EncounterReadyToBill
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain.model import ClaimDraft
from services.claims.domain.states import payer_adjudicated
from services.claims.service.corrections import correct
from services.claims.service.scrubbing import create_claim, drafts_for, scrub_and_route
from services.claims.service.transitions import doc_of, note
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)


async def assemble_encounter(conn: asyncpg.Connection, encounter_id: str, now: datetime) -> int:
    """Build (or update) the primary claims of an encounter's latest release; returns claims touched."""
    enc = await store.get_encounter(conn, encounter_id, lock=True)
    if enc is None or enc.assembled_revision >= enc.revision:
        return 0
    drafts = await drafts_for(conn, enc)
    existing = await store.claims_of_encounter(conn, encounter_id)
    families: list[str] = []
    for c in existing:
        if c.coverage_rank == 1 and c.origin == "original" and c.claim_family_id not in families:
            families.append(c.claim_family_id)
    for i, draft in enumerate(drafts):
        live = _live_claim([c for c in existing if i < len(families) and c.claim_family_id == families[i]])
        if live is None:
            await create_claim(conn, draft, origin="original", family_id=new_id("clf"), revision=enc.revision,
                               now=now)
        else:
            await update_for_revision(conn, live, draft, enc.revision, now)
    await store.mark_assembled(conn, encounter_id, enc.revision)
    if not drafts:
        log.info("encounter has nothing to bill to a payer", extra=ids(encounter_id=encounter_id))
    return len(drafts)


def _live_claim(family: list[ClaimRow]) -> ClaimRow | None:
    """The rank-1 claim of a family that is still the payer's current version."""
    live = [c for c in family if c.coverage_rank == 1 and c.origin in {"original", "replacement"}
            and c.state not in {"corrected", "voided"}]
    return live[-1] if live else None


async def update_for_revision(conn: asyncpg.Connection, claim: ClaimRow, draft: ClaimDraft, revision: int,
                              now: datetime) -> None:
    """A new encounter revision: rebuild what is not submitted, resubmit what was rejected, replace
    what the payer adjudicated, and wait for adjudication of what is in flight."""
    detail = {"encounter_revision": revision}
    if claim.state in {"created", "held", "ready", "rejected"}:
        claim.doc = doc_of(draft)
        claim.charge_ids = [line.charge_id for line in draft.lines]
        claim.total_charge = draft.total_charge
        claim.encounter_revision = revision
        await store.save_claim(conn, claim)
        await note(conn, claim, "rebuild", now, detail)
        await scrub_and_route(conn, claim, now, released_by="scrubber",
                              reason=f"encounter revision {revision}")
    elif claim.state in {"submitted", "accepted"}:
        claim.pending_doc = doc_of(draft)
        await store.save_claim(conn, claim)
        await note(conn, claim, "revision_waits_for_adjudication", now, detail)
    elif payer_adjudicated(claim.state):  # type: ignore[arg-type]
        await correct(conn, claim, f"encounter revision {revision}", None, now, draft=draft, revision=revision)


async def record_charge(conn: asyncpg.Connection, event: ChargePosted) -> None:
    """The projection of a posted charge (what a claim line is built from)."""
    await store.save_charge(conn, event.charge_id, event.encounter_id, json.loads(event.model_dump_json()))


async def reverse_charge(conn: asyncpg.Connection, event: ChargeReversed) -> None:
    if not await store.reverse_charge(conn, event.charge_id):
        log.info("reversal of a charge claims never saw", extra=ids(charge_id=event.charge_id))


async def missing_charges(conn: asyncpg.Connection, event: EncounterReadyToBill) -> list[str]:
    """The charges an EncounterReadyToBill names that claims has not seen posted yet."""
    return await store.missing_charges(conn, event.charge_ids)


async def ready_to_bill(conn: asyncpg.Connection, event: EncounterReadyToBill, now: datetime) -> None:
    """Keep the encounter revision; assemble its claims at once, or after the payer's bill hold
    (the timers assemble what is due)."""
    hold_days = 0
    if event.coverages:
        payer = await store.get_payer(conn, event.coverages[0].payer_id)
        hold_days = payer.bill_hold_days if payer else 0
    stored = await store.save_encounter(conn, event.encounter_id, event.patient_account_id, event.revision,
                                        json.loads(event.model_dump_json()), now, now + timedelta(days=hold_days))
    if not stored:
        log.info("older encounter revision ignored", extra=ids(encounter_id=event.encounter_id))
        return
    if hold_days == 0:
        await assemble_encounter(conn, event.encounter_id, now)
