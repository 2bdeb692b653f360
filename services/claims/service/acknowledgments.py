"""TA1, 999 and 277CA files applied to the claims they answer (acceptance, rejection, flagged when
they match nothing). A TA1 answers a whole interchange: R rejects every claim it carried. A 999
or TA1 about a 276 interchange goes to its claim status requests (service/claim_status.py)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from functools import partial
from typing import Literal

from opentelemetry import trace

from edi import ta1, x277ca, x999
from edi.envelope import read_interchanges
from edi.errors import X12Error
from schemas import claims as ev
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.logs import ids
from services.chassis.telemetry import continued
from services.claims.domain import acks
from services.claims.domain.claim import ADJUDICATED_ALREADY, Claim
from services.claims.service import claim_status
from services.claims.service.scrubbing import scrub_and_route
from services.claims.service.transitions import Writes
from services.claims.store import AckRow, ClaimsStore, SubmissionRow

log = logging.getLogger(__name__)


async def process_ack_file(db: ClaimsStore, file: ExchangeFile, content: bytes, now: datetime) -> str:
    """Apply one TA1, 999 or 277CA file (several interchanges allowed; TA1s first, whether alone or
    before a 999's groups); unmatched or unreadable content is stored flagged, never dropped."""
    sha = hashlib.sha256(content).hexdigest()
    if await db.ack_seen(sha):
        return "duplicate"
    text = content.decode("utf-8-sig", errors="replace")
    kind: str | None
    try:
        interchanges = read_interchanges(text)
        interchange_acks = [ack for interchange in interchanges for ack in ta1.interchange_acks(interchange)]
        groups = [group for interchange in interchanges for group in interchange.groups]
        kind = acks.kind_of(groups[0].functional_id) if groups else ("TA1" if interchange_acks else None)
    except X12Error:
        kind = None
    if kind is None:
        await db.save_ack(file_name=file.name, sha256=sha, kind="unreadable", reference="-",
                             outcome="unreadable", submission_id=None, flagged=True,
                             detail={"why": "not a TA1, 999 or 277CA interchange"}, now=now)
        return "unreadable"
    try:
        for interchange_ack in interchange_acks:
            await _apply_ta1(db, file.name, sha, interchange_ack, now)
        if kind == "999":
            await _apply_999(db, file.name, sha, x999.read_999_all(text), now)
        elif kind == "277CA":
            await _apply_277ca(db, file.name, sha, x277ca.read_277ca(text), now)
    except X12Error as exc:
        await db.save_ack(file_name=file.name, sha256=sha, kind=kind, reference="-", outcome="unreadable",
                             submission_id=None, flagged=True, detail={"why": type(exc).__name__}, now=now)
        return "unreadable"
    return kind


async def _apply_999(db: ClaimsStore, name: str, sha: str, items: tuple[x999.Ack999, ...],
                     now: datetime) -> None:
    for ack in items:
        for ts in ack.transaction_sets:
            reference = f"{ack.group_control_number}/{ts.control_number}"
            subs = await db.submissions_in_set(ack.group_control_number, ts.control_number)
            codes = [ev.AcknowledgmentCode(segment=c.segment, code=c.code, description=c.description)
                     for c in acks.set_codes(ts, ack)]
            if not subs:
                # A 276's group (GS06 = its ISA13) has no submissions: its requests may match.
                status = await claim_status.acknowledged(db, name, ack.group_control_number, ts.accepted,
                                                         [c.code for c in codes], acks.set_reason(ts), now)
                await db.save_ack(file_name=name, sha256=sha, kind="999", reference=reference,
                                  outcome="accepted" if ts.accepted else "rejected", submission_id=None,
                                  flagged=not status, detail={"claim_status_requests": status} if status else
                                  {"why": "no submitted transaction set matches"}, now=now)
                if not status:
                    log.warning("unmatched 999 kept and flagged", extra=ids(file_id=name))
                continue
            await _answer(db, name, sha, "999", reference, subs, ts.accepted, codes, acks.set_reason(ts), now)


async def _apply_ta1(db: ClaimsStore, name: str, sha: str, ack: ta1.InterchangeAck, now: datetime) -> None:
    """A (accepted) and E (accepted with errors) are noted on each claim; R rejects each claim."""
    subs = await db.submissions_in_interchange(ack.control_number)
    codes = [ev.AcknowledgmentCode(segment="TA1", code=f"{ack.code.value}:{ack.note_code}", description=ack.note)]
    if not subs:
        status = await claim_status.acknowledged(db, name, ack.control_number, not ack.rejected,
                                                 [c.code for c in codes], ack.reason, now)
        await db.save_ack(file_name=name, sha256=sha, kind="TA1", reference=ack.control_number,
                          outcome="rejected" if ack.rejected else "accepted", submission_id=None, flagged=not status,
                          detail={"claim_status_requests": status} if status else
                          {"why": "no submitted interchange matches", "note_code": ack.note_code}, now=now)
        if not status:
            log.warning("unmatched TA1 kept and flagged", extra=ids(file_id=name))
        return
    await _answer(db, name, sha, "TA1", ack.control_number, subs, not ack.rejected, codes, ack.reason, now)


async def _answer(db: ClaimsStore, name: str, sha: str, kind: Literal["999", "TA1"], reference: str,
                  subs: list[SubmissionRow], accepted: bool, codes: list[ev.AcknowledgmentCode], reason: str,
                  now: datetime) -> None:
    """Record the acknowledgment per submission; the current submission of each claim is noted as
    accepted (``<kind>_accepted``) or rejected, an older one is kept flagged. The claims are read,
    and written, together."""
    claims = await db.claims_for_update([sub.claim_id for sub in subs])
    writes = Writes()
    saved: list[AckRow] = []
    file = trace.get_current_span()  # each claim's answer in its own trace, linked to the file's span
    for sub in subs:
        claim = claims[sub.claim_id]
        current = claim.submission_id == sub.submission_id
        saved.append(AckRow(name, sha, kind, reference, "accepted" if accepted else "rejected", sub.submission_id,
                            not current, {} if current else {"why": "acknowledges an older submission"}, now))
        if not current:
            continue
        with continued(claim.traceparent, "claim acknowledgment", links=[file]):
            if accepted:
                writes.note(claim, f"{kind}_accepted", now, {"submission_id": sub.submission_id,
                                                             "codes": [c.code for c in codes]})
            else:
                await reject_claim(db, claim, kind, codes, reason, now, writes)
    await db.save_acks(saved)
    await writes.flush(db)


async def reject_claim(db: ClaimsStore, claim: Claim, source: Literal["999", "277CA", "TA1"],
                       codes: list[ev.AcknowledgmentCode], reason: str, now: datetime,
                       writes: Writes | None = None) -> None:
    """Reject the claim: into `writes` when given (the caller flushes them), else at once."""
    pending = writes or Writes()
    sid = claim.submission_id
    rejected = pending.move(claim, now, partial(claim.reject, source, codes, reason, now),
                            detail={"submission_id": sid, "codes": [c.code for c in codes]})
    if rejected and claim.take_pending_revision():  # a newer revision was waiting: it goes as a new original
        await pending.flush(db)  # scrubbing reads the claims
        await scrub_and_route(db, claim, now, reason="newer encounter revision after the rejection")
    elif writes is None:
        await pending.flush(db)


async def _apply_277ca(db: ClaimsStore, name: str, sha: str, ack: x277ca.Ack277CA, now: datetime) -> None:
    """Each claim of the file; the submissions and claims are read, and written, together."""
    subs = await db.submissions_by_id([item.patient_control_number for item in ack.claims])
    claims = await db.claims_for_update([sub.claim_id for sub in subs.values()])
    writes = Writes()
    saved: list[AckRow] = []
    file = trace.get_current_span()  # each claim's answer in its own trace, linked to the file's span
    for item in ack.claims:
        sid = item.patient_control_number
        sub = subs.get(sid)
        claim = claims.get(sub.claim_id) if sub else None
        outcome = item.outcome
        if claim is None or claim.submission_id != sid:
            saved.append(AckRow(name, sha, "277CA", sid[:40], outcome, sid if sub else None, True,
                                {"why": "no claim has this submission id" if claim is None
                                 else "acknowledges an older submission"}, now))
            log.warning("unmatched 277CA claim kept and flagged", extra=ids(file_id=name))
            continue
        codes = [ev.AcknowledgmentCode(segment="STC", code=c.code, description=c.description)
                 for c in acks.stc_codes(item)]
        flagged = False
        with continued(claim.traceparent, "claim acknowledgment", links=[file]):
            if item.rejected:
                await reject_claim(db, claim, "277CA", codes, acks.claim_reason(item), now, writes)
            elif acks.is_acceptance(item):
                pccn = item.payer_claim_control_number or None
                if claim.state in ADJUDICATED_ALREADY:
                    # The payer's 835 came first: the acceptance is history now, not a transition.
                    claim.payer_claim_control_number = claim.payer_claim_control_number or pccn
                    writes.save(claim)
                    writes.note(claim, "277CA_late_acceptance", now, {"submission_id": sid})
                else:
                    writes.move(claim, now, partial(claim.accept, "277CA", codes, pccn, now),
                                detail={"submission_id": sid})
            elif item.outcome == "accepted":  # A1: received only
                writes.note(claim, "277CA_received", now, {"submission_id": sid})
            else:
                flagged = True
                writes.note(claim, "277CA_" + outcome, now, {"codes": [c.code for c in codes]})
        saved.append(AckRow(name, sha, "277CA", sid, outcome, sid, flagged, {}, now))
    await db.save_acks(saved)
    await writes.flush(db)
