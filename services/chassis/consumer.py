"""How every service consumes: classify, dedupe, apply in one transaction, then let the offset go.

For each record, in order:
* no valid CloudEvents envelope, an unknown event type, an event type on a topic that does not
  carry it (the registry's topic), or a payload that breaks its contract: dead-lettered with
  the reason, then acknowledged (the partition moves on);
* on an intake topic (rcm.intake.*, where outside data enters) the payload is read as strictly
  as the HTTP door reads it: a payload that decodes but carries unknown fields, or whose record
  key or ce_subject is not its aggregate key (the registry's `key_of`), is refused. The
  service's rejecter for the event type answers the sender with a rejection event naming each
  field (in one transaction with the inbox row, like a handler); a type without a rejecter is
  dead-lettered with the same field paths. Our own topics keep reading tolerantly, so a
  producer may add an optional field within a version;
* an event type of the topic that this service does not handle: acknowledged and counted;
* otherwise the handler runs inside one transaction together with the inbox row, so a
  redelivered event is a no-op. Transient failures are retried with capped exponential
  backoff and jitter; when the attempts run out, or the handler fails for any other reason,
  the record is dead-lettered, never dropped and never retried forever.
The caller commits the Kafka offset only after `process` returns, which is after the commit.

`process_batch` does the same for a micro-batch of records (what one poll returned): each record
is classified as above, then every handler-bound record is applied in ONE transaction, in record
order, each behind its own inbox claim (claimed in one statement; a duplicate inside the batch or
of an earlier one stays a no-op). One transaction per batch instead of per record is where the
throughput comes from. If anything in it fails, it is rolled back whole and the batch's records go
through the per-record path above (retries, then the DLQ), so one poison record never blocks or
drops the others. The caller commits the batch's offsets once, after `process_batch` returned.

Either way the events the transaction emits (`ctx.emit`, or `outbox.enqueue` on its connection)
are written to the outbox in one statement at its end, just before the commit (outbox.deferred).

Parking keys a handler declares (`HandlerTable.handles(..., park_keys=)`) are settled once per
transaction, before its handlers run: every declared key held in one statement, then the events
parked under them read in another; at the first release that takes any, the same for the keys
the parked events' handlers declare, while any is new. A release of a settled key applies what
was read with no statement,
and what the transaction's releases took is deleted in one statement before the commit; a hold
of a key already held costs none, instead of a hold, a DELETE and the released events' lookups
per release.

A service may declare event types a batch applies first (`HandlerTable.applies_first`): each
such record goes before the records of its record key from the batch's other topics, every
topic's records keeping their order (`applied_first_order`). Charges applies an encounter's
registration before its charges, which would otherwise park and wait for it.

A handler may also declare a unit of work (`HandlerTable.handles(..., unit=)`). Its `prefetch` is
called once per transaction, after the park keys are settled and before any handler runs, with
every event of the transaction that its handlers will get (on the per-record path, the one
event), and the events parked under the settled keys, which a release may hand them: it loads
what they will read into the transaction's memo in a few set-based statements, instead of a few
statements per event. Its `flush` is called once per transaction after the last handler, before
the commit: what the handlers buffered is written set-wise there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

import asyncpg
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanKind
from pydantic import BaseModel

from schemas.dlq import DeadLetterInfo, ErrorClass
from schemas.envelope import Envelope, EnvelopeError
from schemas.registry import (
    INTAKE_TOPICS,
    REGISTRY,
    ContractError,
    UnknownEventType,
    decode,
    key_of,
    spec_for,
    spec_for_model,
    validate,
)
from services.chassis import dlq, faults, inbox, outbox, parking
from services.chassis.clock import Clock
from services.chassis.dlq import SourceRecord
from services.chassis.kafka import Publisher
from services.chassis.logs import ids
from services.chassis.metrics import Metrics
from services.chassis.parking import ParkKey
from services.chassis.settings import Settings
from services.chassis.telemetry import remote_context

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransientError(Exception):
    """Raised by a handler for a failure worth retrying (a dependency briefly unavailable)."""


TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
)


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    PARKED = "parked"
    DEAD_LETTERED = "dead_lettered"


@dataclass
class _Parking:
    """What one transaction knows of park keys (as `str(ParkKey)`): the keys it holds, and of the
    keys it held before it looked (`known`), the events parked under them (`parked`, in arrival
    order, plus what it parked there itself since; `decoded`: those the look decoded, by row id).
    A known key has nothing parked but what `parked` has: until the transaction ends no other one
    can park under it (a parker holds the key first). What a release of a known key took is
    deleted once for the transaction, just before its commit (`taken`)."""

    held: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)
    parked: dict[str, list[parking.Parked]] = field(default_factory=dict)
    decoded: dict[int, tuple[Envelope, Any]] = field(default_factory=dict)
    # The keys the parked events' handlers declare, settled at the first release that takes any.
    declared: set[str] = field(default_factory=set)
    taken: dict[UUID, int] = field(default_factory=dict)  # row id, by event id


@dataclass
class HandlerContext:
    """What a handler gets besides its event: the open transaction and ways to emit or park."""

    conn: asyncpg.Connection
    envelope: Envelope
    record: SourceRecord
    clock: Clock
    consumer: EventConsumer
    parked: bool = field(default=False)
    parking: _Parking = field(default_factory=_Parking)
    # Shared by every handler call of one transaction (a batch, or one record on the per-record
    # path): what `once` loaded. It dies with the transaction, so nothing outlives a commit.
    memo: dict[str, Any] = field(default_factory=dict)

    async def once(self, key: str, load: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`load(conn)` the first time `key` is asked for in this transaction, its result after
        that: a lookup that every event of a batch needs is one round trip per batch, not one per
        event. Only for what no handler of the batch changes; it reads as of the first call."""
        if key not in self.memo:
            self.memo[key] = await load(self.conn)
        return cast(T, self.memo[key])

    async def emit(self, event: BaseModel) -> UUID:
        return await outbox.enqueue(self.conn, event, occurred_at=self.clock.now())

    async def hold(self, key: ParkKey) -> None:
        """Call before checking whether to park under `key` (see parking.hold)."""
        name = str(key)
        if name not in self.parking.held:  # an advisory lock is held to the transaction's end
            await parking.hold(self.conn, key)
            self.parking.held.add(name)

    async def park(self, key: ParkKey, reason: str) -> None:
        """Keep this event until `release_parked(key)`; it counts as consumed."""
        if self.envelope.id in self.parking.taken:
            # Parked again by the release that took it (judged again, still waiting): its taken
            # row goes first, an event is parked once.
            await _remove_taken(self.conn, self.parking)
        kept = await parking.park(self.conn, key, self.envelope, self.record, reason)
        if kept.key in self.parking.known:
            self.parking.parked.setdefault(kept.key, []).append(kept)
        self.parked = True

    async def release_parked(self, key: ParkKey) -> int:
        """Apply, in this transaction and in arrival order, the events parked under the key: for a
        key the transaction knows (settled, see the module doc) with no statement, their rows
        deleted with the others released before the commit; for another key held and taken."""
        name, state = str(key), self.parking
        records: list[tuple[SourceRecord, tuple[Envelope, Any] | None, int | None]]  # row id if settled
        if name in state.known:
            records = [(row.record, state.decoded.get(row.id), row.id) for row in state.parked.pop(name, [])]
            if records:
                await self.consumer.settle_declared(self.conn, state)
        else:
            taken = await parking.take(self.conn, key, held=name in state.held)
            records = [(record, None, None) for record in taken]
            state.held.add(name)
        for record, decoded, row_id in records:
            envelope, event = decoded or _decoded(record)
            if row_id is not None:
                state.taken[envelope.id] = row_id
            child = HandlerContext(self.conn, envelope, record, self.clock, self.consumer, parking=state,
                                   memo=self.memo)
            await self.consumer.handlers[envelope.type](child, event)
        return len(records)


