"""Late-matched remittances through real Kafka and Postgres: an 835 whose claims arrive before
their ClaimSubmitted waits in suspense, and is re-posted exactly once when the submission comes,
with the same events a timely match makes; the 835/ClaimSubmitted race is closed by the CLP01 lock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import ClaimPayment, write_835
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.clock import FixedClock
from services.chassis.consumer import HandlerContext
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.remits import store
from services.remits.domain.cards import PayerLine, problems
from services.remits.handlers import on_claim_submitted
from services.remits.rows import SubmissionRow
from services.remits.service import remittances, unit
from tests.support.kafka_io import eventually, publish
from tests.support.remits_io import (
    cards,
    events,
    params,
    sql,
    submitted,
    wait_events,
    wait_sql,
)
from tests.unit.remits.builders import adj, claim, line, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal
ACCOUNT = "PA-LATE-1"


def paid(sub: str, status: str = "1") -> ClaimPayment:
    return claim(sub, status, "185.00", "74.50",
                 line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn=f"{sub}-1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{sub}-2"), pccn=f"P{sub}")


def line_denied(sub: str) -> ClaimPayment:
    return claim(sub, "1", "185.00", "58.00",
                 line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn=f"{sub}-1"),
                 line("35.00", "0.00", adj("CO", "97", "35.00"), lcn=f"{sub}-2"), pccn=f"P{sub}")


def underpaid(sub: str) -> ClaimPayment:
    return claim(sub, "1", "185.00", "67.50",
                 line("150.00", "51.00", adj("CO", "45", "59.00"), adj("PR", "3", "40.00"), lcn=f"{sub}-1",
                      allowed="91.00"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{sub}-2"), pccn=f"P{sub}")


def cli(*args: str) -> Any:
    return CliRunner().invoke(rcm, list(args))


def _same_shape(p: dict[str, Any], n: str) -> dict[str, Any]:
    """An event payload with the per-claim ids taken out (to compare a late and a timely posting)."""
    out = {k: v for k, v in p.items() if k not in ("claim_id", "claim_family_id", "encounter_id", "submission_id",
                                                     "payer_claim_control_number", "posted_at", "detected_at",
                                                     "created_at", "balance_id", "claim_ids", "items")}
    return json.loads(json.dumps(out).replace(f"S{n}", "S*"))


async def test_remittance_before_its_submission_is_reposted_once(platform: Settings, remits: Runtime,
                                                                 cli_env: None) -> None:
    # T1 is known in time; L1 (paid), L2 (a line denied) and L3 (underpaid) are not yet; X says "not ours".
    await publish(platform, submitted("ST1", "T1", ACCOUNT))
    await wait_sql(platform, "SELECT count(*) FROM submissions", 1, "T1's submission")
    not_ours = claim("SX1", "23", "185.00", "0.00", adjustments=(adj("OA", "23", "185.00"),))
    first = remittance("EFTLATE1", paid("ST1"), paid("SL1"), line_denied("SL2"), underpaid("SL3"), not_ours)
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", "early.835",
                                                            write_835([first], params(11)).encode())
    await wait_sql(platform, "SELECT count(*) FROM unmatched", 4, "the early claims in suspense")
    suspense = "SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = 'unmatched_suspense'"
    assert (await sql(platform, suspense))[0][0] == -(D("74.50") + D("58.00") + D("67.50"))

    listing = await asyncio.to_thread(cli, "remits", "unmatched", "--json")
    assert listing.exit_code == 0, listing.output
    held = {i["clp01"]: i for i in json.loads(listing.output)}
    assert sorted(held) == ["SL1", "SL2", "SL3", "SX1"]
    assert held["SL2"]["position"]["claim_index"] == 3 and held["SL2"]["total_paid"] == "58.00"
    assert held["SX1"]["reason"] == "not_our_claim" and held["SL1"]["reason"] == "unknown_submission_id"
    assert held["SL1"]["file_name"] == "early.835" and held["SL1"]["age_days"] >= 0
    table = await asyncio.to_thread(cli, "remits", "unmatched")
    assert table.exit_code == 0 and "SL3" in table.output

    # The submissions arrive (X's too: "not our claim" stays for a person). L1's comes three times:
    # the first, a redelivery of the same event, and a re-emission under a new envelope id.
    for n in ("L1", "L2", "L3", "X1"):
        envelope = await publish(platform, submitted(f"S{n}", n, ACCOUNT))
        if n == "L1":
            await publish(platform, submitted(f"S{n}", n, ACCOUNT), event_id=envelope.id)
            again = await publish(platform, submitted(f"S{n}", n, ACCOUNT))
    await wait_sql(platform, f"SELECT count(*) FROM inbox WHERE event_id = '{again.id}'", 1, "the re-emission")
    await wait_sql(platform, "SELECT count(*) FROM unmatched WHERE resolved_at IS NULL", 1, "the late matches")
    # X1's submission resolves nothing, so nothing above waited for it (it may sit on another partition).
    await wait_sql(platform, "SELECT count(*) FROM submissions", 5, "every submission, X1's too")

    # Exactly once: one claim posting per late claim, suspense emptied of them by an exact reverse.
    counts = await sql(platform, "SELECT claim_id, count(*) FROM postings WHERE claim_id IS NOT NULL"
                                 " GROUP BY claim_id ORDER BY claim_id")
    assert [(r[0], r[1]) for r in counts] == [("clm_L1", 1), ("clm_L2", 1), ("clm_L3", 1), ("clm_T1", 1)]
    assert (await sql(platform, suspense))[0][0] == D("0.00")  # X paid nothing
    releases = await sql(platform, "SELECT account, sum(amount) FROM ledger_entries WHERE kind = 'suspense_release'"
                                   " GROUP BY account ORDER BY account")
    assert [(r[0], r[1]) for r in releases] == [("payer_cash", D("-200.00")), ("unmatched_suspense", D("200.00"))]
    unbalanced = "SELECT journal_id FROM ledger_entries GROUP BY journal_id HAVING sum(amount) <> 0"
    assert await sql(platform, unbalanced) == []
    cash = await sql(platform, "SELECT r.total_payment, (SELECT sum(amount) FROM ledger_entries l WHERE"
                               " l.remittance_id = r.remittance_id AND l.account = 'payer_cash') FROM remittances r")
    assert [(r[0], r[1]) for r in cash] == [(first.total_payment, first.total_payment)]
    books = await cards(platform)
    for enc in ("enc_L1", "enc_L2", "enc_L3"):
        assert problems(books[enc]) == [] and books[enc].charge == D("185.00")
    # L1 left suspense, T1 matched on arrival: the same books.
    assert books["enc_L1"].payers == books["enc_T1"].payers == (
        PayerLine("60054", 1, D("74.50"), D("70.50"), D("0.00"), D("0.00"), D("40.00")),)

    # The same events a timely match makes: L1's posting is T1's, ids aside.
    got = await wait_events(platform, "rcm.remittances.v1", lambda names: names.count("ClaimPaymentPosted") == 4
                            and "ClaimDenied" in names and "UnderpaymentDetected" in names
                            and names.count("UnmatchedRemittanceResolved") == 3)
    posted = {p["claim_id"]: p for n, p in got if n == "ClaimPaymentPosted"}
    assert sorted(posted) == ["clm_L1", "clm_L2", "clm_L3", "clm_T1"]
    assert _same_shape(posted["clm_L1"], "L1") == _same_shape(posted["clm_T1"], "T1")
    assert posted["clm_L1"]["remittance_id"] == posted["clm_T1"]["remittance_id"]
    assert [(p["claim_id"], p["denial_scope"], [d["reason_code"] for d in p["denials"]])
            for n, p in got if n == "ClaimDenied"] == [("clm_L2", "line", ["97"])]
    assert [(p["claim_id"], p["total_variance"]) for n, p in got if n == "UnderpaymentDetected"] == [
        ("clm_L3", "-7.00")]
    assert sorted(p["reported_submission_id"] for n, p in got if n == "UnmatchedRemittance") == [
        "SL1", "SL2", "SL3", "SX1"]  # raised once each, when they arrived
    # Downstream learns each is resolved: once per claim payment (despite L1's redelivery and
    # re-emission), after its UnmatchedRemittance, naming the same position, with what left suspense.
    names = [n for n, _ in got]
    resolved = [p for n, p in got if n == "UnmatchedRemittanceResolved"]
    assert sorted((p["reported_submission_id"], p["position"]["claim_index"], p["claim_id"], p["encounter_id"],
                   p["amount_released"], p["resolution"]) for p in resolved) == [
        ("SL1", 2, "clm_L1", "enc_L1", "74.50", "claim_submitted"),
        ("SL2", 3, "clm_L2", "enc_L2", "58.00", "claim_submitted"),
        ("SL3", 4, "clm_L3", "enc_L3", "67.50", "claim_submitted")]
    unmatched_events = {p["reported_submission_id"]: p for n, p in got if n == "UnmatchedRemittance"}
    for p in resolved:
        raised = unmatched_events[p["reported_submission_id"]]
        assert p["remittance_id"] == raised["remittance_id"] and p["position"] == raised["position"]
        assert p["resolved_at"] == "2026-04-08T15:00:00Z"
    assert names.index("UnmatchedRemittanceResolved") > max(i for i, n in enumerate(names)
                                                             if n == "UnmatchedRemittance")
    assert sum(D(p["amount_released"]) for p in resolved) == D("200.00")  # = the suspense_release journals
    outbox = await sql(platform, "SELECT count(*) FROM outbox"
                                 " WHERE event_type = 'rcm.remittances.UnmatchedRemittanceResolved.v1'")
    assert outbox[0][0] == 3  # written once each, in the re-posting's transaction

    balances = await wait_events(platform, "rcm.patient-balances.v1",
                                 lambda names: names.count("PatientBalanceCreated") == 4)
    created = {p["encounter_id"]: p for n, p in balances if n == "PatientBalanceCreated"}
    assert {k: v["amount_due"] for k, v in created.items()} == {"enc_T1": "40.00", "enc_L1": "40.00",
                                                                "enc_L2": "40.00", "enc_L3": "40.00"}
    assert _same_shape(created["enc_L1"], "L1") == _same_shape(created["enc_T1"], "T1")

    # The operator view now holds only "not our claim"; a sweep finds nothing more to do.
    left = json.loads((await asyncio.to_thread(cli, "remits", "unmatched", "--json")).output)
    assert [(i["clp01"], i["reason"], i["submission_known"]) for i in left] == [("SX1", "not_our_claim", True)]
    sweep = await asyncio.to_thread(cli, "remits", "rematch")
    assert sweep.exit_code == 0 and "re-posted 0" in sweep.output


async def resolutions(platform: Settings, clp01s: set[str]) -> list[dict[str, Any]]:
    """The UnmatchedRemittanceResolved events of these CLP01s, once at least one is on the topic
    (the outbox relay publishes after the commit)."""
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        nonlocal found
        found = [p for n, p in await events(platform, "rcm.remittances.v1")
                 if n == "UnmatchedRemittanceResolved" and p["reported_submission_id"] in clp01s]
        return bool(found)

    await eventually(check, timeout_s=60, what="UnmatchedRemittanceResolved")
    return found


async def test_an_835_and_its_submission_at_the_same_time(platform: Settings, remits: Runtime) -> None:
    """The 835 finds no submission and commits after the ClaimSubmitted handler started: the handler
    waits for the CLP01 lock, then sees the payment in suspense and re-posts it."""
    raw = write_835([remittance("EFTRACE", paid("SR1"))], params(21)).encode()
    event = submitted("SR1", "R1", ACCOUNT)
    ingest_conn = await asyncpg.connect(platform.database_url("remits"))
    handler_conn = await asyncpg.connect(platform.database_url("remits"))
    await store.init_codecs(handler_conn)
    try:
        tx = ingest_conn.transaction()
        await tx.start()
        result = await remittances.ingest(ingest_conn, raw, "race.835", "test", NOW)
        assert result.status == "posted"
        ctx = cast(HandlerContext, SimpleNamespace(conn=handler_conn, clock=FixedClock(NOW), memo={}))

        async def deliver() -> None:
            async with handler_conn.transaction():  # as the consumer runs it (service/unit.py)
                await unit.UNIT.prefetch(ctx, [event])
                await on_claim_submitted(ctx, event)
                await unit.UNIT.flush(ctx)

        task = asyncio.create_task(deliver())

        async def blocked() -> bool:
            activity = await sql(platform, "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $1",
                                 handler_conn.get_server_pid())
            return [tuple(r) for r in activity] == [("Lock", "advisory")]

        await eventually(blocked, timeout_s=10, what="the handler to wait for the CLP01 lock")
        assert not task.done()  # waiting for the 835's transaction to end
        await tx.commit()
        await asyncio.wait_for(task, timeout=10)
    finally:
        await ingest_conn.close()
        await handler_conn.close()
    rows = await sql(platform, "SELECT outcome, claim_id FROM postings WHERE reported_submission = 'SR1'"
                               " ORDER BY posted_at, outcome DESC")
    assert sorted((r[0], r[1]) for r in rows) == [("posted", "clm_R1"), ("unmatched", None)]
    held = await sql(platform, "SELECT resolved_posting_id IS NOT NULL FROM unmatched"
                               " WHERE reported_submission = 'SR1'")
    assert [r[0] for r in held] == [True]
    resolved = await resolutions(platform, {"SR1"})
    assert [(p["reported_submission_id"], p["claim_id"], p["resolution"]) for p in resolved] == [
        ("SR1", "clm_R1", "claim_submitted")]


async def test_sweep_reposts_what_was_missed_and_keeps_what_cannot_post(platform: Settings, remits: Runtime,
                                                                       cli_env: None) -> None:
    """Submissions recorded without the late match (before it existed): `rcm remits rematch` re-posts
    them; a held payment whose stored position no longer reads as posted stays, with the reason."""
    raw = write_835([remittance("EFTSWEEP", paid("SW1"), paid("SW2"))], params(41)).encode()
    conn = await asyncpg.connect(platform.database_url("remits"))
    await store.init_codecs(conn)
    try:
        assert (await remittances.ingest(conn, raw, "sweep.835", "test", NOW)).status == "posted"
        for n in ("W1", "W2"):
            e = submitted(f"S{n}", n, ACCOUNT)
            await store.save_submission(conn, SubmissionRow(
                submission_id=e.submission_id, claim_id=e.claim_id, claim_family_id=e.claim_family_id,
                encounter_id=e.encounter_id, patient_account_id=e.patient_account_id,
                payer_id=e.payer.payer_id, payer_name=e.payer.payer_name, coverage_rank=e.coverage_rank,
                next_payer_rank=None, frequency=e.frequency, total_charge=e.total_charge,
                lines=tuple(ln.model_dump(mode="json") for ln in e.lines), submitted_at=e.submitted_at))
        await conn.execute("UPDATE unmatched SET segment_number = 999 WHERE reported_submission = 'SW1'")
    finally:
        await conn.close()
    listing = json.loads((await asyncio.to_thread(cli, "remits", "unmatched", "--json")).output)
    assert {i["clp01"]: i["submission_known"] for i in listing if i["clp01"] in ("SW1", "SW2")} == {
        "SW1": True, "SW2": True}

    sweep = await asyncio.to_thread(cli, "remits", "rematch", "--reason", "claims lag")
    assert sweep.exit_code == 1, sweep.output
    assert "re-posted 1; 1 with a known submission still in suspense" in sweep.output
    left = {i["clp01"]: i for i in json.loads((await asyncio.to_thread(cli, "remits", "unmatched", "--json")).output)}
    assert "SW2" not in left
    assert left["SW1"]["last_attempt"] == "ST 0001 claim 1: the stored file does not hold that claim at that position"
    assert [(r[0], r[1]) for r in await sql(platform, "SELECT claim_id, outcome FROM postings"
                                                      " WHERE reported_submission IN ('SW1', 'SW2')"
                                                      " AND claim_id IS NOT NULL")] == [("clm_W2", "posted")]
    audit = await sql(platform, "SELECT action, subject, reason FROM audit_log WHERE action = 'remits.rematch'")
    assert [(r[0], r[1], r[2]) for r in audit] == [("remits.rematch", "SW2", "claims lag")]
    again = await asyncio.to_thread(cli, "remits", "rematch")
    assert again.exit_code == 1 and "re-posted 0" in again.output
    # The operator's sweep resolved SW2 (and said so, once); SW1 stays unresolved, with no event.
    swept = await resolutions(platform, {"SW1", "SW2"})
    assert [(p["reported_submission_id"], p["claim_id"], p["amount_released"], p["resolution"]) for p in swept] == [
        ("SW2", "clm_W2", "74.50", "operator_rematch")]
