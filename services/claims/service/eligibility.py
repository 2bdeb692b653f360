"""Eligibility checks (270/271): asked for each coverage of an encounter when it is ready to bill
and on demand, answered from a fresh earlier answer (the cache) or sent in a 270 batch, applied
when the 271 comes (or timed out when it does not), with EligibilityChecked for every outcome.

A claim waits while the latest check of its coverage and payer is open (submission.py); an
inactive or rejected answer holds the claim (ELIG-INACTIVE / ELIG-REJECTED) through the hold
path, and a claim created or rebuilt later is scrubbed against the latest answer (scrubbing.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from opentelemetry import trace

from edi.errors import X12Error
from schemas.charges import EncounterReadyToBill
from schemas.common import PayerRef
from schemas.eligibility import EligibilityChecked, PatientEstimated
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.outbox import current_traceparent
from services.chassis.telemetry import continued
from services.claims.domain import x270
from services.claims.domain.claim import Claim, coverage_rank
from services.claims.domain.eligibility import (
    NO_RESPONSE,
    Decision,
    Source,
    Trigger,
    decide,
    fresh_since,
    holding_finding,
    waited_since,
)
from services.claims.domain.estimate import EstimateLine, estimate_patient_share
from services.claims.domain.findings import Finding
from services.claims.domain.model import billed_payer_ids
from services.claims.service.transitions import Writes
from services.claims.settings import claims_settings
from services.claims.store import CheckRow, ClaimsStore, EncounterRow

log = logging.getLogger(__name__)

OPEN = frozenset({"pending", "sent"})
"""Checks whose claims wait (no 837 goes out for them)."""


@dataclass(frozen=True)
class Policy:
    """The service's eligibility settings (settings.py) as the use cases take them."""

    enabled: bool
    freshness_h: float
    wait_s: float

    @classmethod
    def current(cls) -> Policy:
        settings = claims_settings()
        return cls(settings.eligibility_checks, settings.eligibility_freshness_h, settings.eligibility_wait_s)


def first_service_date(ready: EncounterReadyToBill, service_dates: Sequence[date]) -> date:
    """The date asked about: the encounter's first date of service (its admission for a stay)."""
    return min([*service_dates, *([ready.admission_date] if ready.admission_date else [])])


async def request_checks(db: ClaimsStore, enc: EncounterRow, trigger: Trigger, policy: Policy,
                         now: datetime) -> list[CheckRow]:
    """One check per coverage of the encounter's latest revision and per payer its claims go to
    (the facility payer too), for its first date of service; answered at once from a fresh
    answer for the same payer, member and date, else queued for the next 270. Payers whose
    `eligibility` is off are not asked."""
    if not policy.enabled:
        return []
    ready = enc.ready
    lines = await db.charge_lines(ready.charge_ids)
    if not lines:
        return []
    service_date = first_service_date(ready, [line.service_date for line in lines.values()])
    inquiry = x270.subject(ready)
    made: list[CheckRow] = []
    for coverage in ready.coverages:
        for payer_id in billed_payer_ids(coverage, ready.bills):
            payer = await db.get_payer(payer_id)
            if payer is None or not payer.eligibility:
                continue
            check_id = new_id("elg")
            check = CheckRow(
                check_id=check_id, encounter_id=enc.encounter_id, patient_account_id=enc.patient_account_id,
                encounter_revision=enc.revision, coverage_rank=coverage.rank, payer_id=payer_id,
                payer_name=payer.name, member_id=coverage.member_id, service_date=service_date,
                trace_number=check_id, trigger=trigger, state="pending", source=None, outcome=None, answer=None,
                inquiry=inquiry, requested_at=now, traceparent=current_traceparent())
            cached = await db.fresh_answer(payer_id, coverage.member_id, service_date,
                                           fresh_since(now, policy.freshness_h))
            await db.add_check(check)
            if cached is not None and cached.outcome is not None:
                await answer(db, check, Decision.from_json(cached.outcome, cached.answer), "cache", now)
            made.append(check)
    return made


