"""The consumer's batch path against real Postgres (and Kafka for the DLQ): one transaction per
batch, each record behind its own inbox claim, and the per-record path when the batch fails.

The batches are handed to `EventConsumer.process_batch` directly, so each test decides exactly
which records share a batch (the broker decides that in production)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis import faults, parking
from services.chassis.consumer import EventConsumer, HandlerContext, Outcome
from services.chassis.dlq import SourceRecord, dlq_metadata
from services.chassis.parking import ParkKey
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support import testsvc
from tests.support.kafka_io import count, eventually, read_topic
from tests.support.runtimes import running

pytestmark = pytest.mark.integration

APPLIED, DUPLICATE, PARKED, DEAD = Outcome.APPLIED, Outcome.DUPLICATE, Outcome.PARKED, Outcome.DEAD_LETTERED


class Crash(BaseException):
    """Stands in for the process dying at a fault point (os._exit in a real run)."""


@pytest.fixture(scope="module")
async def relay(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(testsvc.RELAY, platform) as runtime:
        yield runtime


def consumer_of(runtime: Runtime) -> EventConsumer:
    assert runtime.consumer is not None
    return runtime.consumer


def record(platform: Settings, event: BaseModel, *, value: bytes | None = None) -> SourceRecord:
    """A record as the broker would hand it."""
    envelope = Envelope.new(source="test-batch", type=event_type_of(event), subject=key_of(event),
                            time=datetime.now(UTC))
    return SourceRecord(
        topic=platform.topic(spec_for_model(type(event)).topic),
        partition=0,
        offset=0,
        key=key_of(event).encode(),
        value=encode(event) if value is None else value,
        headers=envelope.to_headers(),
    )


def copy_of(rec: SourceRecord) -> SourceRecord:
    """The same event sent twice (same ce_id), as a producer retry or a relay crash makes it."""
    return SourceRecord(rec.topic, rec.partition, rec.offset + 1, rec.key, rec.value, list(rec.headers))


def payment(platform: Settings, account: str | None = None) -> SourceRecord:
    return record(platform, testsvc.example(testsvc.PAYMENT_RECEIVED,
                                            patient_account_id=account or f"PA{uuid.uuid4().hex[:10]}"))


def event_id(rec: SourceRecord) -> uuid.UUID:
    return Envelope.from_headers(rec.headers).id


async def effects(platform: Settings, *records: SourceRecord) -> list[int]:
    sql = "SELECT count(*) FROM test_effects WHERE event_id = $1"
    return [await count(platform, "remits", sql, event_id(r)) for r in records]


async def outbox_rows(platform: Settings, account: str) -> int:
    # The relay's emitted PatientPaymentPosted is keyed by the account.
    return await count(platform, "remits", "SELECT count(*) FROM outbox WHERE message_key = $1", account)


async def test_a_duplicate_inside_a_batch_or_of_an_earlier_batch_is_a_no_op(platform: Settings, relay: Runtime) -> None:
    a, b = payment(platform), payment(platform)
    outcomes = await consumer_of(relay).process_batch([a, b, copy_of(a)])
    assert outcomes == [APPLIED, APPLIED, DUPLICATE]
    assert await effects(platform, a, b) == [1, 1]
    assert await consumer_of(relay).process_batch([b, a]) == [DUPLICATE, DUPLICATE]
    assert await effects(platform, a, b) == [1, 1]


async def test_a_poison_record_mid_batch_is_dead_lettered_and_the_others_applied_in_order(
    platform: Settings, relay: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = consumer_of(relay)
    poison_account = f"PA-POISON-{uuid.uuid4().hex[:6]}"
    real = consumer.handlers[testsvc.PAYMENT_RECEIVED]

    async def fails_for_one_account(ctx: HandlerContext, event: Any) -> None:
        if event.patient_account_id == poison_account:
            raise testsvc.Broken
        await real(ctx, event)

    monkeypatch.setitem(consumer.handlers, testsvc.PAYMENT_RECEIVED, fails_for_one_account)
    first, poison, last = payment(platform), payment(platform, poison_account), payment(platform)
    contract_key = f"PA-CONTRACT-{uuid.uuid4().hex[:6]}"
    broken_contract = record(platform, testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=contract_key),
                             value=b'{"amount": 1}')
    fallbacks = consumer.metrics.batch_fallbacks.labels("remits")._value.get()

    outcomes = await consumer.process_batch([first, broken_contract, poison, last])

    assert outcomes == [APPLIED, DEAD, DEAD, APPLIED]
    assert await effects(platform, first, poison, last) == [1, 0, 1]
    assert consumer.metrics.batch_fallbacks.labels("remits")._value.get() == fallbacks + 1
    seqs = [await count(platform, "remits", "SELECT seq FROM test_effects WHERE event_id = $1", event_id(r))
            for r in (first, last)]
    assert seqs[0] < seqs[1]  # record order kept on the per-record path too

    async def both_dead_lettered() -> bool:
        letters = {(k or b"").decode(): dlq_metadata(h)["error_class"]
                   for k, _, h in await read_topic(platform, "rcm.remits.dlq.v1")}
        return letters.get(poison_account) == "poison" and letters.get(contract_key) == "contract_violation"

    await eventually(both_dead_lettered, what="the poison and the contract violation in the DLQ, each classified")


def crash_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def maybe_crash(configured: str | None, passed: str, records: int = 1) -> None:
        if passed == point:
            raise Crash(point)

    monkeypatch.setattr(faults, "maybe_crash", maybe_crash)


async def test_a_crash_before_the_batch_commit_applies_nothing_and_the_redelivery_applies_each_once(
    platform: Settings, relay: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer = consumer_of(relay)
    accounts = [f"PA{uuid.uuid4().hex[:10]}" for _ in range(3)]
    batch = [payment(platform, a) for a in accounts]

    crash_at(monkeypatch, faults.HANDLER_BEFORE_COMMIT)
    with pytest.raises(Crash):
        await consumer.process_batch(batch)
    assert await effects(platform, *batch) == [0, 0, 0]
    assert [await outbox_rows(platform, a) for a in accounts] == [0, 0, 0]

    # The offset was never committed: the same records come again, and now the commit goes through
    # but the process dies before the offset commit. The third delivery finds them all applied.
    crash_at(monkeypatch, faults.CONSUMER_AFTER_COMMIT)
    with pytest.raises(Crash):
        await consumer.process_batch(batch)
    monkeypatch.undo()
    assert await consumer.process_batch(batch) == [DUPLICATE, DUPLICATE, DUPLICATE]
    assert await effects(platform, *batch) == [1, 1, 1]
    assert [await outbox_rows(platform, a) for a in accounts] == [1, 1, 1]


async def test_a_park_and_its_release_in_one_batch(platform: Settings, relay: Runtime) -> None:
    account = f"{testsvc.WAITING_PREFIX}{uuid.uuid4().hex[:8]}"
    first, second = payment(platform, account), payment(platform, account)
    release = record(platform, testsvc.example(testsvc.REFUND_ISSUED, patient_account_id=account))

    outcomes = await consumer_of(relay).process_batch([first, second, release])

    assert outcomes == [PARKED, PARKED, APPLIED]
    key = str(ParkKey.of("account", account))
    assert await count(platform, "remits", "SELECT count(*) FROM parked WHERE park_key = $1", key) == 0
    order = "SELECT seq FROM test_effects WHERE event_id = $1"
    assert 0 < await count(platform, "remits", order, event_id(first)) < await count(platform, "remits", order,
                                                                                       event_id(second))
    assert await effects(platform, first, second, release) == [1, 1, 1]
    assert await outbox_rows(platform, account) == 2


async def test_a_crash_before_a_releases_commit_leaves_the_events_parked_for_the_redelivery(
    platform: Settings, relay: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a batch's releases took are deleted in one statement just before its commit: a
    crash before the commit leaves them parked, and the redelivered release applies each once,
    in arrival order."""
    consumer = consumer_of(relay)
    account = f"{testsvc.WAITING_PREFIX}{uuid.uuid4().hex[:8]}"
    first, second = payment(platform, account), payment(platform, account)
    release = record(platform, testsvc.example(testsvc.REFUND_ISSUED, patient_account_id=account))
    parked = "SELECT count(*) FROM parked WHERE park_key = $1"
    key = str(ParkKey.of("account", account))
    assert await consumer.process_batch([first, second]) == [PARKED, PARKED]

    crash_at(monkeypatch, faults.HANDLER_BEFORE_COMMIT)
    with pytest.raises(Crash):
        await consumer.process_batch([release])
    assert await count(platform, "remits", parked, key) == 2
    assert await effects(platform, first, second, release) == [0, 0, 0]

    monkeypatch.undo()
    assert await consumer.process_batch([release]) == [APPLIED]
    assert await count(platform, "remits", parked, key) == 0
    assert await effects(platform, first, second, release) == [1, 1, 1]
    assert await outbox_rows(platform, account) == 2
    order = "SELECT seq FROM test_effects WHERE event_id = $1"
    assert await count(platform, "remits", order, event_id(first)) < await count(platform, "remits", order,
                                                                                  event_id(second))


