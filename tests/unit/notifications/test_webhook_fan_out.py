"""Webhook fan-out without infrastructure: the subscriptions are read once per consumer
transaction (HandlerContext.once), and each event goes to those naming its type or '*'."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import asyncpg

from schemas.envelope import Envelope
from services.chassis.clock import FixedClock
from services.chassis.consumer import EventConsumer, HandlerContext
from services.chassis.dlq import SourceRecord
from services.notifications.service.webhooks import fan_out
from tests.support.testsvc import example

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CREATED = "rcm.patient-balances.PatientBalanceCreated.v1"
DENIED = "rcm.remittances.ClaimDenied.v1"


class FakeConn:
    """Answers the subscription read with fixed rows and counts what was asked."""

    def __init__(self, subscriptions: list[tuple[str, list[str]]]) -> None:
        self.subscriptions = subscriptions
        self.reads = 0
        self.inserted: list[tuple[str, str]] = []  # (subscription_id, event type)

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        assert "webhook_subscriptions" in query
        self.reads += 1
        return [{"subscription_id": s, "event_types": types} for s, types in self.subscriptions]

    async def fetchval(self, query: str, *args: Any) -> int:
        assert query.startswith("INSERT INTO notifications")
        self.inserted.append((args[9], args[8]))  # subscription_id, trigger_event_type
        return 1


def context(conn: FakeConn, event_type: str, memo: dict[str, Any]) -> HandlerContext:
    envelope = Envelope.new(source="test", type=event_type, subject="s", time=T0)
    record = SourceRecord(topic="t", partition=0, offset=0, key=None, value=b"{}", headers=envelope.to_headers())
    return HandlerContext(cast(asyncpg.Connection, conn), envelope, record, FixedClock(T0),
                          cast(EventConsumer, None), memo=memo)


async def test_a_batch_reads_the_subscriptions_once_and_each_event_reaches_its_subscribers() -> None:
    conn = FakeConn([("whk_all", ["*"]), ("whk_balances", [CREATED]), ("whk_other", ["rcm.claims.ClaimHeld.v1"])])
    memo: dict[str, Any] = {}  # one batch transaction
    created = example(CREATED)
    denied = example(DENIED)
    assert await fan_out(context(conn, CREATED, memo), created) == 2
    assert await fan_out(context(conn, DENIED, memo), denied) == 1
    assert await fan_out(context(conn, CREATED, memo), created) == 2
    assert conn.reads == 1
    assert conn.inserted == [("whk_all", CREATED), ("whk_balances", CREATED), ("whk_all", DENIED),
                             ("whk_all", CREATED), ("whk_balances", CREATED)]


async def test_the_next_transaction_reads_them_again() -> None:
    conn = FakeConn([])
    created = example(CREATED)
    assert await fan_out(context(conn, CREATED, {}), created) == 0
    conn.subscriptions = [("whk_new", [CREATED])]  # added between two batches
    assert await fan_out(context(conn, CREATED, {}), created) == 1
    assert conn.reads == 2
    assert conn.inserted == [("whk_new", CREATED)]
