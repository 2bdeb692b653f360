"""What a consumer transaction costs the chassis in statements (issue 17: a round trip costs more
CPU than most of an event's own work), and what the deferred outbox write keeps: the events of a
transaction go to the outbox in one statement at its end, in the order they were emitted, each
with the id emit returned and the trace current when it was emitted.

The records are handed to `process_batch` / `process` directly, on a pool whose connections count
what is sent through them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import pytest

from schemas.envelope import Envelope
from schemas.registry import encode, key_of, spec_for_model
from services.chassis import outbox
from services.chassis.consumer import EventConsumer, HandlerContext, Outcome
from services.chassis.dlq import SourceRecord
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support import testsvc
from tests.support.counting import CountingPool
from tests.support.kafka_io import count
from tests.support.runtimes import running

pytestmark = pytest.mark.integration

# A batch's chassis statements: the inbox claim, the hold of the declared park keys, the read of
# what is parked under them, the outbox write. The same for one record as for many.
CHASSIS_STATEMENTS = 4


@pytest.fixture(scope="module")
async def relay(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(testsvc.RELAY, platform) as runtime:
        yield runtime


@pytest.fixture
def consumer(relay: Runtime) -> EventConsumer:
    assert relay.consumer is not None
    return relay.consumer


def payment(platform: Settings, account: str, traceparent: str | None = None) -> SourceRecord:
    event = testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=account)
    envelope = Envelope.new(source="test-statements", type=testsvc.PAYMENT_RECEIVED, subject=key_of(event),
                            time=datetime.now(UTC), traceparent=traceparent)
    return SourceRecord(topic=platform.topic(spec_for_model(type(event)).topic), partition=0, offset=0,
                        key=key_of(event).encode(), value=encode(event), headers=envelope.to_headers())


def posted(account: str) -> Any:
    return testsvc.example(testsvc.PAYMENT_POSTED, patient_account_id=account)


async def emits_one(ctx: HandlerContext, event: Any) -> None:
    """No SQL of its own: what is counted is the chassis'."""
    await ctx.emit(posted(event.patient_account_id))


async def rows_of(platform: Settings, account: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url("remits"))  # type: ignore[arg-type]
    try:
        return cast(list[asyncpg.Record], await conn.fetch(
            "SELECT event_id, traceparent FROM outbox WHERE message_key = $1 ORDER BY seq", account))
    finally:
        await conn.close()


async def test_a_batch_costs_the_chassis_the_same_statements_for_one_record_as_for_many(
    platform: Settings, consumer: EventConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(consumer.handlers, testsvc.PAYMENT_RECEIVED, emits_one)
    sent = []
    for size in (1, 8):
        real, pool = consumer.pool, CountingPool(consumer.pool)
        monkeypatch.setattr(consumer, "pool", pool)
        accounts = [f"PA{uuid.uuid4().hex[:10]}" for _ in range(size)]
        assert await consumer.process_batch([payment(platform, a) for a in accounts]) == [Outcome.APPLIED] * size
        monkeypatch.setattr(consumer, "pool", real)
        sent.append(pool.sent)
        assert [len(await rows_of(platform, a)) for a in accounts] == [1] * size  # every event written
    assert sent == [CHASSIS_STATEMENTS, CHASSIS_STATEMENTS]


async def test_a_record_on_the_per_record_path_costs_the_same(
    platform: Settings, consumer: EventConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def emits_three(ctx: HandlerContext, event: Any) -> None:
        for _ in range(3):
            await ctx.emit(posted(event.patient_account_id))

    monkeypatch.setitem(consumer.handlers, testsvc.PAYMENT_RECEIVED, emits_three)
    pool = CountingPool(consumer.pool)
    monkeypatch.setattr(consumer, "pool", pool)
    account = f"PA{uuid.uuid4().hex[:10]}"
    assert await consumer.process(payment(platform, account)) == Outcome.APPLIED
    monkeypatch.undo()
    assert pool.sent == CHASSIS_STATEMENTS
    assert len(await rows_of(platform, account)) == 3


async def test_the_outbox_keeps_the_emit_order_ids_and_traces_of_every_way_of_emitting(
    platform: Settings, consumer: EventConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctx.emit and outbox.enqueue(_many) on the transaction's connection (as claims' and remits'
    stores write) share one buffer: one key's rows in the order emitted, across the batch's
    records, each with the id emit returned and its own record's trace."""
    account = f"PA{uuid.uuid4().hex[:10]}"
    emitted: list[uuid.UUID] = []

    async def emits_every_way(ctx: HandlerContext, event: Any) -> None:
        emitted.append(await ctx.emit(posted(account)))
        emitted.extend(await outbox.enqueue_many(ctx.conn, [(posted(account), datetime.now(UTC), None)] * 2))
        emitted.append(await outbox.enqueue(ctx.conn, posted(account), occurred_at=datetime.now(UTC)))

    monkeypatch.setitem(consumer.handlers, testsvc.PAYMENT_RECEIVED, emits_every_way)
    traces = [f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01" for _ in range(3)]
    records = [payment(platform, f"PA{uuid.uuid4().hex[:10]}", t) for t in traces]
    assert await consumer.process_batch(records) == [Outcome.APPLIED] * 3
    rows = await rows_of(platform, account)
    assert [r["event_id"] for r in rows] == emitted
    assert [r["traceparent"][3:35] for r in rows] == [t[3:35] for t in traces for _ in range(4)]


async def test_an_outbox_write_that_fails_rolls_the_transaction_back(
    platform: Settings, consumer: EventConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write at the end fails (an event id the outbox already has): nothing of the batch stays,
    and the per-record path applies the good record and dead-letters the other."""
    taken = (await rows_of(platform, await _one_applied(platform, consumer)))[0]["event_id"]
    bad = f"PA-BAD-{uuid.uuid4().hex[:8]}"
    real = consumer.handlers[testsvc.PAYMENT_RECEIVED]

    async def reuses_an_id(ctx: HandlerContext, event: Any) -> None:
        await real(ctx, event)  # its effect row and its own PatientPaymentPosted
        if event.patient_account_id == bad:
            await outbox.enqueue(ctx.conn, posted(bad), occurred_at=datetime.now(UTC), event_id=taken)

    monkeypatch.setitem(consumer.handlers, testsvc.PAYMENT_RECEIVED, reuses_an_id)
    good = f"PA{uuid.uuid4().hex[:10]}"
    records = [payment(platform, good), payment(platform, bad)]
    assert await consumer.process_batch(records) == [Outcome.APPLIED, Outcome.DEAD_LETTERED]
    assert [len(await rows_of(platform, a)) for a in (good, bad)] == [1, 0]
    sql = "SELECT count(*) FROM test_effects WHERE event_id = $1"
    assert [await count(platform, "remits", sql, Envelope.from_headers(r.headers).id) for r in records] == [1, 0]


async def _one_applied(platform: Settings, consumer: EventConsumer) -> str:
    account = f"PA{uuid.uuid4().hex[:10]}"
    assert await consumer.process(payment(platform, account)) == Outcome.APPLIED
    return account
