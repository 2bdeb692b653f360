"""End to end: encounters from intake to patient balance, the sandbox answering at once.

Saturation: N encounters published at once on a fresh platform with every process running;
encounters/s is the encounters that reached a patient balance over the span from the first intake
record to the last balance event. Steady: encounters sent at a fixed rate for a while on another
fresh platform; per encounter, the latency from its last intake record (the close, after its
charges) to its first balance event, with the summed consumer lag of the services sampled during
the feed to show whether it stayed bounded.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import workload
from bench.bench_stack import SANDBOX_AT_ONCE, BenchPlatform
from bench.cpu import CpuMeter, Watched, pid_in
from bench.statements import Counts, Statements, by_service
from bench.stats import Latency, rate
from devstack import stack
from devstack.stack import PROCESSES
from services.chassis.kafka import client_options
from services.chassis.settings import SERVICES, Settings

BALANCES = "rcm.patient-balances.v1"


@dataclass
class Balances:
    """First balance event per encounter (our id) -> its record timestamp, read as they come."""

    settings: Settings
    first: dict[str, float] = field(default_factory=dict)
    last_change: float = field(default_factory=time.monotonic)
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap, enable_auto_commit=False,
                                          **client_options(self.settings))
        await self._consumer.start()
        await self._consumer._client.force_metadata_update()
        topic = self.settings.topic(BALANCES)
        tps = [TopicPartition(topic, p) for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)

    async def poll(self) -> None:
        assert self._consumer is not None
        for batch in (await self._consumer.getmany(timeout_ms=500)).values():
            for record in batch:
                encounter = json.loads(record.value)["encounter_id"]
                if encounter not in self.first:
                    self.first[encounter] = record.timestamp / 1000
                    self.last_change = time.monotonic()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


@dataclass(frozen=True)
class Run:
    encounters_sent: int
    reached: int
    seconds: float
    latency: Latency | None
    per_s_sent: float | None = None
    max_lag: int = 0
    lag_at_feed_end: int = 0
    drain_after_feed_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds of each process from the first record to the last balance (saturation only)."""
    sql: dict[str, Counts] | None = None
    """What each service ran in Postgres over the same span (saturation only; None without
    pg_stat_statements)."""

    @property
    def per_s(self) -> float:
        return rate(self.reached, self.seconds)

    @property
    def lag_bounded(self) -> bool:
        """The platform kept up: at the end of the feed the summed lag was at most half the highest
        sampled during it (or 50 records); a backlog that grows ends the feed at its peak."""
        return self.lag_at_feed_end <= max(self.max_lag // 2, 50)


async def _platform(base: Settings, label: str, say: Callable[[str], Any]) -> BenchPlatform:
    platform = BenchPlatform(base, label, SANDBOX_AT_ONCE)
    say(f"e2e: fresh platform ({label})")
    await platform.provision()
    await platform.start(*(p.name for p in PROCESSES))
    return platform


def meter(base: Settings, platform: BenchPlatform) -> CpuMeter:
    """The platform's processes, and the running stack's Kafka and Postgres (shared with whatever
    else runs on them: the bench's own clients are the only other users while it measures)."""
    watched = [Watched(p.name, pid) for p in PROCESSES if (pid := stack.service_pid(platform.settings, p.name))]
    watched.append(Watched("rcm bench", os.getpid()))
    for name, pidfile, children in (("kafka", base.state_dir / "kafka" / "kafka.pid", False),
                                    ("postgres", base.state_dir / "postgres" / "data" / "postmaster.pid", True)):
        if (pid := pid_in(pidfile)) is not None:
            watched.append(Watched(name, pid, children))
    return CpuMeter(tuple(watched))


async def _follow_until_quiet(platform: BenchPlatform, follower: Balances, expected: int, quiet_s: float,
                              timeout_s: float, say: Callable[[str], Any],
                              progressed: Callable[[], Awaitable[None]] | None = None) -> None:
    """Until every encounter has a balance, or nothing moved on the platform (no new balance, no
    lag, outbox, inbox or clearinghouse change) for `quiet_s`: some encounters never get one (a
    deliberate error of the demo stops them)."""
    deadline = time.monotonic() + timeout_s
    last: tuple[int, ...] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        before = len(follower.first)
        await follower.poll()
        if progressed is not None and len(follower.first) != before:
            await progressed()
        say(f"e2e: {len(follower.first):,} of {expected:,} encounters have a balance")
        if len(follower.first) >= expected:
            return
        now = (len(follower.first), *await platform.signature(SERVICES))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return


async def _source_ids(platform: BenchPlatform) -> dict[str, str]:
    rows = await platform.fetch("SELECT encounter_id, source_encounter_id FROM charges.encounter_ids")
    return {r[0]: r[1] for r in rows}


def _latencies(records: list[workload.Record], sent: dict[str, float], first: dict[str, float],
               source: dict[str, str]) -> list[float]:
    closed: dict[str, float] = {}
    for record in records:
        closed[record.group] = max(closed.get(record.group, 0.0), sent[record.event_id])
    return [at - closed[source[enc]] for enc, at in first.items() if source.get(enc) in closed]


async def saturation(base: Settings, encounters: int, seed: int, timeout_s: float,
                     say: Callable[[str], Any]) -> Run:
    platform = await _platform(base, "e2e", say)
    follower = Balances(platform.settings)
    try:
        await follower.start()
        records = workload.encounters(encounters, seed, date.today())
        say(f"e2e: publishing {encounters:,} encounters at once")
        cpu = meter(base, platform)
        async with Statements(platform.settings.admin_url) as sql:
            sql_at_start = sql_at_last = await sql.snapshot()

            async def progressed() -> None:
                # Both meters stop at the last balance: the quiet wait after it is idle polling.
                nonlocal sql_at_last
                cpu.mark()
                sql_at_last = await sql.snapshot()

            cpu.start()
            sent = await workload.send(platform.settings, records)
            await _follow_until_quiet(platform, follower, encounters, 20, timeout_s, say, progressed)
        source = await _source_ids(platform)
        latencies = _latencies(records, sent, follower.first, source)
        span = max(follower.first.values(), default=0.0) - min(sent.values())
        return Run(encounters, len(follower.first), span, Latency.of(latencies) if latencies else None,
                   cpu_s=dict(cpu.used()), sql=by_service(sql_at_start, sql_at_last, SERVICES))
    finally:
        await follower.stop()
        say("e2e: cleaning up")
        await platform.close()


async def steady(base: Settings, per_s: float, duration_s: float, seed: int, timeout_s: float,
                 say: Callable[[str], Any]) -> Run:
    platform = await _platform(base, "e2s", say)
    follower = Balances(platform.settings)
    lags: list[int] = []

    async def sample() -> None:
        while True:
            with suppress(Exception):
                lags.append(sum([await platform.lag(s) for s in SERVICES]))
            await follower.poll()
            await asyncio.sleep(0.5)

    try:
        await follower.start()
        count = max(1, int(per_s * duration_s))
        records = workload.encounters(count, seed, date.today())
        say(f"e2e: {count:,} encounters at {per_s:,.0f}/s")
        sampler = asyncio.create_task(sample())
        try:
            sent = await workload.send(platform.settings, records, per_s=per_s)
            fed = time.monotonic()
            lag_at_end = sum([await platform.lag(s) for s in SERVICES])
        finally:
            sampler.cancel()
            with suppress(asyncio.CancelledError):
                await sampler
        await _follow_until_quiet(platform, follower, count, 20, timeout_s, say)
        source = await _source_ids(platform)
        latencies = _latencies(records, sent, follower.first, source)
        span = max(follower.first.values(), default=0.0) - min(sent.values())
        drain = max(0.0, follower.last_change - fed)
        return Run(count, len(follower.first), span, Latency.of(latencies) if latencies else None, per_s,
                   max([*lags, lag_at_end]), lag_at_end, drain)
    finally:
        await follower.stop()
        say("e2e: cleaning up")
        await platform.close()

