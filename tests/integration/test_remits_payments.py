"""Patient payments through real Kafka + Postgres (and the HTTP and CLI doors): a payment naming a
statement (known from NotificationSent) pays that balance, not the oldest; unknown statements,
another account's statement or encounter are ignored (the money goes to the oldest balances of the
payer's own account); an overpayment credit is consumed when a later remittance creates a balance;
a refund of a used-up credit is rejected; ledger, balances and credits agree to the cent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import write_835
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.clock import FixedClock
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from services.remits import store
from services.remits.app import DEFINITION, create_app
from services.remits.rows import SubmissionRow
from services.remits.service import patient_payments, remittances
from tests.support.kafka_io import eventually, publish, read_topic
from tests.support.remits_io import params, sql, submitted, wait_sql
from tests.support.runtimes import running
from tests.support.testsvc import example
from tests.support.tokens import authorized
from tests.unit.remits.builders import adj, claim, line, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal
PAYER = "PA-PAY-1"
OTHER = "PA-PAY-2"


def paid(n: str, copay: str) -> Any:
    sub = f"SPAY{n}"
    pay1 = D("98.00") - D(copay)
    return claim(sub, "1", "185.00", str(pay1 + D("16.50")),
                 line("150.00", str(pay1), adj("CO", "45", "52.00"), adj("PR", "3", copay), lcn=f"{sub}-1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{sub}-2"), pccn=f"PCN{n}")


def payment(n: str, account: str, amount: str, **refs: str | None) -> Any:
    return example("rcm.intake.PatientPaymentReceived.v1", source_payment_id=f"pay-{n}",
                   idempotency_key=f"portal:pay-{n}", patient_account_id=account, amount=amount,
                   encounter_id=refs.get("encounter_id"), statement_id=refs.get("statement_id"))


def statement_sent(n: str, account: str | None, balance_id: str | None, statement_id: str | None) -> Any:
    return example("rcm.notifications.NotificationSent.v1", notification_id=f"ntf_PAY{n}",
                   related={"patient_account_id": account, "encounter_id": None, "claim_id": None,
                            "balance_id": balance_id, "remittance_id": None, "statement_id": statement_id})


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="module")
async def app(platform: Settings, clock: FixedClock, remits_poll: None) -> AsyncIterator[FastAPI]:
    async with running(DEFINITION, platform, clock=clock, app=create_app) as application:
        yield application


async def one(platform: Settings, query: str, *args: object) -> Any:
    return (await sql(platform, query, *args))[0][0]


async def due(platform: Settings) -> dict[str, Decimal]:
    return {r["encounter_id"]: r["due"] for r in await sql(
        platform, "SELECT encounter_id, total - patient_paid - written_off AS due FROM balances")}


async def post_835(platform: Settings, name: str, icn: int, *claims: Any) -> None:
    before = await one(platform, "SELECT count(*) FROM remittances")
    text = write_835([remittance(f"EFTP{icn}", *claims)], params(icn))
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", name, text.encode())
    await wait_sql(platform, "SELECT count(*) FROM remittances", before + 1, f"remittance {name}")


async def test_statement_payments_credits_and_refunds(platform: Settings, app: FastAPI, clock: FixedClock,
                                                      cli_env: None) -> None:
    for n, account in (("1", PAYER), ("2", PAYER), ("Q", OTHER), ("3", PAYER)):
        await publish(platform, submitted(f"SPAY{n}", f"p{n}", account))
    await wait_sql(platform, "SELECT count(*) FROM submissions", 4, "the ClaimSubmitted projection")

    # enc_p1 is the oldest balance (40.00); a day later enc_p2 (30.00) and the other account's enc_pQ (25.00).
    await post_835(platform, "one.835", 1, paid("1", "40.00"))
    clock.advance(timedelta(days=1))
    await post_835(platform, "two.835", 2, paid("2", "30.00"), paid("Q", "25.00"))
    assert await due(platform) == {"enc_p1": D("40.00"), "enc_p2": D("30.00"), "enc_pQ": D("25.00")}
    bal = {r["encounter_id"]: r["balance_id"] for r in await sql(platform, "SELECT * FROM balances")}

    # Statements are learnt from NotificationSent; other notifications are ignored, not dead-lettered.
    await publish(platform, statement_sent("1", PAYER, bal["enc_p2"], "stm_PAY2"))
    await publish(platform, statement_sent("2", OTHER, bal["enc_pQ"], "stm_PAYQ"))
    await publish(platform, statement_sent("3", None, None, None))
    await publish(platform, example("rcm.notifications.NotificationFailed.v1"))
    await wait_sql(platform, "SELECT count(*) FROM statements", 2, "the statement projection")
    assert {r["statement_id"]: r["balance_id"] for r in await sql(platform, "SELECT * FROM statements")} == {
        "stm_PAY2": bal["enc_p2"], "stm_PAYQ": bal["enc_pQ"]}

    # Kafka: a payment naming the statement pays that balance, not the oldest one.
    await publish(platform, payment("1", PAYER, "30.00", statement_id="stm_PAY2"))
    await wait_sql(platform, "SELECT count(*) FROM payments", 1, "the statement payment")
    assert await due(platform) == {"enc_p1": D("40.00"), "enc_p2": D("0.00"), "enc_pQ": D("25.00")}

    # HTTP: an unknown statement is ignored (said on the payment), the money goes to the oldest balance.
    async with authorized(app, platform, name="cashier-2", scope=Scope.OPERATE) as client:
        body = payment("h", PAYER, "10.00", statement_id="stm_UNKNOWN").model_dump(mode="json")
        answer = await client.post("/v1/payments", json=body)
    assert answer.status_code == 202, answer.text
    ignored = await sql(platform, "SELECT reference_ignored, statement_id FROM payments WHERE payment_id = $1",
                        answer.json()["payment_id"])
    assert [tuple(r) for r in ignored] == [("unknown_statement", "stm_UNKNOWN")]
    assert await due(platform) == {"enc_p1": D("30.00"), "enc_p2": D("0.00"), "enc_pQ": D("25.00")}

    # CLI: another account's statement never pays that account's balance.
    result = await asyncio.to_thread(CliRunner().invoke, rcm, ["payments", "post", PAYER, "5.00", "--statement",
                                                               "stm_PAYQ", "--key", "frontdesk:r-1"])
    assert result.exit_code == 0, result.output
    assert await one(platform, "SELECT reference_ignored FROM payments WHERE idempotency_key = 'frontdesk:r-1'") == (
        "statement_of_another_account")
    # Kafka: nor does another account's encounter.
    await publish(platform, payment("2", PAYER, "7.00", encounter_id="enc_pQ"))
    await wait_sql(platform, "SELECT count(*) FROM payments", 4, "the payment naming another account's encounter")
    assert await one(platform, "SELECT reference_ignored FROM payments WHERE idempotency_key = 'portal:pay-2'") == (
        "encounter_of_another_account")
    assert await due(platform) == {"enc_p1": D("18.00"), "enc_p2": D("0.00"), "enc_pQ": D("25.00")}

    # An overpayment becomes a credit; the next remittance's new balance (20.00) consumes it at once.
    await publish(platform, payment("3", PAYER, "50.00"))
    await wait_sql(platform, "SELECT count(*) FROM credits", 1, "the overpayment credit")
    credit = (await sql(platform, "SELECT * FROM credits"))[0]
    assert (credit["amount"], credit["remaining"], credit["origin"]) == (D("32.00"), D("32.00"), "patient_overpayment")
    clock.advance(timedelta(days=1))
    await post_835(platform, "three.835", 3, paid("3", "20.00"))
    assert await due(platform) == {"enc_p1": D("0.00"), "enc_p2": D("0.00"), "enc_pQ": D("25.00"),
                                   "enc_p3": D("0.00")}
    assert await one(platform, "SELECT remaining FROM credits") == D("12.00")

    # A refund of more than remains of the credit is rejected (recorded, nothing posted); the rest refunds.
    crd = credit["credit_balance_id"]
    for n, amount in (("1", "32.00"), ("2", "12.00")):
        await publish(platform, example("rcm.intake.PatientRefundIssued.v1", source_refund_id=f"rfd-{n}",
                                        idempotency_key=f"portal:rfd-{n}", patient_account_id=PAYER,
                                        credit_balance_id=crd, amount=amount))
    await wait_sql(platform, "SELECT count(*) FROM refunds", 1, "the refund of what remained")
    seen = await one(platform, "SELECT count(*) FROM inbox")
    await publish(platform, example("rcm.intake.PatientRefundIssued.v1", source_refund_id="rfd-2",
                                    idempotency_key="portal:rfd-2", patient_account_id=PAYER, credit_balance_id=crd,
                                    amount="12.00"))  # the same refund again in a new envelope: a no-op
    await wait_sql(platform, "SELECT count(*) FROM inbox", seen + 1, "the refund sent again")
    assert await one(platform, "SELECT count(*) FROM refunds") == 1
    assert [tuple(r) for r in await sql(platform, "SELECT idempotency_key, amount, remaining, reason"
                                                  " FROM refund_rejections")] == [
        ("portal:rfd-1", D("32.00"), D("12.00"), "exceeds_remaining")]
    assert await one(platform, "SELECT remaining FROM credits") == D("0.00")
    listed = await asyncio.to_thread(CliRunner().invoke, rcm, ["payments", "refund-rejections", "--json"])
    assert listed.exit_code == 1 and [(r["credit_balance_id"], r["reason"]) for r in json.loads(listed.output)] == [
        (crd, "exceeds_remaining")]

    # Events: the statement payment names its balance; the new balance is created, then paid by the credit.
    got = await wait_events(platform, lambda ns: ns.count("PatientPaymentPosted") == 5 and ns.count(
        "PatientBalanceCreated") == 4 and ns.count("CreditBalanceCreated") == 1)
    posted = {p["idempotency_key"]: p for n, p in got if n == "PatientPaymentPosted"}
    assert [(a["balance_id"], a["amount"]) for a in posted["portal:pay-1"]["applications"]] == [
        (bal["enc_p2"], "30.00")]
    assert posted["portal:pay-3"]["unapplied_amount"] == "32.00"
    p3 = [(n, p.get("reason"), p["amount_due"], p.get("previous_amount_due")) for n, p in got
          if n.startswith("PatientBalance") and p["encounter_id"] == "enc_p3"]
    assert p3 == [("PatientBalanceCreated", None, "20.00", None),
                  ("PatientBalanceUpdated", "patient_payment", "0.00", "20.00")]
    assert not any(p["encounter_id"] == "enc_pQ" for n, p in got if n == "PatientBalanceUpdated")
    assert await read_topic(platform, "rcm.remits.dlq.v1") == []

    # To the cent: balance = patient share - payments - write-offs; credits = overpayments - applied - refunded.
    assert await sql(platform, "SELECT journal_id FROM ledger_entries GROUP BY journal_id"
                               " HAVING sum(amount) <> 0") == []
    for b in await sql(platform, "SELECT * FROM balances"):
        applied = await one(platform, "SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE account ="
                                      " 'patient_payments_applied' AND (code = $1 OR balance_id = $1)", b["balance_id"])
        shares = sum((D(i["patient_responsibility"]) for i in json.loads(b["items"])), D(0))
        assert b["total"] == shares and b["patient_paid"] == applied, b["encounter_id"]
    assert await one(platform, "SELECT sum(total) FROM balances") == D("40.00") + D("30.00") + D("25.00") + D("20.00")
    assert await one(platform, "SELECT sum(patient_paid) FROM balances") == D("90.00")
    cash = await one(platform, "SELECT sum(amount) FROM ledger_entries WHERE account = 'patient_cash'")
    assert cash == D("30.00") + D("10.00") + D("5.00") + D("7.00") + D("50.00") - D("12.00") == D("90.00")
    used = await one(platform, "SELECT sum(amount) FROM ledger_entries WHERE kind = 'credit_applied'"
                               " AND account = 'patient_credit'")
    refunded = await one(platform, "SELECT sum(amount) FROM refunds")
    overpaid = await one(platform, "SELECT sum(amount) FROM credits")
    remaining = await one(platform, "SELECT sum(remaining) FROM credits")
    ledger_credit = await one(platform, "SELECT -sum(amount) FROM ledger_entries WHERE account = 'patient_credit'")
    assert (overpaid, used, refunded) == (D("32.00"), D("20.00"), D("12.00"))
    assert overpaid - used - refunded == remaining == ledger_credit == 0


async def wait_events(platform: Settings, predicate: Any) -> list[tuple[str, dict[str, Any]]]:
    got: list[tuple[str, dict[str, Any]]] = []

    async def check() -> bool:
        nonlocal got
        got = [(dict(h)["ce_type"].decode().split(".")[2], json.loads(v))
               for _, v, h in await read_topic(platform, "rcm.patient-balances.v1")]
        return bool(predicate([n for n, _ in got]))

    await eventually(check, timeout_s=60, what="patient-balance events")
    return got


async def one_line_submission(conn: Any, account: str, sub: str, key: str) -> None:
    """A 100.00 visit (80.00 allowed) on its own encounter `enc_{key}`."""
    await store.save_submission(conn, SubmissionRow(
        submission_id=sub, claim_id=f"clm_{key}", claim_family_id=f"fam_{key}", encounter_id=f"enc_{key}",
        patient_account_id=account, payer_id="ACME01", payer_name="Acme", coverage_rank=1,
        next_payer_rank=None, frequency="1", total_charge=D("100.00"),
        lines=({"line_control_number": f"{sub}-1", "charge_id": f"chg_{key}", "procedure_code": "99213",
                "service_date": "2026-03-02", "charge": "100.00", "expected_allowed": "80.00",
                "description": None},),
        submitted_at=NOW))


def one_line_paid(sub: str, status: str, copay: str, pccn: str) -> Any:
    """The payer's answer for `one_line_submission`: CLP02 22 negates every amount."""
    sign = "-" if status == "22" else ""
    pay = D("80.00") - D(copay)
    return claim(sub, status, f"{sign}100.00", f"{sign}{pay}",
                 line(f"{sign}100.00", f"{sign}{pay}", adj("CO", "45", f"{sign}20.00"),
                      adj("PR", "3", f"{sign}{copay}"), lcn=f"{sub}-1"), pccn=pccn)


