"""Transactional outbox and its relay.

A handler calls `enqueue` inside the transaction of its state change (no dual writes). The relay
publishes unpublished rows in `seq` order with an idempotent producer, waits for the broker's
ack, then marks them. A crash between ack and mark republishes the same event id, which every
consumer's inbox turns into a no-op: at least once on the wire, exactly once in effect.

A broker that is away (connection, timeouts, leader changes) only pauses the relay: it backs off
and tries again, losing nothing. A row the broker refuses for good (PERMANENT) is held with the
reason, and the rows behind it with the same topic and key wait too, so the rest of the service's
events keep flowing while one aggregate waits for an operator (`rcm outbox list|retry`).

Inside `deferred(conn)` (every consumer transaction runs in one) the events enqueued on that
connection are kept in memory in the order they were enqueued and written in one statement when
the block ends, just before the commit: a transaction costs one outbox statement (and one run of
the notify trigger), however many events its handlers emit and whichever way they enqueue them.
Each event's id and traceparent are taken when it is enqueued, as before; nothing may read the
outbox inside such a block expecting its own rows (nothing does: the relay and `rcm outbox` read
committed rows from other connections), and an event enqueued inside a savepoint that is rolled
back would still be written (no handler opens a savepoint; one that does must emit outside it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from uuid import UUID, uuid4

import asyncpg
from aiokafka import errors as kafka_errors
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, key_of, spec_for_model
from services.chassis import faults, leadership
from services.chassis.kafka import Publisher
from services.chassis.logs import ids
from services.chassis.metrics import Metrics
from services.chassis.settings import Settings

log = logging.getLogger(__name__)
# Refusals that no retry cures: the row itself (or the topic's configuration) must change.
PERMANENT: tuple[type[Exception], ...] = (
    kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError, kafka_errors.InvalidTopicError,
    kafka_errors.CorruptRecordException, kafka_errors.TopicAuthorizationFailedError,
)
SELECT_PENDING = (
    "SELECT seq, event_id, topic, message_key, event_type, subject, occurred_at, traceparent, payload"
    " FROM outbox o WHERE published_at IS NULL AND held_at IS NULL AND NOT EXISTS ("
    " SELECT 1 FROM outbox h WHERE h.held_at IS NOT NULL AND h.published_at IS NULL"
    " AND h.topic = o.topic AND h.message_key = o.message_key AND h.seq < o.seq)"
    " ORDER BY seq LIMIT $1"
)


def current_traceparent() -> str | None:
    """The current span as a W3C version-00 traceparent (what the envelope carries), None outside a
    trace. Formatted here rather than through `propagate.inject`: that runs every configured
    propagator into a dict for each event emitted, for this one header."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


# One statement for any number of rows; `seq` is drawn in the order of the arrays (ORDER BY the
# ordinality), so the relay publishes the rows in the order they were enqueued. subject = key.
INSERT_MANY = (
    "INSERT INTO outbox (event_id, topic, message_key, event_type, subject, occurred_at, traceparent, payload)"
    " SELECT e, t, k, y, k, o, p, b FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],"
    " $5::timestamptz[], $6::text[], $7::bytea[]) WITH ORDINALITY AS r(e, t, k, y, o, p, b, n) ORDER BY n"
)
_Row = tuple[UUID, str, str, str, datetime, str | None, bytes]


@dataclass
class _Deferred:
    """The rows enqueued on `conn` inside `deferred(conn)`, in order, not written yet."""

    conn: asyncpg.Connection
    rows: list[_Row] = field(default_factory=list)


# A context variable, not a HandlerContext field: handlers and stores that call `enqueue` with the
# transaction's connection (claims' Writes, remits' postings) join the buffer without being told,
# so every event of the transaction takes its place in one order and one statement.
_DEFERRED: ContextVar[_Deferred | None] = ContextVar("rcm_outbox_deferred", default=None)


