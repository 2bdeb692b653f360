"""Eligibility on the real stack (Kafka, Postgres, the clearinghouse folder): the claims service
writes a 270 for the encounter's coverage, a 271 dropped into inbound/eligibility/ is applied,
and the claim goes out after an active answer and never before it; an inactive answer holds the
claim before any 837; no answer within the wait lets it go out; a fresh answer is reused."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI

from edi.envelope import EnvelopeParams, write_interchange
from edi.validate import validate
from edi.x270 import Person, read_270
from edi.x271 import FUNCTIONAL_ID, IMPLEMENTATION, BenefitInfo, EligibilityResponse, render_271
from schemas import examples as ex
from services.chassis.app import mount_service
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from services.claims.settings import claims_settings
from tests.integration.test_claims_flow import (
    DOS,
    TODAY,
    claim_events,
    claims_running,
    cli,
    post_encounter,
    wait_for,
)
from tests.support.kafka_io import eventually, read_topic
from tests.support.tokens import authorized

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def eligibility_on() -> Iterator[None]:
    """Checks on, and a claim waits for its 271 as long as the test needs (the clock is fixed)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CLAIMS_ELIGIBILITY_CHECKS", "true")
        mp.setenv("RCM_CLAIMS_ELIGIBILITY_WAIT_S", "3600")
        claims_settings.cache_clear()
        yield
    claims_settings.cache_clear()


@pytest.fixture(scope="module")
async def claims(platform: Settings, eligibility_on: None) -> AsyncIterator[Runtime]:
    """The claims service with its 270 batcher and 271 poller every 0.1 s."""
    async with claims_running(platform, eligibility_s=0.1) as runtime:
        yield runtime


def coverage(member_id: str) -> dict[str, Any]:
    """The example's primary coverage (Aetna) with a member id of the test's own (no cache shared)."""
    return {**ex.ENCOUNTER["coverages"][0], "member_id": member_id}


async def post(platform: Settings, member_id: str) -> str:
    enc, _ = await post_encounter(platform, coverages=1, encounter={"coverages": [coverage(member_id)]})
    return enc


