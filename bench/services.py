"""Each service's main path: events/s at saturation and processing latency at half of it.

Saturation, staged on one platform: the demo's encounters are published while every service is
stopped; then charges is started alone and drains its intake, then claims drains what charges
published, then remits (the claims it must match 835s to), then notifications (everything it
follows). A service applies a poll's records in one transaction, and every inbox row of it carries
the transaction's start, so the rate is timed between transaction starts: the events of every
transaction but the last over the span from the first start to the last one (the start-up of the
process is not in it, and the last transaction, whose end no row records, is not counted). A drain
that took a single transaction has no rate: more encounters give it more. Events a service only
acknowledges (a type it does not handle) have no inbox row and are not counted.

Latency, on a fresh platform per service with only that service running: the records it consumed
in the saturation stage are sent again, in order, at half its saturation rate, and each event's
latency is its record's timestamp to the start of the transaction that applied it (its inbox row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from bench import workload
from bench.bench_stack import BenchPlatform
from bench.statements import Counts, Statements, by_service
from bench.stats import Latency, Throughput
from services.chassis.settings import Settings
from services.chassis.topics import topics_consumed_by

ORDER: tuple[str, ...] = ("charges", "claims", "remits", "notifications")
WARM_UP = 10  # records applied before a latency feed (not measured)


@dataclass(frozen=True)
class Steady:
    service: str
    per_s: float
    sent: int
    latency: Latency | None


@dataclass(frozen=True)
class Drain:
    """What a service applied in its saturation stage: `applied` events in `transactions`, and the
    rate timed between transaction starts (`timed`)."""

    applied: int
    transactions: int
    timed: Throughput
    sql: Counts | None = None
    """What the service ran in Postgres during its stage (None without pg_stat_statements)."""


def drain(service: str, starts: list[datetime]) -> Drain:
    """`starts`: each applied event's transaction start (its inbox row's received_at)."""
    distinct = sorted(set(starts))
    if len(distinct) < 2:
        return Drain(len(starts), len(distinct), Throughput(service, 0, 0.0))
    first, last = distinct[0], distinct[-1]
    before_last = sum(1 for at in starts if at < last)
    return Drain(len(starts), len(distinct), Throughput(service, before_last, (last - first).total_seconds()))


async def saturate(base: Settings, wanted: tuple[str, ...], encounters: int, seed: int,
                   say: Callable[[str], Any]) -> tuple[dict[str, Drain], dict[str, list[workload.Record]]]:
    """Saturation of each wanted service (and of the ones upstream of it, which must run to feed
    it), plus the records each consumed, for the latency runs."""
    stages = ORDER[:max(ORDER.index(s) for s in wanted) + 1]
    platform = BenchPlatform(base, "sat")
    results: dict[str, Drain] = {}
    inputs: dict[str, list[workload.Record]] = {}
    try:
        say("saturation: provisioning a fresh prefix and database")
        await platform.provision()
        records = workload.encounters(encounters, seed, date.today())
        say(f"saturation: publishing {encounters:,} encounters ({len(records):,} intake records), services stopped")
        await workload.send(platform.settings, records)
        for service in stages:
            say(f"saturation: {service} drains its input")
            async with Statements(platform.settings.admin_url) as sql:
                before = await sql.snapshot()
                await platform.start(service)
                await platform.settle(tuple(s for s in stages[:stages.index(service) + 1]))
                ran = by_service(before, await sql.snapshot(), (service,))
            rows = await platform.inbox(service)
            results[service] = replace(drain(service, [r["received_at"] for r in rows]),
                                       sql=None if ran is None else ran[service])
            inputs[service] = await workload.capture(platform.settings, topics_consumed_by(service))
    finally:
        say("saturation: cleaning up")
        await platform.close()
    return {s: results[s] for s in wanted}, inputs


async def steady(base: Settings, service: str, records: list[workload.Record], per_s: float, duration_s: float,
                 say: Callable[[str], Any]) -> Steady:
    """Send `records` (as many as `per_s` for `duration_s` takes) at `per_s` events a second to a
    fresh platform where only `service` runs; the latency of each event it applied."""
    singles = [_single(r) for r in records]
    warm, chosen = singles[:WARM_UP], singles[WARM_UP:WARM_UP + max(1, int(per_s * duration_s))]
    platform = BenchPlatform(base, service[:5])
    try:
        say(f"latency: {service}, fresh platform")
        await platform.provision()
        await platform.start(service)
        # Ready is not yet consuming: the group join and the first fetch would be in the first
        # latencies. A few records first, applied before the measured feed starts.
        await workload.send(platform.settings, warm)
        await platform.settle((service,), quiet_s=1.0)
        say(f"latency: {service}, {len(chosen):,} events at {per_s:,.0f}/s")
        sent = await workload.send(platform.settings, chosen, per_s=per_s)
        await platform.settle((service,))
        applied = {str(r["event_id"]): r["received_at"].timestamp() for r in await platform.inbox(service)}
        latencies = [applied[i] - at for i, at in sent.items() if i in applied]
        return Steady(service, per_s, len(sent), Latency.of(latencies) if latencies else None)
    finally:
        await platform.close()


def _single(record: workload.Record) -> workload.Record:
    """Paced one event at a time (the records of an encounter are not sent together here)."""
    return workload.Record(record.topic, record.key, record.value, record.headers, record.event_id)