@dataclass(frozen=True, slots=True)
class IntakeProblem:
    """Why an intake record that decodes is refused all the same. `field` is a path in the
    sender's payload (an unknown field's own path, or the key field the record key and
    ce_subject must equal); `message` is fixed text, never a payload value."""

    code: str
    field: str
    message: str


UNKNOWN_FIELD = "INTAKE_UNKNOWN_FIELD"
KEY_MISMATCH = "INTAKE_KEY_MISMATCH"
SUBJECT_MISMATCH = "INTAKE_SUBJECT_MISMATCH"

Handler = Callable[[HandlerContext, Any], Awaitable[None]]
ParkKeys = Callable[[Any], Iterable[ParkKey]]
"""The park keys a handler may hold or release for an event (see HandlerTable.handles)."""
Rejecter = Callable[[HandlerContext, Any, tuple[IntakeProblem, ...]], Awaitable[None]]


class UnitOfWork(Protocol):
    """What handlers share in one transaction, kept in `ctx.memo` (see the module doc)."""

    async def prefetch(self, ctx: HandlerContext, events: list[Any]) -> None:
        """Load what the handlers will read for these events (all of the transaction's events of
        the types the unit is declared for, in record order)."""

    async def flush(self, ctx: HandlerContext) -> None:
        """Write what the handlers buffered; called before every commit, buffered or not."""

