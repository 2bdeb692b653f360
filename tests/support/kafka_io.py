"""Small test helpers: publish like an integration team, read topics, wait for effects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.kafka import client_options
from services.chassis.settings import Settings
from services.chassis.topics import consumer_lag


async def publish(
    settings: Settings,
    event: BaseModel,
    *,
    event_id: UUID | None = None,
    traceparent: str | None = None,
    raw_value: bytes | None = None,
    headers_override: list[tuple[str, bytes]] | None = None,
    key: str | None = None,
    subject: str | None = None,
) -> Envelope:
    """Publish as an integration team would; `key` and `subject` replace the record key and
    ce_subject (by default both the registry's `key_of`), as a careless sender might."""
    spec = spec_for_model(type(event))
    envelope = Envelope.new(
        source="test-integration", type=event_type_of(event), subject=subject or key_of(event),
        time=datetime.now(UTC), traceparent=traceparent,
    )
    if event_id is not None:
        envelope = envelope.model_copy(update={"id": event_id})
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True,
                                **client_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(spec.topic),
            value=raw_value if raw_value is not None else encode(event),
            key=(key or key_of(event)).encode(),
            headers=headers_override if headers_override is not None else envelope.to_headers(),
        )
    finally:
        await producer.stop()
    return envelope


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    """Every record of a (unprefixed) topic, by partition and offset.

    Not `dlq_replay.read_records`: its seek to the beginning waits out a fetch in flight
    (fetch_max_wait_ms, 0.5 s), and tests read topics over and over while they wait for events.
    A consumer without a group starts at the earliest offset by itself."""
    name = settings.topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=20, **client_options(settings))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(name)
        # Provisioning created every topic: an unknown one is a wrong name, not an empty topic.
        assert partitions, f"no topic {name}"
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for batch in (await consumer.getmany(tp, timeout_ms=1000)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return [(r.key, r.value or b"", list(r.headers or ())) for r in records]


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    pause = 0.02
    while time.monotonic() < deadline:
        if await check():
            return
        # Most waits end within a few hundred milliseconds: look again soon, then back off.
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


async def consumed(settings: Settings, service: str, topic: str, timeout_s: float = 60) -> None:
    """Wait until the service's consumer group has committed past every record on `topic` so far.

    The chassis commits an offset only after the handler's transaction (or the dead letter), so
    from then on whatever those records do in the database is there to see: the marker that
    lets a test assert that something did *not* happen."""
    async def caught_up() -> bool:
        return (await consumer_lag(settings, service))[settings.topic(topic)] == 0

    await eventually(caught_up, timeout_s=timeout_s, what=f"{service} to consume everything on {topic}")


async def count(settings: Settings, service: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(settings.database_url(service))  # type: ignore[arg-type]
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()
