"""Staff digests, signed webhooks (retry, give-up, disable) and a restart in the middle of a send,
through real Kafka, Postgres, an aiosmtpd SMTP server and an HTTP receiver that verifies signatures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from standardwebhooks import Webhook

from devstack.mailcatcher import MailCatcher
from services.chassis.clock import FixedClock
from services.chassis.ids import new_id
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.notifications import store
from services.notifications.service.delivery import Sender, message_id
from tests.integration.test_notifications_helpers import (
    T0,
    Story,
    definition,
    events_until,
    fetch,
    free_port,
    handled,
    notification_settings,
    settled,
    stored,
    text_of,
)
from tests.support.kafka_io import eventually, publish
from tests.support.runtimes import running
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET_ENV = "RCM_TEST_WEBHOOK_SECRET"


@dataclass
class Receiver:
    """A real HTTP endpoint that verifies every Standard Webhooks signature it gets."""

    port: int
    fail_first: dict[str, int] = field(default_factory=dict)
    """path -> how many requests to answer 500 before answering 204."""
    received: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """(path, webhook-id, body) of each request whose signature verified."""
    bad_signatures: int = 0
    seen: dict[str, int] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()
        hook = Webhook(SECRET)

        @app.post("/{path}")
        async def receive(path: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body = hook.verify(raw, dict(request.headers))
            except Exception:
                self.bad_signatures += 1
                return Response(status_code=401)
            self.received.append((path, request.headers["webhook-id"], body))
            self.seen[path] = self.seen.get(path, 0) + 1
            if self.seen[path] <= self.fail_first.get(path, 0):
                return Response(status_code=500)
            return Response(status_code=204)

        return app

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    server = uvicorn.Server(uvicorn.Config(r.app(), host="127.0.0.1", port=r.port, log_config=None,
                                           access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield r
    server.should_exit = True
    with contextlib.suppress(Exception):
        await task


@pytest.fixture(scope="module")
def secret() -> Iterator[None]:
    """The webhook secret in the variable the subscriptions name, for this module only."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, SECRET)
        yield


@pytest.fixture(scope="module")
async def service(platform: Settings, catcher: MailCatcher, receiver: Receiver, secret: None,
                  ) -> AsyncIterator[Runtime]:
    ns = notification_settings(catcher.port, digest_interval_s=1.5)
    async with running(definition(ns), platform, clock=FixedClock(T0)) as rt:
        yield rt


async def subscribe(rt: Runtime, url: str, events: list[str]) -> str:
    sub_id = new_id("whk")
    async with rt.db.acquire() as conn:
        await store.add_subscription(conn, sub_id, url, events, SECRET_ENV, rt.clock.now())
    return sub_id


async def test_staff_alerts_arrive_as_one_digest(platform: Settings, catcher: MailCatcher, service: Runtime) -> None:
    held = example("rcm.claims.ClaimHeld.v1", claim_id="clm_DIGEST0001")
    denied = example("rcm.remittances.ClaimDenied.v1", claim_id="clm_DIGEST0002")
    unmatched = example("rcm.remittances.UnmatchedRemittance.v1", remittance_id="rem_DIGEST0003")
    follow = example("rcm.claims.ClaimFollowUpDue.v1", claim_id="clm_DIGEST0004")
    for event in (held, denied, unmatched, follow):
        await publish(platform, event)

    async def digested() -> bool:
        text = "".join(text_of(m) for m in stored(catcher.folder, "billing-team@clinic.example"))
        return all(i in text for i in ("clm_DIGEST0001", "clm_DIGEST0002", "rem_DIGEST0003", "clm_DIGEST0004"))

    await eventually(digested, what="the staff digest")
    digests = stored(catcher.folder, "billing-team@clinic.example")
    assert len(digests) <= 2  # the four alerts arrive within one or two digest intervals, never one mail each
    text = "".join(text_of(m) for m in digests)
    assert "edits=EM-MODIFIER-25" in text and "carcs=CO-97" in text and "reason=unknown_submission_id" in text
    assert "Claim follow-up due" in text and "Rivera" not in text
    assert all(m["Subject"].strip().startswith("[work queue]") for m in digests)


