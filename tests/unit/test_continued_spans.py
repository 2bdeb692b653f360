"""telemetry.continued: a background pass acting on an aggregate continues the trace the aggregate
kept (its parent is the stored traceparent), starts a root without one (or keeps the current
trace, `or_current`), links to the pass's span, and makes no span when nothing exports them; and
outbox.traced keeps the trace an event was emitted in for a later enqueue_many."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.chassis import outbox
from services.chassis.telemetry import continued
from tests.support import testsvc

TRACE_ID = uuid.uuid4().hex
SPAN_ID = uuid.uuid4().hex[:16]
STORED = f"00-{TRACE_ID}-{SPAN_ID}-01"


@pytest.fixture
def exported() -> tuple[TracerProvider, InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    return provider, spans


def finished(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [s for s in spans.get_finished_spans() if s.name == name]
    return span


def test_the_span_continues_the_stored_trace_and_links_to_the_pass(
        exported: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, spans = exported
    with provider.get_tracer("test").start_as_current_span("837P batch") as batch:
        with continued(STORED, "claim submit", links=[batch], provider=provider):
            inside = outbox.current_traceparent()
        assert trace.get_current_span() is batch  # the pass's span is current again after
    submit, pass_span = finished(spans, "claim submit"), finished(spans, "837P batch")
    assert submit.parent is not None and format(submit.parent.span_id, "016x") == SPAN_ID
    assert format(submit.context.trace_id, "032x") == TRACE_ID != format(pass_span.context.trace_id, "032x")
    assert [link.context.span_id for link in submit.links] == [pass_span.context.span_id]
    # What the block emits goes out as a child of the new span, in the stored trace.
    assert inside == f"00-{TRACE_ID}-{format(submit.context.span_id, '016x')}-01"


@pytest.mark.parametrize("stored", [None, "not-a-traceparent", f"00-{'0' * 32}-{SPAN_ID}-01"])
def test_without_a_stored_trace_the_span_is_a_root_not_a_child_of_the_pass(
        exported: tuple[TracerProvider, InMemorySpanExporter], stored: str | None) -> None:
    provider, spans = exported
    with (provider.get_tracer("test").start_as_current_span("acks ingest") as ingest,
          continued(stored, "claim acknowledgment", links=[ingest], provider=provider)):
        pass
    ack, file = finished(spans, "claim acknowledgment"), finished(spans, "acks ingest")
    assert ack.parent is None and ack.context.trace_id != file.context.trace_id
    assert [link.context.span_id for link in ack.links] == [file.context.span_id]


def test_or_current_keeps_the_current_trace_without_a_span(
        exported: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, spans = exported
    with (provider.get_tracer("test").start_as_current_span("835 ingest") as ingest,
          continued(None, "835 claim", links=[ingest], or_current=True) as span):
        assert span is ingest
    assert [s.name for s in spans.get_finished_spans()] == ["835 ingest"]


def test_an_invalid_link_is_left_out(exported: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, spans = exported
    with continued(STORED, "eligibility answer", links=[trace.INVALID_SPAN], provider=provider):
        pass
    assert finished(spans, "eligibility answer").links == ()


def test_when_nothing_exports_no_span_is_made_but_the_stored_trace_is_current() -> None:
    provider = TracerProvider()  # no span processor: nothing takes spans
    with continued(STORED, "claim submit", provider=provider) as span:
        assert not span.is_recording()
        assert outbox.current_traceparent() == STORED
    with continued(None, "claim submit", provider=provider):
        assert outbox.current_traceparent() is None  # not the pass's trace either


def test_traced_events_keep_the_trace_they_were_emitted_in(
        exported: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, _ = exported
    event, at = testsvc.example(testsvc.PAYMENT_POSTED), datetime.now(UTC)
    with continued(STORED, "835 claim", provider=provider):
        kept = outbox.traced(event, at)
        inside = outbox.current_traceparent()
    assert kept == (event, at, None, inside) and inside is not None and TRACE_ID in inside
    assert outbox.traced(event, at)[3] is None  # outside any trace
