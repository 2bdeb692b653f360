"""Claim status follow-up (X12 276/277, 005010X212): a claim past its follow-up date with no 835
(or one an operator asks about) gets a 276; the payer's 277 is applied to the claim (what it
means: domain/claim_status.py), noted in its history and announced (ClaimStatusChecked, and a
ClaimFollowUpDue when a person must act); a pending answer is asked again later and a "not found"
one sends the claim again after a wait. The 276 interchanges are kept with the 837s and written
to outbound/ after the commit by submission.write_interchanges."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import date, datetime
from functools import partial
from typing import Any, Literal

from opentelemetry import trace

from edi.errors import X12Error
from edi.validate import validate as x12_check
from schemas import claims as ev
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.telemetry import continued
from services.claims.domain import x276
from services.claims.domain.claim import Claim
from services.claims.domain.claim_status import Decision, StatusAnswer, StatusPolicy, decide, may_ask
from services.claims.service.transitions import Refused, Writes, new_submission_id
from services.claims.store import AckRow, ClaimsStore, StatusRequestRow

log = logging.getLogger(__name__)

AWAITING_835 = frozenset({"submitted", "accepted"})
"""The states in which a claim was sent and no 835 adjudicated it: the ones a 276 chases."""
Trigger = Literal["follow_up", "on_demand"]


async def ask(db: ClaimsStore, claim: Claim, trigger: Trigger, now: datetime) -> str:
    """Queue a 276 about the claim's current submission; the next batch sends it. Returns its request id."""
    assert claim.submission_id is not None
    request_id = new_id("csr")
    # TRN02 is the request id: opaque, unique, and what the 277 echoes back.
    await db.add_status_request(request_id, claim.claim_id, claim.submission_id, request_id, trigger, now)
    return request_id


async def ask_if_allowed(db: ClaimsStore, claim: Claim, now: datetime, policy: StatusPolicy) -> str | None:
    """An automatic 276 within the bounds (domain.claim_status.may_ask); None when not allowed."""
    if claim.state not in AWAITING_835 or claim.submission_id is None:
        return None
    asks, last = await db.status_asks(claim.claim_id, claim.submission_id)
    if not may_ask(asks, last.date() if last else None, now.date(), policy):
        return None
    return await ask(db, claim, "follow_up", now)


async def ask_now(db: ClaimsStore, claim: Claim, now: datetime) -> StatusRequestRow:
    """An operator's ask (`rcm claims status`): the open request about the claim's submission
    when there is one, else a new one (not bounded: the operator decided)."""
    sent = [s for s in await db.submissions_of([claim.claim_id])
            if s.submission_id == claim.submission_id and s.status == "sent"]
    if not sent or claim.submission_id is None:
        raise Refused(f"the claim was never sent to the payer (state {claim.state}): there is no status to ask for")
    request = await db.open_status_request(claim.claim_id, claim.submission_id)
    if request is None:
        request = await db.status_request(await ask(db, claim, "on_demand", now))
    assert request is not None
    return request


async def send_pending(db: ClaimsStore, now: datetime, usage: str = "T") -> str | None:
    """Every queued request into one 276 interchange (recorded with the 837s, written after the
    commit); requests whose claim moved on (an 835, a rejection, a new submission) are dropped.
    Returns the file name, None when nothing went."""
    pending = await db.pending_status_requests()
    if not pending:
        return None
    claims = await db.claims_for_update([r.claim_id for r in pending])
    batch: list[tuple[StatusRequestRow, x276.StatusInquiry]] = []
    for request in pending:
        claim = claims.get(request.claim_id)
        if claim is None or claim.submission_id != request.submission_id or (
                request.trigger == "follow_up" and claim.state not in AWAITING_835):
            await db.drop_status_request(request.request_id)  # moved on: nothing to ask
            continue
        try:
            batch.append((request, x276.inquiry(claim, request.trace_number)))
        except (ValueError, X12Error) as exc:
            await db.drop_status_request(request.request_id)
            log.error("276 not built for a claim", extra=ids(claim_id=claim.claim_id, error_class=type(exc).__name__))
    if not batch:
        return None
    number = await db.next_control_number()
    text = x276.render([inquiry for _, inquiry in batch], number, now, usage)
    issues = sorted({i.code for i in x12_check(text) if i.severity == "error"})
    if issues:
        # Our own 276 failing its implementation guide's checks is a bug to fix: logged with the
        # issue codes (never sent to the payer), the requests dropped rather than failing every pass.
        for request, _ in batch:
            await db.drop_status_request(request.request_id)
        log.error("276 interchange failed its checks", extra=ids(count=len(batch), reason=",".join(issues)[:200]))
        return None
    content = text.encode()
    name = x276.file_name(number)
    icn = f"{number:09d}"
    await db.save_interchange(icn, str(number), name, hashlib.sha256(content).hexdigest(), len(batch), content, now)
    await db.mark_status_sent([r.request_id for r, _ in batch], icn, name, now)
    log.info("276 batch written", extra=ids(component="276", count=len(batch), file_id=name))
    return name


