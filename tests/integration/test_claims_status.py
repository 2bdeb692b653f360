"""Claim status follow-up (276/277) in the claims service, real Kafka and Postgres: a silent claim
past its follow-up date gets a 276 in outbound/; the 277 dropped in inbound/status/ is applied
(ERA missing, asked again later, sent again when the payer has no record); a claim whose 835
came gets none; `rcm claims status` asks on demand."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from edi import x276, x277
from edi.envelope import EnvelopeParams
from edi.validate import validate
from edi.x835 import read_835
from sandbox.clearinghouse_loop import Sandbox, Timing
from sandbox.payers import load_payers
from schemas import examples as ex
from services.chassis.app import mount_service
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from services.claims import background
from services.claims.service import operator
from services.claims.store import ClaimsStore
from tests.integration.test_claims_flow import (
    REPO,
    TODAY,
    claim_events,
    claims_running,
    cli,
    outbound_text,
    payment,
    post_encounter,
    wait_for,
    write_999,
)
from tests.support.kafka_io import count, eventually, publish
from tests.support.tokens import authorized

pytestmark = pytest.mark.integration
POLICY = background.STATUS  # recheck 14 days, resubmit after 7, 3 asks, 7 days apart (the defaults)


@pytest.fixture(scope="module")
async def claims(platform: Settings) -> AsyncIterator[Runtime]:
    async with claims_running(platform, timers_s=3600, status_s=0.1) as runtime:  # the tests run the timers
        loaded, fees = operator.read_payer_master(REPO / "deploy" / "local" / "payers.yaml")
        async with runtime.db.acquire() as conn, conn.transaction():
            await operator.load_payers(ClaimsStore(conn), loaded, fees, "payers.yaml", "pytest", "test setup", TODAY)
        yield runtime


@pytest.fixture(autouse=True)
def at_today(claims: Runtime) -> FixedClock:
    """Every test starts at TODAY (timely filing judges the claims it creates by the clock)."""
    clock = claims.clock
    assert isinstance(clock, FixedClock)
    clock.set(TODAY)
    return clock


async def submitted_claim(platform: Settings) -> dict[str, Any]:
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    return submitted


async def requests_of(platform: Settings, claim_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(platform.database_url("claims"))  # type: ignore[arg-type]
    try:
        rows = await conn.fetch(
            "SELECT * FROM claim_status_requests WHERE claim_id = $1 ORDER BY queued_at, request_id", claim_id)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def sent_276(platform: Settings, claim_id: str, n: int = 1) -> tuple[dict[str, Any], x276.StatusInquiry]:
    """The claim's n-th request once its 276 is in outbound/: the row and the inquiry read back."""
    rows: list[dict[str, Any]] = []

    async def sent() -> bool:
        nonlocal rows
        rows = await requests_of(platform, claim_id)
        return len(rows) >= n and rows[n - 1]["state"] != "pending" and (
            platform.clearinghouse / "outbound" / rows[n - 1]["file_name"]).is_file()

    await eventually(sent, timeout_s=30, what=f"276 #{n} in outbound/")
    row = rows[n - 1]
    text = (platform.clearinghouse / "outbound" / row["file_name"]).read_text()
    assert row["file_name"] == f"{row['interchange_control_number']}.276"
    assert validate(text) == []
    [inquiry] = [i for i in x276.read_276(text) if i.trace_number == row["trace_number"]]
    return row, inquiry


