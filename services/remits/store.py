"""Every SQL statement of the remits service (the one store module)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.remits.domain import books
from services.remits.domain.balances import (
    KnownReference,
    OpenBalance,
    OpenCredit,
    PostedLine,
    WrittenOff,
)
from services.remits.domain.cards import ClaimRef, FacilityRef
from services.remits.domain.estimates import Estimate
from services.remits.domain.posting import PAYER_CASH, ExpectedLine, Facility, LedgerRow, PostedAmounts, Share
from services.remits.rows import (
    BalanceRow,
    ClaimKeys,
    CreditRow,
    DenialRow,
    InsuranceWriteoffRow,
    Journal,
    PaymentRow,
    PostingLineRow,
    PostingRow,
    RecoupmentRow,
    RefundRejectionRow,
    RemittanceFileRow,
    RemittanceRow,
    SubmissionRow,
    SuspenseRow,
    UnmatchedRow,
    json_objects,
)


async def init_codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")



def _columns(width: int, rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows as `width` column arrays: the arguments of an INSERT ... SELECT FROM unnest($1, ...),
    which Postgres runs as one statement where executemany runs one per row."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


# --------------------------------------------------------------------------- submissions


async def save_submission(conn: asyncpg.Connection, s: SubmissionRow) -> None:
    """Record the submission, under its CLP01 lock (`lock_submission_id`, taken in the same statement:
    one round trip; what must come after the lock, reading the claim payments in suspense, is a
    statement of its own)."""
    await save_submissions(conn, [s])


async def save_submissions(conn: asyncpg.Connection, rows: Sequence[SubmissionRow]) -> None:
    """`save_submission` of each, in CLP01 order (the locks too: never crosswise), in one pipelined
    round trip."""
    await conn.executemany(
        "WITH held AS (SELECT pg_advisory_xact_lock(hashtextextended('remits.submission:' || $1, 0)))"
        " INSERT INTO submissions (submission_id, claim_id, claim_family_id, encounter_id, patient_account_id,"
        " payer_id, payer_name, coverage_rank, next_payer_rank, frequency, total_charge, lines, submitted_at,"
        " next_payer_id, protection, share_of_cost, traceparent)"
        " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13,$14,$15,$16,$17 FROM held"
        " ON CONFLICT (submission_id) DO NOTHING",
        [(s.submission_id, s.claim_id, s.claim_family_id, s.encounter_id, s.patient_account_id,
          s.payer_id, s.payer_name, s.coverage_rank, s.next_payer_rank, s.frequency,
          s.total_charge, list(s.lines), s.submitted_at, s.next_payer_id, s.protection, s.share_of_cost,
          s.traceparent)
         for s in sorted(rows, key=lambda row: row.submission_id)],
    )


async def submission(conn: asyncpg.Connection, submission_id: str) -> SubmissionRow | None:
    return (await submissions(conn, [submission_id])).get(submission_id)


async def submissions(conn: asyncpg.Connection, submission_ids: Sequence[str]) -> dict[str, SubmissionRow]:
    """The submissions of these CLP01s that remits knows, by submission id."""
    rows = await conn.fetch("SELECT * FROM submissions WHERE submission_id = ANY($1::text[])", list(submission_ids))
    return {r["submission_id"]: _submission(r) for r in rows}


def _submission(r: asyncpg.Record) -> SubmissionRow:
    return SubmissionRow(
        submission_id=r["submission_id"], claim_id=r["claim_id"], claim_family_id=r["claim_family_id"],
        encounter_id=r["encounter_id"], patient_account_id=r["patient_account_id"], payer_id=r["payer_id"],
        payer_name=r["payer_name"], coverage_rank=r["coverage_rank"], frequency=r["frequency"],
        total_charge=r["total_charge"], lines=json_objects(r["lines"]), submitted_at=r["submitted_at"],
        next_payer_rank=r["next_payer_rank"], next_payer_id=r["next_payer_id"], protection=r["protection"],
        share_of_cost=r["share_of_cost"], traceparent=r["traceparent"])


# --------------------------------------------------------------------------- files


async def insert_file_unless_seen(conn: asyncpg.Connection, file_id: str, sha: str, name: str, source: str,
                                  raw: bytes, status: str, reason: str | None, at: datetime) -> str | None:
    """Record a file received, in one statement, unless a file with these bytes was received
    already: then nothing is written and the id of that file is returned."""
    seen: str | None = await conn.fetchval(
        "WITH seen AS (SELECT file_id FROM remittance_files WHERE sha256 = $2), added AS ("
        " INSERT INTO remittance_files (file_id, sha256, file_name, source, raw, status, reason, received_at,"
        " updated_at) SELECT $1,$2,$3,$4,$5,$6,$7,$8,$8 WHERE NOT EXISTS (SELECT 1 FROM seen))"
        " SELECT file_id FROM seen", file_id, sha, name, source, raw, status, reason, at)
    return seen


async def file_by_id(conn: asyncpg.Connection, file_id: str) -> RemittanceFileRow | None:
    r = await conn.fetchrow("SELECT * FROM remittance_files WHERE file_id = $1", file_id)
    if r is None:
        return None
    return RemittanceFileRow(file_id=r["file_id"], sha256=r["sha256"], file_name=r["file_name"], source=r["source"],
                             raw=bytes(r["raw"]), status=r["status"], reason=r["reason"],
                             received_at=r["received_at"], updated_at=r["updated_at"])


async def set_file_status(conn: asyncpg.Connection, file_id: str, status: str, reason: str | None,
                          at: datetime) -> None:
    await conn.execute("UPDATE remittance_files SET status = $2, reason = $3, updated_at = $4 WHERE file_id = $1",
                       file_id, status, reason, at)


async def record_duplicate(conn: asyncpg.Connection, kind: str, sha: str, name: str, original: str,
                           at: datetime) -> None:
    await conn.execute("INSERT INTO duplicate_arrivals (kind, sha256, file_name, original, arrived_at)"
                       " VALUES ($1,$2,$3,$4,$5)", kind, sha, name, original, at)


async def quarantined_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM remittance_files WHERE status = 'quarantined'"))


async def quarantined(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT file_id, file_name, sha256, reason, received_at FROM remittance_files WHERE status = 'quarantined'"
        " ORDER BY received_at")
    return rows


# --------------------------------------------------------------------------- remittances and postings


async def insert_remittance_unless_seen(conn: asyncpg.Connection, r: RemittanceRow) -> str | None:
    """Record the remittance, in one statement, unless one of the same payer and trace number
    (TRN02) was posted already: then nothing is written and the id of that one is returned."""
    seen: str | None = await conn.fetchval(
        "WITH seen AS (SELECT remittance_id FROM remittances WHERE payer_id = $3 AND trace_number = $5), added AS ("
        " INSERT INTO remittances (remittance_id, file_id, payer_id, payer_name, trace_number, total_payment,"
        " plb_total, payment_date, received_at) SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9"
        " WHERE NOT EXISTS (SELECT 1 FROM seen)) SELECT remittance_id FROM seen",
        r.remittance_id, r.file_id, r.payer_id, r.payer_name, r.trace_number, r.total_payment, r.plb_total,
        r.payment_date, r.received_at)
    return seen


async def insert_postings(conn: asyncpg.Connection, postings: Sequence[PostingRow]) -> None:
    """CLPs as posted, each with what its CAS say (`amounts`, for the books: zero for an unmatched one)."""
    await conn.execute(
        "INSERT INTO postings (posting_id, remittance_id, claim_index, reported_submission, claim_id,"
        " claim_family_id, encounter_id, patient_account_id, payer_id, status, rank, payer_claim_control, charge,"
        " paid, patient_resp, reverses, outcome, posted_at, contractual, denied, other_adjustment, prior_payer,"
        " pr_deductible, pr_coinsurance, pr_copay, pr_other, pr_share_of_cost, facility)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],"
        " $8::text[], $9::text[], $10::text[], $11::int[], $12::text[], $13::numeric[], $14::numeric[],"
        " $15::numeric[], $16::text[], $17::text[], $18::timestamptz[], $19::numeric[], $20::numeric[],"
        " $21::numeric[], $22::numeric[], $23::numeric[], $24::numeric[], $25::numeric[], $26::numeric[],"
        " $27::numeric[], $28::jsonb[])",
        *_columns(28, [(
            p.posting_id, p.remittance_id, p.claim_index, p.reported_submission, p.claim_id, p.claim_family_id,
            p.encounter_id, p.patient_account_id, p.payer_id, p.status, p.rank, p.payer_claim_control, p.charge, p.paid,
            p.patient_resp, p.reverses, p.outcome, p.posted_at, p.amounts.contractual, p.amounts.denied,
            p.amounts.other, p.amounts.prior_payer, p.amounts.share.deductible, p.amounts.share.coinsurance,
            p.amounts.share.copay, p.amounts.share.other, p.amounts.share_of_cost,
            None if p.facility is None else p.facility.to_json()) for p in postings]))


def _amounts(r: asyncpg.Record) -> PostedAmounts:
    return PostedAmounts(r["charge"], r["paid"], r["contractual"], r["denied"], r["other_adjustment"],
                         r["prior_payer"], Share(r["pr_deductible"], r["pr_coinsurance"], r["pr_copay"], r["pr_other"]),
                         r["pr_share_of_cost"])


def _posting(r: asyncpg.Record) -> PostingRow:
    return PostingRow(
        posting_id=r["posting_id"], remittance_id=r["remittance_id"], claim_index=r["claim_index"],
        reported_submission=r["reported_submission"], payer_id=r["payer_id"], status=r["status"], rank=r["rank"],
        payer_claim_control=r["payer_claim_control"], charge=r["charge"], paid=r["paid"],
        patient_resp=r["patient_resp"], outcome=r["outcome"], posted_at=r["posted_at"], claim_id=r["claim_id"],
        claim_family_id=r["claim_family_id"], encounter_id=r["encounter_id"],
        patient_account_id=r["patient_account_id"], reverses=r["reverses"], amounts=_amounts(r),
        facility=_facility(r["facility"]))


def _facility(value: Any) -> Facility | None:
    if value is None:
        return None
    return Facility.from_json(json.loads(value) if isinstance(value, str) else value)


async def original_postings(conn: asyncpg.Connection, payer_id: str, asked: Sequence[tuple[str, str]]) -> dict[
        tuple[str, str], tuple[PostingRow, list[PostingLineRow]] | None]:
    """For each (claim id, CLP07) asked, the latest posting of that claim by this payer not yet
    reversed (the CLP07 first, else any), with what its CAS said and its lines (for the exact
    reversal of it), or None: two statements for all of them."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (q.claim_id, q.pccn) q.pccn AS asked_pccn, p.* FROM unnest($2::text[], $3::text[])"
        " AS q (claim_id, pccn) JOIN postings p ON p.claim_id = q.claim_id AND p.payer_id = $1 AND p.status <> '22'"
        " AND NOT EXISTS (SELECT 1 FROM postings r WHERE r.reverses = p.posting_id)"
        " ORDER BY q.claim_id, q.pccn, (p.payer_claim_control = q.pccn) DESC, p.posted_at DESC, p.posting_id DESC",
        payer_id, [claim_id for claim_id, _ in asked], [pccn for _, pccn in asked])
    found: dict[tuple[str, str], tuple[PostingRow, list[PostingLineRow]] | None] = dict.fromkeys(asked)
    lines = await posting_line_rows(conn, [r["posting_id"] for r in rows]) if rows else {}
    for r in rows:
        found[(r["claim_id"], r["asked_pccn"])] = (_posting(r), lines.get(r["posting_id"], []))
    return found


