"""The staff alert of an unmatched remittance claim is resolved by UnmatchedRemittanceResolved, through
real Kafka, Postgres and SMTP: still pending, it is skipped from its digest with reason "resolved";
already delivered, the next digest carries a "resolved" line; a repeat adds nothing; webhooks get the
event like any other. Digests and the sender are driven by hand here (no background tasks), so each
step is deterministic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from devstack.mailcatcher import MailCatcher
from services.chassis.clock import FixedClock
from services.chassis.ids import new_id
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.notifications import store
from services.notifications.service.delivery import Sender, create_digest
from services.notifications.settings import NotificationSettings
from tests.integration.test_notifications_helpers import (
    T0,
    definition,
    fetch,
    handled,
    notification_settings,
    stored,
    text_of,
)
from tests.support.kafka_io import eventually, publish
from tests.support.runtimes import running
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
UNMATCHED = "rcm.remittances.UnmatchedRemittance.v1"
RESOLVED = "rcm.remittances.UnmatchedRemittanceResolved.v1"
STAFF = "billing-team@clinic.example"


@pytest.fixture(scope="module")
def ns(catcher: MailCatcher) -> NotificationSettings:
    return notification_settings(catcher.port)


@pytest.fixture(scope="module")
async def service(platform: Settings, ns: NotificationSettings) -> AsyncIterator[Runtime]:
    # consumers only; digests and sends by hand
    async with running(definition(ns, sender=False), platform, clock=FixedClock(T0)) as rt:
        yield rt


def unmatched(remittance_id: str, claim_index: int = 2) -> Any:
    return example(UNMATCHED, remittance_id=remittance_id,
                   position={"transaction_set_control_number": "0001", "claim_index": claim_index,
                             "segment_number": 41})


def resolved(remittance_id: str, claim_index: int = 2, claim_id: str = "clm_RESOLVED01") -> Any:
    return example(RESOLVED, remittance_id=remittance_id, claim_id=claim_id,
                   position={"transaction_set_control_number": "0001", "claim_index": claim_index,
                             "segment_number": 41})


async def alerts(platform: Settings, remittance_id: str) -> list[dict[str, Any]]:
    rows = await fetch(platform, "SELECT event_type, alert_key, digest_id, resolved_at IS NOT NULL AS resolved,"
                                 " skip_reason FROM staff_alerts WHERE summary->>'remittance_id' = $1"
                                 " ORDER BY created_at, event_type", remittance_id)
    return [dict(r) for r in rows]


async def wait_alerts(platform: Settings, remittance_id: str, check: Any, what: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    async def ready() -> bool:
        nonlocal got
        got = await alerts(platform, remittance_id)
        return bool(check(got))

    await eventually(ready, timeout_s=60, what=what)
    return got


async def send_all(rt: Runtime, ns: NotificationSettings) -> None:
    sender = Sender(rt, ns)
    while await sender.run_once():
        pass


async def test_unmatched_alert_resolution(platform: Settings, service: Runtime, ns: NotificationSettings,
                                          catcher: MailCatcher) -> None:
    # A webhook subscriber of the new event (pointing nowhere: only the queued delivery is checked).
    sub_id = new_id("whk")
    async with service.db.acquire() as conn:
        await store.add_subscription(conn, sub_id, "http://127.0.0.1:9/hook", [RESOLVED], "RCM_TEST_NO_SECRET",
                                     service.clock.now())

    # DELIVERED: rem_RESDLV01's alert goes out in a first digest.
    await publish(platform, unmatched("rem_RESDLV01"))
    await wait_alerts(platform, "rem_RESDLV01", lambda a: len(a) == 1, "the delivered alert")
    first = await create_digest(service)
    assert first is not None
    await send_all(service, ns)
    assert "rem_RESDLV01" in "".join(text_of(m) for m in stored(catcher.folder, STAFF))

    # PENDING IN A DIGEST: rem_RESPND01 is in a digest not yet handed over; UNDIGESTED: rem_RESNEW01
    # is in no digest yet. A second alert of the same remittance (another claim index) stays open.
    await publish(platform, unmatched("rem_RESPND01"))
    await wait_alerts(platform, "rem_RESPND01", lambda a: len(a) == 1, "the pending alert")
    second = await create_digest(service)
    assert second is not None
    await publish(platform, unmatched("rem_RESNEW01"))
    await publish(platform, unmatched("rem_RESNEW01", claim_index=3))
    await wait_alerts(platform, "rem_RESNEW01", lambda a: len(a) == 2, "the undigested alerts")

    # The three resolutions arrive (rem_RESDLV01's twice, under two envelope ids).
    await publish(platform, resolved("rem_RESPND01"))
    await publish(platform, resolved("rem_RESNEW01"))
    envelope = await publish(platform, resolved("rem_RESDLV01"))
    pending = await wait_alerts(platform, "rem_RESPND01", lambda a: a and a[0]["resolved"], "pending resolved")
    assert pending == [{"event_type": UNMATCHED, "alert_key": "rem_RESPND01/0001/2", "digest_id": second,
                        "resolved": True, "skip_reason": "resolved"}]
    new = await wait_alerts(platform, "rem_RESNEW01", lambda a: any(x["resolved"] for x in a), "undigested resolved")
    assert sorted((a["alert_key"], a["digest_id"], a["resolved"], a["skip_reason"]) for a in new) == [
        ("rem_RESNEW01/0001/2", None, True, "resolved"), ("rem_RESNEW01/0001/3", None, False, None)]
    delivered = await wait_alerts(platform, "rem_RESDLV01", lambda a: len(a) == 2, "the resolved line")
    assert [(a["event_type"], a["digest_id"], a["resolved"], a["skip_reason"]) for a in delivered] == [
        (UNMATCHED, first, True, None), (RESOLVED, None, False, None)]
    again = await publish(platform, resolved("rem_RESDLV01"))
    await eventually(lambda: handled(platform, again.id), what="the repeated resolution")
    assert len(await alerts(platform, "rem_RESDLV01")) == 2  # no second "resolved" line

    # The digests go out: the pending one had only a resolved alert (skipped, empty); the next one
    # carries the open alert of rem_RESNEW01 and rem_RESDLV01's "resolved" line, nothing resolved.
    third = await create_digest(service)
    assert third is not None
    await send_all(service, ns)
    states = await fetch(platform, "SELECT body->>'digest_id' AS d, state, reason FROM notifications"
                                   " WHERE kind = 'digest'")
    by_digest = {r["d"]: (r["state"], r["reason"]) for r in states}
    assert by_digest[second] == ("skipped", "empty digest") and by_digest[third] == ("sent", None)
    mails = stored(catcher.folder, STAFF)
    assert len(mails) == 2
    last = text_of(mails[-1]) if "rem_RESNEW01" in text_of(mails[-1]) else text_of(mails[0])
    assert "== Unmatched remittance resolved (1)" in last
    line = next(x for x in last.splitlines() if "rem_RESDLV01" in x)
    assert line.strip().startswith("- state=resolved") and "claim_id=clm_RESOLVED01" in line
    assert "amount_released=130.00" in line and "resolution=claim_submitted" in line
    assert "position=ST 0001 claim 2" in line
    assert "== Unmatched remittance (1)" in last and "rem_RESPND01" not in last
    assert "rem_RESPND01" not in "".join(text_of(m) for m in mails)

    # Webhooks: one queued delivery per resolution event, ids and amounts only.
    hooks = await fetch(platform, "SELECT trigger_event_id, body FROM notifications WHERE subscription_id = $1"
                                  " ORDER BY created_at", sub_id)
    assert len(hooks) == 4
    body = next(h["body"] for h in hooks if h["trigger_event_id"] == envelope.id)
    assert body["type"] == RESOLVED and body["data"] == {
        "remittance_id": "rem_RESDLV01", "reported_submission_id": "S01HX0000000", "claim_id": "clm_RESOLVED01",
        "encounter_id": "enc_01HX00000R", "amount_released": "130.00", "resolution": "claim_submitted",
        "resolved_at": "2026-04-09T08:15:03+00:00"}


PLB = "rcm.remittances.ProviderAdjustmentPosted.v1"


async def test_a_recoupment_that_reopened_a_claim_is_a_work_item(
        platform: Settings, service: Runtime, ns: NotificationSettings, catcher: MailCatcher) -> None:
    """ProviderAdjustmentPosted: a WO that named one of our claims (remits reopened its books) is a
    staff work item with the claim, reason and amount; interest and unlinked recoupments are not."""
    linked = example(PLB, remittance_id="rem_RECOUP01", adjustments=[
        {"reason_code": "L6", "reference": "INT-1", "amount": "-1.12"},
        {"reason_code": "WO", "reference": "PCN-77", "amount": "25.00", "claim_id": "clm_RECOUP01",
         "encounter_id": "enc_RECOUP01"}], total_amount="23.88")
    unlinked = example(PLB, remittance_id="rem_RECOUP02", adjustments=[
        {"reason_code": "WO", "reference": "UNKNOWN-9", "amount": "5.00"}], total_amount="5.00")
    first = await publish(platform, unlinked)
    await publish(platform, linked)
    got = await wait_alerts(platform, "rem_RECOUP01", lambda a: len(a) == 1, "the recoupment work item")
    assert [(a["event_type"], a["resolved"]) for a in got] == [(PLB, False)]
    await eventually(lambda: handled(platform, first.id), what="the unlinked recoupment")
    assert await alerts(platform, "rem_RECOUP02") == []
    await create_digest(service)
    await send_all(service, ns)
    line = next(x for m in stored(catcher.folder, STAFF) for x in text_of(m).splitlines() if "rem_RECOUP01" in x)
    assert "claims=clm_RECOUP01:WO:25.00" in line
    assert any("== Payment recouped from a claim (its books reopened) (1)" in text_of(m)
               for m in stored(catcher.folder, STAFF))