async def check_encounter(db: ClaimsStore, encounter_id: str, policy: Policy, now: datetime) -> list[CheckRow]:
    """On demand (`rcm eligibility check`, POST /v1/eligibility): checks of the encounter's latest
    revision. LookupError when claims has no such encounter."""
    enc = await db.get_encounter(encounter_id)
    if enc is None:
        raise LookupError("claims has no encounter with that id (it has not been released to billing)")
    return await request_checks(db, enc, "on_demand", Policy(True, policy.freshness_h, policy.wait_s), now)


def _payer(check: CheckRow) -> PayerRef:
    return PayerRef(payer_id=check.payer_id, payer_name=check.payer_name[:60])


def checked_event(check: CheckRow, decision: Decision, source: Source, now: datetime) -> EligibilityChecked:
    return EligibilityChecked(
        check_id=check.check_id, encounter_id=check.encounter_id, patient_account_id=check.patient_account_id,
        coverage_rank=coverage_rank(check.coverage_rank), payer=_payer(check),
        service_date=check.service_date, trigger=check.trigger, source=source, outcome=decision.outcome,
        plan_begin=decision.plan_begin, plan_end=decision.plan_end, coverage_level=decision.coverage_level,
        benefits=list(decision.benefits), rejections=list(decision.rejections),
        other_payers=list(decision.other_payers), checked_at=now)


async def answer(db: ClaimsStore, check: CheckRow, decision: Decision, source: Source, now: datetime) -> None:
    """Record the answer, EligibilityChecked in the outbox, and hold the coverage's claims that
    have not gone out when it is not active: in the trace the check was asked in (its
    encounter's), linked to the pass (or request) that answers it."""
    with continued(check.traceparent, "eligibility answer", links=[trace.get_current_span()]):
        await _answer(db, check, decision, source, now)


async def _answer(db: ClaimsStore, check: CheckRow, decision: Decision, source: Source, now: datetime) -> None:
    await db.answer_check(check.check_id, "timed_out" if source == "timeout" else "answered", source,
                          decision.outcome, decision.to_json(), now)
    await db.emit(checked_event(check, decision, source, now), now)
    if decision.outcome == "active" and check.coverage_rank == 1:
        await _estimate(db, check, decision, now)
    finding = holding_finding(decision, check.coverage_rank, check.service_date)
    if finding is not None:
        await _hold_claims(db, check, finding, now)
    log.info("eligibility check answered", extra=ids(component="eligibility", encounter_id=check.encounter_id,
                                                      state=decision.outcome))


async def _estimate(db: ClaimsStore, check: CheckRow, decision: Decision, now: datetime) -> None:
    """PatientEstimated from an active primary coverage's benefits and its payer's fee schedule
    (the expected allowed amounts the claim lines carry), over the encounter's posted lines."""
    enc = await db.get_encounter(check.encounter_id)
    if enc is None:
        return
    lines = [line for line in (await db.charge_lines(enc.ready.charge_ids)).values()]
    if not lines:
        return
    fees = await db.fee_schedule(check.payer_id)
    share = estimate_patient_share(decision.benefits, [EstimateLine(
        procedure_code=line.procedure_code or "", charge=line.amount,
        expected_allowed=None if line.procedure_code is None
        else fees.expected_allowed(line.procedure_code, line.modifiers, line.service_date, line.units))
        for line in lines])
    await db.emit(PatientEstimated(
        estimate_id=new_id("est"), encounter_id=check.encounter_id, patient_account_id=check.patient_account_id,
        check_id=check.check_id, coverage_rank=coverage_rank(check.coverage_rank),
        payer=_payer(check), service_date=check.service_date,
        total_charge=share.total_charge, expected_allowed=share.expected_allowed, deductible=share.deductible,
        coinsurance=share.coinsurance, copay=share.copay, patient_estimate=share.patient_estimate,
        out_of_pocket_remaining=share.out_of_pocket_remaining, complete=share.complete, estimated_at=now), now)