async def checks(platform: Settings, encounter_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(platform.database_url("claims"))
    try:
        rows = await conn.fetch("SELECT check_id, trace_number, state, source, outcome, member_id, service_date,"
                                " interchange_control_number, coverage_rank, payer_id FROM eligibility_checks"
                                " WHERE encounter_id = $1 ORDER BY requested_at", encounter_id)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def sent_270(platform: Settings, encounter_id: str) -> tuple[dict[str, Any], str]:
    """The encounter's check once sent, and the text of the 270 file that carried it."""
    found: list[dict[str, Any]] = []

    async def sent() -> bool:
        nonlocal found
        found = [c for c in await checks(platform, encounter_id) if c["state"] == "sent"]
        path = platform.clearinghouse / "outbound" / f"{found[0]['interchange_control_number']}.270" if found else None
        return path is not None and path.is_file()

    await eventually(sent, timeout_s=30, what="the 270 in outbound/")
    [check] = found
    return check, (platform.clearinghouse / "outbound" / f"{check['interchange_control_number']}.270").read_text()


def drop_271(platform: Settings, trace: str, member_id: str, *benefits: BenefitInfo) -> None:
    response = EligibilityResponse(
        trace_number=trace, payer_name="Aetna", payer_id="60054", provider_name="Mission Family Medical Group",
        provider_npi="1234567893", subscriber=Person(last_name="Rivera", first_name="Ana", member_id=member_id),
        plan_begin=date(TODAY.year - 1, 1, 1), plan_end=date(TODAY.year + 1, 12, 31), benefits=benefits)
    number = int(uuid.uuid4().int % 900_000_000) + 1
    text = render_271([response], EnvelopeParams("RCMCLEARINGHSE", "REVCYCLE", number, number, TODAY))
    folder = platform.clearinghouse / "inbound" / "eligibility"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{number:09d}.271").write_text(text)


async def eligibility_events(platform: Settings, encounter_id: str, name: str) -> list[dict[str, Any]]:
    out = []
    for _, value, headers in await read_topic(platform, "rcm.eligibility.v1"):
        payload = json.loads(value)
        if payload.get("encounter_id") == encounter_id and dict(headers)["ce_type"].decode().split(".")[2] == name:
            out.append(payload)
    return out


async def wait_eligibility(platform: Settings, encounter_id: str, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def seen() -> bool:
        nonlocal found
        found = await eligibility_events(platform, encounter_id, name)
        return bool(found)

    await eventually(seen, timeout_s=30, what=name)
    return found[0]


async def asked(platform: Settings) -> tuple[str, str, dict[str, Any], str]:
    """An encounter of a member of its own (no cache shared) once its 270 went out: the encounter,
    the member id, the check and the 270's text."""
    member = f"M{uuid.uuid4().hex[:9].upper()}"
    enc = await post(platform, member)
    check, text = await sent_270(platform, enc)
    return enc, member, check, text


async def answered(platform: Settings, *benefits: BenefitInfo) -> tuple[str, str]:
    """`asked`, then its 271 (these benefits) dropped; the encounter and the member id."""
    enc, member, check, _ = await asked(platform)
    drop_271(platform, check["trace_number"], member, *benefits)
    return enc, member


ACTIVE = (BenefitInfo(code="1", coverage_level="IND", service_types=("30",), insurance_type="PR"),
          BenefitInfo(code="C", coverage_level="IND", service_types=("30",), time_period="29",
                      amount=Decimal("100.00"), in_network=True),
          BenefitInfo(code="A", coverage_level="IND", service_types=("30",), percent=Decimal("0.2"), in_network=True))


async def test_an_active_answer_lets_the_claim_go_out_after_it_not_before(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    enc, member, check, text = await asked(platform)
    assert (check["coverage_rank"], check["payer_id"], check["member_id"], check["service_date"].isoformat()) == (
        1, "60054", member, DOS)
    assert [i.code for i in validate(text) if i.severity == "error"] == []  # the X279 structural checks
    [inquiry] = [i for i in read_270(text) if i.trace_number == check["trace_number"]]
    assert (inquiry.subscriber.member_id, inquiry.subscriber.last_name, inquiry.service_date.isoformat(),
            inquiry.service_types) == (member, "Rivera", DOS, ("30",))
    await wait_for(platform, enc, "ClaimCreated")
    await asyncio.sleep(1.0)  # ten batcher passes: the claim is ready, and waits
    assert [t for t, _ in await claim_events(platform, enc) if t == "ClaimSubmitted"] == []

    drop_271(platform, check["trace_number"], member, *ACTIVE)
    checked = await wait_eligibility(platform, enc, "EligibilityChecked")
    assert (checked["check_id"], checked["source"], checked["outcome"], checked["trigger"],
            checked["coverage_level"]) == (check["check_id"], "271", "active", "ready_to_bill", "IND")
    assert [(b["code"], b.get("amount"), b.get("percent")) for b in checked["benefits"]] == [
        ("1", None, None), ("C", "100.00", None), ("A", None, "0.2")]
    await wait_for(platform, enc, "ClaimSubmitted")
    estimate = await wait_eligibility(platform, enc, "PatientEstimated")
    # 99213 allowed 108.00: the 100.00 deductible, then 20% of 8.00; 87880 allowed 25.20: 20%.
    assert (estimate["expected_allowed"], estimate["deductible"], estimate["coinsurance"], estimate["copay"],
            estimate["patient_estimate"]) == ("133.20", "100.00", "6.64", "0.00", "106.64")
    assert not any((platform.clearinghouse / "inbound" / "eligibility").iterdir())


async def test_an_inactive_answer_holds_the_claim_and_no_837_ever_carries_it(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    enc, _ = await answered(platform, BenefitInfo(code="6", coverage_level="IND", service_types=("30",)))
    [held] = await wait_for(platform, enc, "ClaimHeld")
    [edit] = [e for e in held["edits"] if e["severity"] == "error"]  # the scrubber's warnings stay beside it
    assert (edit["edit_id"], edit["source"]) == ("ELIG-INACTIVE", "eligibility")
    assert edit["message"] == (f"the payer's 271 says the primary coverage is not active on {DOS}: correct the "
                               "coverage and send the encounter again, or release the claim")
    checked = await wait_eligibility(platform, enc, "EligibilityChecked")
    assert checked["outcome"] == "inactive"
    await asyncio.sleep(1.0)  # batcher passes: nothing goes out
    assert [t for t, _ in await claim_events(platform, enc) if t == "ClaimSubmitted"] == []
    conn = await asyncpg.connect(platform.database_url("claims"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM submissions s JOIN claims c USING (claim_id)"
                                   " WHERE c.encounter_id = $1", enc) == 0
    finally:
        await conn.close()


async def test_a_fresh_answer_is_reused_without_a_second_270(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    first, member = await answered(platform, *ACTIVE)
    await wait_for(platform, first, "ClaimSubmitted")
    second = await post(platform, member)
    checked = await wait_eligibility(platform, second, "EligibilityChecked")
    assert (checked["source"], checked["outcome"]) == ("cache", "active")
    await wait_for(platform, second, "ClaimSubmitted")
    [reused] = await checks(platform, second)
    assert (reused["state"], reused["source"], reused["interchange_control_number"]) == ("answered", "cache", None)


async def test_no_answer_within_the_wait_lets_the_claim_go_unchecked(
    platform: Settings, claims: Runtime, payers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCM_CLAIMS_ELIGIBILITY_WAIT_S", "0")
    claims_settings.cache_clear()
    try:
        member = f"T{uuid.uuid4().hex[:9].upper()}"
        enc = await post(platform, member)
        checked = await wait_eligibility(platform, enc, "EligibilityChecked")
        assert (checked["source"], checked["outcome"], checked["benefits"]) == ("timeout", "no_response", [])
        await wait_for(platform, enc, "ClaimSubmitted")
        [timed_out] = await checks(platform, enc)
        assert timed_out["state"] == "timed_out"
    finally:
        monkeypatch.setenv("RCM_CLAIMS_ELIGIBILITY_WAIT_S", "3600")
        claims_settings.cache_clear()


async def test_rcm_eligibility_check_exit_codes_and_claims_show(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    active, _ = await answered(platform, *ACTIVE)
    await wait_for(platform, active, "ClaimSubmitted")
    result = await cli(["eligibility", "check", active, "--json", "--wait", "10"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert (row["trigger"], row["source"], row["outcome"], row["coverage_rank"], row["payer_id"]) == (
        "on_demand", "cache", "active", 1, "60054")
    assert [(b["code"], b.get("amount")) for b in row["benefits"]][:2] == [("1", None), ("C", "100.00")]
    text = await cli(["eligibility", "check", active, "--wait", "10"])
    assert text.exit_code == 0
    assert "    deductible: 100.00 (IND/period 29/in-network Y)" in text.output.splitlines()
    assert "    co-insurance: 20% (IND/in-network Y)" in text.output.splitlines()

    inactive, _ = await answered(platform, BenefitInfo(code="6", service_types=("30",)))
    await wait_for(platform, inactive, "ClaimHeld")
    result = await cli(["eligibility", "check", inactive, "--json", "--wait", "10"])
    assert result.exit_code == 3, result.output
    assert [r["outcome"] for r in json.loads(result.output)] == ["inactive"]

    result = await cli(["eligibility", "check", "enc_nobodyknows", "--wait", "1"])
    assert result.exit_code == 1
    assert "claims has no encounter with that id" in result.output

    [held] = await wait_for(platform, inactive, "ClaimHeld")
    result = await cli(["claims", "show", held["claim_id"], "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["eligibility"]
    assert [(c["trigger"], c["source"], c["outcome"]) for c in shown] == [
        ("ready_to_bill", "271", "inactive"), ("on_demand", "cache", "inactive")]
    table = await cli(["claims", "show", held["claim_id"]])
    lines = table.output.splitlines()
    at = lines.index("eligibility checks:")
    assert [line.split()[1:8] for line in lines[at + 1:at + 11:5]] == [
        ["rank", "1", "60054", DOS, "answered", "(271)", "inactive"],
        ["rank", "1", "60054", DOS, "answered", "(cache)", "inactive"]]
    assert lines[at + 2:at + 6] == ["    deductible: -", "    co-insurance: -", "    copay: -", "    out of pocket: -"]


def drop_request_rejection(platform: Settings, interchange_control_number: str) -> None:
    """A 271 in which the payer rejects the whole 270 (AAA 42 at 2100A: unable to respond now,
    resubmit): no subscriber level, no trace number; BHT03 names the 270."""
    body: list[list[str]] = [
        ["BHT", "0022", "11", interchange_control_number, TODAY.strftime("%Y%m%d"), "0900"],
        ["HL", "1", "", "20", "1"], ["NM1", "PR", "2", "Aetna", "", "", "", "", "PI", "60054"],
        ["AAA", "N", "", "42", "R"],
        ["HL", "2", "1", "21", "0"], ["NM1", "1P", "2", "Mission", "", "", "", "", "XX", "1234567893"]]
    number = int(uuid.uuid4().int % 900_000_000) + 1
    text = write_interchange(EnvelopeParams("RCMCLEARINGHSE", "REVCYCLE", number, number, TODAY), FUNCTIONAL_ID,
                             IMPLEMENTATION, [body])
    (platform.clearinghouse / "inbound" / "eligibility" / f"{number:09d}.271").write_text(text)


async def test_a_rejected_request_holds_its_claims_and_an_unmatched_answer_is_kept_flagged(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    enc, member, check, _ = await asked(platform)
    drop_request_rejection(platform, check["interchange_control_number"])
    [held] = await wait_for(platform, enc, "ClaimHeld")
    [edit] = [e for e in held["edits"] if e["severity"] == "error"]
    assert (edit["edit_id"], edit["source"]) == ("ELIG-REJECTED", "eligibility")
    assert "(AAA 42/R)" in edit["message"]
    checked = await wait_eligibility(platform, enc, "EligibilityChecked")
    assert (checked["outcome"], checked["rejections"]) == (
        "rejected", [{"loop": "2100A", "reason_code": "42", "follow_up": "R",
                      "description": "unable to respond at current time"}])

    drop_271(platform, "elg_nosuchcheck", member, *ACTIVE)
    conn = await asyncpg.connect(platform.database_url("claims"))
    try:
        async def flagged() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM acknowledgments WHERE kind = '271' AND flagged"
                                            " AND reference = 'elg_nosuchcheck'"))

        await eventually(flagged, timeout_s=30, what="the unmatched 271 kept flagged")
    finally:
        await conn.close()


async def test_post_and_get_v1_eligibility(platform: Settings, claims: Runtime, payers: None) -> None:
    enc, _ = await answered(platform, *ACTIVE)
    await wait_for(platform, enc, "ClaimSubmitted")
    app = FastAPI()
    mount_service(app, claims)
    async with authorized(app, platform, name="front-desk", scope=Scope.READ) as reader:
        assert (await reader.post("/v1/eligibility", json={"encounter_id": enc})).status_code == 403
    async with authorized(app, platform, name="front-desk", scope=Scope.OPERATE) as client:
        unknown = await client.post("/v1/eligibility", json={"encounter_id": "enc_nobodyknows"})
        assert unknown.status_code == 404 and "no encounter" in unknown.json()["error"]
        queued = await client.post("/v1/eligibility", json={"encounter_id": enc})
        assert queued.status_code == 202, queued.text
        [check_id] = queued.json()["check_ids"]
        got = await client.get(f"/v1/eligibility/{check_id}")
        assert got.status_code == 200
        assert {k: got.json()[k] for k in ("encounter_id", "trigger", "state", "source", "outcome", "payer_id")} == {
            "encounter_id": enc, "trigger": "on_demand", "state": "answered", "source": "cache", "outcome": "active",
            "payer_id": "60054"}
        assert (await client.get("/v1/eligibility/elg_nosuchcheck")).status_code == 404
