"""Suspense: a claim payment whose CLP01 matched no submission waits (its cash against
unmatched_suspense) and is re-posted, through the same posting path as a timely match, when its
ClaimSubmitted arrives (`record_submission`) or an operator sweeps (`rcm remits rematch`)."""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
from pydantic import ValidationError

from edi.errors import X12Error
from edi.x835 import ClaimPayment, Remittance835, RemittanceTransaction, read_835
from schemas.claims import ClaimSubmitted
from schemas.common import PayerRef
from schemas.remits import RemittancePosition, SuspenseResolution, UnmatchedRemittanceResolved
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.remits import store
from services.remits.domain import posting as dom
from services.remits.rows import SubmissionRow, UnmatchedRow
from services.remits.service.patient_payments import UpdateReason
from services.remits.service.remittances import (
    Pending,
    Posted,
    Quarantine,
    claim_share,
    decode,
    post_matched,
    restate_encounters,
)

log = logging.getLogger(__name__)


class AlreadyResolved(Exception):
    """The held claim payment was resolved meanwhile (cannot happen under the CLP01 lock; rolled back)."""


StoredFiles = dict[str, Remittance835 | Quarantine]
"""Stored 835 files read in this transaction, by file id (or why one does not read): a file whose
claims several re-posts take is read once, not once per claim."""


async def rematch(conn: asyncpg.Connection, submission_id: str, at: datetime, *,
                  resolution: SuspenseResolution = "claim_submitted", files: StoredFiles | None = None) -> list[str]:
    """Re-post the claim payments held in suspense for this CLP01 now that its submission is known.

    Each one, in arrival order: the exact reverse of its suspense journal, then the same posting a
    timely match makes (ledger, denials, events, variance), UnmatchedRemittanceResolved (how:
    `resolution`), then the encounter's patient balance.
    Exactly once: the unmatched row is marked resolved in the same transaction, and only unresolved
    rows are read (FOR UPDATE, under the CLP01 lock the caller holds). A payment that cannot post
    (its file no longer reads as posted, an event would break its contract) stays in suspense with
    the reason, and the rest still post. Returns the new posting ids. `files`: the stored files
    this transaction read so far (it adds those it reads)."""
    waiting = await store.waiting_unmatched(conn, submission_id)
    files = {} if files is None else files
    sub = await store.submission(conn, submission_id) if waiting else None  # nothing waits, as a rule
    if sub is None:
        return []
    posted: list[str] = []
    encounters: dict[str, UpdateReason] = {}
    for held in waiting:
        try:
            async with conn.transaction():  # a savepoint: a failure leaves this payment in suspense, whole
                result = await _repost(conn, held, sub, at, resolution, files)
        except AlreadyResolved:
            continue
        except Quarantine as exc:
            await store.note_unmatched_attempt(conn, held.id, str(exc))
            log.warning("held remittance claim not re-posted", extra=ids(remittance_id=held.remittance_id))
            continue
        except ValidationError as exc:
            first = exc.errors()[0]
            await store.note_unmatched_attempt(conn, held.id, f"{exc.title} {first.get('type')} at "
                                               f"{'.'.join(str(p) for p in first.get('loc', ()))}")
            log.warning("held remittance claim not re-posted", extra=ids(remittance_id=held.remittance_id))
            continue
        posted.append(result.posting_id)
        encounters[result.encounter_id] = result.reason
        log.info("held remittance claim re-posted", extra=ids(remittance_id=held.remittance_id,
                                                                 claim_id=sub.claim_id))
    await restate_encounters(conn, encounters, at)
    return posted


async def _stored(conn: asyncpg.Connection, held: UnmatchedRow, files: StoredFiles) -> Remittance835:
    """The stored file the held claim payment came from, read through edi/ (once per transaction)."""
    if held.file_id not in files:
        file = await store.file_by_id(conn, held.file_id)
        try:
            if file is None:
                raise Quarantine("the stored file is missing")
            try:
                files[held.file_id] = read_835(decode(file.raw))
            except X12Error as exc:
                raise Quarantine("the stored file no longer parses") from exc
        except Quarantine as exc:
            files[held.file_id] = exc
    found = files[held.file_id]
    if isinstance(found, Quarantine):
        raise Quarantine(f"ST {held.st_control} claim {held.claim_index}: {found}")
    return found