async def _hold_claims(db: ClaimsStore, check: CheckRow, finding: Finding, now: datetime) -> None:
    """The encounter's claims on this coverage and payer that are not submitted yet are held."""
    writes = Writes()
    mine = [c.claim_id for c in await db.claims_of_encounter(check.encounter_id)
            if (c.coverage_rank, c.payer_id) == (check.coverage_rank, check.payer_id)]
    for claim in (await db.claims_for_update(mine)).values():
        if claim.state not in {"created", "ready"}:
            continue
        await db.drop_pending(claim.claim_id)
        edits = [*(f for f in claim.edits if f.severity == "warning"), finding]
        writes.move(claim, now, partial(claim.hold, edits, now),
                    detail={"edits": [finding.edit_id], "check_id": check.check_id})
    await writes.flush(db)


async def _asked(db: ClaimsStore, claim: Claim) -> bool:
    """Whether the claim's coverage may have a check (checks on, the payer asked): no read otherwise."""
    if not Policy.current().enabled:
        return False
    payer = await db.get_payer(claim.payer_id)
    return payer is not None and payer.eligibility


async def holding_edit(db: ClaimsStore, claim: Claim) -> Finding | None:
    """The edit the latest answer about the claim's coverage and payer puts on it, if any (a claim
    scrubbed by the scrubber; an operator's release goes past it)."""
    if not await _asked(db, claim):
        return None
    check = (await db.latest_checks([claim.encounter_id])).get(
        (claim.encounter_id, claim.coverage_rank, claim.payer_id))
    if check is None or check.outcome is None:
        return None
    return holding_finding(Decision.from_json(check.outcome, check.answer), check.coverage_rank, check.service_date)


async def waiting_claims(db: ClaimsStore, claims: Collection[Claim]) -> set[str]:
    """The claims whose coverage's latest check is still open: they do not go out yet."""
    asked = [c for c in claims if await _asked(db, c)]
    if not asked:
        return set()
    latest = await db.latest_checks([c.encounter_id for c in asked])
    return {c.claim_id for c in asked
            if (check := latest.get((c.encounter_id, c.coverage_rank, c.payer_id))) and check.state in OPEN}


async def time_out(db: ClaimsStore, policy: Policy, now: datetime) -> int:
    """Checks with no 271 after the wait: no_response, and their claims go out unchecked."""
    overdue = await db.overdue_checks(waited_since(now, policy.wait_s))
    for check in overdue:
        await answer(db, check, NO_RESPONSE, "timeout", now)
    return len(overdue)


async def send_pending(db: ClaimsStore, now: datetime, usage: str = "T") -> str | None:
    """Every pending check into one 270 interchange, recorded for the clearinghouse (written after
    the commit by the batcher with the 837s, `submission.write_interchanges`); its file name, or None."""
    checks = await db.checks_to_send()
    if not checks:
        return None
    inquiries = []
    for check in list(checks):
        try:
            inquiries.append(x270.inquiry(check.inquiry, check.coverage_rank, check.trace_number, check.payer_id,
                                          check.payer_name, check.service_date))
        except (ValueError, KeyError) as exc:  # a check that cannot make an inquiry must not stop the others
            log.error("eligibility check cannot make a 270 inquiry", extra=ids(
                component="270", encounter_id=check.encounter_id, error_class=type(exc).__name__))
            await answer(db, check, NO_RESPONSE, "timeout", now)
            checks.remove(check)
    if not checks:
        return None
    number = await db.next_control_number()
    try:
        text = x270.render(inquiries, number, now, usage)
        problems = x270.problems(text)
    except (ValueError, X12Error) as exc:
        problems = [type(exc).__name__]
    if problems:  # our own inquiry data does not make a 270: say so, and let the claims go unchecked
        log.error("270 batch failed its structural checks", extra=ids(component="270", count=len(checks)))
        for check in checks:
            await answer(db, check, NO_RESPONSE, "timeout", now)
        return None
    content = text.encode()
    name = x270.file_name(number)
    icn = f"{number:09d}"
    await db.save_interchange(icn, str(number), name, hashlib.sha256(content).hexdigest(), len(checks), content, now)
    await db.mark_checks_sent([c.check_id for c in checks], icn, now)
    log.info("270 batch written", extra=ids(component="270", count=len(checks), file_id=name))
    return name


