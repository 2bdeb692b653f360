"""The claims workflow: assembly, scrubbing, submission, acknowledgments, adjudication,
corrections, secondary claims and follow-up. Every state change goes through `move`, which
checks the one transition table (domain/states.py), records history and emits the event in
the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from pydantic import BaseModel

from edi import x277ca, x999
from edi.envelope import read_interchange
from edi.errors import X12Error
from edi.validate import validate as x12_check
from schemas import claims as ev
from schemas.charges import EncounterReadyToBill
from schemas.common import EncounterDetails, PayerRef
from services.chassis import outbox
from services.chassis.clearinghouse import Clearinghouse, ExchangeFile
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain import acks
from services.claims.domain.assembly import PostedCharge, assemble, prior_payer_from_remit, secondary_draft
from services.claims.domain.model import ClaimDraft
from services.claims.domain.payers import FeeSchedule, PayerConfig
from services.claims.domain.scrubber import Finding, ScrubInput, holds, scrub
from services.claims.domain.states import IllegalTransition, Trigger, payer_adjudicated, transition
from services.claims.domain.x837 import (
    TRANSACTION_SET_CONTROL_NUMBER,
    Submission,
    build_claim,
    file_name,
    line_control_number,
    render_batch,
)
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)
SYSTEM_OPERATOR = "rcm-claims"


class Refused(Exception):
    """An operator action the claim's state does not allow (message is PHI-free)."""


def new_submission_id() -> str:
    return "S" + new_id("x", 10)[2:]  # S + 19 time-ordered characters = 20 (CLM01 limit)


def _ids(c: ClaimRow) -> dict[str, Any]:
    return {"claim_id": c.claim_id, "claim_family_id": c.claim_family_id, "encounter_id": c.encounter_id}


def draft_of(doc: dict[str, Any]) -> ClaimDraft:
    return ClaimDraft.model_validate_json(json.dumps(doc, default=str))


def _doc(draft: ClaimDraft) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(draft.model_dump_json())
    return loaded


ADJUDICATED_ALREADY = frozenset({"adjudicated", "denied", "forwarded", "closed", "corrected", "voided"})


async def move(
    conn: asyncpg.Connection, claim: ClaimRow, trigger: Trigger, now: datetime,
    event: BaseModel | None = None, detail: dict[str, Any] | None = None,
) -> bool:
    """Apply one transition of the table; refuse (log + history) anything else."""
    try:
        t = transition(claim.state, trigger)  # type: ignore[arg-type]
    except IllegalTransition:
        log.warning("illegal claim transition refused",
                    extra=ids(claim_id=claim.claim_id, state=claim.state, transition=trigger))
        await store.add_history(conn, claim.claim_id, claim.claim_family_id, trigger, claim.state, None, None, now,
                                refused=True, detail=detail)
        return False
    claim.state = t.to_state
    claim.updated_at = now
    await store.save_claim(conn, claim)
    built = event
    if built is not None:
        await outbox.enqueue(conn, built, occurred_at=now)
    await store.add_history(conn, claim.claim_id, claim.claim_family_id, trigger, t.from_state, t.to_state,
                            type(built).__name__ if built is not None else None, now, detail=detail)
    return True


async def note(conn: asyncpg.Connection, claim: ClaimRow, what: str, now: datetime,
               detail: dict[str, Any] | None = None, event: BaseModel | None = None) -> None:
    """History without a state change (an acknowledgment that changes nothing, a follow-up)."""
    if event is not None:
        await outbox.enqueue(conn, event, occurred_at=now)
    await store.add_history(conn, claim.claim_id, claim.claim_family_id, what, claim.state, claim.state,
                            type(event).__name__ if event is not None else None, now, detail=detail)


# --- assembly -------------------------------------------------------------------------------


def encounter_details(ready: dict[str, Any]) -> EncounterDetails:
    fields = {k: v for k, v in ready.items() if k in EncounterDetails.model_fields}
    return EncounterDetails.model_validate_json(json.dumps(fields))