async def posting_line_rows(conn: asyncpg.Connection, posting_ids: Sequence[str]) -> dict[str, list[PostingLineRow]]:
    """The lines of these postings, by posting."""
    rows = await conn.fetch("SELECT * FROM posting_lines WHERE posting_id = ANY($1::text[])", list(posting_ids))
    out: dict[str, list[PostingLineRow]] = {}
    for r in rows:
        out.setdefault(r["posting_id"], []).append(PostingLineRow(
            posting_id=r["posting_id"], claim_id=r["claim_id"], encounter_id=r["encounter_id"], rank=r["rank"],
            charge_id=r["charge_id"], line_control=r["line_control"], charge=r["charge"], paid=r["paid"],
            share=Share(r["deductible"], r["coinsurance"], r["copay"], r["other"])))
    return out


async def insert_posting_lines(conn: asyncpg.Connection, lines: Sequence[PostingLineRow]) -> None:
    await conn.execute(
        "INSERT INTO posting_lines (posting_id, claim_id, encounter_id, rank, charge_id, line_control, charge, paid,"
        " deductible, coinsurance, copay, other) SELECT p, c, e, rank, ch, lc, charge, paid, d, co, cp, o"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::numeric[],"
        " $8::numeric[], $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[]) WITH ORDINALITY"
        " AS x (p, c, e, rank, ch, lc, charge, paid, d, co, cp, o, n) ORDER BY n",
        *_columns(12, [(ln.posting_id, ln.claim_id, ln.encounter_id, ln.rank, ln.charge_id, ln.line_control,
                        ln.charge, ln.paid, ln.share.deductible, ln.share.coinsurance, ln.share.copay,
                        ln.share.other) for ln in lines]))


async def journal(conn: asyncpg.Connection, journal_id: str, kind: str, rows: Sequence[LedgerRow], at: datetime,
                  **refs: str | None) -> None:
    """Append one balanced journal (the deferred trigger refuses an unbalanced one at commit)."""
    await journals(conn, [Journal(journal_id, kind, tuple(rows), at, refs)])


async def journals(conn: asyncpg.Connection, entries: Sequence[Journal]) -> None:
    """Append balanced journals, in order (entry ids follow it), in one statement."""
    await conn.execute(
        "INSERT INTO ledger_entries (journal_id, kind, remittance_id, posting_id, claim_id, encounter_id, balance_id,"
        " payer_id, patient_account_id, account, code, line_control, amount, entered_at, payer_rank)"
        " SELECT j, k, r, p, c, e, b, y, a, acc, code, lc, amount, at, rank FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
        " $11::text[], $12::text[], $13::numeric[], $14::timestamptz[], $15::int[]) WITH ORDINALITY"
        " AS x (j, k, r, p, c, e, b, y, a, acc, code, lc, amount, at, rank, n) ORDER BY n",
        *_columns(15, [(
            j.journal_id, j.kind, j.refs.get("remittance_id"), j.refs.get("posting_id"), j.refs.get("claim_id"),
            j.refs.get("encounter_id"), j.refs.get("balance_id"), r.payer_id or j.refs.get("payer_id"),
            j.refs.get("patient_account_id"), r.account, r.code, r.line_control_number, r.amount, j.at, r.payer_rank)
            for j in entries for r in j.rows]))


