"""A claim from its draft: created, scrubbed (the edits of domain/scrubber.py), then held or
made ready for the next 837P batch; what the scrubber needs (drafts, fee schedules, the payer
claim number a correction names)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import partial
from typing import Literal

from schemas.common import EncounterDetails, PayerRef
from services.chassis.icd10cm import Editions, read_editions
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.settings import get_settings
from services.claims.domain.assembly import assemble
from services.claims.domain.claim import Claim, Origin
from services.claims.domain.codesets import CodeSets, quarter_for, shipped
from services.claims.domain.findings import Finding
from services.claims.domain.model import ClaimDraft, billed_payer
from services.claims.domain.payers import FeeSchedule, PayerConfig
from services.claims.domain.scrubber import ScrubInput, holds, scrub
from services.claims.service.eligibility import holding_edit
from services.claims.service.transitions import Writes, new_submission_id
from services.claims.store import ClaimsStore, EncounterRow

log = logging.getLogger(__name__)


def encounter_details(enc: EncounterRow) -> EncounterDetails:
    fields = enc.ready.model_dump(include=set(EncounterDetails.model_fields))
    return EncounterDetails.model_validate(fields)


async def fee_schedule(db: ClaimsStore, payer_id: str) -> FeeSchedule:
    return await db.fee_schedule(payer_id)


async def drafts_for(db: ClaimsStore, enc: EncounterRow, rank: int = 1) -> list[ClaimDraft]:
    details = encounter_details(enc)
    if len(details.coverages) < rank:
        return []
    lines = await db.charge_lines(enc.ready.charge_ids)
    charges = [lines[c] for c in enc.ready.charge_ids if c in lines]
    if details.institutional is None and any(c.claim_type == "institutional" for c in charges):
        # The charges service refuses such an encounter; said, never silent, if one comes anyway.
        log.warning("institutional charges of an encounter without institutional data are not billed",
                    extra=ids(encounter_id=enc.encounter_id))
    if not charges:
        return []
    fees = await fee_schedule(db, details.coverages[rank - 1].payer_id)
    return assemble(details, enc.encounter_id, enc.patient_account_id, charges, fees, rank)


async def _payer(db: ClaimsStore, draft: ClaimDraft) -> tuple[PayerConfig | None, PayerRef]:
    payer_id, name = billed_payer(draft.coverage, draft.claim_type)
    payer = await db.get_payer(payer_id)
    return payer, PayerRef(payer_id=payer_id, payer_name=payer.name if payer else name)


async def create_claim(
    db: ClaimsStore, draft: ClaimDraft, *, origin: Origin, family_id: str, revision: int, now: datetime,
    origin_claim_id: str | None = None, claim_id: str | None = None,
) -> Claim:
    payer, ref = await _payer(db, draft)
    claim = Claim.create(draft, claim_id=claim_id or new_id("clm"), family_id=family_id, origin=origin,
                         origin_claim_id=origin_claim_id, revision=revision, payer=ref,
                         timely_filing_days=payer.timely_filing_days if payer else None, now=now)
    writes = Writes()  # inserted once, created and scrubbed
    writes.record(claim, now, {"origin": origin, "frequency": claim.frequency}, new=True)
    await scrub_and_route(db, claim, now, writes=writes)
    return claim


async def reference_number(db: ClaimsStore, claim: Claim) -> str | None:
    """REF*F8 for a replacement or void: the payer's number of the claim it follows from."""
    if claim.frequency == "1" or claim.origin_claim_id is None:
        return None
    origin = await db.get_claim(claim.origin_claim_id, lock=False)
    return origin.payer_claim_control_number if origin else None


def diagnosis_editions() -> Editions:
    """The shipped ICD-10-CM edition and those loaded into the code-set directory."""
    return read_editions(get_settings().codesets_path)