H = TypeVar("H", bound=Callable[..., Awaitable[None]])


class HandlerTable:
    """A service's event handlers, each registered with `@table.handles(Model, ...)`: the event type
    comes from the contract registry (never typed by hand), the handler receives that model, and an
    event type handled twice is refused when the module is imported."""

    def __init__(self) -> None:
        self.by_type: dict[str, Handler] = {}
        self.rejecters: dict[str, Rejecter] = {}
        self.park_keys: dict[str, ParkKeys] = {}
        self.units: dict[str, UnitOfWork] = {}
        self.applied_first: frozenset[str] = frozenset()

    def handles(self, *models: type[BaseModel], park_keys: ParkKeys | None = None,
                unit: UnitOfWork | None = None) -> Callable[[H], H]:
        """`park_keys`: the keys the handler may hold or release for an event. The consumer holds
        them and looks what waits under them once for a whole batch (see the module doc); a key
        the handler uses without declaring it costs its own queries, as before. `unit`: the unit of
        work of the handler's transactions (see UnitOfWork and the module doc)."""

        def register(handler: H) -> H:
            for model in models:
                event_type = spec_for_model(model).type
                if event_type in self.by_type:
                    raise ValueError(f"{event_type} already has a handler")
                self.by_type[event_type] = handler
                if park_keys is not None:
                    self.park_keys[event_type] = park_keys
                if unit is not None:
                    self.units[event_type] = unit
            return handler

        return register

    def applies_first(self, *models: type[BaseModel]) -> None:
        """In a batch, apply these event types before the records of the same record key from
        the batch's other topics (see `applied_first_order`): what the other topic's events
        wait for (an encounter's registration, for its charges) is then there, not parked. They
        must all be carried by one topic, so that no two records can each be asked to go first."""
        specs = [spec_for_model(model) for model in models]
        topics = {spec.topic for spec in specs} | {spec_for(t).topic for t in self.applied_first}
        if len(topics) > 1:
            raise ValueError(f"event types applied first must share one topic, not {sorted(topics)}")
        self.applied_first |= {spec.type for spec in specs}

    def rejects(self, *models: type[BaseModel]) -> Callable[[H], H]:
        """Register the function that answers a refused intake event (see IntakeProblem) with the
        service's rejection event; only intake event types can have one."""

        def register(rejecter: H) -> H:
            for model in models:
                spec = spec_for_model(model)
                if spec.topic not in INTAKE_TOPICS:
                    raise ValueError(f"{spec.type} is not an intake event: it is read tolerantly, never refused")
                if spec.type in self.rejecters:
                    raise ValueError(f"{spec.type} already has a rejecter")
                self.rejecters[spec.type] = rejecter
            return rejecter

        return register