async def insert_denials(conn: asyncpg.Connection, denials: Sequence[DenialRow]) -> None:
    """The denials in order (their ids follow it), in one statement."""
    await conn.execute(
        "INSERT INTO denials (posting_id, claim_id, payer_id, scope, line_control, grp, reason_code, amount, category,"
        " action, opened_at) SELECT p, c, y, s, lc, g, rc, amount, cat, act, at FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::text[], $10::text[],"
        " $11::timestamptz[]) WITH ORDINALITY AS x (p, c, y, s, lc, g, rc, amount, cat, act, at, n) ORDER BY n",
        *_columns(11, [(d.posting_id, d.claim_id, d.payer_id, d.scope, d.item.line_control_number, d.item.group,
                        d.item.reason_code, d.item.amount, d.item.category, d.item.recommended_action, d.opened_at)
                       for d in denials]))


async def insert_unmatched(conn: asyncpg.Connection, held: Sequence[SuspenseRow]) -> None:
    await conn.executemany(
        "INSERT INTO unmatched (remittance_id, reported_submission, reason, st_control, claim_index, segment_number,"
        " total_paid, detected_at, posting_id, total_charge) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        [(u.remittance_id, u.reported_submission, u.reason, u.st_control, u.claim_index, u.segment_number,
          u.total_paid, u.detected_at, u.posting_id, u.total_charge) for u in held])


# --------------------------------------------------------------------------- late matching (suspense)


async def lock_submission_id(conn: asyncpg.Connection, submission_id: str) -> None:
    """Serialize, per CLP01, an 835 that finds no submission and the ClaimSubmitted that brings it
    (held to the end of the transaction): either the 835 sees the submission, or the handler sees
    the unmatched row."""
    await lock_submission_ids(conn, [submission_id])


async def lock_submission_ids(conn: asyncpg.Connection, submission_ids: Sequence[str]) -> None:
    """`lock_submission_id` of each, in CLP01 order (two transactions never wait on each other
    crosswise), in one statement."""
    await conn.execute("SELECT count(pg_advisory_xact_lock(hashtextextended('remits.submission:' || s, 0)))"
                       " FROM (SELECT s FROM unnest($1::text[]) s ORDER BY s) ordered", sorted(set(submission_ids)))


async def waiting_unmatched(conn: asyncpg.Connection, submission_id: str) -> list[UnmatchedRow]:
    """Claim payments of this CLP01 still in suspense for want of their submission, oldest first."""
    rows = await conn.fetch(
        "SELECT u.*, r.file_id, r.payer_id, r.payer_name, r.trace_number FROM unmatched u"
        " JOIN remittances r USING (remittance_id)"
        " WHERE u.reported_submission = $1 AND u.reason = 'unknown_submission_id' AND u.resolved_at IS NULL"
        " AND u.posting_id IS NOT NULL ORDER BY u.id FOR UPDATE OF u", submission_id)
    return [UnmatchedRow(id=r["id"], remittance_id=r["remittance_id"], reported_submission=r["reported_submission"],
                         st_control=r["st_control"], claim_index=r["claim_index"], segment_number=r["segment_number"],
                         posting_id=r["posting_id"], file_id=r["file_id"], payer_id=r["payer_id"],
                         payer_name=r["payer_name"], trace_number=r["trace_number"]) for r in rows]


async def waiting_submission_ids(conn: asyncpg.Connection, submission_ids: Sequence[str]) -> set[str]:
    """Those of these CLP01s with claim payments still in suspense for want of their submission
    (read after their locks, `lock_submission_ids`, in a statement of its own)."""
    rows = await conn.fetch(
        "SELECT DISTINCT reported_submission FROM unmatched WHERE reported_submission = ANY($1::text[])"
        " AND reason = 'unknown_submission_id' AND resolved_at IS NULL AND posting_id IS NOT NULL",
        list(submission_ids))
    return {r[0] for r in rows}


async def waiting_with_submission(conn: asyncpg.Connection) -> list[str]:
    """CLP01s in suspense whose submission is known by now (a missed or failed re-post)."""
    rows = await conn.fetch(
        "SELECT DISTINCT u.reported_submission FROM unmatched u JOIN submissions s"
        " ON s.submission_id = u.reported_submission WHERE u.reason = 'unknown_submission_id'"
        " AND u.resolved_at IS NULL ORDER BY 1")
    return [r[0] for r in rows]


async def journal_rows(conn: asyncpg.Connection, posting_id: str, kind: str) -> list[LedgerRow]:
    rows = await conn.fetch("SELECT account, amount, code, line_control FROM ledger_entries WHERE posting_id = $1"
                            " AND kind = $2 ORDER BY entry_id", posting_id, kind)
    return [LedgerRow(r["account"], r["amount"], r["code"], r["line_control"]) for r in rows]


async def resolve_unmatched(conn: asyncpg.Connection, unmatched_id: int, posting_id: str, at: datetime) -> bool:
    done = await conn.fetchval(
        "UPDATE unmatched SET resolved_posting_id = $2, resolved_at = $3, last_attempt = NULL"
        " WHERE id = $1 AND resolved_at IS NULL RETURNING 1", unmatched_id, posting_id, at)
    return bool(done)


async def note_unmatched_attempt(conn: asyncpg.Connection, unmatched_id: int, reason: str) -> None:
    await conn.execute("UPDATE unmatched SET last_attempt = $2 WHERE id = $1", unmatched_id, reason)


async def in_suspense(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The operator view: every claim payment still in suspense, with its file and position."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT u.id, u.remittance_id, u.reported_submission, u.reason, u.st_control, u.claim_index,"
        " u.segment_number, u.total_paid, u.total_charge, u.detected_at, u.last_attempt, r.file_id, r.payer_name,"
        " r.trace_number, f.file_name, (s.submission_id IS NOT NULL) AS submission_known"
        " FROM unmatched u JOIN remittances r USING (remittance_id) JOIN remittance_files f USING (file_id)"
        " LEFT JOIN submissions s ON s.submission_id = u.reported_submission"
        " WHERE u.resolved_at IS NULL ORDER BY u.detected_at, u.id")
    return rows


def _claim_keys(r: asyncpg.Record | None) -> ClaimKeys | None:
    if r is None:
        return None
    return ClaimKeys(claim_id=r["claim_id"], claim_family_id=r["claim_family_id"], encounter_id=r["encounter_id"])


async def claim_for_reference(conn: asyncpg.Connection, reference: str) -> ClaimKeys | None:
    """A PLB reference naming a claim (its payer claim control number or our submission id): the
    claim, its family and encounter."""
    if not reference:
        return None
    found = await conn.fetchrow(
        "SELECT claim_id, claim_family_id, encounter_id FROM postings WHERE claim_id IS NOT NULL"
        " AND (payer_claim_control = $1 OR reported_submission = $1) ORDER BY posted_at DESC LIMIT 1", reference)
    if found:
        return _claim_keys(found)
    found = await conn.fetchrow("SELECT claim_id, claim_family_id, encounter_id FROM submissions"
                                " WHERE submission_id = $1", reference)
    return _claim_keys(found)


