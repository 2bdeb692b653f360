"""The park keys a handler declares are settled once per transaction (held, then looked up), so a
release with nothing parked and a hold of a key already held cost no statement; and a consumer
whose spans nobody exports still carries the sender's trace to the outbox rows its handlers write.
The statements are recorded by a stand-in connection (the SQL itself is proven against Postgres
by tests/integration/test_delivery_batch.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas.envelope import Envelope
from schemas.registry import encode
from services.chassis import outbox, telemetry
from services.chassis.clock import SystemClock
from services.chassis.consumer import EventConsumer, HandlerContext, _settle_parking, _Work
from services.chassis.dlq import SourceRecord
from services.chassis.parking import ParkKey
from tests.support import testsvc

WAITING, FREE, OTHER = ParkKey.of("account", "A1"), ParkKey.of("account", "A2"), ParkKey.of("account", "A3")
W1, W2, O1 = (encode(testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=f"PA{n}")) for n in range(3))


class RecordingConnection:
    """Answers the parking statements from `parked` (park key -> payloads) and records each one."""

    def __init__(self, parked: dict[str, list[bytes]]) -> None:
        self.parked = parked
        self.statements: list[str] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(_verb(sql))
        if sql.startswith("INSERT INTO parked"):
            self.parked.setdefault(args[0], []).append(args[6])
        return "OK"

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        self.statements.append(_verb(sql))
        if sql.startswith("SELECT DISTINCT park_key"):
            return [{"park_key": key} for key in args[0] if self.parked.get(key)]
        if sql.startswith("DELETE FROM parked"):
            headers = [[name, value.decode()] for name, value in envelope().to_headers()]
            return [{"id": n, "topic": "t", "message_key": None, "headers": headers, "payload": payload}
                    for n, payload in enumerate(self.parked.pop(args[0], []))]
        raise AssertionError(sql)


def _verb(sql: str) -> str:
    """What a statement does, in a word a test can compare."""
    if "pg_advisory_xact_lock" in sql:
        return "hold-many" if "unnest" in sql else "hold"
    return {"SELECT": "look", "DELETE": "take", "INSERT": "park"}[sql.split(maxsplit=1)[0]]


def envelope(traceparent: str | None = None) -> Envelope:
    return Envelope.new(source="test", type=testsvc.PAYMENT_RECEIVED, subject="A1",
                        time=datetime.now(UTC), traceparent=traceparent)


def work(*keys: ParkKey, traceparent: str | None = None) -> _Work:
    async def handler(ctx: HandlerContext, event: Any) -> None: ...

    record = SourceRecord(topic="t", partition=0, offset=0, key=None, value=W1, headers=[])
    return _Work(record, envelope(traceparent), None, handler, tuple(str(k) for k in keys))


def context(conn: RecordingConnection, *declared: _Work) -> HandlerContext:
    state = asyncio.run(_settle_parking(cast(Any, conn), list(declared)))
    return HandlerContext(cast(Any, conn), envelope(), declared[0].record if declared else work().record,
                          SystemClock(), cast(Any, None), parking=state)


def test_declared_keys_are_held_then_looked_up_in_two_statements_for_the_whole_batch() -> None:
    conn = RecordingConnection({str(WAITING): [W1]})
    context(conn, work(WAITING), work(FREE), work(WAITING))
    assert conn.statements == ["hold-many", "look"]


def test_no_declared_key_costs_no_statement() -> None:
    conn = RecordingConnection({})
    context(conn, work(), work())
    assert conn.statements == []


def test_a_release_of_a_settled_key_with_nothing_parked_costs_no_statement() -> None:
    conn = RecordingConnection({str(WAITING): [W1]})
    ctx = context(conn, work(WAITING, FREE))
    conn.statements.clear()
    asyncio.run(ctx.hold(FREE))
    asyncio.run(ctx.hold(WAITING))
    assert asyncio.run(ctx.release_parked(FREE)) == 0
    assert conn.statements == []


def test_a_settled_key_with_events_parked_is_taken_without_a_second_hold() -> None:
    conn = RecordingConnection({str(WAITING): [W1, W2]})
    ctx = context(conn, work(WAITING))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, WAITING)) == [W1, W2]
    assert conn.statements == ["take"]


def test_a_park_in_this_transaction_is_taken_by_a_later_release_of_its_key() -> None:
    conn = RecordingConnection({})
    ctx = context(conn, work(FREE))
    asyncio.run(ctx.park(FREE, "waiting"))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, FREE)) == [W1]
    assert conn.statements == ["take"]


def test_an_undeclared_key_is_held_then_taken_as_before_and_held_once() -> None:
    conn = RecordingConnection({str(OTHER): [O1]})
    ctx = context(conn, work(WAITING))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, OTHER)) == [O1]
    asyncio.run(ctx.hold(OTHER))
    assert conn.statements == ["hold", "take"]


async def _release_counting_children(ctx: HandlerContext, key: ParkKey) -> list[bytes]:
    """Release `key`, the parked events applied by a handler that records their payloads."""
    seen: list[bytes] = []

    async def apply(child: HandlerContext, event: Any) -> None:
        assert child.parking is ctx.parking  # one transaction, one knowledge of its keys
        seen.append(child.record.value)

    ctx.consumer = cast(Any, SimpleNamespace(handlers={testsvc.PAYMENT_RECEIVED: apply}))
    assert await ctx.release_parked(key) == len(seen)
    return seen


def _consumer(provider: TracerProvider) -> EventConsumer:
    return EventConsumer(service="remits", settings=cast(Any, None), clock=SystemClock(), pool=cast(Any, None),
                         publisher=cast(Any, None), metrics=cast(Any, None), handlers={},
                         tracer=provider.get_tracer("test"), record_spans=telemetry.exports(provider))


def test_a_provider_without_a_processor_exports_nothing() -> None:
    provider = TracerProvider()
    assert not telemetry.exports(provider)
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert telemetry.exports(provider)


def test_without_an_exporter_the_record_carries_the_senders_trace_without_a_span() -> None:
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    consumer = _consumer(TracerProvider())
    assert not consumer.record_spans
    with consumer._record_span(work(traceparent=traceparent)):
        assert outbox.current_traceparent() == traceparent
    with consumer._record_span(work()):
        assert outbox.current_traceparent() is None


def test_with_an_exporter_each_record_has_its_span_in_the_senders_trace() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace_id = uuid.uuid4().hex
    with _consumer(provider)._record_span(work(traceparent=f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01")):
        current = outbox.current_traceparent()
    (span,) = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert current is not None and current.startswith(f"00-{trace_id}-")