async def ingest(conn: Any, at: datetime, icn: int, *claims: Any) -> None:
    text = write_835([remittance(f"EFTR{icn}", *claims)], params(icn))
    result = await remittances.ingest(conn, text.encode(), f"r{icn}.835", "test", at)
    assert result.status == "posted", result.reason


async def pay(conn: Any, at: datetime, key: str, account: str, amount: str) -> None:
    async with conn.transaction():
        await patient_payments.post_payment(conn, idempotency_key=f"portal:pay-{key}", patient_account_id=account,
                                    amount=D(amount), method="card", received_on=NOW.date(), encounter_id=None,
                                    at=at)


async def books_balance(conn: Any) -> None:
    assert await conn.fetchval("SELECT count(*) FROM ledger_entries GROUP BY journal_id HAVING sum(amount) <> 0"
                               " LIMIT 1") is None


async def test_a_credit_from_a_lowered_balance_pays_it_back_when_it_grows(
    platform: Settings, app: FastAPI, clock: FixedClock
) -> None:
    """Paid 40.00, the claim is reversed (the payment becomes a balance_reduced_after_payment
    credit), then corrected with a 30.00 share: the credit pays the grown balance at once."""
    account, sub = "PA-PAY-3", "SPAYR"
    pool = app.state.runtime.db
    async with pool.acquire() as conn:
        await one_line_submission(conn, account, sub, "pR")
        await ingest(conn, clock.now(), 11, one_line_paid(sub, "1", "40.00", "PCNR1"))
        await pay(conn, clock.now(), "r", account, "40.00")
        await ingest(conn, clock.now(), 12, one_line_paid(sub, "22", "40.00", "PCNR1"))
        row = await conn.fetchrow("SELECT * FROM balances WHERE encounter_id = 'enc_pR'")
        assert (row["total"], row["patient_paid"]) == (D("0.00"), D("0.00"))
        credit = await conn.fetchrow("SELECT * FROM credits WHERE patient_account_id = $1", account)
        assert (credit["origin"], credit["remaining"]) == ("balance_reduced_after_payment", D("40.00"))
        await ingest(conn, clock.now(), 13, one_line_paid(sub, "1", "30.00", "PCNR2"))
        row = await conn.fetchrow("SELECT * FROM balances WHERE encounter_id = 'enc_pR'")
        assert (row["total"], row["patient_paid"]) == (D("30.00"), D("30.00"))
        assert await conn.fetchval("SELECT remaining FROM credits WHERE credit_balance_id = $1",
                                   credit["credit_balance_id"]) == D("10.00")
        ledger_credit = await conn.fetchval("SELECT -sum(amount) FROM ledger_entries WHERE account = 'patient_credit'"
                                            " AND patient_account_id = $1", account)
        applied = await conn.fetchval("SELECT -sum(amount) FROM ledger_entries WHERE account ="
                                      " 'patient_payments_applied' AND patient_account_id = $1", account)
        assert ledger_credit == D("10.00") and applied == row["patient_paid"] == D("30.00")
        await books_balance(conn)


