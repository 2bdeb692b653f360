"""Transactional outbox and its relay.

A handler calls `enqueue` inside the transaction of its state change (no dual writes). The relay
publishes unpublished rows in `seq` order with an idempotent producer, waits for the broker's
ack, then marks them. A crash between ack and mark republishes the same event id, which every
consumer's inbox turns into a no-op: at least once on the wire, exactly once in effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, key_of, spec_for_model
from services.chassis import faults
from services.chassis.kafka import Publisher
from services.chassis.logs import ids
from services.chassis.metrics import Metrics
from services.chassis.settings import Settings

log = logging.getLogger(__name__)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


async def enqueue(
    conn: asyncpg.Connection, event: BaseModel, *, occurred_at: datetime, event_id: UUID | None = None
) -> UUID:
    """Add an event to the outbox; call it inside the transaction of the change it announces."""
    spec = spec_for_model(type(event))
    key = key_of(event)
    new_id = event_id or uuid4()
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, message_key, event_type, subject, occurred_at, traceparent, payload)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        new_id,
        spec.topic,
        key,
        spec.type,
        key,
        occurred_at,
        current_traceparent(),
        encode(event),
    )
    return new_id


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    event_id: UUID
    topic: str
    message_key: str
    event_type: str
    subject: str
    occurred_at: datetime
    traceparent: str | None
    payload: bytes


class OutboxRelay:
    """Publishes one service's outbox. Only the advisory-lock holder publishes (one leader)."""

    def __init__(
        self,
        *,
        service: str,
        settings: Settings,
        pool: asyncpg.Pool,
        publisher: Publisher,
        metrics: Metrics,
        tracer: trace.Tracer,
    ) -> None:
        self.service = service
        self.settings = settings
        self.pool = pool
        self.publisher = publisher
        self.metrics = metrics
        self.tracer = tracer
        self._wake = asyncio.Event()
        self.is_leader = False

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._lead(stopping)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                self.is_leader = False
                log.warning("outbox relay interrupted", extra=ids(service=self.service, error_class=type(exc).__name__))
                await _sleep_or_stop(stopping, self.settings.retry_max_delay_s)

    async def _lead(self, stopping: asyncio.Event) -> None:
        async with self.pool.acquire() as lock_conn:
            lock_key = f"rcm-outbox-relay:{self.service}"
            while not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key):
                if await _sleep_or_stop(stopping, self.settings.outbox_poll_interval_s * 3):
                    return
            self.is_leader = True
            channel = f"{self.service}_outbox"
            await lock_conn.add_listener(channel, self._on_notify)
            try:
                while not stopping.is_set():
                    published = await self.publish_pending()
                    if published >= self.settings.outbox_batch_size:
                        continue
                    # NOTIFY wakes us at once; the timeout is the fallback when a notify was missed.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_interval_s)
                    self._wake.clear()
            finally:
                self.is_leader = False
                with contextlib.suppress(Exception):
                    await lock_conn.remove_listener(channel, self._on_notify)
                    await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch in order; return how many rows were published."""
        async with self.pool.acquire() as conn:
            records = await conn.fetch(
                "SELECT seq, event_id, topic, message_key, event_type, subject, occurred_at, traceparent, payload"
                " FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1",
                self.settings.outbox_batch_size,
            )
            rows = [OutboxRow(**dict(r)) for r in records]
            if not rows:
                self.metrics.outbox_pending.labels(self.service).set(0)
                return 0
            for row in rows:
                await self._publish(row)
            faults.maybe_crash(self.settings.fault, faults.RELAY_AFTER_ACK)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])", [r.seq for r in rows]
            )
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            self.metrics.outbox_pending.labels(self.service).set(pending)
            return len(rows)

    async def _publish(self, row: OutboxRow) -> None:
        parent = propagate.extract({"traceparent": row.traceparent} if row.traceparent else {})
        token = otel_context.attach(parent)
        try:
            with self.tracer.start_as_current_span(
                f"{row.topic} publish",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": self.settings.topic(row.topic),
                    "messaging.message.id": str(row.event_id),
                    "rcm.event_type": row.event_type,
                },
            ):
                envelope = Envelope(
                    id=row.event_id,
                    source=self.service,
                    type=row.event_type,
                    time=row.occurred_at,
                    subject=row.subject,
                    traceparent=current_traceparent(),
                )
                # Awaiting each ack keeps the per-key order even across retries.
                await self.publisher.send(
                    self.settings.topic(row.topic),
                    key=row.message_key,
                    value=row.payload,
                    headers=envelope.to_headers(),
                )
                self.metrics.published.labels(self.service, row.event_type).inc()
        finally:
            otel_context.detach(token)


async def _sleep_or_stop(stopping: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


async def prune(conn: asyncpg.Connection, older_than: datetime) -> int:
    """Housekeeping: published outbox rows and old inbox rows past retention."""
    out = await conn.execute("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1", older_than)
    inb = await conn.execute("DELETE FROM inbox WHERE received_at < $1", older_than)
    return int(out.split()[-1]) + int(inb.split()[-1])