async def payer_rank_in_family(conn: asyncpg.Connection, family_id: str, payer_id: str) -> int | None:
    """The coverage rank at which this payer answered for (or was billed) the claim family."""
    found: int | None = await conn.fetchval(
        "SELECT rank FROM (SELECT rank, posted_at AS at FROM postings WHERE claim_family_id = $1 AND payer_id = $2"
        " AND claim_id IS NOT NULL UNION ALL SELECT coverage_rank, submitted_at FROM submissions"
        " WHERE claim_family_id = $1 AND payer_id = $2) x ORDER BY at DESC LIMIT 1", family_id, payer_id)
    return found


async def paid_on_family(conn: asyncpg.Connection, family_id: str, rank: int, payer_id: str) -> Decimal:
    """What the payer still has paid on the claim family at that rank (its postings, less what
    recoupments already took back)."""
    found: Decimal = await conn.fetchval(
        "SELECT COALESCE((SELECT sum(paid) FROM postings WHERE claim_family_id = $1 AND rank = $2 AND payer_id = $3"
        " AND claim_id IS NOT NULL), 0) - COALESCE((SELECT sum(amount) FROM recoupments WHERE claim_family_id = $1"
        " AND payer_rank = $2 AND payer_id = $3), 0)", family_id, rank, payer_id)
    return found


async def insert_recoupment(conn: asyncpg.Connection, r: RecoupmentRow) -> None:
    await conn.execute(
        "INSERT INTO recoupments (remittance_id, reference, claim_id, claim_family_id, encounter_id, payer_id,"
        " payer_rank, amount, recouped_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        r.remittance_id, r.reference, r.claim_id, r.claim_family_id, r.encounter_id, r.payer_id, r.payer_rank,
        r.amount, r.recouped_at)


# --------------------------------------------------------------------------- balances


async def lock_books(conn: asyncpg.Connection, encounter_ids: Sequence[str]) -> None:
    """Serialize the restatements of these encounters' books (held to the end of the transaction),
    taken in encounter order in one statement, so two transactions never wait on each other crosswise."""
    await conn.execute("SELECT count(pg_advisory_xact_lock(hashtextextended('remits.books:' || e, 0)))"
                       " FROM (SELECT e FROM unnest($1::text[]) e ORDER BY e) ordered", sorted(set(encounter_ids)))


def _only(encounter_id: str | None) -> list[str] | None:
    return None if encounter_id is None else [encounter_id]


async def _fetch_for(conn: asyncpg.Connection, sql: str, encounter_ids: Sequence[str] | None) -> list[asyncpg.Record]:
    """`sql` with `{encounter}` standing for the encounter filter: these encounters (by index), or all.
    Two statements rather than `$1 IS NULL OR ...`, which a generic plan would answer by a scan."""
    if encounter_ids is None:
        rows: list[asyncpg.Record] = await conn.fetch(sql.format(encounter="TRUE"))
        return rows
    rows = await conn.fetch(sql.format(encounter="encounter_id = ANY($1::text[])"), list(encounter_ids))
    return rows


async def book_records(conn: asyncpg.Connection, encounter_ids: Sequence[str] | None = None) -> dict[
        str, tuple[str, list[books.Family]]]:
    """What the books of these encounters (or of every encounter) are made of, by encounter: its
    patient account and its claim families (submissions, matched postings, recoupments, write-offs)."""
    subs = await _fetch_for(conn,
        "SELECT encounter_id, patient_account_id, submission_id, claim_id, claim_family_id, payer_id, coverage_rank,"
        " frequency, total_charge, submitted_at, next_payer_rank, next_payer_id, protection, share_of_cost"
        " FROM submissions WHERE {encounter}", encounter_ids)
    posts = await _fetch_for(conn,
        "SELECT p.*, EXISTS (SELECT 1 FROM postings r WHERE r.reverses = p.posting_id) AS was_reversed"
        " FROM postings p WHERE p.claim_id IS NOT NULL AND p.outcome <> 'unmatched' AND {encounter}"
        " ORDER BY p.posted_at, p.posting_id", encounter_ids)
    # Recoupments and write-offs (both rare) in one round trip: `reason` is NULL on a recoupment only.
    taken = await _fetch_for(conn,
        "SELECT encounter_id, claim_family_id, payer_rank, amount, NULL AS reason, NULL::timestamptz AS at,"
        " NULL AS id FROM recoupments WHERE {encounter} UNION ALL"
        " SELECT encounter_id, claim_family_id, payer_rank, amount, reason, written_at, writeoff_id"
        " FROM insurance_writeoffs WHERE {encounter} ORDER BY at, id", encounter_ids)
    accounts: dict[str, str] = {}
    per: dict[str, tuple[list[books.Submitted], list[books.Posted], list[tuple[str, int, Decimal]],
                         list[tuple[str, books.InsuranceWriteOff]]]] = {}

    def of(encounter: str) -> tuple[list[books.Submitted], list[books.Posted], list[tuple[str, int, Decimal]],
                                    list[tuple[str, books.InsuranceWriteOff]]]:
        return per.setdefault(encounter, ([], [], [], []))

    for r in subs:
        accounts.setdefault(r["encounter_id"], r["patient_account_id"])
        of(r["encounter_id"])[0].append(books.Submitted(
            r["submission_id"], r["claim_id"], r["claim_family_id"], r["payer_id"], r["coverage_rank"], r["frequency"],
            r["total_charge"], r["submitted_at"], r["next_payer_rank"], r["next_payer_id"], r["protection"],
            r["share_of_cost"]))
    for r in posts:
        accounts.setdefault(r["encounter_id"], r["patient_account_id"])
        of(r["encounter_id"])[1].append(books.Posted(r["claim_family_id"], books.Answer(
            r["rank"], r["payer_id"], r["status"], _amounts(r), r["was_reversed"])))
    for r in taken:
        if r["reason"] is None:
            of(r["encounter_id"])[2].append((r["claim_family_id"], r["payer_rank"], r["amount"]))
        else:
            of(r["encounter_id"])[3].append((r["claim_family_id"], books.InsuranceWriteOff(
                r["payer_rank"], r["amount"], r["reason"])))
    return {e: (accounts.get(e, ""), books.families(*parts)) for e, parts in per.items()}


async def book_balances(conn: asyncpg.Connection, encounter_ids: Sequence[str]) -> dict[
        str, dict[books.BookKey, Decimal]]:
    """What the ledger holds in the book accounts of these encounters, by encounter."""
    rows = await conn.fetch(
        "SELECT encounter_id, account, payer_rank, payer_id,"
        " CASE WHEN account = ANY($2::text[]) THEN code ELSE '' END AS reason, sum(amount) AS amount"
        " FROM ledger_entries WHERE encounter_id = ANY($1::text[]) AND account = ANY($3::text[])"
        " AND kind <> 'suspense_release' GROUP BY 1, 2, 3, 4, 5", list(encounter_ids), sorted(books.REASONED),
        list(books.BOOK_ACCOUNTS))
    out: dict[str, dict[books.BookKey, Decimal]] = {e: {} for e in encounter_ids}
    for r in rows:
        if r["amount"] != 0:
            out[r["encounter_id"]][books.BookKey(r["account"], r["payer_rank"], r["payer_id"], r["reason"])] = r[
                "amount"]
    return out


