"""Bill hold, follow-up timers and the HTTP API of the claims service (real Kafka + Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from services.chassis.app import mount_service
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from services.claims import background
from services.claims.service import operator
from services.claims.store import ClaimsStore
from tests.integration.test_claims_flow import TODAY, claims_running, post_encounter, wait_for
from tests.support.kafka_io import count, eventually
from tests.support.tokens import authorized

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def claims(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    async with claims_running(platform, timers_s=3600) as runtime:  # the test runs the timers itself
        await _load_payers_with_bill_hold(runtime, tmp_path_factory.mktemp("payers"))
        yield runtime


async def _load_payers_with_bill_hold(runtime: Runtime, folder: Path) -> None:
    """The local payer master with a two-day bill hold."""
    (folder / "fee_schedules").mkdir()
    text = (REPO / "deploy" / "local" / "payers.yaml").read_text().replace("bill_hold_days: 0",
                                                                            "bill_hold_days: 2")
    (folder / "payers.yaml").write_text(text)
    for fee in (REPO / "deploy" / "local" / "fee_schedules").iterdir():
        (folder / "fee_schedules" / fee.name).write_text(fee.read_text())
    loaded, fees = operator.read_payer_master(folder / "payers.yaml")
    async with runtime.db.acquire() as conn, conn.transaction():
        await operator.load_payers(ClaimsStore(conn), loaded, fees, "payers.yaml", "pytest", "test setup", TODAY)


async def test_bill_hold_then_follow_up_then_http_actions(platform: Settings, claims: Runtime) -> None:
    clock = claims.clock
    assert isinstance(clock, FixedClock)
    enc, _ = await post_encounter(platform, coverages=1)

    async def stored() -> bool:
        return await count(platform, "claims", "SELECT count(*) FROM encounters WHERE encounter_id = $1", enc) == 1

    await eventually(stored, what="the release stored")
    await background.timers_once(claims)
    assert await count(platform, "claims", "SELECT count(*) FROM claims WHERE encounter_id = $1", enc) == 0
    clock.advance(timedelta(days=2))  # the payer's bill hold is over
    await background.timers_once(claims)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")

    clock.advance(timedelta(days=29))
    await background.timers_once(claims)
    follow_ups = "SELECT count(*) FROM outbox WHERE event_type = 'rcm.claims.ClaimFollowUpDue.v1' AND message_key = $1"
    assert await count(platform, "claims", follow_ups, submitted["claim_id"]) == 0
    clock.advance(timedelta(days=2))  # 31 days: past Aetna's 30 follow-up days without an acknowledgment
    await background.timers_once(claims)
    [due] = await wait_for(platform, enc, "ClaimFollowUpDue")
    assert due["reason"] == "no_acknowledgment" and due["submission_id"] == submitted["submission_id"]
    assert due["days_outstanding"] == 31 and due["state"] == "submitted"
    await background.timers_once(claims)  # not again until the next follow-up period
    assert await count(platform, "claims", follow_ups, submitted["claim_id"]) == 1

    app = FastAPI()
    mount_service(app, claims)
    async with authorized(app, platform, name="biller-7", scope=Scope.OPERATE) as client:
        shown = await client.get(f"/v1/claims/{submitted['claim_id']}")
        assert shown.status_code == 200
        assert [h["trigger"] for h in shown.json()["history"]] == ["create", "scrub_pass", "submit", "follow_up"]
        body = {"reason": "fix"}
        refused = await client.post(f"/v1/claims/{submitted['claim_id']}/correct", json=body)
        assert refused.status_code == 409 and "never adjudicated" in refused.json()["error"]
        assert (await client.post("/v1/claims/nope/void", json=body)).status_code == 404
        assert (await client.get("/v1/claims/held")).json() == []