@contextlib.asynccontextmanager
async def deferred(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Keep what is enqueued on `conn` in the block, and write it in one statement when the block
    ends without an error. Open it inside the transaction, so the write is part of it (a failing
    write fails the transaction); when the block fails nothing is written (it rolls back anyway)."""
    buffer = _Deferred(conn)
    token = _DEFERRED.set(buffer)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
    await _insert(conn, buffer.rows)


async def enqueue(
    conn: asyncpg.Connection, event: BaseModel, *, occurred_at: datetime, event_id: UUID | None = None
) -> UUID:
    """Add an event to the outbox; call it inside the transaction of the change it announces."""
    return (await enqueue_many(conn, [(event, occurred_at, event_id)]))[0]


Traced = tuple[BaseModel, datetime, UUID | None, str | None]
"""An event kept to be enqueued later with the trace it was emitted in (`traced`)."""


def traced(event: BaseModel, occurred_at: datetime, event_id: UUID | None = None) -> Traced:
    """The event with the trace current now: for a list enqueued later, after a pass that emits in
    the trace of each aggregate it acts on (telemetry.continued) has moved on to the next one."""
    return event, occurred_at, event_id, current_traceparent()


async def enqueue_many(
    conn: asyncpg.Connection, events: Sequence[tuple[BaseModel, datetime, UUID | None] | Traced]
) -> list[UUID]:
    """Add events (each with its occurred_at and optional id) to the outbox, in the order given:
    `seq` follows it, so the relay publishes them in that order. Call it inside the transaction of
    the change they announce. Written at once in one statement, or, inside `deferred(conn)`, with
    the block's other events when it ends. Each goes in the trace current now, or a `Traced` one
    in the trace it kept."""
    if not events:
        return []
    now = current_traceparent()  # the trace current now, when the events are emitted
    rows: list[_Row] = []
    for event, occurred_at, event_id, *kept in events:
        spec = spec_for_model(type(event))
        rows.append((event_id or uuid4(), spec.topic, key_of(event), spec.type, occurred_at,
                     kept[0] if kept else now, encode(event)))
    pending = _DEFERRED.get()
    if pending is not None and pending.conn is conn:
        pending.rows.extend(rows)
    else:
        await _insert(conn, rows)
    return [row[0] for row in rows]


async def _insert(conn: asyncpg.Connection, rows: list[_Row]) -> None:
    if rows:
        await conn.execute(INSERT_MANY, *(list(column) for column in zip(*rows, strict=True)))


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
    """Publishes one service's outbox. Only the leader among the instances publishes (one
    publisher keeps the per-key order): services.chassis.leadership."""

    def __init__(
        self,
        *,
        service: str,
        settings: Settings,
        pool: asyncpg.Pool,
        publisher: Publisher,
        metrics: Metrics,
        tracer: trace.Tracer,
        record_spans: bool = True,
    ) -> None:
        self.service = service
        self.settings = settings
        self.pool = pool
        self.publisher = publisher
        self.metrics = metrics
        self.tracer = tracer
        # False when no exporter takes the spans: a producer span per row is then CPU for nothing.
        self.record_spans = record_spans
        self._wake = asyncio.Event()
        # The graceful-stop drain and the relay loop may both call publish_pending: one at a time,
        # or both would send the same rows before either marks them.
        self._publishing = asyncio.Lock()
        self.is_leader = False

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._lead(stopping)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError,
                    kafka_errors.KafkaError) as exc:
                self.is_leader = False
                log.warning("outbox relay interrupted", extra=ids(service=self.service, error_class=type(exc).__name__))
                await _sleep_or_stop(stopping, self.settings.retry_max_delay_s)

    async def _lead(self, stopping: asyncio.Event) -> None:
        # The relay's key predates the other roles' (leadership.lock_key): kept, so an instance of
        # the previous release and one of this release never both publish during a rolling restart.
        await leadership.lead(self.pool, f"rcm-outbox-relay:{self.service}", stopping,
                              lambda lock_conn: self._relay(lock_conn, stopping),
                              poll_s=self.settings.outbox_poll_interval_s * 3, on_change=self._leading)

    def _leading(self, leader: bool) -> None:
        self.is_leader = leader

    async def _relay(self, lock_conn: asyncpg.Connection, stopping: asyncio.Event) -> None:
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
            with contextlib.suppress(Exception):
                await lock_conn.remove_listener(channel, self._on_notify)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch in order; return how many rows were published or held.

        The batch goes out in waves: each wave holds the next unpublished row of every key,
        handed to the producer at once (pipelined) and then awaited. A key's next row is only
        sent once the row before it was acked, so a row refused or timed out never has a later
        row of its key published before it, as when each send was awaited alone."""
        async with self._publishing, self.pool.acquire() as conn:
            rows = [OutboxRow(**dict(r)) for r in await conn.fetch(SELECT_PENDING, self.settings.outbox_batch_size)]
            if not rows:
                await self._gauges(conn)
                return 0
            published: list[int] = []
            blocked: set[tuple[str, str]] = set()
            try:
                waiting = rows
                while waiting:
                    wave, waiting = _next_wave(waiting, blocked)
                    await self._publish_wave(conn, wave, published, blocked)
                faults.maybe_crash(self.settings.fault, faults.RELAY_AFTER_ACK)
            finally:
                # Acked rows are marked even when a later row fails, so a retry does not resend them.
                if published:
                    await conn.execute("UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])",
                                       published)
            await self._gauges(conn)
            return len(published) + len(blocked)

    async def _publish_wave(
        self, conn: asyncpg.Connection, wave: list[OutboxRow], published: list[int], blocked: set[tuple[str, str]]
    ) -> None:
        """Send the wave pipelined, await every ack, then sort the rows: acked (into `published`),
        refused for good (held, its key blocked), or failed otherwise (its key blocked for this
        pass; the first such error is raised once the whole wave is settled)."""
        pending: list[tuple[OutboxRow, asyncio.Future[object] | Exception]] = []
        for row in wave:
            try:
                pending.append((row, await self._send(row)))
            except Exception as exc:  # refused before it left (too large, broker away): sorted below
                pending.append((row, exc))
        failure: Exception | None = None
        for row, ack in pending:
            error = ack if isinstance(ack, Exception) else await _settled(ack)
            if isinstance(error, PERMANENT):
                # A broker refuses a whole producer batch: give the row one try alone before
                # holding it, so a record is never held for another key's fault.
                error = await self._alone(row) if not isinstance(ack, Exception) else error
            if error is None:
                published.append(row.seq)
                self.metrics.published.labels(self.service, row.event_type).inc()
                continue
            blocked.add((row.topic, row.message_key))
            if isinstance(error, PERMANENT):
                await conn.execute("UPDATE outbox SET held_at = now(), held_reason = $2 WHERE seq = $1",
                                   row.seq, f"{type(error).__name__}: the broker refused this record")
                log.error("outbox row held: the broker refused it for good; its key waits",
                          extra=ids(service=self.service, seq=row.seq, event_type=row.event_type,
                                    error_class=type(error).__name__))
            elif failure is None:
                failure = error
        if failure is not None:
            raise failure

    async def _gauges(self, conn: asyncpg.Connection) -> None:
        """At the end of every completed pass, also one with nothing to publish: its time is what
        says the relay still runs (a pass that failed does not move it)."""
        pending = await backlog(conn)
        self.metrics.set_outbox(self.service, pending.pending, pending.held, pending.oldest_pending_age_s)
        self.metrics.relay_last_success.labels(self.service).set(time.time())

    async def _alone(self, row: OutboxRow) -> Exception | None:
        try:
            await (await self._send(row))
        except Exception as exc:
            return exc
        return None

    async def _send(self, row: OutboxRow) -> asyncio.Future[object]:
        """Hand the row to the producer in its own producer span (in the trace of the change that
        wrote it); the future resolves with the broker's ack. When nothing exports spans, the
        record carries the row's traceparent as it is: the same trace, without the span."""
        if not self.record_spans:
            return await self._enqueue(row, row.traceparent)
        parent = propagate.extract({"traceparent": row.traceparent} if row.traceparent else {})
        with self.tracer.start_as_current_span(
            f"{row.topic} publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.settings.topic(row.topic),
                "messaging.message.id": str(row.event_id),
                "rcm.event_type": row.event_type,
            },
        ):
            return await self._enqueue(row, current_traceparent())

    async def _enqueue(self, row: OutboxRow, traceparent: str | None) -> asyncio.Future[object]:
        envelope = Envelope(id=row.event_id, source=self.service, type=row.event_type, time=row.occurred_at,
                            subject=row.subject, traceparent=traceparent)
        return await self.publisher.enqueue(
            self.settings.topic(row.topic), key=row.message_key, value=row.payload, headers=envelope.to_headers()
        )


