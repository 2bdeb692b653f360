"""The books across payers: an encounter's books in the ledger, insurance write-offs, account cards.

`restate` recomputes an encounter's books (domain/books.py) from what remits knows of it (its
submissions, the payers' postings, recoupments, operator write-offs), journals the difference from
what the ledger holds (kind `books`, append-only), then brings the patient balance to the patient's
share. It runs after everything that can change them, in the same transaction: an 835's claim
payments, a ClaimSubmitted, a claim payment re-posted from suspense, a PLB recoupment naming a
claim, an insurance write-off; and at start for encounters queued by migration 0006 (background.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from schemas.common import PayerRef
from schemas.remits import InsuranceBalanceWrittenOff, InsuranceWriteOffReason
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.remits import store
from services.remits.domain import books
from services.remits.domain.cards import Card, card
from services.remits.domain.posting import ZERO, LedgerRow
from services.remits.rows import InsuranceWriteoffRow, Journal
from services.remits.service import patient_payments

log = logging.getLogger(__name__)
RESTATE_BATCH = 200


class BooksOutOfSync(Exception):
    """The encounter's payer cash in the ledger is not what its postings say (ids only)."""


async def restate(conn: asyncpg.Connection, encounter_id: str, at: datetime, reason: patient_payments.UpdateReason, *,
                  remittance_id: str | None = None, posting_id: str | None = None) -> books.EncounterBook | None:
    """Bring the encounter's books in the ledger, and its patient balance, to what remits knows.
    Returns the books (None when remits knows nothing of the encounter)."""
    found = await restate_many(conn, {encounter_id: reason}, at, remittance_id=remittance_id, posting_id=posting_id)
    return found.get(encounter_id)


async def restate_many(conn: asyncpg.Connection, encounters: Mapping[str, patient_payments.UpdateReason],
                       at: datetime, *, remittance_id: str | None = None, posting_id: str | None = None,
                       events: patient_payments.Events | None = None,
                       traces: Mapping[str, str | None] | None = None) -> dict[str, books.EncounterBook]:
    """`restate` of each encounter, in encounter order (so two transactions lock the same encounters
    in the same order), reading and writing in a few statements for all of them. Returns the books
    of those remits knows. Raises BooksOutOfSync before writing anything when one is out of sync.
    `events`: the caller's not yet enqueued, enqueued with the balances' (refresh_balances);
    `traces`: the trace each encounter's balance goes in (refresh_balances)."""
    order = sorted(encounters)
    if not order:
        return {}
    await store.lock_books(conn, order)
    records = await store.book_records(conn, order)
    held = await store.book_balances(conn, order)
    found: dict[str, books.EncounterBook] = {}
    journals: list[Journal] = []
    for encounter_id in order:
        if encounter_id not in records:
            continue
        account, families = records[encounter_id]
        book = books.encounter_book(encounter_id, families)
        moves = books.delta(books.targets(book), held[encounter_id])
        if sum((amount for _, amount in moves), ZERO) != 0:
            raise BooksOutOfSync(f"encounter {encounter_id}: the ledger's payer cash differs from its postings")
        if moves:
            journals.append(Journal(new_id("jnl"), "books", tuple(
                LedgerRow(k.account, amount, k.reason, None, k.rank, k.payer_id) for k, amount in moves), at, {
                "encounter_id": encounter_id, "patient_account_id": account or None,
                "remittance_id": remittance_id, "posting_id": posting_id}))
        found[encounter_id] = book
    if journals:
        await store.journals(conn, journals)
    await patient_payments.refresh_balances(
        conn, [(book, records[e][0], encounters[e]) for e, book in found.items()], at, events, traces)
    return found


class WriteOffRefused(ValueError):
    """An insurance write-off the books do not allow (the text names ids and amounts only)."""


@dataclass(frozen=True)
class WrittenOff:
    writeoff_id: str
    payer_id: str
    rank: int
    amount: Decimal
    remaining_open: Decimal