async def governing_lines(conn: asyncpg.Connection, encounter_ids: Sequence[str]) -> dict[str, list[PostedLine]]:
    """Per encounter, per posting line of it: its claim family, rank, charge, paid and patient share."""
    rows = await conn.fetch(
        "SELECT l.encounter_id, p.claim_family_id, l.claim_id, l.rank, l.charge_id, l.charge, l.paid, l.deductible,"
        " l.coinsurance, l.copay, l.other FROM posting_lines l JOIN postings p USING (posting_id)"
        " WHERE l.encounter_id = ANY($1::text[]) ORDER BY p.posted_at, l.posting_id", list(encounter_ids))
    out: dict[str, list[PostedLine]] = {e: [] for e in encounter_ids}
    for r in rows:
        out[r["encounter_id"]].append(PostedLine(r["claim_family_id"], r["claim_id"], r["rank"], r["charge_id"],
                                                 r["charge"], r["paid"],
                                                 Share(r["deductible"], r["coinsurance"], r["copay"], r["other"])))
    return out


async def card_claims(conn: asyncpg.Connection, encounter_id: str | None = None) -> dict[str, list[ClaimRef]]:
    """Per encounter, every claim sent for it: claim id, payer, rank and the CLM01 sent."""
    rows = await _fetch_for(conn, "SELECT encounter_id, claim_id, payer_id, coverage_rank, submission_id"
                                  " FROM submissions WHERE {encounter} ORDER BY submitted_at, submission_id",
                            _only(encounter_id))
    out: dict[str, list[ClaimRef]] = {}
    for r in rows:
        out.setdefault(r["encounter_id"], []).append(ClaimRef(r["claim_id"], r["payer_id"], r["coverage_rank"],
                                                              r["submission_id"]))
    return out


async def card_facility(conn: asyncpg.Connection, encounter_id: str | None = None) -> dict[
        str, list[FacilityRef]]:
    """Per encounter, what each standing institutional claim payment said besides its money (postings
    neither reversals nor reversed), in posting order."""
    rows = await _fetch_for(conn, "SELECT p.encounter_id, p.claim_id, p.rank, p.status, p.facility FROM postings p"
                                  " WHERE p.facility IS NOT NULL AND p.status <> '22' AND {encounter}"
                                  " AND NOT EXISTS (SELECT 1 FROM postings r WHERE r.reverses = p.posting_id)"
                                  " ORDER BY p.posted_at, p.posting_id", _only(encounter_id))
    out: dict[str, list[FacilityRef]] = {}
    for r in rows:
        facility = _facility(r["facility"])
        assert facility is not None
        out.setdefault(r["encounter_id"], []).append(FacilityRef(r["claim_id"], r["rank"], r["status"], facility))
    return out


async def card_patient_money(conn: asyncpg.Connection, encounter_id: str | None = None) -> dict[
        str, tuple[Decimal, Decimal]]:
    """Per encounter with a balance: what the patient paid on it and what was written off."""
    rows = await _fetch_for(conn, "SELECT encounter_id, patient_paid, written_off FROM balances WHERE {encounter}",
                            _only(encounter_id))
    return {r["encounter_id"]: (r["patient_paid"], r["written_off"]) for r in rows}


async def claim_books(conn: asyncpg.Connection, claim_id: str) -> ClaimKeys | None:
    """The claim family and encounter of a claim remits saw submitted."""
    row = await conn.fetchrow(
        "SELECT claim_id, claim_family_id, encounter_id FROM submissions WHERE claim_id = $1"
        " ORDER BY submitted_at DESC LIMIT 1", claim_id)
    return _claim_keys(row)


async def payer_name(conn: asyncpg.Connection, payer_id: str) -> str:
    found: str | None = await conn.fetchval(
        "SELECT payer_name FROM (SELECT payer_name, submitted_at AS at FROM submissions WHERE payer_id = $1"
        " UNION ALL SELECT payer_name, received_at FROM remittances WHERE payer_id = $1) x ORDER BY at DESC LIMIT 1",
        payer_id)
    return found or payer_id


async def insert_insurance_writeoff(conn: asyncpg.Connection, w: InsuranceWriteoffRow) -> None:
    await conn.execute(
        "INSERT INTO insurance_writeoffs (writeoff_id, claim_id, claim_family_id, encounter_id, payer_id, payer_rank,"
        " amount, reason, operator_id, note, written_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        w.writeoff_id, w.claim_id, w.claim_family_id, w.encounter_id, w.payer_id, w.payer_rank, w.amount, w.reason,
        w.operator_id, w.note, w.written_at)


async def books_pending(conn: asyncpg.Connection, limit: int) -> list[str]:
    rows = await conn.fetch("SELECT encounter_id FROM books_pending ORDER BY queued_at, encounter_id LIMIT $1", limit)
    return [r[0] for r in rows]


async def books_done(conn: asyncpg.Connection, encounter_id: str) -> None:
    await conn.execute("DELETE FROM books_pending WHERE encounter_id = $1", encounter_id)


async def queue_all_books(conn: asyncpg.Connection, at: datetime) -> int:
    """Every encounter remits knows, queued for its books to be restated."""
    done: str = await conn.execute(
        "INSERT INTO books_pending (encounter_id, queued_at) SELECT DISTINCT encounter_id, $1 FROM submissions"
        " ON CONFLICT (encounter_id) DO NOTHING", at)
    return int(done.rsplit(maxsplit=1)[-1])


async def encounter_lines(conn: asyncpg.Connection, encounter_ids: Sequence[str]) -> dict[
        str, dict[str, ExpectedLine]]:
    """Per encounter, its submitted lines by charge id (as first submitted)."""
    rows = await conn.fetch("SELECT * FROM submissions WHERE encounter_id = ANY($1::text[]) ORDER BY submitted_at",
                            list(encounter_ids))
    out: dict[str, dict[str, ExpectedLine]] = {e: {} for e in encounter_ids}
    for r in rows:
        seen = out[r["encounter_id"]]
        for ln in _submission(r).expected_lines():
            seen.setdefault(ln.charge_id, ln)
    return out


def _balance(r: asyncpg.Record | None) -> BalanceRow | None:
    if r is None:
        return None
    return BalanceRow(balance_id=r["balance_id"], encounter_id=r["encounter_id"],
                      patient_account_id=r["patient_account_id"], claim_ids=tuple(r["claim_ids"]),
                      items=json_objects(r["items"]), total=r["total"], patient_paid=r["patient_paid"],
                      written_off=r["written_off"], due_date=r["due_date"], revision=r["revision"],
                      created_at=r["created_at"], updated_at=r["updated_at"])


async def balances_for_encounters(conn: asyncpg.Connection, encounter_ids: Sequence[str]) -> dict[str, BalanceRow]:
    """The balances of these encounters (locked), by encounter."""
    rows = await conn.fetch("SELECT * FROM balances WHERE encounter_id = ANY($1::text[]) ORDER BY balance_id"
                            " FOR UPDATE", list(encounter_ids))
    return {r["encounter_id"]: b for r in rows if (b := _balance(r)) is not None}


