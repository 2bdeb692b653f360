"""OpenTelemetry wiring: one tracer provider per process, OTLP when configured, and a JSON-lines
file per service when `RCM_TRACES_DIR` is set (for tests and local debugging: spans are then
searchable with grep).

What a span carries is decided here, once for every exporter:
* asyncpg is instrumented with parameters off (they carry PHI), and only when spans go
  somewhere (an OTLP endpoint or RCM_TRACES_DIR) and RCM_TRACE_SQL is on: a span per statement
  costs CPU on every statement of every transaction, for nothing when no exporter takes it;
* the Kafka consumer spans (FastStream's middleware) leave out the record key and the
  `correlation_id` header: both are set by the sender, so they may hold anything;
* every exporter sees spans through `RedactingExporter`: an exception event keeps its type and
  drops its message and stack trace, an error status keeps no description, and the
  SENDER_ATTRIBUTES (also an HTTP request's query string) are dropped. An exception's
  text is not ours to trust: asyncpg puts the row's values into it ("Key (x)=(value) already
  exists"), pydantic the input value.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from faststream.kafka.opentelemetry.provider import (
    BatchKafkaTelemetrySettingsProvider,
    KafkaTelemetrySettingsProvider,
)
from faststream.kafka.response import KafkaPublishCommand
from faststream.opentelemetry.middleware import TelemetryMiddleware
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.semconv.trace import SpanAttributes
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, Status, TraceFlags

from schemas.envelope import TRACEPARENT_RE
from services.chassis.settings import Settings

_installed: list[TracerProvider] = []

# Span attributes whose value the sender chooses: a record's key and correlation_id header, and
# an HTTP request's query string (FastAPI's own server spans record `url.query`; an 835 upload's
# `?file_name=` is often a patient's name).
SENDER_ATTRIBUTES = (SpanAttributes.MESSAGING_KAFKA_MESSAGE_KEY, SpanAttributes.MESSAGING_MESSAGE_CONVERSATION_ID,
                     "url.query", "url.full", "http.url", "http.target")


def tracer_provider(service: str, settings: Settings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": f"rcm-{service}"}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(RedactingExporter(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
        )
    if settings.traces_dir is not None:
        settings.traces_dir.mkdir(parents=True, exist_ok=True)
        file_exporter = JsonLinesExporter(settings.traces_dir / f"{service}.jsonl")
        provider.add_span_processor(BatchSpanProcessor(RedactingExporter(file_exporter)))
    return provider


def install(provider: TracerProvider, settings: Settings) -> None:
    """Make the provider global (once per process) and, when `traces_sql(settings)`, instrument asyncpg."""
    if not _installed:
        trace.set_tracer_provider(provider)
        if traces_sql(settings):
            instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
            instrumentor.instrument(tracer_provider=provider)
        _installed.append(provider)


def traces_sql(settings: Settings) -> bool:
    """A span per SQL statement: only when RCM_TRACE_SQL is on and an exporter takes the spans."""
    return settings.trace_sql and (settings.otlp_endpoint is not None or settings.traces_dir is not None)


def exports(provider: TracerProvider) -> bool:
    """Whether the provider hands spans to anything (a span processor was added). Read from the
    SDK's internals, so an SDK that moves them makes this say True (spans as before), never False."""
    processors = getattr(getattr(provider, "_active_span_processor", None), "_span_processors", None)
    return not isinstance(processors, tuple) or bool(processors)


def remote_context(traceparent: str) -> SpanContext:
    """The span context of a traceparent already validated (TRACEPARENT_RE): a record's sender, or
    the trace an aggregate stored when it was created."""
    return SpanContext(trace_id=int(traceparent[3:35], 16), span_id=int(traceparent[36:52], 16), is_remote=True,
                       trace_flags=TraceFlags(int(traceparent[53:55], 16)))