def _held_claim(remittance: Remittance835, held: UnmatchedRow) -> tuple[RemittanceTransaction, ClaimPayment]:
    """The CLP loop at the recorded position of the stored file."""
    where = f"ST {held.st_control} claim {held.claim_index}"
    found = [t for t in remittance.transactions
             if t.control_number == held.st_control and t.trace_number == held.trace_number]
    if len(found) != 1:
        raise Quarantine(f"{where}: the transaction set is not in the stored file once")
    claims = [c for h in found[0].header_numbers for c in h.claims]
    index = held.claim_index
    if not 1 <= index <= len(claims):
        raise Quarantine(f"{where}: no such claim in the stored file")
    claim = claims[index - 1]
    if claim.patient_control_number != held.reported_submission or (claim.position or 1) != held.segment_number:
        raise Quarantine(f"{where}: the stored file does not hold that claim at that position")
    return found[0], claim


async def _repost(conn: asyncpg.Connection, held: UnmatchedRow, sub: SubmissionRow, at: datetime,
                  resolution: SuspenseResolution, files: StoredFiles) -> Posted:
    t, claim = _held_claim(await _stored(conn, held, files), held)
    release = dom.release_rows(await store.journal_rows(conn, held.posting_id, "unmatched"), claim)
    if release is None:
        raise Quarantine(f"ST {held.st_control} claim {held.claim_index}: the suspense journal is not this"
                         " claim payment's")
    payer = PayerRef(payer_id=held.payer_id, payer_name=held.payer_name)
    # Not the encounter's: the cash leaves suspense here and reaches the encounter with the claim's own journal.
    await store.journal(conn, new_id("jnl"), "suspense_release", release, at, remittance_id=held.remittance_id,
                        posting_id=held.posting_id, claim_id=sub.claim_id, payer_id=payer.payer_id)
    pending = Pending()
    posted = await post_matched(conn, pending, held.remittance_id, t, payer, held.claim_index, claim, sub,
                                 claim_share(claim), at)
    await pending.flush(conn)
    if not await store.resolve_unmatched(conn, held.id, posted.posting_id, at):
        raise AlreadyResolved(held.id)
    await outbox.enqueue(conn, UnmatchedRemittanceResolved(
        remittance_id=held.remittance_id,
        position=RemittancePosition(transaction_set_control_number=held.st_control,
                                    claim_index=held.claim_index, segment_number=held.segment_number),
        reported_submission_id=held.reported_submission[:38], claim_id=sub.claim_id,
        encounter_id=sub.encounter_id, amount_released=dom.money(claim.paid), resolution=resolution,
        resolved_at=at), occurred_at=at)
    return posted


def submission_row(e: ClaimSubmitted) -> SubmissionRow:
    """What remits keeps of a ClaimSubmitted: the submission a CLP01 can match."""
    return SubmissionRow(
        submission_id=e.submission_id, claim_id=e.claim_id, claim_family_id=e.claim_family_id,
        encounter_id=e.encounter_id, patient_account_id=e.patient_account_id, payer_id=e.payer.payer_id,
        payer_name=e.payer.payer_name, coverage_rank=e.coverage_rank,
        next_payer_rank=e.next_payer.coverage_rank if e.next_payer else None,
        next_payer_id=e.next_payer.payer_id if e.next_payer else None, frequency=e.frequency,
        total_charge=e.total_charge, lines=tuple(ln.model_dump(mode="json") for ln in e.lines),
        submitted_at=e.submitted_at,
        protection=e.patient_protection.reason if e.patient_protection else None,
        share_of_cost=e.patient_protection.share_of_cost if e.patient_protection else None,
        traceparent=outbox.current_traceparent(),  # the handler's: the ClaimSubmitted's trace
    )


async def record_submission(conn: asyncpg.Connection, e: ClaimSubmitted, at: datetime, *,
                            files: StoredFiles | None = None) -> None:
    """A ClaimSubmitted: under its CLP01 lock, the submission a remittance can match, then the late
    match of any claim payment held in suspense for it, then the encounter's books (the charge is
    booked, a replacement's or a void's re-booked, a next payer's claim takes over the patient share
    the payer before it left). The consumer's path is service/unit.py (the same, per batch)."""
    await store.save_submission(conn, submission_row(e))
    await rematch(conn, e.submission_id, at, resolution="claim_submitted", files=files)
    await restate_encounters(conn, {e.encounter_id: "charge_correction"}, at)
