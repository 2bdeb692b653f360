"""Every SQL statement of the remits service (the one store module)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.remits.domain.balances import ClaimState, OpenBalance, PostedLine
from services.remits.domain.posting import ExpectedLine, LedgerRow, Share


async def init_codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")



# --------------------------------------------------------------------------- submissions


async def save_submission(conn: asyncpg.Connection, s: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO submissions (submission_id, claim_id, claim_family_id, encounter_id, patient_account_id,"
        " payer_id, payer_name, coverage_rank, next_payer_rank, frequency, total_charge, lines, submitted_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13) ON CONFLICT (submission_id) DO NOTHING",
        s["submission_id"], s["claim_id"], s["claim_family_id"], s["encounter_id"], s["patient_account_id"],
        s["payer_id"], s["payer_name"], s["coverage_rank"], s["next_payer_rank"], s["frequency"],
        s["total_charge"], s["lines"], s["submitted_at"],
    )


async def submission(conn: asyncpg.Connection, submission_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM submissions WHERE submission_id = $1",
                                                     submission_id)
    return row


def expected_lines(row: asyncpg.Record) -> list[ExpectedLine]:
    lines = row["lines"] if isinstance(row["lines"], list) else json.loads(row["lines"])
    return [ExpectedLine(line_control_number=ln["line_control_number"], charge_id=ln["charge_id"],
                         procedure_code=ln["procedure_code"], service_date=date.fromisoformat(ln["service_date"]),
                         charge=Decimal(ln["charge"]),
                         expected_allowed=(None if ln.get("expected_allowed") is None
                                           else Decimal(ln["expected_allowed"])),
                         description=ln.get("description"))
            for ln in lines]


# --------------------------------------------------------------------------- files


async def file_by_hash(conn: asyncpg.Connection, sha: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT file_id, status FROM remittance_files WHERE sha256 = $1",
                                                     sha)
    return row


async def file_by_id(conn: asyncpg.Connection, file_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM remittance_files WHERE file_id = $1", file_id)
    return row


async def insert_file(conn: asyncpg.Connection, file_id: str, sha: str, name: str, source: str, raw: bytes,
                      status: str, reason: str | None, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO remittance_files (file_id, sha256, file_name, source, raw, status, reason, received_at,"
        " updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8)", file_id, sha, name, source, raw, status, reason, at)


async def set_file_status(conn: asyncpg.Connection, file_id: str, status: str, reason: str | None,
                          at: datetime) -> None:
    await conn.execute("UPDATE remittance_files SET status = $2, reason = $3, updated_at = $4 WHERE file_id = $1",
                       file_id, status, reason, at)


async def record_duplicate(conn: asyncpg.Connection, kind: str, sha: str, name: str, original: str,
                           at: datetime) -> None:
    await conn.execute("INSERT INTO duplicate_arrivals (kind, sha256, file_name, original, arrived_at)"
                       " VALUES ($1,$2,$3,$4,$5)", kind, sha, name, original, at)


async def quarantined(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT file_id, file_name, sha256, reason, received_at FROM remittance_files WHERE status = 'quarantined'"
        " ORDER BY received_at")
    return rows


# --------------------------------------------------------------------------- remittances and postings


async def remittance_by_trace(conn: asyncpg.Connection, payer_id: str, trace: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT remittance_id FROM remittances WHERE payer_id = $1 AND trace_number = $2", payer_id, trace)
    return found


async def insert_remittance(conn: asyncpg.Connection, r: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO remittances (remittance_id, file_id, payer_id, payer_name, trace_number, total_payment,"
        " plb_total, payment_date, received_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        r["remittance_id"], r["file_id"], r["payer_id"], r["payer_name"], r["trace_number"], r["total_payment"],
        r["plb_total"], r["payment_date"], r["received_at"])


async def insert_posting(conn: asyncpg.Connection, p: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO postings (posting_id, remittance_id, claim_index, reported_submission, claim_id,"
        " claim_family_id, encounter_id, patient_account_id, payer_id, status, rank, payer_claim_control, charge,"
        " paid, patient_resp, reverses, outcome, posted_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
        p["posting_id"], p["remittance_id"], p["claim_index"], p["reported_submission"], p.get("claim_id"),
        p.get("claim_family_id"), p.get("encounter_id"), p.get("patient_account_id"), p["payer_id"], p["status"],
        p["rank"], p["payer_claim_control"], p["charge"], p["paid"], p["patient_resp"], p.get("reverses"),
        p["outcome"], p["posted_at"])


async def original_posting(conn: asyncpg.Connection, claim_id: str, payer_id: str, pccn: str) -> asyncpg.Record | None:
    """The latest posting of this claim by this payer not yet reversed (the CLP07 first, else any)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT p.* FROM postings p WHERE p.claim_id = $1 AND p.payer_id = $2 AND p.status <> '22'"
        " AND NOT EXISTS (SELECT 1 FROM postings r WHERE r.reverses = p.posting_id)"
        " ORDER BY (p.payer_claim_control = $3) DESC, p.posted_at DESC, p.posting_id DESC LIMIT 1",
        claim_id, payer_id, pccn)
    return row