def write_277(platform: Settings, inquiry: x276.StatusInquiry, category: str, status: str, *,
              paid: Decimal | None = None, trace: str | None = None) -> str:
    finalized = category.startswith("F")
    response = x277.StatusResponse(
        trace_number=trace or inquiry.trace_number, payer_name=inquiry.payer_name, payer_id=inquiry.payer_id,
        receiver_name="Revcycle Billing", receiver_id="REVCYCLE", provider_name=inquiry.provider_name,
        provider_npi=inquiry.provider_npi,
        subscriber=x277.Person(last_name=inquiry.subscriber.last_name, first_name=inquiry.subscriber.first_name,
                               member_id=inquiry.subscriber.member_id),
        patient_control_number=inquiry.patient_control_number,
        payer_claim_control_number="AE2026030200017" if finalized else None,
        service_date=inquiry.service_date,
        statuses=(x277.Status(
            category_code=category, status_code=status, entity_code="PR" if finalized else None,
            effective_date=TODAY.date(), total_charge=inquiry.total_charge, paid_amount=paid,
            adjudication_date=TODAY.date() - timedelta(days=3) if finalized else None,
            payment_date=TODAY.date() - timedelta(days=1) if paid else None,
            check_number="EFT000451" if paid else None),))
    text = x277.render_277([response], EnvelopeParams(
        sender_id="RCMCLEARINGHSE", receiver_id="REVCYCLE", interchange_control_number=int(uuid.uuid4().int % 10**8),
        group_control_number=1, created=TODAY))
    name = f"{uuid.uuid4().hex[:8]}.277"
    folder = platform.clearinghouse / "inbound" / "status"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return name


async def past_follow_up(claims: Runtime, clock: FixedClock) -> None:
    clock.advance(timedelta(days=31))  # past Aetna's 30 follow-up days
    await background.timers_once(claims)


async def asked_about(platform: Settings, claims: Runtime, clock: FixedClock) -> tuple[dict[str, Any],
                                                                                        x276.StatusInquiry]:
    """A submitted claim past its follow-up date, and the 276 that asked about it."""
    submitted = await submitted_claim(platform)
    await past_follow_up(claims, clock)
    _, inquiry = await sent_276(platform, submitted["claim_id"])
    return submitted, inquiry


async def answered(platform: Settings, submitted: dict[str, Any], inquiry: x276.StatusInquiry, category: str,
                   status: str) -> dict[str, Any]:
    """The ClaimStatusChecked of a 277 answering the inquiry with one STC."""
    write_277(platform, inquiry, category, status)
    [checked] = await wait_for(platform, submitted["encounter_id"], "ClaimStatusChecked")
    return checked