async def _fees(conn: asyncpg.Connection, payer_id: str) -> FeeSchedule:
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
    fees = await _fees(conn, details.coverages[rank - 1].payer_id)
    return assemble(details, enc.encounter_id, enc.patient_account_id, charges, fees, rank)


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
        total_charge=draft.total_charge, doc=_doc(draft), edits=[], submission_id=None,
        payer_claim_control_number=None, total_paid=Decimal("0.00"), adjudication=None, follow_up_on=None,
        timely_filing_deadline=(draft.first_service_date + timedelta(days=payer.timely_filing_days)
                                if payer else None),
        pending_doc=None, created_at=now, updated_at=now,
    )
    t = transition(None, "create")
    await store.insert_claim(conn, claim)
    await outbox.enqueue(conn, ev.ClaimCreated(
        **_ids(claim), patient_account_id=claim.patient_account_id, payer=ref,
        coverage_rank=claim.coverage_rank, origin=origin, origin_claim_id=origin_claim_id,  # type: ignore[arg-type]
        frequency=frequency, charge_ids=claim.charge_ids, total_charge=claim.total_charge,  # type: ignore[arg-type]
        encounter_revision=revision, created_at=now,
    ), occurred_at=now)
    await store.add_history(conn, claim.claim_id, family_id, "create", None, t.to_state, "ClaimCreated", now,
                            detail={"origin": origin, "frequency": frequency})
    await scrub_and_route(conn, claim, now)
    return claim


async def update_for_revision(conn: asyncpg.Connection, claim: ClaimRow, draft: ClaimDraft, revision: int,
                              now: datetime) -> None:
    """A new encounter revision: rebuild what is not submitted, resubmit what was rejected, replace
    what the payer adjudicated, and wait for adjudication of what is in flight."""
    detail = {"encounter_revision": revision}
    if claim.state in {"created", "held", "ready", "rejected"}:
        claim.doc = _doc(draft)
        claim.charge_ids = [line.charge_id for line in draft.lines]
        claim.total_charge = draft.total_charge
        claim.encounter_revision = revision
        await store.save_claim(conn, claim)
        await note(conn, claim, "rebuild", now, detail)
        await scrub_and_route(conn, claim, now, released_by="scrubber",
                              reason=f"encounter revision {revision}")
    elif claim.state in {"submitted", "accepted"}:
        claim.pending_doc = _doc(draft)
        await store.save_claim(conn, claim)
        await note(conn, claim, "revision_waits_for_adjudication", now, detail)
    elif payer_adjudicated(claim.state):  # type: ignore[arg-type]
        await correct(conn, claim, f"encounter revision {revision}", None, now, draft=draft, revision=revision)


# --- scrubbing and queueing -------------------------------------------------------------------


def _failed(findings: list[Finding]) -> list[ev.FailedEdit]:
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
        held = ev.ClaimHeld(**_ids(claim), edits=_failed(findings), held_at=now)
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
            **_ids(claim), released_by=released_by, operator_id=operator_id,  # type: ignore[arg-type]
            reason=(reason or None) and reason[:200], released_at=now))
    elif claim.state == "rejected":
        assert previous is not None
        ok = await move(conn, claim, "resubmit", now, ev.ClaimResubmitted(
            **_ids(claim), previous_submission_id=previous, submission_id=submission_id,
            reason=(reason or "fixed after rejection")[:200], operator_id=operator_id, resubmitted_at=now))
    else:
        ok = False
    if ok:
        await store.add_submission(conn, submission_id, claim.claim_id, claim.frequency, now)
    else:
        claim.submission_id = previous
        await store.save_claim(conn, claim)
    return ok


# --- submission -----------------------------------------------------------------------------


def _protection(draft: ClaimDraft) -> ev.PatientProtection | None:
    found = draft.patient_protection()
    return None if found is None else ev.PatientProtection(reason=found[0], share_of_cost=found[1])


def _next_payer(draft: ClaimDraft) -> ev.NextPayer | None:
    nxt = draft.next_coverage()
    if nxt is None:
        return None
    return ev.NextPayer(payer_id=nxt.payer_id, payer_name=nxt.payer_name, coverage_rank=nxt.rank)  # type: ignore[arg-type]


