"""Prometheus metrics of the chassis. Labels carry service names, topics and event types, never ids or PHI.

The gauges read from Kafka or Postgres are sampled by every instance (services.chassis.sampling),
so each instance reports the same global value: dashboards and alerts aggregate them with `max`.
"""

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
        self.relay_last_success = Gauge(
            "rcm_outbox_relay_last_success_timestamp_seconds",
            "Unix time of the outbox relay's last completed pass (set by the leading instance; with nothing"
            " to publish too): a relay that stopped leaves it behind",
            ["service"], registry=self.registry,
        )
        self.outbox_oldest_pending_age = Gauge(
            "rcm_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row waiting to be published (0 when none waits)", ["service"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "rcm_consumer_lag",
            "Records on the topic not yet committed by the service's consumer group (topic without the run's prefix)",
            ["service", "topic"], registry=self.registry,
        )

        self.dlq_depth = Gauge(
            "rcm_dlq_depth",
            "Records the service's DLQ topic holds (within its retention; a replayed record stays there: compare"
            " with `rcm dlq list`)", ["service"], registry=self.registry,
        )

    def set_outbox(self, service: str, pending: int, held: int, oldest_pending_age_s: float) -> None:
        self.outbox_pending.labels(service).set(pending)
        self.outbox_held.labels(service).set(held)
        self.outbox_oldest_pending_age.labels(service).set(oldest_pending_age_s)