async def test_webhook_retries_with_backoff_and_every_signature_verifies(
    platform: Settings, service: Runtime, receiver: Receiver
) -> None:
    receiver.fail_first["retry"] = 2
    await subscribe(service, receiver.url("retry"), ["rcm.remittances.ClaimDenied.v1"])
    denied = example("rcm.remittances.ClaimDenied.v1", claim_id="clm_WEBHOOK001")
    envelope = await publish(platform, denied)

    async def delivered() -> bool:
        return receiver.seen.get("retry", 0) >= 3

    await eventually(delivered, what="three webhook attempts")
    got = [r for r in receiver.received if r[0] == "retry"]
    assert receiver.bad_signatures == 0
    assert len({webhook_id for _, webhook_id, _ in got}) == 1  # one webhook-id across retries
    body = got[-1][2]
    assert body["type"] == "rcm.remittances.ClaimDenied.v1" and body["event_id"] == str(envelope.id)
    assert body["data"]["claim_id"] == "clm_WEBHOOK001" and body["data"]["total_paid"] == "58.00"
    notification_id = got[0][1]

    async def recorded() -> bool:
        rows = await fetch(platform, "SELECT state FROM notifications WHERE notification_id = $1", notification_id)
        return rows[0]["state"] == "sent"

    await eventually(recorded, what="the delivery to be recorded")
    attempts = await fetch(platform, "SELECT attempt, outcome, status_code FROM delivery_attempts"
                                     " WHERE notification_id = $1 ORDER BY attempt", notification_id)
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
        (1, "webhook_http_error", 500), (2, "webhook_http_error", 500), (3, "sent", 204)]

    events = await events_until(platform, lambda _, p: p["notification_id"] == notification_id,
                                lambda names: len(names) >= 3, "two NotificationFailed and a NotificationSent")
    assert [n for n, _ in events] == ["NotificationFailed", "NotificationFailed", "NotificationSent"]
    assert [p["permanent"] for _, p in events[:2]] == [False, False] and events[2][1]["attempt"] == 3
    assert events[0][1]["error_class"] == "webhook_http_error" and events[0][1]["next_attempt_at"]


async def test_webhook_gives_up_and_the_subscription_is_disabled(
    platform: Settings, service: Runtime, receiver: Receiver
) -> None:
    receiver.fail_first["down"] = 10_000
    sub_id = await subscribe(service, receiver.url("down"), ["rcm.claims.ClaimHeld.v1"])
    await publish(platform, example("rcm.claims.ClaimHeld.v1", claim_id="clm_WEBHOOK002"))

    async def disabled() -> bool:
        rows = await fetch(platform, "SELECT enabled FROM webhook_subscriptions WHERE subscription_id = $1", sub_id)
        return not rows[0]["enabled"]

    await eventually(disabled, what="the subscription to be disabled")
    assert receiver.seen["down"] == 3
    rows = await fetch(platform, "SELECT notification_id, state, attempts FROM notifications"
                                 " WHERE subscription_id = $1", sub_id)
    assert [(r["state"], r["attempts"]) for r in rows] == [("failed", 3)]

    await events_until(platform, lambda _, p: p["notification_id"] == rows[0]["notification_id"]
                       and bool(p.get("permanent")), bool, "a permanent NotificationFailed")
    later = await publish(platform, example("rcm.claims.ClaimHeld.v1", claim_id="clm_WEBHOOK003"))
    await eventually(lambda: handled(platform, later.id), what="the event after the subscription was disabled")
    # Deliveries are queued in the handler's transaction: none for a disabled subscription, so none to send.
    queued = await fetch(platform, "SELECT count(*) FROM notifications WHERE subscription_id = $1", sub_id)
    assert queued[0][0] == 1
    assert receiver.seen["down"] == 3  # nothing more goes to a disabled subscription
    assert receiver.bad_signatures == 0


async def test_webhook_bodies_carry_no_demographics(platform: Settings, service: Runtime, receiver: Receiver) -> None:
    await subscribe(service, receiver.url("min"), ["rcm.charges.EncounterReadyToBill.v1",
                                                    "rcm.patient-balances.PatientBalanceCreated.v1"])
    story = Story()
    await publish(platform, story.ready())
    await publish(platform, story.created())

    async def both() -> bool:
        return receiver.seen.get("min", 0) >= 2

    await eventually(both, what="two webhook deliveries")
    bodies = [b for p, _, b in receiver.received if p == "min"]
    assert {b["type"] for b in bodies} == {"rcm.charges.EncounterReadyToBill.v1",
                                           "rcm.patient-balances.PatientBalanceCreated.v1"}
    text = repr(bodies)
    for phi in ("Rivera", story.email, "Valencia", "1984-06-12", "W123456789", "HAR100234567", "99213"):
        assert phi not in text
    balance = next(b for b in bodies if b["type"].endswith("PatientBalanceCreated.v1"))["data"]
    assert balance["balance_id"] == story.balance_id and balance["amount_due"] == "40.00"