async def balance(conn: asyncpg.Connection, balance_id: str) -> BalanceRow | None:
    return (await balances(conn, [balance_id])).get(balance_id)


async def balances(conn: asyncpg.Connection, balance_ids: Sequence[str]) -> dict[str, BalanceRow]:
    """These balances (locked), by balance id."""
    rows = await conn.fetch("SELECT * FROM balances WHERE balance_id = ANY($1::text[]) ORDER BY balance_id"
                            " FOR UPDATE", list(balance_ids))
    return {r["balance_id"]: b for r in rows if (b := _balance(r)) is not None}


async def insert_balances(conn: asyncpg.Connection, rows: Sequence[BalanceRow]) -> None:
    """New balances in one statement (claim ids and items go as JSON text: unnest cannot carry arrays of arrays)."""
    await conn.execute(
        "INSERT INTO balances (balance_id, encounter_id, patient_account_id, claim_ids, items, total, patient_paid,"
        " written_off, revision, due_date, created_at, updated_at)"
        " SELECT id, e, a, ARRAY(SELECT jsonb_array_elements_text(ci::jsonb)), it::jsonb, total, paid, wo, rev, due,"
        " created, updated FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[],"
        " $7::numeric[], $8::numeric[], $9::int[], $10::date[], $11::timestamptz[], $12::timestamptz[])"
        " WITH ORDINALITY AS x (id, e, a, ci, it, total, paid, wo, rev, due, created, updated, n) ORDER BY n",
        *_columns(12, [(b.balance_id, b.encounter_id, b.patient_account_id, json.dumps(list(b.claim_ids)),
                        json.dumps(list(b.items)), b.total, b.patient_paid, b.written_off, b.revision, b.due_date,
                        b.created_at, b.updated_at) for b in rows]))


async def update_balance(conn: asyncpg.Connection, b: BalanceRow, at: datetime) -> None:
    """Write the balance's claims, lines and amounts; its revision goes up by one, updated `at`."""
    await update_balances(conn, [b], at)


async def update_balances(conn: asyncpg.Connection, rows: Sequence[BalanceRow], at: datetime) -> None:
    """`update_balance` of each row (one row per balance), in one statement."""
    await conn.execute(
        "UPDATE balances b SET claim_ids = ARRAY(SELECT jsonb_array_elements_text(x.ci::jsonb)),"
        " items = x.it::jsonb, total = x.total, patient_paid = x.paid, written_off = x.wo,"
        " revision = b.revision + 1, updated_at = $7 FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::numeric[], $5::numeric[], $6::numeric[]) AS x (id, ci, it, total, paid, wo) WHERE b.balance_id = x.id",
        *_columns(6, [(b.balance_id, json.dumps(list(b.claim_ids)), json.dumps(list(b.items)), b.total,
                       b.patient_paid, b.written_off) for b in rows]), at)


async def open_balances(conn: asyncpg.Connection, patient_account_id: str) -> list[OpenBalance]:
    rows = await conn.fetch(
        "SELECT balance_id, encounter_id, total - patient_paid - written_off AS due, created_at FROM balances"
        " WHERE patient_account_id = $1 AND total - patient_paid - written_off > 0 FOR UPDATE", patient_account_id)
    return [OpenBalance(r["balance_id"], r["encounter_id"], r["due"], r["created_at"].date()) for r in rows]


async def payment_by_key(conn: asyncpg.Connection, key: str) -> str | None:
    found: str | None = await conn.fetchval("SELECT payment_id FROM payments WHERE idempotency_key = $1", key)
    return found


async def insert_payment(conn: asyncpg.Connection, p: PaymentRow) -> None:
    await conn.execute(
        "INSERT INTO payments (payment_id, idempotency_key, patient_account_id, amount, method, received_on,"
        " applications, unapplied, credit_balance_id, posted_at) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8,$9,$10)",
        p.payment_id, p.idempotency_key, p.patient_account_id, p.amount, p.method, p.received_on,
        list(p.applications), p.unapplied, p.credit_balance_id, p.posted_at)


async def insert_credit(conn: asyncpg.Connection, c: CreditRow) -> None:
    await conn.execute(
        "INSERT INTO credits (credit_balance_id, patient_account_id, amount, remaining, origin, payment_id,"
        " balance_id, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        c.credit_balance_id, c.patient_account_id, c.amount, c.remaining, c.origin, c.payment_id, c.balance_id,
        c.created_at)


async def credit(conn: asyncpg.Connection, credit_balance_id: str) -> CreditRow | None:
    r = await conn.fetchrow("SELECT * FROM credits WHERE credit_balance_id = $1 FOR UPDATE", credit_balance_id)
    if r is None:
        return None
    return CreditRow(credit_balance_id=r["credit_balance_id"], patient_account_id=r["patient_account_id"],
                     amount=r["amount"], remaining=r["remaining"], origin=r["origin"], created_at=r["created_at"],
                     payment_id=r["payment_id"], balance_id=r["balance_id"])


async def refund(conn: asyncpg.Connection, key: str, credit_balance_id: str, amount: Decimal, at: datetime) -> bool:
    done = await conn.fetchval("INSERT INTO refunds (idempotency_key, credit_balance_id, amount, issued_at)"
                               " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING RETURNING 1", key, credit_balance_id,
                               amount, at)
    if done:
        await conn.execute("UPDATE credits SET remaining = remaining - $2 WHERE credit_balance_id = $1",
                           credit_balance_id, amount)
    return bool(done)


async def use_credit(conn: asyncpg.Connection, credit_balance_id: str, amount: Decimal) -> None:
    await conn.execute("UPDATE credits SET remaining = remaining - $2 WHERE credit_balance_id = $1",
                       credit_balance_id, amount)


async def insert_writeoff(conn: asyncpg.Connection, writeoff_id: str, balance_id: str, amount: Decimal, reason: str,
                          operator_id: str | None, at: datetime) -> None:
    await conn.execute("INSERT INTO writeoffs (writeoff_id, balance_id, amount, reason, operator_id, written_at)"
                       " VALUES ($1,$2,$3,$4,$5,$6)", writeoff_id, balance_id, amount, reason, operator_id, at)


async def written_off_by_reason(conn: asyncpg.Connection, balance_id: str) -> list[WrittenOff]:
    """Per write-off reason, what the ledger still has written off for this balance (write-offs
    less earlier reversals) and when that reason last wrote something off."""
    rows = await conn.fetch(
        "SELECT substr(account, length('patient_writeoff_') + 1) AS reason, sum(amount) AS amount,"
        " max(entered_at) FILTER (WHERE amount > 0) AS last_at FROM ledger_entries"
        " WHERE balance_id = $1 AND kind IN ('write_off', 'write_off_reversal')"
        " AND account LIKE 'patient\\_writeoff\\_%' AND account <> 'patient_writeoffs_applied'"
        " GROUP BY account", balance_id)
    return [WrittenOff(r["reason"], r["amount"], r["last_at"]) for r in rows if r["last_at"] is not None]


# --------------------------------------------------------------------------- statements, references, credits