async def test_a_release_waits_for_an_uncommitted_park_of_its_key(platform: Settings, relay: Runtime) -> None:
    """Two instances at once (the event and what it waits for on different topics): the release
    must not look before the parker's transaction ends, or the parked event waits forever."""
    key = ParkKey.of("account", f"hold{uuid.uuid4().hex[:10]}")
    rec = payment(platform)
    async with relay.db.acquire() as parker, relay.db.acquire() as releaser:
        parked = parker.transaction()
        await parked.start()
        await parking.hold(parker, key)
        await parking.park(parker, key, Envelope.from_headers(rec.headers), rec, "waiting")
        async with releaser.transaction():
            taking = asyncio.create_task(parking.take(releaser, key))
            await asyncio.sleep(0.5)
            assert not taking.done()  # held by the parker's open transaction
            await parked.commit()
            taken = await asyncio.wait_for(taking, 10)
    assert [r.value for r in taken] == [rec.value]


async def test_a_batch_settling_its_declared_keys_waits_for_an_uncommitted_park(
    platform: Settings, relay: Runtime
) -> None:
    """The batch holds the keys its handlers declare, then looks which have parked events, in two
    statements: looking in the holding statement would use a snapshot from before the wait, and
    the release would find nothing to take while the parked payment waits forever."""
    account = f"{testsvc.WAITING_PREFIX}{uuid.uuid4().hex[:8]}"
    key = ParkKey.of("account", account)
    waiting = payment(platform, account)
    release = record(platform, testsvc.example(testsvc.REFUND_ISSUED, patient_account_id=account))
    async with relay.db.acquire() as parker:
        parked = parker.transaction()
        await parked.start()
        await parking.hold(parker, key)
        await parking.park(parker, key, Envelope.from_headers(waiting.headers), waiting, "waiting")
        applying = asyncio.create_task(consumer_of(relay).process_batch([payment(platform), release]))
        await asyncio.sleep(0.5)
        assert not applying.done()  # held by the parker's open transaction
        await parked.commit()
    assert await asyncio.wait_for(applying, 10) == [APPLIED, APPLIED]
    assert await effects(platform, waiting, release) == [1, 1]
    assert await count(platform, "remits", "SELECT count(*) FROM parked WHERE park_key = $1", str(key)) == 0