def _next_wave(rows: list[OutboxRow], blocked: set[tuple[str, str]]) -> tuple[list[OutboxRow], list[OutboxRow]]:
    """(the first row of each key not blocked, the rows behind them in seq order)."""
    wave: list[OutboxRow] = []
    behind: list[OutboxRow] = []
    keys: set[tuple[str, str]] = set()
    for row in rows:
        key = (row.topic, row.message_key)
        if key in blocked:
            continue
        (behind if key in keys else wave).append(row)
        keys.add(key)
    return wave, behind


async def _settled(ack: asyncio.Future[object]) -> Exception | None:
    """The ack's failure, or None once the broker acked."""
    try:
        await ack
    except Exception as exc:
        return exc
    return None


class Backlog(NamedTuple):
    pending: int
    """Rows waiting to be published (those waiting behind a held row included)."""
    held: int
    """Rows held after a permanent refusal."""
    oldest_pending_age_s: float
    """Seconds since the oldest waiting row was written (database time), 0 when none waits."""


async def backlog(conn: asyncpg.Connection) -> Backlog:
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE held_at IS NULL), count(*) FILTER (WHERE held_at IS NOT NULL),"
        " COALESCE(EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE held_at IS NULL)), 0)"
        " FROM outbox WHERE published_at IS NULL")
    assert row is not None
    return Backlog(int(row[0]), int(row[1]), max(float(row[2]), 0.0))


