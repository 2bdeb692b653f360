"""OpenTelemetry wiring: one tracer provider per process, OTLP when configured.

asyncpg is instrumented with parameters off (they carry PHI); Kafka spans come from
FastStream's middleware on the consumer side and from the outbox relay on the producer side.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from services.chassis.settings import Settings

_installed: list[TracerProvider] = []


def tracer_provider(service: str, settings: Settings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": f"rcm-{service}"}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    return provider


def install(provider: TracerProvider) -> None:
    """Make the provider global (once per process) and instrument asyncpg."""
    if not _installed:
        trace.set_tracer_provider(provider)
        instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
        instrumentor.instrument(tracer_provider=provider)
        _installed.append(provider)