async def write_off(conn: asyncpg.Connection, claim_id: str, *, reason: InsuranceWriteOffReason, operator_id: str,
                    at: datetime, amount: Decimal | None = None, payer_id: str | None = None,
                    note: str | None = None) -> WrittenOff:
    """Write off what a payer left open on a claim: its open denials first, then what it still owes
    (a claim that will never be paid: past the filing limit, a recoupment accepted). The payer is the
    only one with something open on the claim's family, or the one named. Never billed to the
    patient: the amount becomes an insurance write-off (other adjustment) in the books, and
    InsuranceBalanceWrittenOff tells the claims service the claim is settled."""
    found = await store.claim_books(conn, claim_id)
    if found is None:
        raise WriteOffRefused(f"claim {claim_id} was never sent to a payer (no ClaimSubmitted)")
    encounter_id, family_id = found.encounter_id, found.claim_family_id
    await store.lock_books(conn, [encounter_id])
    records = await store.book_records(conn, [encounter_id])
    book = books.encounter_book(encounter_id, records[encounter_id][1])
    family = next(f for f in book.families if f.family_id == family_id)
    open_ = [(p, p.denied_open + max(p.open, ZERO)) for p in family.payers
             if payer_id is None or p.payer_id == payer_id]
    open_ = [(p, left) for p, left in open_ if left > 0]
    if not open_:
        who = f"payer {payer_id}" if payer_id else "any payer"
        raise WriteOffRefused(f"claim {claim_id}: nothing is open with {who} (no open denial, nothing owed)")
    if len(open_) > 1:
        raise WriteOffRefused(f"claim {claim_id}: several payers have something open ("
                              + ", ".join(f"{p.payer_id} {left}" for p, left in open_) + "): name one with --payer")
    payer, left = open_[0]
    if payer.payer_id is None:
        raise WriteOffRefused(f"claim {claim_id}: the payer at rank {payer.rank} is not known by id")
    value = left if amount is None else amount
    if value > left:
        raise WriteOffRefused(f"claim {claim_id}: only {left} is open with payer {payer.payer_id}")
    writeoff_id = new_id("iwo")
    await store.insert_insurance_writeoff(conn, InsuranceWriteoffRow(
        writeoff_id=writeoff_id, claim_id=claim_id, claim_family_id=family_id, encounter_id=encounter_id,
        payer_id=payer.payer_id, payer_rank=payer.rank, amount=value, reason=reason, operator_id=operator_id,
        note=note, written_at=at))
    await restate(conn, encounter_id, at, "write_off")
    await outbox.enqueue(conn, InsuranceBalanceWrittenOff(
        claim_id=claim_id, claim_family_id=family_id, encounter_id=encounter_id,
        payer=PayerRef(payer_id=payer.payer_id, payer_name=(await store.payer_name(conn, payer.payer_id))[:60]),
        coverage_rank=payer.rank, amount=value, reason=reason, operator_id=operator_id,
        remaining_open=left - value, written_off_at=at), occurred_at=at)
    log.info("insurance balance written off", extra=ids(claim_id=claim_id, encounter_id=encounter_id))
    return WrittenOff(writeoff_id, payer.payer_id, payer.rank, value, left - value)


async def restate_pending(pool: asyncpg.Pool, now: datetime) -> int:
    """Restate the encounters queued for it (by migration 0006, or `rcm remits restate`), one
    transaction each; one that fails stays queued and is logged."""
    done = 0
    async with pool.acquire() as conn:
        for encounter_id in await store.books_pending(conn, RESTATE_BATCH):
            try:
                async with conn.transaction():
                    await restate(conn, encounter_id, now, "remittance")
                    await store.books_done(conn, encounter_id)
                done += 1
            except BooksOutOfSync:
                log.error("books not restated: payer cash differs from the postings", extra=ids(
                    encounter_id=encounter_id))
    return done


# --------------------------------------------------------------------------- account cards


async def cards(conn: asyncpg.Connection, encounter_id: str | None = None) -> list[Card]:
    """The account cards of one encounter, or of every encounter remits knows (by encounter id)."""
    records = await store.book_records(conn, None if encounter_id is None else [encounter_id])
    claims = await store.card_claims(conn, encounter_id)
    money = await store.card_patient_money(conn, encounter_id)
    facility = await store.card_facility(conn, encounter_id)
    estimates = {e.encounter_id: e for e in await store.estimates(conn, encounter_id)}
    out = []
    for enc in sorted(records):
        account, families = records[enc]
        paid, written = money.get(enc, (ZERO, ZERO))
        out.append(card(books.encounter_book(enc, families), account, tuple(claims.get(enc, [])), paid, written,
                        tuple(facility.get(enc, [])), estimates.get(enc)))
    return out
