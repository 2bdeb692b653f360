"""Prometheus metrics of the chassis. Labels carry service names and event types, never ids or PHI."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.consumed = Counter(
            "rcm_events_consumed_total",
            "Events consumed, by outcome (applied, duplicate, ignored, parked, dead_lettered)",
            ["service", "event_type", "outcome"],
            registry=self.registry,
        )
        self.published = Counter(
            "rcm_events_published_total", "Outbox events published", ["service", "event_type"], registry=self.registry
        )
        self.outbox_pending = Gauge(
            "rcm_outbox_pending", "Outbox rows not yet published", ["service"], registry=self.registry
        )
        self.outbox_held = Gauge(
            "rcm_outbox_held", "Outbox rows the broker refused for good, waiting for an operator", ["service"],
            registry=self.registry,
        )
        self.retries = Counter(
            "rcm_transient_retries_total", "Retries after transient failures", ["service"], registry=self.registry
        )
        self.batch_fallbacks = Counter(
            "rcm_consumer_batch_fallbacks_total",
            "Consumed batches whose one transaction failed and that were applied record by record",
            ["service"], registry=self.registry,
        )