async def codesets_for(db: ClaimsStore, draft: ClaimDraft) -> CodeSets:
    """The PTP and MUE rows about the claim's codes, from the quarter that judges its first date
    of service: a loaded CMS quarter, or the shipped sample where none was loaded."""
    sample = shipped()
    # The NCCI and MUE edits judge professional claims only.
    codes = sorted({line.code for line in draft.lines}) if draft.claim_type == "professional" else []
    if not codes:
        return sample.only(codes)
    day = draft.first_service_date
    ptp_quarters, mue_quarters = await db.loaded_quarters("ncci"), await db.loaded_quarters("mue")
    ptp_quarter = quarter_for(day, [*ptp_quarters, sample.quarter])
    mue_quarter = quarter_for(day, [*mue_quarters, sample.quarter])
    own = sample.only(codes)
    ptp = tuple(await db.ptp_among(ptp_quarter, codes)) if ptp_quarter in ptp_quarters else own.ptp
    mue = ({m.procedure_code: m for m in await db.mue_of(mue_quarter, codes)} if mue_quarter in mue_quarters
           else own.mue)
    return CodeSets(ptp, mue, own.pfs, ptp_quarter or sample.quarter)


async def findings_for(db: ClaimsStore, claim: Claim, today: date, *, eligibility: bool = True) -> list[Finding]:
    """The scrubber's findings, and (`eligibility`) the hold the latest eligibility answer about
    the claim's coverage puts on it: an operator's release goes past that one."""
    payer = await db.get_payer(claim.payer_id)
    found: list[Finding] = []
    if payer is None:
        found.append(Finding("PAYER-UNKNOWN", "error", "the payer is not in the payer master: load it with "
                             "`rcm payers load`", "payer-rule"))
    billed = await db.billed_lines(claim.patient_account_id, claim.payer_id, claim.claim_family_id)
    found += scrub(ScrubInput(
        draft=claim.draft, today=today, timely_filing_days=payer.timely_filing_days if payer else 365,
        poa_required=payer.poa_required if payer else True, frequency=claim.frequency,
        payer_claim_control_number=await reference_number(db, claim),
        billed_elsewhere=billed, codesets=await codesets_for(db, claim.draft), diagnoses=diagnosis_editions(),
        # Only a held claim's edits are waived: a claim being created has none.
        waivers={} if claim.state == "created" else await db.waivers(claim.claim_id),
    ))
    held_by = await holding_edit(db, claim) if eligibility else None
    return found if held_by is None else [*found, held_by]


async def scrub_and_route(
    db: ClaimsStore, claim: Claim, now: datetime, *, released_by: Literal["scrubber", "operator"] = "scrubber",
    operator_id: str | None = None, reason: str | None = None, writes: Writes | None = None,
) -> bool:
    """Scrub; hold on any error, else queue a new submission. True when queued. What `writes`
    holds (a claim just created) is written with the outcome."""
    writes = writes or Writes()
    findings = await findings_for(db, claim, now.date(), eligibility=released_by == "scrubber")
    claim.edits = findings
    if holds(findings):
        await db.drop_pending(claim.claim_id)
        writes.move(claim, now, partial(claim.hold, findings, now),
                    detail={"edits": [f.edit_id for f in findings if f.severity == "error"]})
        await writes.flush(db)
        return False
    if claim.state == "ready":  # a rebuilt claim still queued: the queued submission sends the new content
        writes.save(claim)
        await writes.flush(db)
        return True
    submission_id = new_submission_id()
    if claim.state == "created":
        ok = writes.move(claim, now, partial(claim.pass_scrub, submission_id, now))
    elif claim.state == "held":
        ok = writes.move(claim, now, partial(claim.release,
            submission_id, now, released_by=released_by, operator_id=operator_id, reason=reason))
    elif claim.state == "rejected":
        ok = writes.move(claim, now, partial(claim.resubmit, submission_id, now, operator_id=operator_id,
                                                                 reason=reason))
    else:
        ok = False
    if not ok:
        writes.save(claim)
    await writes.flush(db)  # the claim is in the table before its submission names it
    if ok:
        await db.add_submission(submission_id, claim.claim_id, claim.frequency, now)
    return ok
