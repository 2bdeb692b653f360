"""The service runtime: pool, migrations, broker, relay, tracer and background tasks, started
and stopped in order. `services.chassis.app` composes it with the HTTP side into a FastAPI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.message import StreamMessage
from opentelemetry.sdk.trace import TracerProvider

from services.chassis import faults, inbox, leadership, migrations, outbox, sampling, telemetry
from services.chassis.clock import Clock
from services.chassis.consumer import EventConsumer, Handler, ParkKeys, Rejecter, UnitOfWork
from services.chassis.db import create_pool
from services.chassis.dlq import SourceRecord
from services.chassis.kafka import Publisher, broker_security
from services.chassis.logs import ids
from services.chassis.metrics import Metrics
from services.chassis.periodic import every
from services.chassis.settings import ServiceName, Settings
from services.chassis.topics import topics_consumed_by

log = logging.getLogger(__name__)

BackgroundTask = Callable[["Runtime", asyncio.Event], Coroutine[Any, Any, None]]
LEADER_POLL_S = 2.0
"""How often a follower tries to take a leader-only role, and a leader checks it still holds it."""


def leader_only(task: BackgroundTask) -> BackgroundTask:
    """`task` runs in one instance of the service at a time (docs/scaling.md says which tasks are
    and why): the instance holding the role's lock (services.chassis.leadership); the others wait
    to take over. A one-shot task runs in each instance in turn, one after the other."""
    role = task.__name__

    async def run(runtime: Runtime, stopping: asyncio.Event) -> None:
        key = leadership.lock_key(runtime.service, role)
        while not stopping.is_set():
            try:
                await leadership.lead(runtime.db, key, stopping, lambda _: task(runtime, stopping),
                                      poll_s=LEADER_POLL_S)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("leader-only task interrupted; trying to lead again",
                            extra=ids(service=runtime.service, component=role, error_class=type(exc).__name__))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), LEADER_POLL_S)

    run.__name__ = f"leader_only({role})"
    return run


def log_if_died(task: asyncio.Task[Any]) -> None:
    """A background task that ended with an error says so in the log (its name, the error class and
    the frames; the formatter never writes an exception's text), not only in the health check."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("background task ended with an error", exc_info=error,
                  extra=ids(component=task.get_name(), error_class=type(error).__name__))


@dataclass
class ServiceDefinition:
    name: ServiceName
    migrations: Path
    handlers: dict[str, Handler] = field(default_factory=dict)
    # How the service answers a refused intake event (unknown fields, key or ce_subject not the
    # aggregate key): by event type, from `HandlerTable.rejects`. A refused type without one is
    # dead-lettered.
    rejecters: dict[str, Rejecter] = field(default_factory=dict)
    # The park keys each handler declares, by event type (`HandlerTable.park_keys`).
    park_keys: dict[str, ParkKeys] = field(default_factory=dict)
    # The unit of work of each handler's transactions, by event type (`HandlerTable.units`).
    units: dict[str, UnitOfWork] = field(default_factory=dict)
    # The event types a batch applies before the same key's records of other topics
    # (`HandlerTable.applied_first`).
    applied_first: frozenset[str] = frozenset()
    # HTTP routes of the service, built once the runtime exists (they need its pool and clock).
    routers: list[Callable[[Runtime], APIRouter]] = field(default_factory=list)
    customize_app: Callable[[FastAPI], None] | None = None
    background: list[BackgroundTask] = field(default_factory=list)
    # Topics (unprefixed) to consume; by default the catalog's topics listing this service.
    topics: list[str] | None = None
    # Tables of the service's schema its login role may only read and append to (ledgers, audit
    # trails): no UPDATE, DELETE or TRUNCATE. The chassis' audit_log always is.
    append_only: tuple[str, ...] = ()
    # Slow loads done before the service consumes or says it is ready (in a thread, so the event
    # loop goes on meanwhile), so that the first events do not pay for them.
    warm_up: tuple[Callable[[], None], ...] = ()
    # The service's own gauges (claims on hold, 835s in quarantine, A/R...): each is called once at
    # start, registers its gauges on `runtime.metrics.registry` and returns the part of the periodic
    # sample that sets them (services.chassis.sampling: every instance, failures kept apart).
    samplers: list[Callable[[Runtime], sampling.Sample]] = field(default_factory=list)


