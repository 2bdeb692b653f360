"""The set-based posting of an 835 (issue 17): the store's batch reads and writes against real
Postgres, each the same as its one-row form, and ingest of files whose claims depend on each other
or on what was posted before (a claim posted again, a reversal in the same file as its original):
postings, ledger, balances and the outbox as the rules say, events in posting order; and the
statements a file costs, the same for one claim as for many."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import asyncpg
import pytest

from edi.x835 import ClaimPayment, write_835
from schemas.remits import RemittanceReceived
from services.chassis import migrations, outbox
from services.chassis.db import create_pool
from services.chassis.settings import Settings
from services.remits import store
from services.remits.app import DEFINITION
from services.remits.domain.posting import LedgerRow
from services.remits.rows import CreditRow, Journal, SubmissionRow
from services.remits.service import remittances
from tests.support.counting import Counting
from tests.support.remits_io import params
from tests.unit.remits.builders import adj, claim, line, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture(scope="module")
async def pool(platform: Settings) -> AsyncIterator[asyncpg.Pool]:
    await migrations.migrate(platform, DEFINITION.name, migrations.service_migrations(DEFINITION.migrations),
                             DEFINITION.append_only)
    db = await create_pool(platform.database_url(DEFINITION.name), max_size=2)
    yield db
    await db.close()


async def submit(conn: asyncpg.Connection, key: str, account: str) -> str:
    """A one-line claim (100.00, 80.00 allowed) of its own encounter: its CLP01."""
    sub = f"SB{key}"
    await store.save_submission(conn, SubmissionRow(
        submission_id=sub, claim_id=f"clm_{key}", claim_family_id=f"fam_{key}", encounter_id=f"enc_{key}",
        patient_account_id=account, payer_id="ACME01", payer_name="Acme", coverage_rank=1, frequency="1",
        total_charge=D("100.00"), lines=({"line_control_number": f"{sub}-1", "charge_id": f"chg_{key}",
                                          "procedure_code": "99213", "service_date": "2026-03-02",
                                          "charge": "100.00", "expected_allowed": "80.00", "description": None},),
        submitted_at=NOW))
    return sub


def paid(sub: str, copay: str, pccn: str, status: str = "1") -> ClaimPayment:
    """The payer's answer: 80.00 allowed, `copay` to the patient; CLP02 22 negates every amount."""
    sign = "-" if status == "22" else ""
    pay = D("80.00") - D(copay)
    return claim(sub, status, f"{sign}100.00", f"{sign}{pay}",
                 line(f"{sign}100.00", f"{sign}{pay}", adj("CO", "45", f"{sign}20.00"),
                      adj("PR", "3", f"{sign}{copay}"), lcn=f"{sub}-1"), pccn=pccn)


async def ingest(conn: asyncpg.Connection, trace: str, icn: int, *claims: ClaimPayment,
                 at: datetime = NOW) -> remittances.IngestResult:
    text = write_835([remittance(trace, *claims)], params(icn))
    result = await remittances.ingest(conn, text.encode(), f"{trace}.835", "test", at)
    assert result.status == "posted", result.reason
    return result


async def outbox_of(conn: asyncpg.Connection, since: int) -> list[tuple[str, dict[str, Any]]]:
    rows = await conn.fetch("SELECT event_type, payload FROM outbox WHERE seq > $1 ORDER BY seq", since)
    return [(r["event_type"].rsplit(".", 2)[-2], json.loads(r["payload"])) for r in rows]