async def submit_pending(conn: asyncpg.Connection, now: datetime, usage: str = "T") -> str | None:
    """Batch every queued submission into one 837P interchange, recorded for the clearinghouse;
    returns its file name. The file itself goes out after the commit (`write_interchanges`)."""
    from edi import claim837

    built: list[tuple[ClaimRow, ClaimDraft, claim837.Claim, str | None]] = []
    for submission_id, claim_id in await store.pending_submissions(conn):
        claim = await store.get_claim(conn, claim_id)
        if claim is None or claim.state != "ready" or claim.submission_id != submission_id:
            await store.drop_submission(conn, submission_id)
            continue
        draft = draft_of(claim.doc)
        pccn = await reference_number(conn, claim)
        try:
            x = build_claim(draft, Submission(submission_id, claim.frequency, claim.payer_id, claim.payer_name, pccn))
        except (ValueError, X12Error) as exc:
            await _hold_for_x12(conn, claim, f"the claim cannot be written as an 837P ({type(exc).__name__}); "
                                "check the encounter's names, addresses and ids", now)
            continue
        built.append((claim, draft, x, pccn))
    if not built:
        return None
    number = await store.next_control_number(conn)
    text = render_batch([b[2] for b in built], number, now, usage)
    issues = [i for i in x12_check(text) if i.severity == "error"]
    if issues:
        for claim, *_ in built:
            await _hold_for_x12(conn, claim, "the 837P failed the X12 checks: " + ", ".join(
                sorted({i.code for i in issues}))[:300], now)
        return None
    content = text.encode()
    name = file_name(number)
    icn, gcn = f"{number:09d}", str(number)
    await store.save_interchange(conn, icn, gcn, name, hashlib.sha256(content).hexdigest(), len(built), content, now)
    for claim, draft, x, pccn in built:
        sid = x.submission_id
        await store.mark_sent(conn, sid, icn, gcn, TRANSACTION_SET_CONTROL_NUMBER, name, now)
        payer = await store.get_payer(conn, claim.payer_id)
        claim.follow_up_on = now.date() + timedelta(days=payer.follow_up_days if payer else 30)
        enc = draft.encounter

        submitted = ev.ClaimSubmitted(
                **_ids(claim), submission_id=sid, patient_account_id=claim.patient_account_id,
                payer=PayerRef(payer_id=claim.payer_id, payer_name=claim.payer_name),
                coverage_rank=claim.coverage_rank, frequency=claim.frequency,  # type: ignore[arg-type]
                payer_claim_control_number=pccn, billing_provider_npi=enc.billing_provider.npi,
                place_of_service=enc.place_of_service, diagnoses=draft.diagnoses, total_charge=draft.total_charge,
                lines=[ev.SubmittedLine(
                    line_number=n, line_control_number=line_control_number(sid, n), charge_id=line.charge_id,
                    procedure_code=line.procedure_code, modifiers=line.modifiers, description=line.description,
                    revenue_code=line.revenue_code, service_date=line.service_date,
                    service_end_date=line.service_end_date, units=line.units, charge=line.charge,
                    diagnosis_pointers=line.diagnosis_pointers, expected_allowed=line.expected_allowed,
                ) for n, line in enumerate(draft.lines, start=1)],
                next_payer=_next_payer(draft), patient_protection=_protection(draft),
                interchange=ev.InterchangeControl(interchange_control_number=icn, group_control_number=gcn,
                                                  transaction_set_control_number=TRANSACTION_SET_CONTROL_NUMBER,
                                                  file_name=name),
                submitted_at=now,
            )

        await move(conn, claim, "submit", now, submitted, detail={"submission_id": sid, "file": name})
    log.info("837P batch written", extra=ids(count=len(built), file_id=name))
    return name


async def _hold_for_x12(conn: asyncpg.Connection, claim: ClaimRow, message: str, now: datetime) -> None:
    finding = Finding("X12-BUILD", "error", message, "required-fields")
    claim.edits = [asdict(finding)]
    await store.drop_pending(conn, claim.claim_id)
    await move(conn, claim, "hold", now, ev.ClaimHeld(**_ids(claim), edits=_failed([finding]), held_at=now))


# --- acknowledgments ------------------------------------------------------------------------


async def process_ack_file(conn: asyncpg.Connection, file: ExchangeFile, content: bytes, now: datetime) -> str:
    """Apply one 999 or 277CA file; unmatched or unreadable content is stored flagged, never dropped."""
    sha = hashlib.sha256(content).hexdigest()
    if await store.ack_seen(conn, sha):
        return "duplicate"
    text = content.decode("utf-8", errors="replace")
    try:
        interchange = read_interchange(text)
        kind = acks.kind_of(interchange.groups[0].functional_id) if interchange.groups else None
    except X12Error:
        kind = None
    if kind is None:
        await store.save_ack(conn, file_name=file.name, sha256=sha, kind="unreadable", reference="-",
                             outcome="unreadable", submission_id=None, flagged=True,
                             detail={"why": "not a 999 or 277CA interchange"}, now=now)
        return "unreadable"
    try:
        if kind == "999":
            await _apply_999(conn, file.name, sha, x999.read_999_all(text), now)
        else:
            await _apply_277ca(conn, file.name, sha, x277ca.read_277ca(text), now)
    except X12Error as exc:
        await store.save_ack(conn, file_name=file.name, sha256=sha, kind=kind, reference="-", outcome="unreadable",
                             submission_id=None, flagged=True, detail={"why": type(exc).__name__}, now=now)
        return "unreadable"
    return kind