async def process_271_file(db: ClaimsStore, file: ExchangeFile, content: bytes, now: datetime) -> str:
    """Apply each answer of one 271 file to the check its trace number names; an unreadable file,
    or an answer that matches no open check, is kept flagged with the acknowledgments, never dropped."""
    sha = hashlib.sha256(content).hexdigest()
    if await db.ack_seen(sha):
        return "duplicate"
    try:
        answers = x270.answers(content.decode("utf-8-sig", errors="replace"))
    except X12Error as exc:
        await db.save_ack(file_name=file.name, sha256=sha, kind="271", reference="-", outcome="unreadable",
                          submission_id=None, flagged=True, detail={"why": type(exc).__name__}, now=now)
        log.warning("unreadable 271 kept and flagged", extra=ids(file_id=file.name))
        return "unreadable"
    checks = await db.checks_by_trace([a.trace_number for a in answers if a.trace_number])
    for item in answers:
        if item.trace_number:
            found = checks.get(item.trace_number)
            targets = [found] if found is not None and found.state in OPEN else []
            why = ("no eligibility check has this trace number" if found is None
                   else f"the check is {found.state} already")
        else:  # the payer rejected the whole request (AAA above the subscriber): BHT03 names our 270
            targets = await db.open_checks_in_interchange(item.reference) if item.reference else []
            why = "no open eligibility check was sent in the interchange this answer names"
        reference = (item.trace_number or item.reference or "-")[:50]
        if not targets:
            await db.save_ack(file_name=file.name, sha256=sha, kind="271", reference=reference,
                              outcome="unmatched", submission_id=None, flagged=True, detail={"why": why}, now=now)
            log.warning("unmatched 271 answer kept and flagged", extra=ids(file_id=file.name))
            continue
        for check in targets:
            decision = decide(item, check.service_date, x270.coverages_on_file(check.inquiry))
            await answer(db, check, decision, "271", now)
            await db.save_ack(file_name=file.name, sha256=sha, kind="271", reference=reference,
                              outcome=decision.outcome, submission_id=None, flagged=False,
                              detail={"check_id": check.check_id}, now=now)
    return "271"


def check_json(check: CheckRow) -> dict[str, object]:
    """A check as `rcm claims show`, `rcm eligibility check` and GET /v1/eligibility show it."""
    decision = Decision.from_json(check.outcome, check.answer) if check.outcome else None
    return {
        "check_id": check.check_id, "encounter_id": check.encounter_id, "coverage_rank": check.coverage_rank,
        "payer_id": check.payer_id, "payer_name": check.payer_name, "service_date": check.service_date.isoformat(),
        "trigger": check.trigger, "state": check.state, "source": check.source, "outcome": check.outcome,
        "plan_begin": decision and decision.plan_begin and decision.plan_begin.isoformat(),
        "plan_end": decision and decision.plan_end and decision.plan_end.isoformat(),
        "coverage_level": decision and decision.coverage_level,
        "benefits": [b.model_dump(mode="json", exclude_none=True) for b in decision.benefits] if decision else [],
        "rejections": [r.model_dump(mode="json", exclude_none=True) for r in decision.rejections] if decision else [],
        "other_payers": [o.model_dump(mode="json", exclude_none=True) for o in decision.other_payers]
        if decision else [],
        "requested_at": check.requested_at.isoformat(),
        "answered_at": check.answered_at and check.answered_at.isoformat(),
        "interchange_control_number": check.interchange_control_number,
    }