class Runtime:
    def __init__(
        self,
        definition: ServiceDefinition,
        settings: Settings,
        clock: Clock,
        provider: TracerProvider,
    ) -> None:
        self.definition = definition
        self.service = definition.name
        self.settings = settings
        self.clock = clock
        self.provider = provider
        self.tracer = provider.get_tracer(f"rcm.{self.service}")
        self.metrics = Metrics()
        self.publisher = Publisher(settings)
        self.pool: asyncpg.Pool | None = None
        self.broker: KafkaBroker | None = None
        self.consumer: EventConsumer | None = None
        self.relay: outbox.OutboxRelay | None = None
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.ready = False
        self.failed = False

    @property
    def db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the runtime is not started")
        return self.pool

    async def start(self) -> None:
        faults.parse(self.settings.fault)  # a misspelt RCM_FAULT stops the start, not a handler
        for load in self.definition.warm_up:
            await asyncio.to_thread(load)
        await migrations.prepare_schema(
            self.settings, self.service, migrations.service_migrations(self.definition.migrations),
            self.definition.append_only,
        )
        self.pool = await create_pool(self.settings.database_url(self.service))
        await self.publisher.start()
        self.consumer = EventConsumer(
            service=self.service,
            settings=self.settings,
            clock=self.clock,
            pool=self.pool,
            publisher=self.publisher,
            metrics=self.metrics,
            handlers=self.definition.handlers,
            rejecters=self.definition.rejecters,
            tracer=self.tracer,
            park_keys=self.definition.park_keys,
            record_spans=telemetry.exports(self.provider),
            units=self.definition.units,
            applied_first=self.definition.applied_first,
        )
        self.relay = outbox.OutboxRelay(
            service=self.service,
            settings=self.settings,
            pool=self.pool,
            publisher=self.publisher,
            metrics=self.metrics,
            tracer=self.tracer,
            record_spans=self.consumer.record_spans,
        )
        self.tasks.append(asyncio.create_task(self.relay.run(self.stopping), name=f"{self.service}-relay"))
        self.tasks.append(asyncio.create_task(self._housekeeping(), name=f"{self.service}-retention"))
        self.tasks.append(asyncio.create_task(
            sampling.run(self.settings, self.service, self._sample_parts(), self.stopping),
            name=f"{self.service}-metrics"))
        for task in self.definition.background:
            running = asyncio.create_task(task(self, self.stopping), name=f"{self.service}:{task.__name__}")
            running.add_done_callback(log_if_died)
            self.tasks.append(running)
        topics = self._topics()
        if topics:
            self.broker = self._build_broker([self.settings.topic(t) for t in topics])
            await self.broker.start()
        if os.environ.get("RCM_SERVICE_PROCESS") == "1":
            # What start-up built (modules, reference data, pools) lives as long as the process: out
            # of the collector's sight, a collection walks only what the events make (remits' 835
            # parse spent a quarter of its time in collections walking ~170k start-up objects).
            gc.freeze()
        self.ready = True
        log.info("service ready", extra=ids(service=self.service))

    def _sample_parts(self) -> dict[str, sampling.Sample]:
        parts = {"outbox": sampling.outbox_backlog(self.db, self.metrics, self.service)}
        if consumed := self._topics():
            parts["consumer_lag"] = sampling.lag(self.settings, self.metrics, self.service, consumed)
            parts["dlq_depth"] = sampling.dlq_depth(self.settings, self.metrics, self.service)
        for sampler in self.definition.samplers:
            parts[sampler.__name__] = sampler(self)
        return parts

    def _topics(self) -> list[str]:
        """The topics (unprefixed) the service consumes."""
        return self.definition.topics if self.definition.topics is not None else topics_consumed_by(self.service)

    def _build_broker(self, topics: list[str]) -> KafkaBroker:
        broker = KafkaBroker(
            self.settings.bootstrap,
            middlewares=[
                telemetry.KafkaSpans(tracer_provider=self.provider),
                KafkaPrometheusMiddleware(registry=self.metrics.registry, app_name=f"rcm-{self.service}"),
            ],
            logger=logging.getLogger(f"rcm.{self.service}.broker"),
            client_id=f"rcm-{self.service}",
            security=broker_security(self.settings),
        )
        consumer = self.consumer
        assert consumer is not None

        # One raw subscriber for all the service's topics, on purpose: FastStream is the transport,
        # the chassis owns what happens to a record (classification, DLQ, retries, the inbox in the
        # handler's transaction, the outbox); handlers are looked up by event type in the service's
        # HandlerTable. A batch is what one poll returned (up to RCM_CONSUMER_BATCH_SIZE records,
        # in partition order); its ack commits the consumer's position, i.e. past the whole batch.
        # MANUAL: FastStream's default would commit before the handler ran (at-most-once); we ack
        # only after `process_batch` returned, i.e. after the database commit and the DLQ acks.
        @broker.subscriber(
            # Provisioning creates the topics; a service never does (no CREATE ACL under --secure).
            *(Topic(t, declare=False) for t in topics),
            group_id=self.settings.group_id(self.service),
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            batch=True,
            max_records=self.settings.consumer_batch_size,
            batch_timeout_ms=self.settings.consumer_batch_max_wait_ms,
            # FastStream would JSON-decode a body labelled application/json before our code
            # runs, and a garbage body would then fail outside our DLQ path: keep it raw.
            decoder=_raw_body,
            parser=_headers_as_text,
        )
        async def on_batch(msg: KafkaMessage) -> None:
            raw = msg.raw_message
            records = [
                SourceRecord(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    value=r.value or b"",
                    headers=list(r.headers or ()),
                )
                for r in (raw if isinstance(raw, tuple) else (raw,))
            ]
            if faults.active(self.settings.fault, faults.COMMIT_BEFORE_PROCESS):
                await msg.ack()  # the planted at-most-once bug of the chaos suite's negative control
                faults.maybe_crash(self.settings.fault, faults.COMMIT_BEFORE_PROCESS, len(records))
            try:
                await consumer.process_batch(records)
            except BaseException:
                # Only the DLQ itself failing lands here. Acking would lose records, and
                # consuming on would commit past them: stop, and let the restart resume from them.
                first = records[0]
                log.critical(
                    "cannot dead-letter a record; stopping the consumer",
                    extra=ids(topic=first.topic, partition=first.partition, offset=first.offset, count=len(records)),
                )
                self._fail()
                raise
            await msg.ack()

        return broker

    def _fail(self) -> None:
        self.failed = True
        self.ready = False
        if self.broker is not None:
            asyncio.get_running_loop().create_task(self.broker.stop())
        if os.environ.get("RCM_SERVICE_PROCESS") == "1":
            os.kill(os.getpid(), signal.SIGTERM)

    async def _housekeeping(self) -> None:
        async def prune() -> None:
            cutoff = self.clock.now() - timedelta(days=self.settings.retention_days)
            async with self.db.acquire() as conn:
                pruned = await outbox.prune(conn, cutoff) + await inbox.prune(conn, cutoff)
            log.info("retention pruned", extra=ids(service=self.service, count=pruned))

        await every(lambda: self.settings.retention_interval_s, self.stopping, prune, f"{self.service}-retention",
                    wait_first=True)

    async def stop(self) -> None:
        self.ready = False
        if self.broker is not None:
            await self.broker.stop()
        # A graceful stop publishes what is already committed, so events are not left waiting for
        # the next start (the leader only: one publisher keeps the per-key order).
        if self.relay is not None and self.relay.is_leader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._drain_outbox(), 10)
        self.stopping.set()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.publisher.stop()
        if self.pool is not None:
            await self.pool.close()

    async def _drain_outbox(self) -> None:
        assert self.relay is not None
        while await self.relay.publish_pending():
            pass

    async def health(self) -> dict[str, object]:
        checks: dict[str, object] = {"consumer": self.broker is not None}
        try:
            async with self.db.acquire() as conn:
                checks["database"] = await conn.fetchval("SELECT 1") == 1
                checks["outbox_pending"], checks["outbox_held"] = await outbox.unpublished(conn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, RuntimeError):
            checks["database"] = False
        checks["relay_leader"] = bool(self.relay and self.relay.is_leader)
        # A background task (relay, poller, listener) that died means the service is not whole;
        # one-shot tasks that finished their work are fine.
        checks["background_tasks"] = not any(
            t.done() and (t.cancelled() or t.exception() is not None) for t in self.tasks
        )
        checks["ready"] = self.ready and checks["database"] is True and checks["background_tasks"] is True
        return checks


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    return message.body


async def _headers_as_text(
    message: Any, original: Callable[[Any], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """FastStream decodes every header value as UTF-8 while it parses a record, before our code
    runs: found by fuzzing against the broker, a record with one header value that is not UTF-8
    (any header, set by the sender) failed there and was skipped: neither applied nor
    dead-lettered, lost. FastStream parses a text copy of the headers; the record itself keeps
    its bytes, which the chassis reads (and dead-letters whole, the bad header included).
    `message` is one record or, for a batch subscriber, a tuple of them."""
    records = message if isinstance(message, tuple) else (message,)
    kept = [r.headers for r in records]
    for record in records:
        record.headers = [(name, (value or b"").decode("utf-8", errors="replace").encode())
                          for name, value in record.headers]
    try:
        return await original(message)
    finally:
        for record, headers in zip(records, kept, strict=True):
            record.headers = headers