async def _apply_999(conn: asyncpg.Connection, name: str, sha: str, items: tuple[x999.Ack999, ...],
                     now: datetime) -> None:
    for ack in items:
        for ts in ack.transaction_sets:
            reference = f"{ack.group_control_number}/{ts.control_number}"
            subs = await store.submissions_in_set(conn, ack.group_control_number, ts.control_number)
            if not subs:
                await store.save_ack(conn, file_name=name, sha256=sha, kind="999", reference=reference,
                                     outcome="accepted" if ts.accepted else "rejected", submission_id=None,
                                     flagged=True, detail={"why": "no submitted transaction set matches"}, now=now)
                log.warning("unmatched 999 kept and flagged", extra=ids(file_id=name))
                continue
            codes = [ev.AcknowledgmentCode(segment=c.segment, code=c.code, description=c.description)
                     for c in acks.set_codes(ts, ack)]
            for sub in subs:
                claim = await store.get_claim(conn, sub["claim_id"])
                assert claim is not None
                current = claim.submission_id == sub["submission_id"]
                await store.save_ack(conn, file_name=name, sha256=sha, kind="999", reference=reference,
                                     outcome="accepted" if ts.accepted else "rejected",
                                     submission_id=sub["submission_id"], flagged=not current,
                                     detail={} if current else {"why": "acknowledges an older submission"}, now=now)
                if not current:
                    continue
                if ts.accepted:
                    await note(conn, claim, "999_accepted", now, {"submission_id": sub["submission_id"]})
                else:
                    await _reject(conn, claim, "999", codes, acks.set_reason(ts), now)


async def _reject(conn: asyncpg.Connection, claim: ClaimRow, source: str, codes: list[ev.AcknowledgmentCode],
                  reason: str, now: datetime) -> None:
    sid = claim.submission_id
    assert sid is not None
    rejected = await move(conn, claim, "reject", now, ev.ClaimRejected(
        **_ids(claim), submission_id=sid, source=source, codes=codes, reason=reason,  # type: ignore[arg-type]
        rejected_at=now), detail={"submission_id": sid, "codes": [c.code for c in codes]})
    if rejected and claim.pending_doc is not None:  # a newer revision was waiting: it goes as a new original
        claim.doc, claim.pending_doc = claim.pending_doc, None
        draft = draft_of(claim.doc)
        claim.charge_ids = [line.charge_id for line in draft.lines]
        claim.total_charge = draft.total_charge
        await scrub_and_route(conn, claim, now, reason="newer encounter revision after the rejection")


async def _apply_277ca(conn: asyncpg.Connection, name: str, sha: str, ack: x277ca.Ack277CA, now: datetime) -> None:
    for item in ack.claims:
        sid = item.patient_control_number
        sub = await store.submission(conn, sid)
        claim = await store.get_claim(conn, sub["claim_id"]) if sub else None
        outcome = item.outcome
        if claim is None or claim.submission_id != sid:
            await store.save_ack(conn, file_name=name, sha256=sha, kind="277CA", reference=sid[:40], outcome=outcome,
                                 submission_id=sid if sub else None, flagged=True,
                                 detail={"why": "no claim has this submission id" if claim is None
                                         else "acknowledges an older submission"}, now=now)
            log.warning("unmatched 277CA claim kept and flagged", extra=ids(file_id=name))
            continue
        codes = [ev.AcknowledgmentCode(segment="STC", code=c.code, description=c.description)
                 for c in acks.stc_codes(item)]
        flagged = False
        if item.rejected:
            await _reject(conn, claim, "277CA", codes, acks.claim_reason(item), now)
        elif acks.is_acceptance(item):
            pccn = item.payer_claim_control_number or None
            if claim.state in ADJUDICATED_ALREADY:
                # The payer's 835 came first: the acceptance is history now, not a transition.
                claim.payer_claim_control_number = claim.payer_claim_control_number or pccn
                await store.save_claim(conn, claim)
                await note(conn, claim, "277CA_late_acceptance", now, {"submission_id": sid})
            else:
                if pccn:
                    claim.payer_claim_control_number = pccn
                await move(conn, claim, "accept", now, ev.ClaimAccepted(
                    **_ids(claim), submission_id=sid, source="277CA", codes=codes, payer_claim_control_number=pccn,
                    accepted_at=now), detail={"submission_id": sid})
        elif item.outcome == "accepted":  # A1: received only
            await note(conn, claim, "277CA_received", now, {"submission_id": sid})
        else:
            flagged = True
            await note(conn, claim, "277CA_" + outcome, now, {"codes": [c.code for c in codes]})
        await store.save_ack(conn, file_name=name, sha256=sha, kind="277CA", reference=sid, outcome=outcome,
                             submission_id=sid, flagged=flagged, detail={}, now=now)


