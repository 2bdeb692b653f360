"""999 and 277CA files applied to the claims they answer (acceptance, rejection, flagged when
they match nothing)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

import asyncpg

from edi import x277ca, x999
from edi.envelope import read_interchange
from edi.errors import X12Error
from schemas import claims as ev
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain import acks
from services.claims.service.scrubbing import scrub_and_route
from services.claims.service.transitions import ADJUDICATED_ALREADY, draft_of, ids_of, move, note
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)


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
        **ids_of(claim), submission_id=sid, source=source, codes=codes, reason=reason,  # type: ignore[arg-type]
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
                    **ids_of(claim), submission_id=sid, source="277CA", codes=codes, payer_claim_control_number=pccn,
                    accepted_at=now), detail={"submission_id": sid})
        elif item.outcome == "accepted":  # A1: received only
            await note(conn, claim, "277CA_received", now, {"submission_id": sid})
        else:
            flagged = True
            await note(conn, claim, "277CA_" + outcome, now, {"codes": [c.code for c in codes]})
        await store.save_ack(conn, file_name=name, sha256=sha, kind="277CA", reference=sid, outcome=outcome,
                             submission_id=sid, flagged=flagged, detail={}, now=now)