async def test_a_silent_claim_gets_a_276_and_a_paid_answer_without_835_raises_era_missing(
        platform: Settings, claims: Runtime, at_today: FixedClock, cli_env: None) -> None:
    submitted = await submitted_claim(platform)
    claim_id = submitted["claim_id"]
    await past_follow_up(claims, at_today)
    # The follow-up is raised as before (with the first 276), for a claim never acknowledged.
    [due] = await wait_for(platform, submitted["encounter_id"], "ClaimFollowUpDue")
    assert due["reason"] == "no_acknowledgment"
    row, inquiry = await sent_276(platform, claim_id)
    assert (row["trigger"], row["submission_id"]) == ("follow_up", submitted["submission_id"])
    assert inquiry.patient_control_number == submitted["submission_id"]
    assert inquiry.total_charge == Decimal(submitted["total_charge"])
    assert (inquiry.payer_id, inquiry.provider_npi) == ("60054", submitted["billing_provider_npi"])
    assert inquiry.service_date == date.fromisoformat(submitted["lines"][0]["service_date"])

    name = write_277(platform, inquiry, "F1", "65", paid=Decimal("141.20"))
    [checked] = await wait_for(platform, submitted["encounter_id"], "ClaimStatusChecked")
    assert (checked["category_code"], checked["status_code"], checked["entity_code"]) == ("F1", "65", "PR")
    assert (checked["outcome"], checked["action"], checked["trigger"]) == ("finalized_paid", "era_missing", "follow_up")
    assert (checked["paid_amount"], checked["total_charge"]) == ("141.20", submitted["total_charge"])
    assert (checked["check_number"], checked["payer_claim_control_number"]) == ("EFT000451", "AE2026030200017")
    assert checked["next_check_on"] is None
    dues = await wait_for(platform, submitted["encounter_id"], "ClaimFollowUpDue", 2)
    assert dues[1]["reason"] == "era_missing" and dues[1]["submission_id"] == submitted["submission_id"]
    assert dues[1]["days_outstanding"] == 31
    assert not (platform.clearinghouse / "inbound" / "status" / name).exists()  # archived
    assert (platform.clearinghouse / "archive" / "inbound_status" / name).is_file()

    shown = await cli(["claims", "show", claim_id, "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    answered = [h for h in data["history"] if h["trigger"] == "status_answered"]
    assert [(h["detail"]["stc"], h["detail"]["outcome"], h["event_type"]) for h in answered] == [
        (["F1:65:PR"], "finalized_paid", "ClaimStatusChecked")]
    [request] = data["status_requests"]
    assert (request["state"], request["outcome"], request["action"]) == ("answered", "finalized_paid", "era_missing")
    follow_ups = [h["detail"] for h in data["history"] if h["trigger"] == "follow_up"]
    assert follow_ups == [{"reason": "no_acknowledgment", "status_request_id": request["request_id"]},
                          {"reason": "era_missing", "request_id": request["request_id"]}]
    plain = await cli(["claims", "show", claim_id])
    assert plain.exit_code == 0 and "claim status requests (276/277):" in plain.output
    assert f"{request['request_id']}  {claim_id}  follow_up  answered  finalized_paid  era_missing" in plain.output


async def test_a_pending_answer_is_asked_again_after_the_interval_not_before(
        platform: Settings, claims: Runtime, at_today: FixedClock) -> None:
    submitted, inquiry = await asked_about(platform, claims, at_today)
    checked = await answered(platform, submitted, inquiry, "P1", "20")
    asked_on = at_today.today()
    assert (checked["outcome"], checked["action"]) == ("pending", "follow_up_scheduled")
    assert checked["next_check_on"] == (asked_on + timedelta(days=POLICY.recheck_days)).isoformat()

    at_today.advance(timedelta(days=POLICY.recheck_days - 1))
    await background.timers_once(claims)
    assert len(await requests_of(platform, submitted["claim_id"])) == 1  # not before the interval
    at_today.advance(timedelta(days=1))
    await background.timers_once(claims)
    second, again = await sent_276(platform, submitted["claim_id"], 2)
    assert (second["trigger"], again.patient_control_number) == ("follow_up", submitted["submission_id"])
    assert second["trace_number"] != inquiry.trace_number
    await background.timers_once(claims)  # acted on once
    assert len(await requests_of(platform, submitted["claim_id"])) == 2

    await publish(platform, payment(submitted))  # the 835 comes: the chase stops
    await wait_for(platform, submitted["encounter_id"], "ClaimAdjudicated")
    at_today.advance(timedelta(days=60))
    await background.timers_once(claims)
    assert len(await requests_of(platform, submitted["claim_id"])) == 2


async def test_a_not_found_answer_sends_the_claim_again_after_the_wait(
        platform: Settings, claims: Runtime, at_today: FixedClock) -> None:
    submitted, inquiry = await asked_about(platform, claims, at_today)
    checked = await answered(platform, submitted, inquiry, "A4", "35")
    assert (checked["outcome"], checked["action"]) == ("not_found", "resubmit_scheduled")
    assert checked["next_check_on"] == (at_today.today() + timedelta(days=POLICY.resubmit_wait_days)).isoformat()

    at_today.advance(timedelta(days=POLICY.resubmit_wait_days - 1))
    await background.timers_once(claims)
    assert [t for t, _ in await claim_events(platform, submitted["encounter_id"])].count("ClaimResubmitted") == 0
    at_today.advance(timedelta(days=1))
    await background.timers_once(claims)
    [resubmitted] = await wait_for(platform, submitted["encounter_id"], "ClaimResubmitted")
    assert resubmitted["previous_submission_id"] == submitted["submission_id"]
    assert resubmitted["reason"] == (f"the payer had no record of submission {submitted['submission_id']} "
                                     "(277 A4:35): sent again")
    again = (await wait_for(platform, submitted["encounter_id"], "ClaimSubmitted", 2))[1]
    assert again["submission_id"] == resubmitted["submission_id"] != submitted["submission_id"]
    assert (platform.clearinghouse / "outbound" / again["interchange"]["file_name"]).name.endswith(".837")


async def test_a_claim_whose_835_came_gets_no_276(platform: Settings, claims: Runtime,
                                                  at_today: FixedClock) -> None:
    submitted = await submitted_claim(platform)
    await publish(platform, payment(submitted))
    await wait_for(platform, submitted["encounter_id"], "ClaimAdjudicated")
    await past_follow_up(claims, at_today)
    await background.timers_once(claims)
    assert await requests_of(platform, submitted["claim_id"]) == []


async def test_unreadable_and_unmatched_277s_are_kept_flagged_and_archived(
        platform: Settings, claims: Runtime, at_today: FixedClock, cli_env: None) -> None:
    submitted, inquiry = await asked_about(platform, claims, at_today)
    folder = platform.clearinghouse / "inbound" / "status"
    (folder / "garbage.277").write_text("not an interchange")
    stranger = write_277(platform, inquiry, "F1", "65", paid=Decimal("1.00"), trace="csr_NOSUCHREQUEST")
    flagged = "SELECT count(*) FROM acknowledgments WHERE kind = '277' AND flagged AND file_name = $1"

    async def kept() -> bool:
        return (await count(platform, "claims", flagged, "garbage.277") == 1
                and await count(platform, "claims", flagged, stranger) == 1)

    await eventually(kept, timeout_s=30, what="both 277s flagged")
    assert (platform.clearinghouse / "archive" / "inbound_status" / "garbage.277").is_file()
    assert [t for t, _ in await claim_events(platform, submitted["encounter_id"])].count("ClaimStatusChecked") == 0
    acks = await cli(["claims", "acks", "--json"])
    assert {(r["file_name"], r["outcome"]) for r in json.loads(acks.stdout)} >= {
        ("garbage.277", "unreadable"), (stranger, "unmatched")}


async def test_a_276_rejected_by_a_999_ends_its_request_and_the_next_follow_up_asks_again(
        platform: Settings, claims: Runtime, at_today: FixedClock) -> None:
    submitted = await submitted_claim(platform)
    await past_follow_up(claims, at_today)
    row, _ = await sent_276(platform, submitted["claim_id"])
    write_999(platform, (platform.clearinghouse / "outbound" / row["file_name"]).read_text(), reject=True)

    async def rejected() -> bool:
        return (await requests_of(platform, submitted["claim_id"]))[0]["state"] == "rejected"

    await eventually(rejected, timeout_s=30, what="the 276's request rejected")
    kept = "SELECT count(*) FROM acknowledgments WHERE kind = '999' AND reference LIKE $1 AND NOT flagged"
    assert await count(platform, "claims", kept, f"{int(row['interchange_control_number'])}/%") == 1
    history = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = 'status_request_rejected'"
    assert await count(platform, "claims", history, submitted["claim_id"]) == 1
    at_today.advance(timedelta(days=30))  # the next follow-up period
    await background.timers_once(claims)
    second, _ = await sent_276(platform, submitted["claim_id"], 2)
    assert second["trigger"] == "follow_up"


async def test_rcm_claims_status_asks_on_demand(platform: Settings, claims: Runtime, cli_env: None) -> None:
    submitted = await submitted_claim(platform)
    unknown = await cli(["claims", "status", "clm_NOSUCHCLAIM", "--wait", "0"])
    assert unknown.exit_code == 1 and "no claim" in unknown.output
    timed_out = await cli(["claims", "status", submitted["claim_id"], "--wait", "0", "--json"])
    assert timed_out.exit_code == 3, timed_out.output
    queued = json.loads(timed_out.stdout)
    assert (queued["trigger"], queued["submission_id"]) == ("on_demand", submitted["submission_id"])

    asking = asyncio.create_task(cli(["claims", "status", submitted["claim_id"], "--wait", "30", "--json"]))
    _, inquiry = await sent_276(platform, submitted["claim_id"])
    write_277(platform, inquiry, "P1", "20")
    answered = await asking
    assert answered.exit_code == 0, answered.output
    result = json.loads(answered.stdout)
    assert result["request_id"] == queued["request_id"]  # the waiting request, not a second one
    assert (result["state"], result["outcome"], result["action"]) == ("answered", "pending", "follow_up_scheduled")
    assert result["answer"]["decided"] == "P1:20"
    assert len(await requests_of(platform, submitted["claim_id"])) == 1

    app = FastAPI()
    mount_service(app, claims)
    async with authorized(app, platform, name="biller-7", scope=Scope.OPERATE) as client:
        asked = await client.post(f"/v1/claims/{submitted['claim_id']}/status")
        assert asked.status_code == 202, asked.text
        over_http = asked.json()
        assert (over_http["trigger"], over_http["state"]) == ("on_demand", "pending")
        assert over_http["request_id"] != queued["request_id"]  # the first was answered: a new ask
        assert (await client.post("/v1/claims/clm_NOSUCHCLAIM/status")).status_code == 404
        shown = (await client.get(f"/v1/claims/{submitted['claim_id']}")).json()
        # (the CLI asks on the system clock, the service on the test's: compared as a set)
        assert {r["request_id"] for r in shown["status_requests"]} == {queued["request_id"], over_http["request_id"]}


async def test_the_sandbox_answers_our_276_about_a_silent_claim_and_releases_its_835(
        platform: Settings, claims: Runtime, at_today: FixedClock, tmp_path: Path) -> None:
    """Interop with the sandbox payer: a silent member's claim (deploy/local/payers.yaml, Aetna
    `claim_status.silent_members`) is accepted, its 835 withheld; our 276 gets F1/65 paid and the
    835 is released (remits posts it: here its ClaimPaymentPosted stands in), which stops the chase."""
    box = Sandbox(platform.clearinghouse, tmp_path / "sandbox", load_payers(), timing=Timing(ack_delay_s=0,
                                                                                             remit_delay_s=0))
    box.start()
    silent = {**ex.ENCOUNTER["coverages"][0], "member_id": "W000000919"}
    enc, _ = await post_encounter(platform, coverages=1, encounter={"coverages": [silent]})
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    await outbound_text(platform, submitted)
    await box.poll_once()
    await box.poll_once()
    await wait_for(platform, enc, "ClaimAccepted")
    remits = platform.clearinghouse / "inbound" / "remits"
    assert not any(submitted["submission_id"] in p.read_text() for p in remits.glob("*.835"))  # withheld

    await past_follow_up(claims, at_today)
    _, inquiry = await sent_276(platform, submitted["claim_id"])
    assert inquiry.subscriber.member_id == "W000000919"
    await box.poll_once()
    await box.poll_once()
    [checked] = await wait_for(platform, enc, "ClaimStatusChecked")
    assert (checked["category_code"], checked["status_code"]) == ("F1", "65")
    assert (checked["outcome"], checked["action"]) == ("finalized_paid", "era_missing")
    dues = await wait_for(platform, enc, "ClaimFollowUpDue", 2)
    assert [d["reason"] for d in dues] == ["no_remittance", "era_missing"]
    [released] = [p for p in remits.glob("*.835") if submitted["submission_id"] in p.read_text()]
    [paid] = read_835(released.read_text()).claims
    assert paid.patient_control_number == submitted["submission_id"]
    assert checked["paid_amount"] == f"{paid.paid:.2f}"

    await publish(platform, payment(submitted))
    await wait_for(platform, enc, "ClaimAdjudicated")
    at_today.advance(timedelta(days=60))
    await background.timers_once(claims)
    assert len(await requests_of(platform, submitted["claim_id"])) == 1
