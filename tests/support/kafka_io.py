"""Small test helpers: publish like an integration team, read topics, wait for effects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.dlq_replay import read_records
from services.chassis.settings import Settings


async def publish(
    settings: Settings,
    event: BaseModel,
    *,
    event_id: UUID | None = None,
    traceparent: str | None = None,
    raw_value: bytes | None = None,
    headers_override: list[tuple[str, bytes]] | None = None,
) -> Envelope:
    spec = spec_for_model(type(event))
    envelope = Envelope.new(
        source="test-integration", type=event_type_of(event), subject=key_of(event),
        time=datetime.now(UTC), traceparent=traceparent,
    )
    if event_id is not None:
        envelope = envelope.model_copy(update={"id": event_id})
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.topic(spec.topic),
            value=raw_value if raw_value is not None else encode(event),
            key=key_of(event).encode(),
            headers=headers_override if headers_override is not None else envelope.to_headers(),
        )
    finally:
        await producer.stop()
    return envelope


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    records = await read_records(settings, settings.topic(topic))
    return [(r.key, r.value or b"", list(r.headers or ())) for r in records]


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


async def count(settings: Settings, service: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(settings.database_url(service))  # type: ignore[arg-type]
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()