async def test_a_restart_in_the_middle_of_a_send_sends_once(
    platform: Settings, catcher: MailCatcher, service: Runtime
) -> None:
    """Claimed and handed over, then the process dies before recording: the next start sends the
    same Message-ID again, the catcher keeps one message, and one NotificationSent goes out."""
    await service.stop()
    ns = notification_settings(catcher.port)
    story = Story()
    # consumes, never sends on its own
    async with running(definition(ns, sender=False), platform, clock=FixedClock(T0)) as quiet:
        await publish(platform, story.ready())
        await publish(platform, story.created())

        async def pending() -> bool:
            return bool(await fetch(platform, "SELECT 1 FROM notifications WHERE related->>'balance_id' = $1"
                                              " AND kind = 'statement' AND state = 'pending'", story.balance_id))

        await eventually(pending, what="a pending statement")
        sender = Sender(quiet, ns)
        rows = [r for r in await sender.claim()
                if r["kind"] == "statement" and r["related"].get("balance_id") == story.balance_id]
        assert len(rows) == 1
        outcome = await sender.hand_over(rows[0])  # the message is out ...
        assert outcome.kind == "sent"
    # ... and the process is gone before it recorded that
    notification_id = rows[0]["notification_id"]
    state = await fetch(platform, "SELECT state FROM notifications WHERE notification_id = $1", notification_id)
    assert state[0]["state"] == "sending"
    async with running(definition(ns), platform, clock=FixedClock(T0)):
        async def recorded() -> bool:
            rows_ = await fetch(platform, "SELECT state FROM notifications WHERE notification_id = $1",
                                notification_id)
            return rows_[0]["state"] == "sent"

        await eventually(recorded, what="the resend to be recorded")

        await events_until(platform, lambda _, p: p["notification_id"] == notification_id, bool, "NotificationSent")
        await settled(platform, "notification_id = $1", notification_id)  # a second announcement would be out
    assert catcher.deliveries.count(message_id(notification_id)) == 2  # handed over twice on the wire
    assert len(stored(catcher.folder, story.email)) == 1  # kept once: same Message-ID
    got = await events_until(platform, lambda _, p: p["notification_id"] == notification_id,
                             bool, "NotificationSent")
    assert [n for n, _ in got] == ["NotificationSent"]


async def test_smtp_unavailable_is_retried_then_given_up(platform: Settings, catcher: MailCatcher) -> None:
    closed = notification_settings(free_port(), smtp_max_attempts=2, smtp_timeout_s=2.0)
    story = Story()
    async with running(definition(closed, sender=False), platform, clock=FixedClock(T0)) as quiet:
        await publish(platform, story.ready())
        await publish(platform, story.created())

        async def pending() -> bool:
            return bool(await fetch(platform, "SELECT 1 FROM notifications WHERE related->>'balance_id' = $1"
                                              " AND kind = 'statement' AND state = 'pending'", story.balance_id))

        await eventually(pending, what="a pending statement")
        sender = Sender(quiet, closed)
        query = ("SELECT notification_id, state, attempts FROM notifications WHERE related->>'balance_id' = $1"
                 " AND kind = 'statement'")
        await sender.run_once()
        first = (await fetch(platform, query, story.balance_id))[0]
        assert (first["state"], first["attempts"]) == ("pending", 1)
        await sender.run_once()
        second = (await fetch(platform, query, story.balance_id))[0]
        assert (second["state"], second["attempts"]) == ("failed", 2)
    notification_id = first["notification_id"]
    got = await events_until(
        platform, lambda n, p: n == "NotificationFailed" and p["notification_id"] == notification_id,
        lambda names: len(names) >= 2, "two NotificationFailed",
    )
    events = [p for _, p in got]
    assert [(p["attempts"], p["error_class"], p["permanent"]) for p in events] == [
        (1, "smtp_unavailable", False), (2, "smtp_unavailable", True)]
    assert stored(catcher.folder, story.email) == []