async def process_status_file(db: ClaimsStore, file: ExchangeFile, content: bytes, now: datetime,
                              policy: StatusPolicy) -> str:
    """Apply one 277 file from inbound/status/; unreadable or unmatched answers are kept flagged
    (in acknowledgments, kind 277: `rcm claims acks`), never dropped."""
    sha = hashlib.sha256(content).hexdigest()
    if await db.ack_seen(sha):
        return "duplicate"
    try:
        answers = x276.answers(content.decode("utf-8-sig", errors="replace"))
    except (X12Error, ValueError) as exc:
        await db.save_ack(file_name=file.name, sha256=sha, kind="277", reference="-", outcome="unreadable",
                          submission_id=None, flagged=True, detail={"why": f"not a 277 claim status answer "
                                                                           f"({type(exc).__name__})"}, now=now)
        log.warning("unreadable 277 kept and flagged", extra=ids(file_id=file.name))
        return "unreadable"
    saved: list[AckRow] = []
    for answer in answers:
        reference = answer.trace_number[:50]
        request = await db.status_request_by_trace(answer.trace_number)
        why = "no claim status request has this trace number" if request is None else _mismatch(request, answer)
        if request is not None and why is None:
            try:
                decision = await apply_answer(db, request, answer, file.name, now, policy)
            except ValueError as exc:  # an STC the contracts refuse (a 31-character check number...)
                why = f"the answer cannot be applied ({type(exc).__name__})"
            else:
                saved.append(AckRow(file.name, sha, "277", reference, decision.outcome, request.submission_id, False,
                                    {}, now))
                continue
        saved.append(AckRow(file.name, sha, "277", reference, "unmatched", None, True, {"why": why}, now))
        log.warning("unmatched 277 answer kept and flagged", extra=ids(file_id=file.name))
    await db.save_acks(saved)
    return "277"


def _mismatch(request: StatusRequestRow, answer: StatusAnswer) -> str | None:
    if answer.patient_control_number and answer.patient_control_number != request.submission_id:
        return "the patient control number (REF*EJ) is not the submission the request asked about"
    if request.state == "answered":
        return "the request was answered already"
    return None


async def apply_answer(db: ClaimsStore, request: StatusRequestRow, answer: StatusAnswer, file_name: str,
                       now: datetime, policy: StatusPolicy) -> Decision:
    """The answer on the claim: decided (domain), noted in its history, announced, stored with the request."""
    claim = await db.get_claim(request.claim_id)
    assert claim is not None  # the request references the claim
    today = now.date()
    awaiting = claim.state in AWAITING_835 and claim.submission_id == request.submission_id
    asks, _ = await db.status_asks(claim.claim_id, request.submission_id)
    decision = decide(answer, awaiting_835=awaiting, asks_left=asks < policy.max_asks, today=today, policy=policy)
    s = decision.status
    checked = ev.ClaimStatusChecked(
        **claim.ids, submission_id=request.submission_id, payer=claim.payer, trigger=request.trigger,
        category_code=s.category_code, status_code=s.status_code, entity_code=s.entity_code,
        outcome=decision.outcome, action=decision.action,
        payer_claim_control_number=answer.payer_claim_control_number, effective_on=s.effective_date,
        total_charge=s.total_charge, paid_amount=s.paid_amount, adjudicated_on=s.adjudication_date,
        paid_on=s.payment_date, check_number=s.check_number, next_check_on=decision.next_check_on, checked_at=now)
    detail: dict[str, Any] = {
        "request_id": request.request_id, "submission_id": request.submission_id, "file": file_name,
        "stc": [f"{x.category_code}:{x.status_code}" + (f":{x.entity_code}" if x.entity_code else "")
                for x in answer.statuses],
        "outcome": decision.outcome, "action": decision.action,
        "next_check_on": decision.next_check_on and decision.next_check_on.isoformat()}
    # In the claim's trace (its encounter's), linked to the 277 file's span.
    with continued(claim.traceparent, "claim status answer", links=[trace.get_current_span()]):
        writes = Writes()
        if awaiting and answer.payer_claim_control_number and not claim.payer_claim_control_number:
            claim.payer_claim_control_number = answer.payer_claim_control_number
            writes.save(claim)
        writes.note(claim, "status_answered", now, detail, checked)
        if decision.work_item is not None:
            reason = "era_missing" if decision.work_item == "era_missing" else claim.follow_up_reason
            due = claim.work_item(reason, today, await _sent_on(db, request, claim), today)
            writes.note(claim, "follow_up", now, {"reason": reason, "request_id": request.request_id}, due)
    await writes.flush(db)
    stored = {"statuses": [{k: v if v is None else str(v) for k, v in asdict(x).items()} for x in answer.statuses],
              "decided": f"{s.category_code}:{s.status_code}",
              "payer_claim_control_number": answer.payer_claim_control_number}
    await db.answer_status_request(request.request_id, answer_file=file_name, answer=stored,
                                   outcome=decision.outcome, action=decision.action,
                                   next_check_on=decision.next_check_on, now=now)
    return decision


