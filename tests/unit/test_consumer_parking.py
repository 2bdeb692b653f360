"""The park keys a handler declares are settled once per transaction (held, then what is parked
under them read, and the same for the keys the parked events declare), so a release, and a hold
of a key already held, cost no statement, and what the releases took is deleted in one; and a consumer
whose spans nobody exports still carries the sender's trace to the outbox rows its handlers write.
The statements are recorded by a stand-in connection (the SQL itself is proven against Postgres
by tests/integration/test_delivery_batch.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas.envelope import Envelope
from schemas.registry import encode
from services.chassis import outbox, telemetry
from services.chassis.clock import SystemClock
from services.chassis.consumer import EventConsumer, HandlerContext, _remove_taken, _Work
from services.chassis.dlq import SourceRecord
from services.chassis.parking import ParkKey
from tests.support import testsvc

WAITING, FREE, OTHER = ParkKey.of("account", "A1"), ParkKey.of("account", "A2"), ParkKey.of("account", "A3")
W1, W2, O1 = (encode(testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=f"PA{n}")) for n in range(3))


class RecordingConnection:
    """Answers the parking statements from `parked` (park key -> payloads) and records each one."""

    def __init__(self, parked: dict[str, list[bytes]]) -> None:
        self.rows = [(n, key, payload) for n, (key, payload) in
                     enumerate((key, payload) for key, payloads in parked.items() for payload in payloads)]
        self.statements: list[str] = []
        self.removed: list[int] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append(_verb(sql))
        if sql.startswith("DELETE FROM parked WHERE id"):
            self.removed.extend(args[0])
            self.rows = [row for row in self.rows if row[0] not in args[0]]
        return "OK"

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.statements.append(_verb(sql))
        assert sql.startswith("INSERT INTO parked")
        self.rows.append((len(self.rows) + 100, args[0], args[6]))
        return self.rows[-1][0]

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        self.statements.append(_verb(sql))
        if sql.startswith("SELECT id, park_key"):
            return [_row(n, key, payload) for n, key, payload in self.rows if key in args[0]]
        if sql.startswith("DELETE FROM parked WHERE park_key"):
            taken = [row for row in self.rows if row[1] == args[0]]
            self.rows = [row for row in self.rows if row[1] != args[0]]
            return [_row(*row) for row in taken]
        raise AssertionError(sql)


def _row(n: int, key: str, payload: bytes) -> dict[str, Any]:
    headers = [[name, value.decode()] for name, value in envelope().to_headers()]
    return {"id": n, "park_key": key, "topic": "t", "message_key": None, "headers": headers, "payload": payload}


def _verb(sql: str) -> str:
    """What a statement does, in a word a test can compare."""
    if "pg_advisory_xact_lock" in sql:
        return "hold-many" if "unnest" in sql else "hold"
    if sql.startswith("DELETE FROM parked WHERE id"):
        return "remove"
    return {"SELECT": "look", "DELETE": "take", "INSERT": "park"}[sql.split(maxsplit=1)[0]]


def envelope(traceparent: str | None = None) -> Envelope:
    return Envelope.new(source="test", type=testsvc.PAYMENT_RECEIVED, subject="A1",
                        time=datetime.now(UTC), traceparent=traceparent)


def work(*keys: ParkKey, traceparent: str | None = None) -> _Work:
    async def handler(ctx: HandlerContext, event: Any) -> None: ...

    record = SourceRecord(topic="t", partition=0, offset=0, key=None, value=W1, headers=envelope().to_headers())
    return _Work(record, envelope(traceparent), None, handler, tuple(str(k) for k in keys))


def context(conn: RecordingConnection, *declared: _Work, park_keys: dict[str, Any] | None = None) -> HandlerContext:
    consumer = _consumer(TracerProvider(), park_keys=park_keys)
    state = asyncio.run(consumer._settle_parking(cast(Any, conn), list(declared)))
    return HandlerContext(cast(Any, conn), envelope(), declared[0].record if declared else work().record,
                          SystemClock(), consumer, parking=state)


def test_declared_keys_are_held_then_looked_up_in_two_statements_for_the_whole_batch() -> None:
    conn = RecordingConnection({str(WAITING): [W1]})
    context(conn, work(WAITING), work(FREE), work(WAITING))
    assert conn.statements == ["hold-many", "look"]


def test_the_keys_parked_events_declare_are_settled_at_the_first_release_until_none_is_new() -> None:
    """A parked payment declares its account's key (as a parked charge declares its own, which its
    corrections wait under): held and looked at once for all of them when a release first takes
    any, then nothing more; a transaction that releases nothing does not pay for them."""
    conn = RecordingConnection({str(WAITING): [W1, W2], str(OTHER): [O1]})
    ctx = context(conn, work(WAITING, FREE), park_keys={testsvc.PAYMENT_RECEIVED: lambda event: (OTHER, WAITING)})
    assert conn.statements == ["hold-many", "look"]
    assert len(ctx.parking.decoded) == 2  # decoded once, for the units' prefetch and the release
    assert asyncio.run(_release_counting_children(ctx, FREE)) == []
    assert conn.statements == ["hold-many", "look"]
    assert asyncio.run(_release_counting_children(ctx, WAITING)) == [W1, W2]
    assert conn.statements == ["hold-many", "look", "hold-many", "look"]
    assert ctx.parking.known == {str(WAITING), str(FREE), str(OTHER)}
    assert asyncio.run(_release_counting_children(ctx, OTHER)) == [O1]
    assert conn.statements == ["hold-many", "look", "hold-many", "look"]


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


def test_settled_keys_with_events_parked_are_released_with_one_delete_for_the_transaction() -> None:
    conn = RecordingConnection({str(WAITING): [W1, W2], str(FREE): [O1]})
    ctx = context(conn, work(WAITING, FREE))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, WAITING)) == [W1, W2]
    assert asyncio.run(_release_counting_children(ctx, FREE)) == [O1]
    assert asyncio.run(_release_counting_children(ctx, WAITING)) == []  # taken: not applied twice
    assert conn.statements == []
    asyncio.run(_remove_taken(cast(Any, conn), ctx.parking))
    assert conn.statements == ["remove"] and conn.removed == [0, 1, 2] and conn.rows == []


def test_a_park_in_this_transaction_is_taken_by_a_later_release_of_its_key() -> None:
    conn = RecordingConnection({})
    ctx = context(conn, work(FREE))
    asyncio.run(ctx.park(FREE, "waiting"))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, FREE)) == [W1]
    asyncio.run(_remove_taken(cast(Any, conn), ctx.parking))
    assert conn.statements == ["remove"] and conn.rows == []


def test_an_event_parked_again_by_the_release_that_took_it_has_its_row_deleted_first() -> None:
    """Judged again and still waiting (an interim line past an update short of its date): its
    taken row is deleted before the new one goes in (an event is parked once), not at the end."""
    conn = RecordingConnection({str(WAITING): [W1]})
    ctx = context(conn, work(WAITING))
    conn.statements.clear()

    async def park_again(child: HandlerContext, event: Any) -> None:
        await child.park(WAITING, "still waiting")

    ctx.consumer.handlers = {testsvc.PAYMENT_RECEIVED: park_again}
    assert asyncio.run(ctx.release_parked(WAITING)) == 1
    asyncio.run(_remove_taken(cast(Any, conn), ctx.parking))
    assert conn.statements == ["remove", "park"] and conn.removed == [0]
    assert [payload for _, _, payload in conn.rows] == [W1]
    assert [row.record.value for row in ctx.parking.parked[str(WAITING)]] == [W1]  # a later release takes it


def test_an_undeclared_key_is_held_then_taken_as_before_and_held_once() -> None:
    conn = RecordingConnection({str(OTHER): [O1]})
    ctx = context(conn, work(WAITING))
    conn.statements.clear()
    assert asyncio.run(_release_counting_children(ctx, OTHER)) == [O1]
    asyncio.run(ctx.hold(OTHER))
    asyncio.run(_remove_taken(cast(Any, conn), ctx.parking))
    assert conn.statements == ["hold", "take"]


async def _release_counting_children(ctx: HandlerContext, key: ParkKey) -> list[bytes]:
    """Release `key`, the parked events applied by a handler that records their payloads."""
    seen: list[bytes] = []

    async def apply(child: HandlerContext, event: Any) -> None:
        assert child.parking is ctx.parking  # one transaction, one knowledge of its keys
        seen.append(child.record.value)

    ctx.consumer.handlers = {testsvc.PAYMENT_RECEIVED: apply}
    assert await ctx.release_parked(key) == len(seen)
    return seen


def _consumer(provider: TracerProvider, park_keys: dict[str, Any] | None = None) -> EventConsumer:
    return EventConsumer(service="remits", settings=cast(Any, None), clock=SystemClock(), pool=cast(Any, None),
                         publisher=cast(Any, None), metrics=cast(Any, None), handlers={},
                         tracer=provider.get_tracer("test"), record_spans=telemetry.exports(provider),
                         park_keys=park_keys)


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