async def save_statement(conn: asyncpg.Connection, statement_id: str, balance_id: str,
                         patient_account_id: str | None, notification_id: str, sent_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO statements (statement_id, balance_id, patient_account_id, notification_id, sent_at)"
        " VALUES ($1,$2,$3,$4,$5) ON CONFLICT (statement_id) DO NOTHING",
        statement_id, balance_id, patient_account_id, notification_id, sent_at)


async def statement_reference(conn: asyncpg.Connection, statement_id: str) -> KnownReference | None:
    """The balance a statement was about, with that balance's account (None when remits does not
    know the balance); None when the statement is unknown."""
    row = await conn.fetchrow(
        "SELECT s.balance_id, b.patient_account_id FROM statements s LEFT JOIN balances b USING (balance_id)"
        " WHERE s.statement_id = $1", statement_id)
    return None if row is None else KnownReference(row["balance_id"], row["patient_account_id"])


async def encounter_owner(conn: asyncpg.Connection, encounter_id: str) -> str | None:
    """The patient account of the encounter's balance (None: no balance for it)."""
    found: str | None = await conn.fetchval("SELECT patient_account_id FROM balances WHERE encounter_id = $1",
                                            encounter_id)
    return found


async def set_payment_reference(conn: asyncpg.Connection, payment_id: str, statement_id: str | None,
                                encounter_id: str | None, ignored: str | None) -> None:
    await conn.execute("UPDATE payments SET statement_id = $2, encounter_id = $3, reference_ignored = $4"
                       " WHERE payment_id = $1", payment_id, statement_id, encounter_id, ignored)


async def payment_reference_ignored(conn: asyncpg.Connection, payment_id: str) -> str | None:
    found: str | None = await conn.fetchval("SELECT reference_ignored FROM payments WHERE payment_id = $1",
                                            payment_id)
    return found


async def accounts_with_open_credits(conn: asyncpg.Connection, patient_account_ids: Sequence[str]) -> set[str]:
    """Which of these patient accounts have a credit with something left (read without a lock: a
    hint of which balances must look for credits to apply, see `open_credits`)."""
    rows = await conn.fetch("SELECT DISTINCT patient_account_id FROM credits WHERE remaining > 0"
                            " AND patient_account_id = ANY($1::text[])", list(patient_account_ids))
    return {r[0] for r in rows}


async def open_credits(conn: asyncpg.Connection, patient_account_id: str) -> list[OpenCredit]:
    rows = await conn.fetch(
        "SELECT credit_balance_id, remaining, created_at FROM credits WHERE patient_account_id = $1"
        " AND remaining > 0 ORDER BY created_at, credit_balance_id FOR UPDATE", patient_account_id)
    return [OpenCredit(r["credit_balance_id"], r["remaining"], r["created_at"]) for r in rows]