@dataclass(frozen=True, slots=True)
class _Work:
    """A record to apply: its envelope, its decoded event, the handler (or rejecter) for it, and
    the park keys that handler declares for it."""

    record: SourceRecord
    envelope: Envelope
    event: Any
    handler: Handler
    park_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A record to dead-letter without trying it: why, as the DLQ records it."""

    error_class: ErrorClass
    reason: str


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        settings: Settings,
        clock: Clock,
        pool: asyncpg.Pool,
        publisher: Publisher,
        metrics: Metrics,
        handlers: dict[str, Handler],
        rejecters: dict[str, Rejecter] | None = None,
        name: str | None = None,
        tracer: trace.Tracer | None = None,
        park_keys: dict[str, ParkKeys] | None = None,
        record_spans: bool = True,
        units: dict[str, UnitOfWork] | None = None,
        applied_first: frozenset[str] = frozenset(),
    ) -> None:
        self.service = service
        self.name = name or service
        self.settings = settings
        self.clock = clock
        self.pool = pool
        self.publisher = publisher
        self.metrics = metrics
        self.handlers = handlers
        self.rejecters = rejecters or {}
        self.tracer = tracer or trace.get_tracer(__name__)
        self.park_keys = park_keys or {}
        self.units = units or {}
        self.applied_first = applied_first
        # False when no exporter takes the spans: a span per record is then CPU for nothing.
        self.record_spans = record_spans

    async def process(self, record: SourceRecord) -> Outcome:
        verdict = self._classify(record)
        if isinstance(verdict, _Refusal):
            return await self._dead_letter(record, verdict.error_class, verdict.reason, attempts=1)
        if isinstance(verdict, Outcome):
            return verdict
        return await self._apply_with_retries(verdict)

    async def process_batch(self, records: list[SourceRecord]) -> list[Outcome]:
        """Each record's outcome, in order. Refused records are dead-lettered as they come; the
        handler-bound ones are applied together in one transaction (see the module doc)."""
        outcomes: list[Outcome] = []
        work: list[tuple[int, _Work]] = []
        for record in records:
            verdict = self._classify(record)
            if isinstance(verdict, _Refusal):
                outcomes.append(await self._dead_letter(record, verdict.error_class, verdict.reason, attempts=1))
            elif isinstance(verdict, Outcome):
                outcomes.append(verdict)
            else:
                work.append((len(outcomes), verdict))
                outcomes.append(Outcome.APPLIED)  # placeholder, set below
        if not work:
            return outcomes
        work = applied_first_order(work, self.applied_first)
        items = [w for _, w in work]
        try:
            applied = await self._apply_batch(items)
        except Exception as exc:
            # Rolled back whole: nothing of the batch happened. The per-record path finds the
            # culprit (a transient failure is retried, a poison record dead-lettered) and applies
            # the rest.
            self.metrics.batch_fallbacks.labels(self.service).inc()
            log.warning("batch failed, applying its records one by one",
                        extra=ids(count=len(items), error_class=type(exc).__name__))
            applied = []
            for item in items:
                with self._record_span(item):
                    applied.append(await self._apply_with_retries(item))
        for (index, _), outcome in zip(work, applied, strict=True):
            outcomes[index] = outcome
        return outcomes

    def _classify(self, record: SourceRecord) -> _Work | _Refusal | Outcome:
        """What to do with a record: apply it (with its handler or rejecter), dead-letter it, or
        ignore it (counted here). No I/O."""
        try:
            envelope = Envelope.from_headers(record.headers)
        except EnvelopeError as exc:
            return _Refusal("envelope_invalid", str(exc))
        spec = REGISTRY.get(envelope.type)
        if spec is None:
            return _Refusal("unknown_event_type", "event type is not in the contract registry")
        if record.topic != self.settings.topic(spec.topic):
            # Found by fuzzing: a payment published to the charges intake topic was ignored
            # (acknowledged, lost to the sender), and an internal type on an intake topic was
            # read tolerantly, past the strict intake read. A type belongs to one topic.
            reason = f"event type is not carried by this topic (it belongs on {spec.topic})"
            return _Refusal("unknown_event_type", reason)
        handler = self.handlers.get(envelope.type)
        if handler is None:
            self._count(envelope.type, Outcome.IGNORED)
            return Outcome.IGNORED
        intake = spec.topic in INTAKE_TOPICS
        try:
            event, problems = read_intake(envelope, record) if intake else (decode(envelope.type, record.value), ())
        except ContractError as exc:
            undecodable = any(e.get("type") == "json_invalid" for e in exc.errors)
            return _Refusal("undecodable" if undecodable else "contract_violation", _contract_reason(exc))
        if problems:
            rejecter = self.rejecters.get(envelope.type)
            if rejecter is None:
                return _Refusal("contract_violation", _intake_reason(problems))

            async def refuse(ctx: HandlerContext, event: Any) -> None:
                await rejecter(ctx, event, problems)

            return _Work(record, envelope, event, refuse)
        keys_of = self.park_keys.get(envelope.type)
        return _Work(record, envelope, event, handler, tuple(str(k) for k in keys_of(event)) if keys_of else ())

    async def _apply_with_retries(self, item: _Work) -> Outcome:
        record, envelope = item.record, item.envelope
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._apply(item)
            except TRANSIENT as exc:
                if attempt >= self.settings.retry_attempts:
                    reason = f"transient failure ({type(exc).__name__}): retries exhausted"
                    return await self._dead_letter(record, "poison", reason, attempts=attempt)
                self.metrics.retries.labels(self.service).inc()
                log.warning(
                    "transient failure, retrying",
                    extra=ids(event_id=str(envelope.id), attempt=attempt, error_class=type(exc).__name__),
                )
                await asyncio.sleep(self._backoff(attempt))
                continue
            except Exception as exc:
                log.error(
                    "handler failed", extra=ids(event_id=str(envelope.id), error_class=type(exc).__name__)
                )
                reason = f"handler failed ({type(exc).__name__})"
                return await self._dead_letter(record, "poison", reason, attempts=attempt)
            self._count(envelope.type, outcome)
            return outcome

    async def _apply(self, item: _Work) -> Outcome:
        async with self.pool.acquire() as conn, conn.transaction():
            if not await inbox.claim(conn, self.name, item.envelope.id):
                return Outcome.DUPLICATE
            state = await self._settle_parking(conn, [item])
            async with outbox.deferred(conn):
                ctx = HandlerContext(conn, item.envelope, item.record, self.clock, self, parking=state)
                await self._prefetch(ctx, [item])
                await item.handler(ctx, item.event)
                await self._flush(ctx)
            await _remove_taken(conn, state)
            outcome = Outcome.PARKED if ctx.parked else Outcome.APPLIED
            faults.maybe_crash(self.settings.fault, faults.HANDLER_BEFORE_COMMIT)
        faults.maybe_crash(self.settings.fault, faults.CONSUMER_AFTER_COMMIT)
        return outcome

    async def _apply_batch(self, items: list[_Work]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        memo: dict[str, Any] = {}
        async with self.pool.acquire() as conn, conn.transaction():
            fresh = await inbox.claim_many(conn, self.name, [item.envelope.id for item in items])
            todo: list[_Work | None] = []  # None: a duplicate
            for item in items:
                todo.append(item if item.envelope.id in fresh else None)
                fresh.discard(item.envelope.id)  # a second copy later in the batch is a duplicate
            fresh_work = [work for work in todo if work is not None]
            state = await self._settle_parking(conn, fresh_work)
            # What the units of work load and flush is for the whole transaction: not any one record's.
            whole = HandlerContext(conn, items[0].envelope, items[0].record, self.clock, self, parking=state, memo=memo)
            async with outbox.deferred(conn):
                await self._prefetch(whole, fresh_work)
                for work in todo:
                    if work is None:
                        outcomes.append(Outcome.DUPLICATE)
                        continue
                    ctx = HandlerContext(conn, work.envelope, work.record, self.clock, self, parking=state,
                                         memo=memo)
                    with self._record_span(work):
                        await work.handler(ctx, work.event)
                    outcomes.append(Outcome.PARKED if ctx.parked else Outcome.APPLIED)
                await self._flush(whole)
            await _remove_taken(conn, state)
            faults.maybe_crash(self.settings.fault, faults.HANDLER_BEFORE_COMMIT, len(items))
        faults.maybe_crash(self.settings.fault, faults.CONSUMER_AFTER_COMMIT, len(items))
        for item, outcome in zip(items, outcomes, strict=True):
            self._count(item.envelope.type, outcome)
        return outcomes

    async def _settle_parking(self, conn: asyncpg.Connection, items: list[_Work]) -> _Parking:
        """Hold every park key the items' handlers declare, then read what is parked under them:
        two statements, in this order (the read's snapshot must come after the hold)."""
        state = _Parking()
        keys = {key for item in items for key in item.park_keys}
        if keys:
            await self._settle(conn, state, keys)
        return state

    async def settle_declared(self, conn: asyncpg.Connection, state: _Parking) -> None:
        """Settle the keys the parked events' handlers declare (a parked charge's own key, which
        its corrections wait under), and theirs in turn, until none is new: two statements, once,
        at the transaction's first release that takes anything, so that the releases apply what
        they take, and release what waits for that, with no statement of their own. Not before:
        a batch that only parks more under a key where events wait pays nothing for it."""
        while keys := state.declared - state.known:
            await self._settle(conn, state, keys)

    async def _settle(self, conn: asyncpg.Connection, state: _Parking, keys: set[str]) -> None:
        await parking.hold_many(conn, keys)
        state.held |= keys
        state.known |= keys
        for row in await parking.parked_under(conn, keys):
            state.parked.setdefault(row.key, []).append(row)
            state.declared.update(self._declared_keys(state, row))

    def _declared_keys(self, state: _Parking, row: parking.Parked) -> tuple[str, ...]:
        """The park keys a parked event's handler declares (its decoded event kept for its
        release). One that no longer decodes declares none: its release fails as it always did,
        on the handler-failure path."""
        try:
            envelope, event = state.decoded[row.id] = _decoded(row.record)
        except (EnvelopeError, ContractError, UnknownEventType):
            return ()
        keys_of = self.park_keys.get(envelope.type)
        return tuple(str(k) for k in keys_of(event)) if keys_of else ()

    async def _prefetch(self, ctx: HandlerContext, items: list[_Work]) -> None:
        """Each unit's prefetch once, with its items' events in record order, then the events
        parked under the transaction's settled keys, which a release may hand its handlers (see
        the module doc)."""
        events: dict[UnitOfWork, list[Any]] = {}
        typed = [(item.envelope.type, item.event) for item in items]
        for event_type, event in typed + [(env.type, event) for env, event in ctx.parking.decoded.values()]:
            unit = self.units.get(event_type)
            if unit is not None:
                events.setdefault(unit, []).append(event)
        for unit, batch in events.items():
            await unit.prefetch(ctx, batch)

    async def _flush(self, ctx: HandlerContext) -> None:
        """Every unit's flush, whatever the events were: a handler may apply parked events of
        other types (release_parked), and a unit with nothing buffered sends nothing."""
        for unit in dict.fromkeys(self.units.values()):
            await unit.flush(ctx)

    def _record_span(self, item: _Work) -> contextlib.AbstractContextManager[Any]:
        """A consumer span per record, in the sender's trace: a batch's own span (FastStream's)
        starts a trace of its own, and the outbox rows a handler writes carry the current trace.
        When nothing exports spans, only the sender's trace is made current (for those rows)."""
        if not self.record_spans:
            traceparent = item.envelope.traceparent
            if traceparent is None:
                return contextlib.nullcontext()
            return trace.use_span(NonRecordingSpan(remote_context(traceparent)))
        parent = propagate.extract({"traceparent": item.envelope.traceparent} if item.envelope.traceparent else {})
        return self.tracer.start_as_current_span(
            f"{item.record.topic} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "kafka", "messaging.message.id": str(item.envelope.id),
                        "rcm.event_type": item.envelope.type},
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.retry_max_delay_s, self.settings.retry_base_delay_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    async def _dead_letter(
        self, record: SourceRecord, error_class: ErrorClass, reason: str, attempts: int
    ) -> Outcome:
        info = DeadLetterInfo(
            original_topic=record.topic,
            original_partition=max(record.partition, 0),
            original_offset=max(record.offset, 0),
            consumer=self.name,
            error_class=error_class,
            reason=reason[:1000],
            attempts=attempts,
            failed_at=self.clock.now(),
        )
        await dlq.send(self.publisher, self.settings.dlq_topic(self.service), record, info)
        log.warning(
            "record dead-lettered",
            extra=ids(topic=record.topic, partition=record.partition, offset=record.offset, error_class=error_class),
        )
        self._count("unknown", Outcome.DEAD_LETTERED)
        return Outcome.DEAD_LETTERED

    def _count(self, event_type: str, outcome: Outcome) -> None:
        self.metrics.consumed.labels(self.service, event_type, outcome.value).inc()


def applied_first_order(work: list[tuple[int, _Work]], first: frozenset[str]) -> list[tuple[int, _Work]]:
    """The batch's work (record index, work; in record order) in the order to apply it: a record
    of a type applied first (HandlerTable.applies_first) before every record of its record key
    from another topic, and otherwise record order. Every topic's records keep their order: each
    step takes the head of one topic's records, the earliest head not waiting for a record that
    goes first. The types applied first share one topic, whose head never waits, so every step
    takes one. The order across topics was never given (the broker interleaves fetches)."""
    firsts = Counter(w.record.key for _, w in work if w.envelope.type in first)
    if not firsts:
        return work
    topics: dict[str, deque[tuple[int, _Work]]] = {}
    for entry in work:
        topics.setdefault(entry[1].record.topic, deque()).append(entry)
    first_topic = next(w.record.topic for _, w in work if w.envelope.type in first)
    ordered: list[tuple[int, _Work]] = []
    while topics:
        topic = min((t for t, q in topics.items() if t == first_topic or not firsts[q[0][1].record.key]),
                    key=lambda t: topics[t][0][0])
        entry = topics[topic].popleft()
        if not topics[topic]:
            del topics[topic]
        if entry[1].envelope.type in first:
            firsts[entry[1].record.key] -= 1
        ordered.append(entry)
    return ordered


async def _remove_taken(conn: asyncpg.Connection, state: _Parking) -> None:
    """Delete what the transaction's releases took, in one statement (before the commit: a crash
    before it leaves the events parked, and the batch's redelivery releases them again)."""
    if state.taken:
        await parking.remove(conn, list(state.taken.values()))
        state.taken.clear()


def _decoded(record: SourceRecord) -> tuple[Envelope, Any]:
    envelope = Envelope.from_headers(record.headers)
    return envelope, decode(envelope.type, record.value)


def read_intake(envelope: Envelope, record: SourceRecord) -> tuple[BaseModel, tuple[IntakeProblem, ...]]:
    """An intake payload read strictly: the event (read tolerantly when unknown fields are its
    only fault, so the rejection can echo the sender's ids) and what refuses it. Raises
    ContractError, with the strict errors (unknown fields included), when it breaks the
    contract otherwise."""
    problems: list[IntakeProblem] = []
    try:
        event = validate(envelope.type, record.value)
    except ContractError as strict:
        try:
            event = decode(envelope.type, record.value)
        except ContractError:
            raise strict from None
        unknown = [e for e in strict.errors if e.get("type") == "extra_forbidden"]
        if len(unknown) != len(strict.errors):  # tolerated by decode, so only unknown fields differ
            raise strict from None
        problems.extend(
            IntakeProblem(UNKNOWN_FIELD, e["field"], "unknown field: not part of this contract (check the spelling)")
            for e in unknown
        )
    spec = spec_for(envelope.type)
    aggregate = key_of(event)
    key = record.key.decode("utf-8", errors="replace") if record.key is not None else None
    if key != aggregate:
        # The key picks the partition: a record keyed for another aggregate would be ordered
        # among that aggregate's events, not its own.
        problems.append(IntakeProblem(KEY_MISMATCH, spec.key_field, f"the record key must equal {spec.key_field}"))
    if envelope.subject != aggregate:
        problems.append(IntakeProblem(SUBJECT_MISMATCH, spec.key_field, f"ce_subject must equal {spec.key_field}"))
    return event, tuple(problems)


def _intake_reason(problems: tuple[IntakeProblem, ...]) -> str:
    return "intake refused: " + "; ".join(f"{p.field}: {p.code}" for p in problems[:20])


def _contract_reason(exc: ContractError) -> str:
    parts = []
    for err in exc.errors[:10]:
        # An error of the whole payload (not JSON, not an object, a rule across fields) has no
        # field: say so rather than "?" (the fuzzers' DLQ listings were full of "?: json_invalid").
        loc = err.get("field") or err.get("loc") or "(payload)"
        kind = err.get("type") or err.get("rule") or "invalid"
        parts.append(f"{loc}: {kind}")
    return "contract violation: " + "; ".join(parts) if parts else "contract violation"
