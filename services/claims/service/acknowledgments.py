"""999 and 277CA files applied to the claims they answer (acceptance, rejection, flagged when
they match nothing)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from functools import partial
from typing import Literal

from edi import x277ca, x999
from edi.envelope import read_interchange
from edi.errors import X12Error
from schemas import claims as ev
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.logs import ids
from services.claims.domain import acks
from services.claims.domain.claim import ADJUDICATED_ALREADY, Claim
from services.claims.service.scrubbing import scrub_and_route
from services.claims.service.transitions import move, note
from services.claims.store import ClaimsStore

log = logging.getLogger(__name__)


async def process_ack_file(db: ClaimsStore, file: ExchangeFile, content: bytes, now: datetime) -> str:
    """Apply one 999 or 277CA file; unmatched or unreadable content is stored flagged, never dropped."""
    sha = hashlib.sha256(content).hexdigest()
    if await db.ack_seen(sha):
        return "duplicate"
    text = content.decode("utf-8", errors="replace")
    try:
        interchange = read_interchange(text)
        kind = acks.kind_of(interchange.groups[0].functional_id) if interchange.groups else None
    except X12Error:
        kind = None
    if kind is None:
        await db.save_ack(file_name=file.name, sha256=sha, kind="unreadable", reference="-",
                             outcome="unreadable", submission_id=None, flagged=True,
                             detail={"why": "not a 999 or 277CA interchange"}, now=now)
        return "unreadable"
    try:
        if kind == "999":
            await _apply_999(db, file.name, sha, x999.read_999_all(text), now)
        else:
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
            if not subs:
                await db.save_ack(file_name=name, sha256=sha, kind="999", reference=reference,
                                     outcome="accepted" if ts.accepted else "rejected", submission_id=None,
                                     flagged=True, detail={"why": "no submitted transaction set matches"}, now=now)
                log.warning("unmatched 999 kept and flagged", extra=ids(file_id=name))
                continue
            codes = [ev.AcknowledgmentCode(segment=c.segment, code=c.code, description=c.description)
                     for c in acks.set_codes(ts, ack)]
            for sub in subs:
                claim = await db.get_claim(sub.claim_id)
                assert claim is not None
                current = claim.submission_id == sub.submission_id
                await db.save_ack(file_name=name, sha256=sha, kind="999", reference=reference,
                                     outcome="accepted" if ts.accepted else "rejected",
                                     submission_id=sub.submission_id, flagged=not current,
                                     detail={} if current else {"why": "acknowledges an older submission"}, now=now)
                if not current:
                    continue
                if ts.accepted:
                    await note(db, claim, "999_accepted", now, {"submission_id": sub.submission_id})
                else:
                    await reject_claim(db, claim, "999", codes, acks.set_reason(ts), now)


async def reject_claim(db: ClaimsStore, claim: Claim, source: Literal["999", "277CA"],
                  codes: list[ev.AcknowledgmentCode], reason: str, now: datetime) -> None:
    sid = claim.submission_id
    rejected = await move(db, claim, now, partial(claim.reject, source, codes, reason, now),
                          detail={"submission_id": sid, "codes": [c.code for c in codes]})
    if rejected and claim.take_pending_revision():  # a newer revision was waiting: it goes as a new original
        await scrub_and_route(db, claim, now, reason="newer encounter revision after the rejection")


async def _apply_277ca(db: ClaimsStore, name: str, sha: str, ack: x277ca.Ack277CA, now: datetime) -> None:
    for item in ack.claims:
        sid = item.patient_control_number
        sub = await db.submission(sid)
        claim = await db.get_claim(sub.claim_id) if sub else None
        outcome = item.outcome
        if claim is None or claim.submission_id != sid:
            await db.save_ack(file_name=name, sha256=sha, kind="277CA", reference=sid[:40], outcome=outcome,
                                 submission_id=sid if sub else None, flagged=True,
                                 detail={"why": "no claim has this submission id" if claim is None
                                         else "acknowledges an older submission"}, now=now)
            log.warning("unmatched 277CA claim kept and flagged", extra=ids(file_id=name))
            continue
        codes = [ev.AcknowledgmentCode(segment="STC", code=c.code, description=c.description)
                 for c in acks.stc_codes(item)]
        flagged = False
        if item.rejected:
            await reject_claim(db, claim, "277CA", codes, acks.claim_reason(item), now)
        elif acks.is_acceptance(item):
            pccn = item.payer_claim_control_number or None
            if claim.state in ADJUDICATED_ALREADY:
                # The payer's 835 came first: the acceptance is history now, not a transition.
                claim.payer_claim_control_number = claim.payer_claim_control_number or pccn
                await db.save_claim(claim)
                await note(db, claim, "277CA_late_acceptance", now, {"submission_id": sid})
            else:
                await move(db, claim, now, partial(claim.accept, "277CA", codes, pccn, now),
                           detail={"submission_id": sid})
        elif item.outcome == "accepted":  # A1: received only
            await note(db, claim, "277CA_received", now, {"submission_id": sid})
        else:
            flagged = True
            await note(db, claim, "277CA_" + outcome, now, {"codes": [c.code for c in codes]})
        await db.save_ack(file_name=name, sha256=sha, kind="277CA", reference=sid, outcome=outcome,
                             submission_id=sid, flagged=flagged, detail={}, now=now)