async def posting_rows(conn: asyncpg.Connection, posting_id: str) -> list[LedgerRow]:
    rows = await conn.fetch("SELECT account, amount, code, line_control FROM ledger_entries WHERE posting_id = $1"
                            " AND kind IN ('claim', 'reversal') ORDER BY entry_id", posting_id)
    return [LedgerRow(r["account"], r["amount"], r["code"], r["line_control"]) for r in rows]


async def posting_line_rows(conn: asyncpg.Connection, posting_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch("SELECT * FROM posting_lines WHERE posting_id = $1", posting_id)
    return rows


async def insert_posting_line(conn: asyncpg.Connection, posting_id: str, claim_id: str, encounter_id: str, rank: int,
                              charge_id: str, lcn: str, charge: Decimal, paid: Decimal, share: Share) -> None:
    await conn.execute(
        "INSERT INTO posting_lines (posting_id, claim_id, encounter_id, rank, charge_id, line_control, charge, paid,"
        " deductible, coinsurance, copay, other) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        posting_id, claim_id, encounter_id, rank, charge_id, lcn, charge, paid, share.deductible, share.coinsurance,
        share.copay, share.other)


async def journal(conn: asyncpg.Connection, journal_id: str, kind: str, rows: Sequence[LedgerRow], at: datetime,
                  **refs: str | None) -> None:
    """Append one balanced journal (the deferred trigger refuses an unbalanced one at commit)."""
    await conn.executemany(
        "INSERT INTO ledger_entries (journal_id, kind, remittance_id, posting_id, claim_id, encounter_id, balance_id,"
        " payer_id, patient_account_id, account, code, line_control, amount, entered_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)",
        [(journal_id, kind, refs.get("remittance_id"), refs.get("posting_id"), refs.get("claim_id"),
          refs.get("encounter_id"), refs.get("balance_id"), refs.get("payer_id"), refs.get("patient_account_id"),
          r.account, r.code, r.line_control_number, r.amount, at) for r in rows])


async def insert_denial(conn: asyncpg.Connection, posting_id: str, claim_id: str, payer_id: str, scope: str,
                        d: Any, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO denials (posting_id, claim_id, payer_id, scope, line_control, grp, reason_code, amount, category,"
        " action, opened_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
        posting_id, claim_id, payer_id, scope, d.line_control_number, d.group, d.reason_code, d.amount, d.category,
        d.recommended_action, at)


async def insert_unmatched(conn: asyncpg.Connection, remittance_id: str, reported: str, reason: str, st: str,
                           index: int, segment: int, paid: Decimal, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO unmatched (remittance_id, reported_submission, reason, st_control, claim_index, segment_number,"
        " total_paid, detected_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        remittance_id, reported, reason, st, index, segment, paid, at)


async def claim_for_reference(conn: asyncpg.Connection, reference: str) -> str | None:
    """A PLB reference naming a claim: its payer claim control number or our submission id."""
    if not reference:
        return None
    found: str | None = await conn.fetchval(
        "SELECT claim_id FROM postings WHERE claim_id IS NOT NULL AND (payer_claim_control = $1"
        " OR reported_submission = $1) ORDER BY posted_at DESC LIMIT 1", reference)
    if found:
        return found
    found = await conn.fetchval("SELECT claim_id FROM submissions WHERE submission_id = $1", reference)
    return found


# --------------------------------------------------------------------------- balances


async def encounter_state(conn: asyncpg.Connection, encounter_id: str) -> tuple[list[ClaimState], list[PostedLine]]:
    rows = await conn.fetch(
        "SELECT p.claim_id, p.rank,"
        " sum(CASE WHEN p.status = '22' THEN -1 WHEN p.outcome = 'unmatched' THEN 0 ELSE 1 END) AS active,"
        " (array_agg(p.status ORDER BY p.posted_at DESC, p.posting_id DESC)"
        "   FILTER (WHERE p.status <> '22'))[1] AS last_status,"
        " max(s.next_payer_rank) AS next_rank"
        " FROM postings p LEFT JOIN submissions s ON s.claim_id = p.claim_id"
        " WHERE p.encounter_id = $1 GROUP BY p.claim_id, p.rank", encounter_id)
    claims = [ClaimState(r["claim_id"], r["rank"], int(r["active"]), r["last_status"] or "", r["next_rank"])
              for r in rows]
    pending = await conn.fetch(
        "SELECT claim_id, coverage_rank, next_payer_rank FROM submissions WHERE encounter_id = $1", encounter_id)
    claims += [ClaimState(r["claim_id"], r["coverage_rank"], 0, "", r["next_payer_rank"]) for r in pending]
    lines = await conn.fetch("SELECT * FROM posting_lines WHERE encounter_id = $1", encounter_id)
    return claims, [PostedLine(r["claim_id"], r["rank"], r["charge_id"], r["charge"], r["paid"],
                               Share(r["deductible"], r["coinsurance"], r["copay"], r["other"])) for r in lines]


async def encounter_submission(conn: asyncpg.Connection, encounter_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM submissions WHERE encounter_id = $1 ORDER BY coverage_rank, submitted_at LIMIT 1", encounter_id)
    return row


async def encounter_lines(conn: asyncpg.Connection, encounter_id: str) -> list[ExpectedLine]:
    rows = await conn.fetch("SELECT * FROM submissions WHERE encounter_id = $1 ORDER BY submitted_at", encounter_id)
    seen: dict[str, ExpectedLine] = {}
    for r in rows:
        for ln in expected_lines(r):
            seen.setdefault(ln.charge_id, ln)
    return list(seen.values())


async def balance_for_encounter(conn: asyncpg.Connection, encounter_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM balances WHERE encounter_id = $1 FOR UPDATE",
                                                     encounter_id)
    return row


async def balance(conn: asyncpg.Connection, balance_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM balances WHERE balance_id = $1 FOR UPDATE",
                                                     balance_id)
    return row


async def insert_balance(conn: asyncpg.Connection, b: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO balances (balance_id, encounter_id, patient_account_id, claim_ids, items, total, patient_paid,"
        " written_off, revision, due_date, created_at, updated_at)"
        " VALUES ($1,$2,$3,$4,$5::jsonb,$6,$7,$8,1,$9,$10,$10)",
        b["balance_id"], b["encounter_id"], b["patient_account_id"], b["claim_ids"], b["items"], b["total"],
        b["patient_paid"], b["written_off"], b["due_date"], b["at"])


async def update_balance(conn: asyncpg.Connection, b: dict[str, Any]) -> None:
    await conn.execute(
        "UPDATE balances SET claim_ids = $2, items = $3::jsonb, total = $4, patient_paid = $5, written_off = $6,"
        " revision = revision + 1, updated_at = $7 WHERE balance_id = $1",
        b["balance_id"], b["claim_ids"], b["items"], b["total"], b["patient_paid"], b["written_off"], b["at"])


async def open_balances(conn: asyncpg.Connection, patient_account_id: str) -> list[OpenBalance]:
    rows = await conn.fetch(
        "SELECT balance_id, encounter_id, total - patient_paid - written_off AS due, created_at FROM balances"
        " WHERE patient_account_id = $1 AND total - patient_paid - written_off > 0 FOR UPDATE", patient_account_id)
    return [OpenBalance(r["balance_id"], r["encounter_id"], r["due"], r["created_at"].date()) for r in rows]


async def payment_by_key(conn: asyncpg.Connection, key: str) -> str | None:
    found: str | None = await conn.fetchval("SELECT payment_id FROM payments WHERE idempotency_key = $1", key)
    return found


async def insert_payment(conn: asyncpg.Connection, p: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO payments (payment_id, idempotency_key, patient_account_id, amount, method, received_on,"
        " applications, unapplied, credit_balance_id, posted_at) VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8,$9,$10)",
        p["payment_id"], p["idempotency_key"], p["patient_account_id"], p["amount"], p["method"], p["received_on"],
        p["applications"], p["unapplied"], p["credit_balance_id"], p["posted_at"])


async def insert_credit(conn: asyncpg.Connection, c: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO credits (credit_balance_id, patient_account_id, amount, remaining, origin, payment_id,"
        " balance_id, created_at) VALUES ($1,$2,$3,$3,$4,$5,$6,$7)",
        c["credit_balance_id"], c["patient_account_id"], c["amount"], c["origin"], c.get("payment_id"),
        c.get("balance_id"), c["at"])


async def credit(conn: asyncpg.Connection, credit_balance_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM credits WHERE credit_balance_id = $1 FOR UPDATE",
                                                     credit_balance_id)
    return row


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


# --------------------------------------------------------------------------- reports


async def fetch(conn: asyncpg.Connection, name: str, *args: object) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(REPORT_SQL[name], *args)
    return rows


REPORT_SQL: dict[str, str] = {
    # Insurance A/R per claim: submitted charge with no posting yet, or open denials.
    "payer_ar": (
        "SELECT s.payer_name AS payer, s.submitted_at AS since, s.total_charge AS amount FROM submissions s"
        " WHERE s.frequency <> '8' AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.claim_id = s.claim_id"
        " AND p.rank >= s.coverage_rank AND p.outcome <> 'unmatched')"
        " UNION ALL SELECT r.payer_name, d.opened_at, d.amount FROM denials d"
        " JOIN postings p ON p.posting_id = d.posting_id JOIN remittances r ON r.remittance_id = p.remittance_id"
        " WHERE NOT EXISTS (SELECT 1 FROM postings x WHERE x.reverses = d.posting_id)"),
    "patient_ar": (
        "SELECT created_at AS since, total - patient_paid - written_off AS amount FROM balances"
        " WHERE total - patient_paid - written_off > 0"),
    "ledger_totals": "SELECT account, sum(amount) AS total FROM ledger_entries GROUP BY account",
    "submission_counts": (
        "SELECT count(*) FILTER (WHERE frequency = '1') AS originals, count(DISTINCT claim_family_id) AS families,"
        " coalesce(sum(total_charge) FILTER (WHERE coverage_rank = 1 AND frequency <> '8'), 0) AS charges,"
        " coalesce(sum(total_charge) FILTER (WHERE coverage_rank = 1 AND frequency <> '8'"
        "   AND submitted_at >= $1), 0) AS recent_charges FROM submissions"),
    "first_postings": (
        "SELECT DISTINCT ON (p.claim_family_id) p.claim_family_id, p.outcome, p.paid, p.patient_resp,"
        " (SELECT count(*) FROM submissions s WHERE s.claim_family_id = p.claim_family_id) AS submissions"
        " FROM postings p WHERE p.claim_family_id IS NOT NULL AND p.status <> '22'"
        " ORDER BY p.claim_family_id, p.posted_at, p.posting_id"),
    "adjudicated": (
        "SELECT count(DISTINCT claim_id) AS claims FROM postings WHERE claim_id IS NOT NULL AND status <> '22'"),
    "denials_by_category": (
        "SELECT d.category, count(DISTINCT d.claim_id) AS claims, sum(d.amount) AS amount FROM denials d"
        " WHERE NOT EXISTS (SELECT 1 FROM postings x WHERE x.reverses = d.posting_id) GROUP BY d.category"
        " ORDER BY d.category"),
    "payments": (
        "SELECT coalesce(sum(amount) FILTER (WHERE account = 'payer_cash'), 0) AS payer,"
        " coalesce(sum(amount) FILTER (WHERE account = 'patient_cash'), 0) AS patient,"
        " coalesce(sum(amount) FILTER (WHERE account = 'contractual_writeoff'), 0) AS contractual"
        " FROM ledger_entries"),
}


async def audit_postings(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """For the audit: per claim posting, the charge and what the ledger says happened to it."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT p.posting_id, p.claim_id, p.remittance_id, p.charge, p.paid, p.patient_resp,"
        " COALESCE(sum(l.amount) FILTER (WHERE l.account = 'payer_cash'), 0) AS ledger_paid,"
        " COALESCE(sum(l.amount) FILTER (WHERE l.account LIKE 'patient_%'), 0) AS ledger_patient,"
        " COALESCE(sum(l.amount) FILTER (WHERE l.account IN ('contractual_writeoff', 'denied_open')), 0) AS ledger_co,"
        " COALESCE(sum(l.amount) FILTER (WHERE l.account = 'other_adjustment'), 0) AS ledger_other,"
        " COALESCE(-sum(l.amount) FILTER (WHERE l.account = 'claim_charge'), 0) AS ledger_charge"
        " FROM postings p JOIN ledger_entries l ON l.posting_id = p.posting_id AND l.kind IN ('claim', 'reversal')"
        " WHERE p.claim_id IS NOT NULL GROUP BY p.posting_id ORDER BY p.posting_id"
    )
    return rows


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
