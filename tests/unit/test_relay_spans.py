"""The relay's producer span per row is made only when something exports spans; either way the
record carries the trace of the change that wrote the row."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas.envelope import Envelope
from services.chassis import telemetry
from services.chassis.outbox import OutboxRelay, OutboxRow
from services.chassis.settings import Settings
from tests.support import testsvc


class Producer:
    """Keeps what it is handed."""

    def __init__(self) -> None:
        self.headers: list[list[tuple[str, bytes]]] = []

    async def enqueue(self, topic: str, *, key: str, value: bytes, headers: list[tuple[str, bytes]]) -> Any:
        self.headers.append(headers)
        return None


def sent_traceparent(provider: TracerProvider, traceparent: str) -> str | None:
    producer = Producer()
    relay = OutboxRelay(service="remits", settings=Settings(), pool=cast(Any, None), publisher=cast(Any, producer),
                        metrics=cast(Any, None), tracer=provider.get_tracer("test"),
                        record_spans=telemetry.exports(provider))
    row = OutboxRow(seq=1, event_id=uuid.uuid4(), topic="rcm.patient-balances.v1", message_key="PA1",
                    event_type=testsvc.PAYMENT_POSTED, subject="PA1", occurred_at=datetime.now(UTC),
                    traceparent=traceparent, payload=b"{}")
    asyncio.run(relay._send(row))
    (headers,) = producer.headers
    return Envelope.from_headers(headers).traceparent


def test_without_an_exporter_the_record_carries_the_rows_trace_without_a_span() -> None:
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    assert sent_traceparent(TracerProvider(), traceparent) == traceparent


def test_with_an_exporter_the_record_carries_its_producer_span_in_the_rows_trace() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace_id = uuid.uuid4().hex
    sent = sent_traceparent(provider, f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01")
    (span,) = spans.get_finished_spans()
    assert span.kind.name == "PRODUCER" and format(span.context.trace_id, "032x") == trace_id
    assert sent == f"00-{trace_id}-{format(span.context.span_id, '016x')}-01"