# --- operator actions -----------------------------------------------------------------------


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
                claim.doc = _doc(match[0])
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
        **_ids(claim), replacement_claim_id=replacement_id, payer_claim_control_number=pccn, reason=reason[:200],
        operator_id=operator_id, corrected_at=now), detail={"replacement_claim_id": replacement_id})
    claim.pending_doc = None
    await _close(conn, claim, "replaced", now)
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
        **_ids(claim), void_claim_id=void_id, payer_claim_control_number=pccn, reason=reason[:200],
        operator_id=operator_id, voided_at=now), detail={"void_claim_id": void_id})
    await _close(conn, claim, "voided", now)
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


async def _close(conn: asyncpg.Connection, claim: ClaimRow, resolution: str, now: datetime) -> None:
    await move(conn, claim, "close", now, ev.ClaimClosed(
        **_ids(claim), resolution=resolution, total_paid=claim.total_paid, closed_at=now))  # type: ignore[arg-type]


# --- adjudication (remits' events) ----------------------------------------------------------

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
            **_ids(claim), submission_id=event.submission_id, remittance_id=event.remittance_id,
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
        **_ids(claim), submission_id=event.submission_id, remittance_id=event.remittance_id, payer=event.payer,
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
    await _close(conn, claim, resolution, now)


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
    second = secondary_draft(draft, prior, await _fees(conn, nxt.payer_id))
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
        await _close(conn, claim, "written_off", now)
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


# --- follow-up --------------------------------------------------------------------------------


_FOLLOW_UP_REASON: dict[str, Any] = {"submitted": "no_acknowledgment", "accepted": "no_remittance",
                                     "denied": "denial_open"}


async def follow_up(conn: asyncpg.Connection, now: datetime) -> int:
    """Claims with no acknowledgment, no remittance, or an open denial after the payer's follow-up days."""
    today = now.date()
    due = await store.claims_follow_up_due(conn, today)
    for claim in due:
        payer = await store.get_payer(conn, claim.payer_id)
        days = payer.follow_up_days if payer else 30
        subs = [s for s in await store.submissions_of(conn, [claim.claim_id])
                if s["submission_id"] == claim.submission_id]
        sent = subs[0]["sent_at"].date() if subs and subs[0]["sent_at"] else claim.updated_at.date()
        assert claim.follow_up_on is not None
        event = ev.ClaimFollowUpDue(
            **_ids(claim), submission_id=claim.submission_id,
            payer=PayerRef(payer_id=claim.payer_id, payer_name=claim.payer_name), state=claim.state,  # type: ignore[arg-type]
            reason=_FOLLOW_UP_REASON[claim.state],
            days_outstanding=max(0, (today - sent).days), due_on=claim.follow_up_on,
            timely_filing_deadline=claim.timely_filing_deadline,
        )
        claim.follow_up_on = today + timedelta(days=max(days, 1))
        await store.save_claim(conn, claim)
        await note(conn, claim, "follow_up", now, {"reason": event.reason}, event)
    return len(due)


async def write_interchanges(pool: asyncpg.Pool, clearinghouse: Clearinghouse, now: datetime) -> int:
    """Write every committed interchange not yet in outbound/ (again after a crash: same name and
    content, at least once). Called after the batch commits, so an acknowledgment can never
    arrive before the submission it acknowledges is recorded."""
    async with pool.acquire() as conn:
        pending = await store.unwritten_interchanges(conn)
        for row in pending:
            await clearinghouse.write("outbound", row["file_name"], bytes(row["content"]))
            await store.mark_written(conn, row["interchange_control_number"], now)
    return len(pending)