async def refund_issued(conn: asyncpg.Connection, key: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM refunds WHERE idempotency_key = $1", key))


async def reject_refund(conn: asyncpg.Connection, r: RefundRejectionRow) -> None:
    await conn.execute(
        "INSERT INTO refund_rejections (idempotency_key, credit_balance_id, patient_account_id, amount, remaining,"
        " reason, rejected_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (idempotency_key) DO NOTHING",
        r.idempotency_key, r.credit_balance_id, r.patient_account_id, r.amount, r.remaining, r.reason, r.rejected_at)


async def refund_rejections(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT idempotency_key, credit_balance_id, amount, remaining, reason, rejected_at FROM refund_rejections"
        " ORDER BY rejected_at, idempotency_key")
    return rows


# --------------------------------------------------------------------------- patient estimates


async def save_estimate(conn: asyncpg.Connection, e: Estimate, *, check_id: str, total_charge: Decimal,
                        expected_allowed: Decimal, out_of_pocket_remaining: Decimal | None) -> bool:
    """Keep the encounter's latest estimate (by estimated_at, then estimate id): False when an equal
    or later one is kept already."""
    row = await conn.fetchval(
        "INSERT INTO estimates (encounter_id, estimate_id, check_id, patient_account_id, coverage_rank, payer_id,"
        " service_date, total_charge, expected_allowed, deductible, coinsurance, copay, patient_estimate,"
        " out_of_pocket_remaining, complete, estimated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT (encounter_id) DO UPDATE SET estimate_id = EXCLUDED.estimate_id, check_id = EXCLUDED.check_id,"
        " patient_account_id = EXCLUDED.patient_account_id, coverage_rank = EXCLUDED.coverage_rank,"
        " payer_id = EXCLUDED.payer_id, service_date = EXCLUDED.service_date,"
        " total_charge = EXCLUDED.total_charge, expected_allowed = EXCLUDED.expected_allowed,"
        " deductible = EXCLUDED.deductible, coinsurance = EXCLUDED.coinsurance, copay = EXCLUDED.copay,"
        " patient_estimate = EXCLUDED.patient_estimate, out_of_pocket_remaining = EXCLUDED.out_of_pocket_remaining,"
        " complete = EXCLUDED.complete, estimated_at = EXCLUDED.estimated_at"
        " WHERE (estimates.estimated_at, estimates.estimate_id) < (EXCLUDED.estimated_at, EXCLUDED.estimate_id)"
        " RETURNING 1",
        e.encounter_id, e.estimate_id, check_id, e.patient_account_id, e.coverage_rank, e.payer_id, e.service_date,
        total_charge, expected_allowed, e.deductible, e.coinsurance, e.copay, e.patient_estimate,
        out_of_pocket_remaining, e.complete, e.estimated_at)
    return row is not None


async def estimates(conn: asyncpg.Connection, encounter_id: str | None = None) -> list[Estimate]:
    """The latest estimate of one encounter, or of every encounter, by encounter id."""
    rows = await _fetch_for(conn, "SELECT encounter_id, estimate_id, patient_account_id, coverage_rank, payer_id,"
                                  " service_date, patient_estimate, deductible, coinsurance, copay, complete,"
                                  " estimated_at FROM estimates WHERE {encounter} ORDER BY encounter_id",
                            _only(encounter_id))
    return [Estimate(r["encounter_id"], r["estimate_id"], r["patient_account_id"], r["coverage_rank"], r["payer_id"],
                     r["service_date"], r["patient_estimate"], r["deductible"], r["coinsurance"], r["copay"],
                     r["complete"], r["estimated_at"]) for r in rows]


# --------------------------------------------------------------------------- reports


async def fetch(conn: asyncpg.Connection, name: str, *args: object) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(REPORT_SQL[name], *args)
    return rows


REPORT_SQL: dict[str, str] = {
    # Every query takes $1 = the end of the report's last day (exclusive): what was known by then.
    # Insurance A/R: what the books keep owed by each payer (insurance_receivable) or open as its
    # denial (denied_open), entry by entry up to the cut-off, with the payer's name.
    "payer_ar": (
        "SELECT l.encounter_id, l.payer_id, l.account, l.amount, l.entered_at, COALESCE("
        "   (SELECT r.payer_name FROM remittances r WHERE r.payer_id = l.payer_id ORDER BY r.received_at LIMIT 1),"
        "   (SELECT s.payer_name FROM submissions s WHERE s.payer_id = l.payer_id ORDER BY s.submitted_at LIMIT 1),"
        "   l.payer_id) AS payer"
        " FROM ledger_entries l WHERE l.account IN ('insurance_receivable', 'denied_open')"
        " AND l.encounter_id IS NOT NULL AND l.entered_at < $1 ORDER BY l.entered_at, l.entry_id"),
    # Patient A/R: each balance opened by then, less what the ledger applied to it by then.
    "patient_ar": (
        "SELECT b.created_at AS since, b.total"
        " - COALESCE((SELECT -sum(l.amount) FROM ledger_entries l WHERE l.account = 'patient_payments_applied'"
        "   AND (l.code = b.balance_id OR l.balance_id = b.balance_id) AND l.entered_at < $1), 0)"
        " - COALESCE((SELECT -sum(l.amount) FROM ledger_entries l WHERE l.account = 'patient_writeoffs_applied'"
        "   AND l.balance_id = b.balance_id AND l.entered_at < $1), 0) AS amount"
        " FROM balances b WHERE b.created_at < $1"),
    "kpi_submissions": (
        "SELECT claim_id, claim_family_id, coverage_rank, frequency, total_charge, submitted_at FROM submissions"
        " WHERE submitted_at < $1"),
    "kpi_adjudications": (
        "SELECT posting_id, claim_id, status, paid, patient_resp, posted_at FROM postings"
        " WHERE claim_id IS NOT NULL AND outcome <> 'unmatched' AND posted_at < $1 ORDER BY posted_at, posting_id"),
    "kpi_denials": (
        "SELECT d.posting_id, d.category, d.scope, d.amount FROM denials d WHERE d.opened_at < $1"
        " ORDER BY d.denial_id"),
    # Ledger movements in [$2, $1): the payers' cash on claims (their claim payments, less the
    # recoupments that named a claim; not interest, not suspense), patient cash, contractual
    # adjustments (with the cost share written off for Medicaid and QMB patients).
    "kpi_collections": (
        "SELECT COALESCE(sum(amount) FILTER (WHERE account = 'payer_cash' AND encounter_id IS NOT NULL"
        "   AND kind IN ('claim', 'reversal', 'plb')), 0) AS payer,"
        " COALESCE(sum(amount) FILTER (WHERE account = 'patient_cash'), 0) AS patient,"
        " COALESCE(sum(amount) FILTER (WHERE account IN ('contractual_writeoff', 'cost_share_protection')), 0)"
        "   AS contractual FROM ledger_entries WHERE entered_at < $1 AND entered_at >= $2"),
}


async def audit_payer_statements(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the audit: per matched claim posting, what the payer said, sorted as posted (charge, paid,
    each class of adjustment, patient responsibility by kind and CLP05)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT posting_id, claim_id, status, charge, paid, patient_resp, contractual, denied, other_adjustment,"
        " prior_payer, pr_deductible + pr_coinsurance + pr_copay + pr_other AS patient"
        " FROM postings WHERE claim_id IS NOT NULL AND status <> '25' ORDER BY posting_id")
    return rows


async def audit_book_ledger(conn: asyncpg.Connection) -> dict[str, dict[tuple[str, int | None], Decimal]]:
    """For the audit: per encounter, what the ledger holds in each book account (and payer cash), by
    payer rank."""
    rows = await conn.fetch(
        "SELECT encounter_id, account, payer_rank, sum(amount) AS amount FROM ledger_entries"
        " WHERE encounter_id IS NOT NULL AND kind <> 'suspense_release' AND account = ANY($1::text[])"
        " GROUP BY 1, 2, 3", [*books.BOOK_ACCOUNTS, PAYER_CASH])
    out: dict[str, dict[tuple[str, int | None], Decimal]] = {}
    for r in rows:
        out.setdefault(r["encounter_id"], {})[(r["account"], r["payer_rank"])] = r["amount"]
    return out


async def audit_remittance_cash(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the audit: per posted remittance, BPR02 as recorded, the cash the ledger holds for it,
    and the raw file it came from (re-read by the audit)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT r.remittance_id, r.payer_id, r.trace_number, r.total_payment, f.file_id, f.raw,"
        " COALESCE((SELECT sum(l.amount) FROM ledger_entries l WHERE l.remittance_id = r.remittance_id"
        "   AND l.account = 'payer_cash'), 0) AS ledger_cash"
        " FROM remittances r JOIN remittance_files f USING (file_id) ORDER BY r.remittance_id"
    )
    return rows


async def audit_balances(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the audit: per patient balance, its shares, and the payments and write-offs the
    ledger applied to it."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT b.balance_id, b.encounter_id, b.total, b.patient_paid, b.written_off,"
        " (SELECT COALESCE(sum((i ->> 'patient_responsibility')::numeric), 0) FROM jsonb_array_elements(b.items) i)"
        "   AS item_shares,"
        " COALESCE((SELECT -sum(l.amount) FROM ledger_entries l WHERE l.account = 'patient_payments_applied'"
        "   AND (l.code = b.balance_id OR l.balance_id = b.balance_id)), 0) AS ledger_paid,"
        " COALESCE((SELECT -sum(l.amount) FROM ledger_entries l WHERE l.account = 'patient_writeoffs_applied'"
        "   AND l.balance_id = b.balance_id), 0) AS ledger_written_off"
        " FROM balances b ORDER BY b.balance_id"
    )
    return rows


async def audit_unbalanced_journals(conn: asyncpg.Connection) -> tuple[int, list[asyncpg.Record]]:
    """For the audit: how many journals there are, and those whose entries do not sum to zero."""
    count: int = await conn.fetchval("SELECT count(DISTINCT journal_id) FROM ledger_entries")
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT journal_id, kind, sum(amount) AS off FROM ledger_entries GROUP BY journal_id, kind"
        " HAVING sum(amount) <> 0 ORDER BY journal_id")
    return count, rows


async def audit_patient_accounts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the audit: per patient account, the money patients paid in and refunded, where it sits
    now (applied to balances, open credits) and the ledger's patient cash and credit accounts."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "WITH accounts AS (SELECT patient_account_id FROM payments UNION SELECT patient_account_id FROM credits"
        " UNION SELECT patient_account_id FROM balances WHERE patient_paid <> 0)"
        " SELECT a.patient_account_id,"
        " COALESCE((SELECT sum(amount) FROM payments p WHERE p.patient_account_id = a.patient_account_id), 0)"
        "   AS paid_in,"
        " COALESCE((SELECT sum(r.amount) FROM refunds r JOIN credits c USING (credit_balance_id)"
        "   WHERE c.patient_account_id = a.patient_account_id), 0) AS refunded,"
        " COALESCE((SELECT sum(patient_paid) FROM balances b WHERE b.patient_account_id = a.patient_account_id), 0)"
        "   AS on_balances,"
        " COALESCE((SELECT sum(remaining) FROM credits c WHERE c.patient_account_id = a.patient_account_id), 0)"
        "   AS credits,"
        " COALESCE((SELECT sum(amount) FROM ledger_entries l WHERE l.patient_account_id = a.patient_account_id"
        "   AND l.account = 'patient_cash'), 0) AS ledger_cash,"
        " COALESCE((SELECT -sum(amount) FROM ledger_entries l WHERE l.patient_account_id = a.patient_account_id"
        "   AND l.account = 'patient_credit'), 0) AS ledger_credit"
        " FROM accounts a ORDER BY a.patient_account_id")
    return rows