async def _sent_on(db: ClaimsStore, request: StatusRequestRow, claim: Claim) -> date:
    sub = await db.submission(request.submission_id)
    return sub.sent_at.date() if sub and sub.sent_at else claim.updated_at.date()


async def acknowledged(db: ClaimsStore, file_name: str, interchange: str, accepted: bool, codes: list[str],
                       reason: str, now: datetime) -> int:
    """A 999 or TA1 about a 276 interchange (ISA13 = GS06 = `interchange`): an acceptance changes
    nothing (the 277 is still to come); a rejection ends its requests, noted in each claim's
    history (the follow-up asks again within its bounds). Returns how many requests it named
    (0: not a 276 of ours)."""
    requests = await db.status_requests_in_interchange(interchange)
    if requests and not accepted:
        await db.reject_status_requests([r.request_id for r in requests], file_name,
                                        {"codes": codes, "reason": reason}, now)
        claims = await db.claims_for_update([r.claim_id for r in requests])
        writes = Writes()
        for request in requests:
            writes.note(claims[request.claim_id], "status_request_rejected", now,
                        {"request_id": request.request_id, "file": file_name, "codes": codes})
        await writes.flush(db)
    return len(requests)


async def act_on_due(db: ClaimsStore, now: datetime, policy: StatusPolicy) -> int:
    """Answers whose next step is due: a pending one is asked again (within the bounds), a "not
    found" one sends the claim again, unless an 835 or an acknowledgment came meanwhile."""
    due = await db.status_checks_due(now.date())
    for request in due:
        await db.mark_status_acted(request.request_id, now)
        claim = await db.get_claim(request.claim_id)
        if claim is None or claim.state not in AWAITING_835 or claim.submission_id != request.submission_id:
            continue  # adjudicated, rejected or sent again since: nothing to chase
        if request.action == "follow_up_scheduled":
            await ask_if_allowed(db, claim, now, policy)
        elif request.action == "resubmit_scheduled":
            await _resubmit(db, claim, request, now)
    return len(due)


async def _resubmit(db: ClaimsStore, claim: Claim, request: StatusRequestRow, now: datetime) -> None:
    writes = Writes()
    assert request.answered_at is not None
    if await db.acknowledged_since(request.submission_id, request.answered_at):
        writes.note(claim, "status_resubmit_dropped", now, {
            "request_id": request.request_id, "why": "an acknowledgment came after the payer's not-found answer"})
        await writes.flush(db)
        return
    decided = (request.answer or {}).get("decided", "A4")
    reason = f"the payer had no record of submission {request.submission_id} (277 {decided}): sent again"
    submission_id = new_submission_id()
    moved = writes.move(claim, now, partial(claim.resubmit, submission_id, now, operator_id=None, reason=reason),
                        detail={"submission_id": submission_id, "request_id": request.request_id})
    await writes.flush(db)  # the claim is in the table before its submission names it
    if moved:
        await db.add_submission(submission_id, claim.claim_id, claim.frequency, now)