async def unpublished(conn: asyncpg.Connection) -> tuple[int, int]:
    """(rows waiting to be published, rows held after a permanent refusal)."""
    pending = await backlog(conn)
    return pending.pending, pending.held


async def held_rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Held rows with how many rows of the same key wait behind each (no payloads: they may hold PHI)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT h.seq, h.event_id, h.topic, h.message_key, h.event_type, h.occurred_at, h.held_at, h.held_reason,"
        " (SELECT count(*) FROM outbox w WHERE w.published_at IS NULL AND w.topic = h.topic"
        "  AND w.message_key = h.message_key AND w.seq > h.seq) AS waiting"
        " FROM outbox h WHERE h.held_at IS NOT NULL AND h.published_at IS NULL ORDER BY h.seq")
    return rows


async def release_held(conn: asyncpg.Connection, seq: int) -> bool:
    """Let the relay try a held row again (after the topic or broker was fixed)."""
    released = await conn.fetchval(
        "UPDATE outbox SET held_at = NULL, held_reason = NULL WHERE seq = $1 AND held_at IS NOT NULL"
        " AND published_at IS NULL RETURNING seq", seq)
    if released is not None:
        await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")
    return released is not None


async def _sleep_or_stop(stopping: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


async def prune(conn: asyncpg.Connection, older_than: datetime) -> int:
    """Housekeeping: published rows past retention."""
    done = await conn.execute("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1", older_than)
    return int(done.split()[-1])