async def test_a_credit_from_a_lowered_balance_pays_the_other_open_balances_first(
    platform: Settings, app: FastAPI, clock: FixedClock
) -> None:
    """Visit X paid by the patient (40.00); visit Y leaves 25.00 open; X's claim is reversed: the
    40.00 pays Y's 25.00 at once and only 15.00 waits as a credit."""
    account = "PA-PAY-4"
    pool = app.state.runtime.db
    async with pool.acquire() as conn:
        await one_line_submission(conn, account, "SPAYX", "pX")
        await one_line_submission(conn, account, "SPAYY", "pY")
        await ingest(conn, clock.now(), 21, one_line_paid("SPAYX", "1", "40.00", "PCNX1"))
        await pay(conn, clock.now(), "x", account, "40.00")
        await ingest(conn, clock.now(), 22, one_line_paid("SPAYY", "1", "25.00", "PCNY1"))
        await ingest(conn, clock.now(), 23, one_line_paid("SPAYX", "22", "40.00", "PCNX1"))
        dues = {r["encounter_id"]: (r["total"], r["patient_paid"]) for r in await conn.fetch(
            "SELECT encounter_id, total, patient_paid FROM balances WHERE patient_account_id = $1", account)}
        assert dues == {"enc_pX": (D("0.00"), D("0.00")), "enc_pY": (D("25.00"), D("25.00"))}
        credit = await conn.fetchrow("SELECT * FROM credits WHERE patient_account_id = $1", account)
        assert (credit["amount"], credit["remaining"]) == (D("40.00"), D("15.00"))
        tail = [(r["event_type"].split(".")[2], json.loads(r["payload"]).get("encounter_id"),
                 json.loads(r["payload"]).get("amount_due")) for r in await conn.fetch(
            "SELECT event_type, payload FROM outbox WHERE message_key = $1 ORDER BY seq DESC LIMIT 3", account)]
        assert tail[::-1] == [("CreditBalanceCreated", None, None), ("PatientBalanceUpdated", "enc_pX", "0.00"),
                              ("PatientBalanceUpdated", "enc_pY", "0.00")], tail
        await books_balance(conn)
