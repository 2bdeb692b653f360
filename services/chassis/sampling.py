"""The gauges read from Kafka and Postgres, sampled every RCM_METRICS_SAMPLE_INTERVAL_S by every
instance of a service (not only the leader: an instance that is scraped always has the value, and
they all report the same global one, which dashboards and alerts aggregate with `max`).

A sample is made of parts (the outbox backlog, the consumer lag, each of the service's own groups
of gauges), each read on its own, one after the other: a part that fails (Kafka or Postgres away,
a timeout) keeps its gauges' last values, is logged once per kind of failure until it reads
again, and is retried at the next pass; the other parts and the service go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from services.chassis import outbox
from services.chassis.logs import ids
from services.chassis.metrics import Metrics
from services.chassis.periodic import every
from services.chassis.settings import Settings
from services.chassis.topics import consumer_lag, topic_depth

log = logging.getLogger(__name__)

Sample = Callable[[], Awaitable[None]]
"""One part of a sample: reads its values and sets its gauges, or raises and sets nothing."""
MIN_PART_TIMEOUT_S = 10.0
"""A part may take this long even when the interval is shorter (a Kafka admin round trip)."""
FIRST_PASS_AFTER_S = 5.0
"""The first pass waits this long (or the interval, when shorter): a runtime that starts and stops
at once (a test, a start that fails) does not pay for a sample, and a scrape soon after start
already finds the gauges."""


@dataclass
class FailureLog:
    """Says once that a part fails, per kind of failure (the error's class), and once that it
    reads again; a part failing the same way at every pass does not fill the log."""

    service: str
    failing: dict[str, str] = field(default_factory=dict)

    def failed(self, part: str, error: BaseException) -> bool:
        """Record the failure; True when it was logged (a new kind for this part)."""
        kind = type(error).__name__
        if self.failing.get(part) == kind:
            return False
        self.failing[part] = kind
        log.warning("metrics sample failed; keeping the last values and retrying at each pass",
                    extra=ids(service=self.service, component=part, error_class=kind))
        return True

    def succeeded(self, part: str) -> bool:
        """Record the success; True when it was logged (the part had been failing)."""
        if self.failing.pop(part, None) is None:
            return False
        log.info("metrics sample reads again", extra=ids(service=self.service, component=part))
        return True


def age_s(now: datetime, since: datetime | None) -> float:
    """Seconds from `since` to `now`: 0 for nothing (None) and never below 0 (clocks apart)."""
    return 0.0 if since is None else max((now - since).total_seconds(), 0.0)


async def sample(parts: Mapping[str, Sample], failures: FailureLog, timeout_s: float) -> None:
    """Run the parts one after the other (the sampler holds at most one pooled connection at a
    time: claims' leader-only tasks already hold half its pool), each within `timeout_s`; a
    part's failure (any: a gauge must never stop the service) is logged, never raised."""
    for name, part in parts.items():
        try:
            await asyncio.wait_for(part(), timeout_s)
        except Exception as exc:
            failures.failed(name, exc)
        else:
            failures.succeeded(name)


def outbox_backlog(pool: asyncpg.Pool, metrics: Metrics, service: str) -> Sample:
    async def read() -> None:
        async with pool.acquire() as conn:
            backlog = await outbox.backlog(conn)
        metrics.set_outbox(service, backlog.pending, backlog.held, backlog.oldest_pending_age_s)

    return read


def lag(settings: Settings, metrics: Metrics, service: str, topics: Sequence[str]) -> Sample:
    """The consumer group's lag per topic, labelled with the catalog name (no run prefix)."""
    unprefixed = {settings.topic(t): t for t in topics}

    async def read() -> None:
        for topic, behind in (await consumer_lag(settings, service, list(topics))).items():
            metrics.consumer_lag.labels(service, unprefixed.get(topic, topic)).set(behind)

    return read


def dlq_depth(settings: Settings, metrics: Metrics, service: str) -> Sample:
    async def read() -> None:
        metrics.dlq_depth.labels(service).set(await topic_depth(settings, settings.dlq_topic(service)))

    return read


async def run(settings: Settings, service: str, parts: Mapping[str, Sample], stopping: asyncio.Event) -> None:
    """The sampler: every part, every RCM_METRICS_SAMPLE_INTERVAL_S, until `stopping`."""
    failures = FailureLog(service)

    async def step() -> None:
        started = time.monotonic()
        await sample(parts, failures, max(settings.metrics_sample_interval_s, MIN_PART_TIMEOUT_S))
        log.debug("metrics sampled", extra=ids(service=service, duration_ms=int((time.monotonic() - started) * 1000)))

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), min(settings.metrics_sample_interval_s, FIRST_PASS_AFTER_S))
    await every(lambda: settings.metrics_sample_interval_s, stopping, step, f"{service}-metrics")