async def last_seq(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM outbox"))


async def assert_books_hold(conn: asyncpg.Connection, remittance_ids: list[str]) -> None:
    """Every journal balances; each remittance's payer cash is its BPR02."""
    _, unbalanced = await store.audit_unbalanced_journals(conn)
    assert unbalanced == []
    for rid in remittance_ids:
        bpr, cash = await conn.fetchrow(
            "SELECT r.total_payment, (SELECT coalesce(sum(amount), 0) FROM ledger_entries l WHERE l.remittance_id ="
            " r.remittance_id AND l.account = 'payer_cash') FROM remittances r WHERE r.remittance_id = $1", rid)
        assert cash == bpr


async def test_batch_reads_are_the_one_row_reads_of_each(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        subs = [await submit(conn, f"r{n}", "PA-BR") for n in range(3)]
        await ingest(conn, "EFTBR1", 901, *(paid(sub, "10.00", f"PBR{n}") for n, sub in enumerate(subs)))
        encounters = ["enc_r0", "enc_r1", "enc_r2", "enc_nosuch"]
        found = await store.submissions(conn, [*subs, "SBnosuch"])
        assert sorted(found) == sorted(subs)
        for s in subs:
            assert found[s] == await store.submission(conn, s)
        held = await store.book_balances(conn, encounters)
        lines = await store.governing_lines(conn, encounters)
        expected = await store.encounter_lines(conn, encounters)
        async with conn.transaction():
            balances = await store.balances_for_encounters(conn, encounters)
            await store.lock_books(conn, ["enc_r2", "enc_r0", "enc_r2"])  # unordered, repeated: one statement
        assert held["enc_nosuch"] == {} and lines["enc_nosuch"] == [] and expected["enc_nosuch"] == {}
        for encounter in encounters[:3]:
            assert held[encounter] == (await store.book_balances(conn, [encounter]))[encounter] != {}
            assert [ln.charge_id for ln in lines[encounter]] == [f"chg_{encounter[4:]}"]
            assert list(expected[encounter]) == [f"chg_{encounter[4:]}"]
            assert balances[encounter].total == D("10.00")
            assert await store.balance(conn, balances[encounter].balance_id) == balances[encounter]
        assert "enc_nosuch" not in balances


class RollBack(Exception):
    """Leaves what a test wrote in a transaction out of the database."""


async def test_batch_writes_keep_order_and_the_journal_rule(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await ingest(conn, "EFTORDER", 902, paid(await submit(conn, "order", "PA-ORD"), "10.00", "PORD"))
        received = RemittanceReceived.model_validate_json(await conn.fetchval(
            "SELECT payload FROM outbox WHERE event_type LIKE '%RemittanceReceived%' ORDER BY seq DESC LIMIT 1"))
        since = await last_seq(conn)
        # Events in one call: in the order given (seq), each with its own id.
        with pytest.raises(RollBack):
            async with conn.transaction():
                events = [received.model_copy(update={"trace_number": f"ORDER{n}"}) for n in range(5)]
                ids_ = await outbox.enqueue_many(conn, [(e, NOW + timedelta(seconds=n), None)
                                                        for n, e in enumerate(events)])
                assert len(set(ids_)) == 5
                assert [d["trace_number"] for _, d in await outbox_of(conn, since)] == [f"ORDER{n}" for n in range(5)]
                assert await outbox.enqueue_many(conn, []) == []
                raise RollBack
        # Several journals in one call, in order; one that does not balance is refused (by the statement: 0007).
        good = [Journal(f"jnl_batch{n}", "plb", (LedgerRow("payer_cash", D(n)), LedgerRow("interest", -D(n))), NOW,
                        {"payer_id": "ACME01"}) for n in (1, 2)]
        async with conn.transaction():
            await store.journals(conn, good)
        rows = await conn.fetch("SELECT journal_id, amount FROM ledger_entries WHERE journal_id LIKE 'jnl_batch%'"
                                " ORDER BY entry_id")
        assert [(r["journal_id"], r["amount"]) for r in rows] == [
            ("jnl_batch1", D("1.00")), ("jnl_batch1", D("-1.00")), ("jnl_batch2", D("2.00")),
            ("jnl_batch2", D("-2.00"))]
        with pytest.raises(asyncpg.RaiseError, match="does not balance"):
            async with conn.transaction():
                await store.journals(conn, [*good[:1], Journal("jnl_batch_bad", "plb", (
                    LedgerRow("payer_cash", D("3.00")),), NOW, {})])
        assert await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE journal_id = 'jnl_batch_bad'") == 0
        # Nor can a later statement unbalance a journal already written.
        with pytest.raises(asyncpg.RaiseError, match="jnl_batch2 does not balance"):
            async with conn.transaction():
                await store.journals(conn, [Journal("jnl_batch2", "plb", (LedgerRow("payer_cash", D("5.00")),), NOW,
                                                    {})])
        assert await conn.fetchval("SELECT sum(amount) FROM ledger_entries WHERE journal_id = 'jnl_batch2'") == 0


async def test_open_credits_are_found_per_account(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await store.insert_credit(conn, CreditRow(credit_balance_id="crd_batch1", patient_account_id="PA-CR1",
                                                  amount=D("5.00"), remaining=D("5.00"), origin="patient_overpayment",
                                                  created_at=NOW))
        await store.insert_credit(conn, CreditRow(credit_balance_id="crd_batch2", patient_account_id="PA-CR2",
                                                  amount=D("5.00"), remaining=D("0.00"), origin="patient_overpayment",
                                                  created_at=NOW))
        assert await store.accounts_with_open_credits(conn, ["PA-CR1", "PA-CR2", "PA-CR3"]) == {"PA-CR1"}


async def test_a_claim_posted_again_in_a_later_file_with_a_new_claim(pool: asyncpg.Pool) -> None:
    """File 2 repeats file 1's claim (same CLP01 and CLP07, a new trace) beside a new one: the
    repeat posts as a second payment of its own (the payer has now paid 140.00 of 100.00: the books
    move the copay off the patient and leave the payer's excess open; the same outcome, ledger and
    events as the claim-at-a-time posting before issue 17 gave), the new claim once, the cash of
    each file is its BPR02."""
    async with pool.acquire() as conn:
        a, b = await submit(conn, "dupA", "PA-DUP"), await submit(conn, "dupB", "PA-DUP")
        first = await ingest(conn, "EFTDUP1", 911, paid(a, "10.00", "PDUPA"))
        since = await last_seq(conn)
        second = await ingest(conn, "EFTDUP2", 912, paid(a, "10.00", "PDUPA"), paid(b, "15.00", "PDUPB"),
                              at=NOW + timedelta(minutes=1))
        await assert_books_hold(conn, first.remittance_ids + second.remittance_ids)
        posted = await conn.fetch("SELECT reported_submission, remittance_id, outcome FROM postings"
                                  " WHERE reported_submission = ANY($1::text[]) ORDER BY posted_at, claim_index",
                                  [a, b])
        assert [(r["reported_submission"], r["remittance_id"]) for r in posted] == [
            (a, first.remittance_ids[0]), (a, second.remittance_ids[0]), (b, second.remittance_ids[0])]
        due = dict(await conn.fetch("SELECT encounter_id, total FROM balances WHERE patient_account_id = 'PA-DUP'"))
        assert due == {"enc_dupA": D("0.00"), "enc_dupB": D("15.00")}
        events = await outbox_of(conn, since)
        assert [(kind, d.get("claim_id") or d.get("encounter_id"), d.get("revision")) for kind, d in events] == [
            ("RemittanceReceived", None, None), ("ClaimPaymentPosted", "clm_dupA", None),
            ("ClaimPaymentPosted", "clm_dupB", None), ("PatientBalanceUpdated", "enc_dupA", 2),
            ("PatientBalanceCreated", "enc_dupB", None)]
        # The same file again, and its remittance in a new envelope: nothing changes.
        counts = await conn.fetchval("SELECT (SELECT count(*) FROM postings) + (SELECT count(*) FROM ledger_entries)")
        text = write_835([remittance("EFTDUP2", paid(a, "10.00", "PDUPA"), paid(b, "15.00", "PDUPB"))], params(913))
        again = await remittances.ingest(conn, text.encode(), "again.835", "test", NOW + timedelta(minutes=2))
        assert again.status == "duplicate"
        assert await conn.fetchval(
            "SELECT (SELECT count(*) FROM postings) + (SELECT count(*) FROM ledger_entries)") == counts


async def test_a_reversal_in_the_same_file_as_its_original(pool: asyncpg.Pool) -> None:
    """One file: the claim paid (copay 10.00), the payer's reversal of that payment, the corrected
    payment (copay 25.00). The reversal finds the posting of the same file and takes it back
    exactly; the balance is the corrected share; events in the file's order."""
    async with pool.acquire() as conn:
        sub = await submit(conn, "rev", "PA-REV")
        since = await last_seq(conn)
        result = await ingest(conn, "EFTREV1", 921, paid(sub, "10.00", "PREV1"),
                              paid(sub, "10.00", "PREV1", status="22"), paid(sub, "25.00", "PREV2"))
        await assert_books_hold(conn, result.remittance_ids)
        rows = await conn.fetch("SELECT posting_id, status, reverses, paid FROM postings"
                                " WHERE reported_submission = $1 ORDER BY claim_index", sub)
        assert [(r["status"], r["paid"]) for r in rows] == [("1", D("70.00")), ("22", D("-70.00")),
                                                           ("1", D("55.00"))]
        assert rows[1]["reverses"] == rows[0]["posting_id"] and rows[2]["reverses"] is None
        lines = await conn.fetch("SELECT posting_id, paid, copay FROM posting_lines WHERE claim_id = 'clm_rev'"
                                 " ORDER BY paid")
        assert sorted((r["paid"], r["copay"]) for r in lines) == [
            (D("-70.00"), D("-10.00")), (D("55.00"), D("25.00")), (D("70.00"), D("10.00"))]
        balance = await conn.fetchrow("SELECT total, revision FROM balances WHERE encounter_id = 'enc_rev'")
        assert (balance["total"], balance["revision"]) == (D("25.00"), 1)
        events = await outbox_of(conn, since)
        assert [kind for kind, _ in events] == [
            "RemittanceReceived", "ClaimPaymentPosted", "ClaimPaymentReversed", "ClaimPaymentPosted",
            "PatientBalanceCreated"]
        assert events[-1][1]["total_patient_responsibility"] == "25.00"


async def test_a_file_costs_the_same_statements_for_one_claim_as_for_many(pool: asyncpg.Pool) -> None:
    """Statements sent per 835 file of paid claims (each a round trip, in the file's one
    transaction): the file and its remittance recorded unless seen (one each), the submissions
    read, postings, lines and journals written (one each), the books locked, read (four) and
    journaled, the balances read (three, and the accounts' open credits when a patient owes
    something) and written, every event of the file in one outbox statement, the file's status:
    19 for new balances, 18 for updates, whatever the file's size; 21 for reversals (what they
    reverse and its lines read for all of them, the accounts' credits); 10 for claims held in suspense
    (their CLP01s locked and read again, no books to restate). A file seen before costs 2; a
    remittance seen before (same payer and TRN02, new envelope) 4."""
    async with pool.acquire() as conn:
        sent: dict[str, int] = {}
        for size in (1, 6):
            subs = [await submit(conn, f"st{size}x{n}", f"PA-ST{size}") for n in range(size)]
            for answer, copay in enumerate(("10.00", "25.00")):  # balances created, then updated
                counting = Counting(conn)
                trace = f"EFTST{size}{answer}"
                result = await ingest(cast(asyncpg.Connection, counting), trace, 930 + 2 * size + answer,
                                      *(paid(sub, copay, f"PST{size}{n}") for n, sub in enumerate(subs)),
                                      at=NOW + timedelta(minutes=answer))
                await assert_books_hold(conn, result.remittance_ids)
                sent[f"{size} claims, balances {('created', 'updated')[answer]}"] = counting.sent
            counting = Counting(conn)  # the payer takes its second answer back: what each reverses, read at once
            result = await ingest(cast(asyncpg.Connection, counting), f"EFTSR{size}", 950 + size,
                                  *(paid(sub, "25.00", f"PST{size}{n}", "22") for n, sub in enumerate(subs)),
                                  at=NOW + timedelta(minutes=2))
            await assert_books_hold(conn, result.remittance_ids)
            sent[f"{size} claims reversed"] = counting.sent
        # The second answer paid the copay too (each balance updated down to zero), its reversal
        # gave the first answer's copay back to the patient; every reversal names the second answer.
        assert await conn.fetchval("SELECT count(*) FROM balances WHERE patient_account_id = 'PA-ST6'"
                                   " AND total = 10.00 AND revision = 3") == 6
        assert await conn.fetchval(
            "SELECT count(*) FROM postings r JOIN postings p ON p.posting_id = r.reverses JOIN remittances m"
            " ON m.remittance_id = p.remittance_id WHERE r.reported_submission LIKE 'SBst6x%'"
            " AND m.trace_number = 'EFTST61' AND r.paid = -p.paid") == 6
        for size in (1, 6):  # CLP01s remits never saw: each waits (its lock) and is looked up again, then suspense
            counting = Counting(conn)
            await ingest(cast(asyncpg.Connection, counting), f"EFTSU{size}", 940 + size,
                         *(paid(f"SBnever{size}x{n}", "10.00", f"PSU{size}{n}") for n in range(size)))
            sent[f"{size} claims unknown"] = counting.sent
        assert await conn.fetchval("SELECT count(*) FROM unmatched WHERE reported_submission LIKE 'SBnever%'") == 7
        text = write_835([remittance("EFTST10", paid("SBst1x0", "10.00", "PST10"))], params(932))
        for name, raw in (("file seen", text.encode()), ("remittance seen",
                          write_835([remittance("EFTST10", paid("SBst1x0", "10.00", "PST10"))], params(929)).encode())):
            counting = Counting(conn)
            seen = await remittances.ingest(cast(asyncpg.Connection, counting), raw, "again.835", "test", NOW)
            assert seen.status == "duplicate"
            sent[name] = counting.sent
        assert sent == {"1 claims, balances created": 19, "1 claims, balances updated": 18,
                        "6 claims, balances created": 19, "6 claims, balances updated": 18, "1 claims reversed": 21,
                        "6 claims reversed": 21, "1 claims unknown": 10,
                        "6 claims unknown": 10, "file seen": 2, "remittance seen": 4}