@contextlib.contextmanager
def continued(traceparent: str | None, name: str, *, links: Sequence[Span] = (), or_current: bool = False,
              provider: trace.TracerProvider | None = None) -> Iterator[Span]:
    """A span `name` in the trace `traceparent` names (a root span when None or not a W3C
    version-00 traceparent; with `or_current`, no span then: the current trace goes on), current
    in the block, linked to each valid span of `links`.

    For a background pass that acts on aggregates which remember the trace they were created in
    (a claim, an eligibility check, a remittance's claim): the events the block emits go out in
    that trace, so an encounter is one trace from intake to its balance; the link keeps the way
    back to the pass (the 837 batch, the 835 file) that did it. When the provider (the global
    one by default) exports nothing, no span is made: the stored trace is only made current,
    which is all the outbox rows need (as the consumer does for the records it reads).
    `name` is fixed text: no ids or PHI in span names."""
    provider = provider or trace.get_tracer_provider()
    parent = traceparent if traceparent is not None and TRACEPARENT_RE.fullmatch(traceparent) else None
    if parent is None and or_current:
        yield trace.get_current_span()
        return
    if not (isinstance(provider, TracerProvider) and exports(provider)):
        span: Span = NonRecordingSpan(remote_context(parent)) if parent else trace.INVALID_SPAN
        with trace.use_span(span):
            yield span
        return
    # An empty context, not the current one: without a stored trace the span is a root, never a
    # child of the pass that happens to run it (that is what the link is for).
    context = (trace.set_span_in_context(NonRecordingSpan(remote_context(parent)), otel_context.Context())
               if parent else otel_context.Context())
    tracer = provider.get_tracer("rcm.continued")
    with tracer.start_as_current_span(name, context=context, links=[
            Link(s.get_span_context()) for s in links if s.get_span_context().is_valid]) as span:
        yield span


def redacted(span: ReadableSpan) -> ReadableSpan:
    """The span as it may leave the process: no exception text, no sender-chosen attributes."""
    events = [
        Event("exception", {"exception.type": str((e.attributes or {}).get("exception.type", "?"))}, e.timestamp)
        if e.name == "exception" else e
        for e in span.events
    ]
    attributes = {k: v for k, v in (span.attributes or {}).items() if k not in SENDER_ATTRIBUTES}
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes, events=events, links=span.links, kind=span.kind,
        instrumentation_scope=span.instrumentation_scope, status=Status(span.status.status_code),
        start_time=span.start_time, end_time=span.end_time,
    )


class RedactingExporter(SpanExporter):
    """Wraps an exporter: every span goes out through `redacted`."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redacted(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class JsonLinesExporter(SpanExporter):
    """One span per line, as `ReadableSpan.to_json` writes it, appended to a file."""

    def __init__(self, path: Path) -> None:
        self._out: IO[str] = path.open("a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._out.write(json.dumps(json.loads(span.to_json())) + "\n")
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


class _ConsumeAttributes(KafkaTelemetrySettingsProvider):
    def get_consume_attrs_from_message(self, msg: Any) -> dict[str, Any]:
        return _without_sender(super().get_consume_attrs_from_message(msg))

    def get_publish_attrs_from_cmd(self, cmd: KafkaPublishCommand) -> dict[str, Any]:
        return _without_sender(super().get_publish_attrs_from_cmd(cmd))


class _BatchConsumeAttributes(BatchKafkaTelemetrySettingsProvider):
    def get_consume_attrs_from_message(self, msg: Any) -> dict[str, Any]:
        return _without_sender(super().get_consume_attrs_from_message(msg))

    def get_publish_attrs_from_cmd(self, cmd: KafkaPublishCommand) -> dict[str, Any]:
        return _without_sender(super().get_publish_attrs_from_cmd(cmd))


def _without_sender(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k not in SENDER_ATTRIBUTES}


def _attributes_provider(msg: Any) -> _ConsumeAttributes | _BatchConsumeAttributes:
    return _BatchConsumeAttributes() if isinstance(msg, Sequence) else _ConsumeAttributes()


class KafkaSpans(TelemetryMiddleware[KafkaPublishCommand]):
    """FastStream's Kafka telemetry without the sender-chosen attributes (see SENDER_ATTRIBUTES)."""

    def __init__(self, *, tracer_provider: TracerProvider) -> None:
        super().__init__(settings_provider_factory=_attributes_provider, tracer_provider=tracer_provider)
