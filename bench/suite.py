"""`rcm bench`'s measurements put together: each run measures the baselines first, then what was
asked, and gives back tables in which every figure stands beside a baseline of the same run."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import baseline, e2e, services
from bench.bench_stack import BenchPlatform
from bench.report import Table, number, ratio
from bench.statements import Counts
from bench.stats import Latency
from devstack import provision
from services.chassis.settings import Settings


@dataclass(frozen=True)
class Options:
    events: int = 2_000
    """Records of the baselines."""
    encounters: int = 600
    """Encounters whose intake feeds the per-service saturation stages."""
    seed: int = 17
    latency_s: float = 20.0
    """How long each service's half-saturation feed lasts."""
    e2e_encounters: int = 600
    e2e_rate: float = 150.0
    e2e_duration_s: float = 20.0
    timeout_s: float = 900.0


async def baselines(base: Settings, opts: Options, say: Callable[[str], Any]) -> tuple[baseline.Baselines, Table]:
    platform = BenchPlatform(base, "base")
    try:
        await provision.ensure_database(platform.settings)
        found = await baseline.run(platform.settings, platform.settings.admin_url, opts.events, say)
    finally:
        await platform.close()
    table = Table("Baselines: aiokafka and asyncpg alone (bench/baseline.py)",
                  ("measurement", "events", "seconds", "events/s", "ratio to (c)"))
    for drain in (found.produce, found.a, found.b, found.c):
        table.add(drain.name, number(drain.events), number(drain.seconds, 2), number(drain.per_s),
                  ratio(drain.per_s, found.c.per_s))
    table.data = {d.name: {"events": d.events, "seconds": d.seconds, "per_s": d.per_s}
                  for d in (found.produce, found.a, found.b, found.c)}
    return found, table


def _latency_cells(latency: Latency | None) -> tuple[str, str, str, str]:
    if latency is None:
        return ("n/a",) * 4  # type: ignore[return-value]
    return number(latency.p50), number(latency.p95), number(latency.p99), number(latency.max)


async def per_service(base: Settings, wanted: tuple[str, ...], found: baseline.Baselines, opts: Options,
                      say: Callable[[str], Any]) -> list[Table]:
    saturated, inputs = await services.saturate(base, wanted, opts.encounters, opts.seed, say)
    sat = Table(f"Per service: main path at saturation ({opts.encounters:,} demo encounters, staged; "
                "bench/services.py)", ("service", "events applied", "transactions", "events timed",
                                       "seconds", "events/s", "ratio to (b)", "ratio to (c)", "statements/event"))
    lat = Table(f"Per service: processing latency at half of saturation ({opts.latency_s:.0f} s feed, "
                "record timestamp -> inbox transaction, ms)",
                ("service", "events/s sent", "events", "p50", "p95", "p99", "max"))
    sat.notes = ["Staged: the encounters' intake published with every service stopped, then each service started "
                 "alone and drained (its upstream ones done first). events/s: the events of every transaction but the "
                 "last (events timed) over the span from the first transaction's start to the last one's (inbox "
                 "received_at); a drain in one transaction has no rate (n/a: give more encounters); a type it only "
                 "acknowledges is not counted. statements/event: what the service ran in Postgres during its stage "
                 "(pg_stat_statements; its start-up and the stage's quiet end included) over the events applied."]
    lat.notes = ["Only the service runs, on a fresh platform; the records it consumed in the saturation stage are sent "
                 "again in order (after 10 unmeasured warm-up records). A latency ends when the transaction that "
                 "applied the event began (its inbox row's received_at)."]
    for service in wanted:
        d = saturated[service]
        s = d.timed
        per_event = "n/a" if d.sql is None or not d.applied else number(d.sql.calls / d.applied, 1)
        if s.per_s <= 0:
            sat.add(service, number(d.applied), number(d.transactions), "0", "n/a", "n/a", "n/a", "n/a", per_event)
        else:
            sat.add(service, number(d.applied), number(d.transactions), number(s.events), number(s.seconds, 2),
                    number(s.per_s), ratio(s.per_s, found.b.per_s), ratio(s.per_s, found.c.per_s), per_event)
        sat.data[service] = {"events": d.applied, "transactions": d.transactions, "timed_events": s.events,
                             "seconds": s.seconds, "per_s": s.per_s,
                             "statements": None if d.sql is None else d.sql.calls}
        if s.per_s <= 0:
            lat.add(service, "n/a", "0", *_latency_cells(None))
            continue
        steady = await services.steady(base, service, inputs[service], s.per_s / 2, opts.latency_s, say)
        lat.add(service, number(steady.per_s), number(steady.sent), *_latency_cells(steady.latency))
        lat.data[service] = {"per_s": steady.per_s, "sent": steady.sent,
                             "latency_ms": None if steady.latency is None else vars(steady.latency)}
    return [sat, lat]


async def end_to_end(base: Settings, found: baseline.Baselines, opts: Options,
                     say: Callable[[str], Any]) -> list[Table]:
    burst = await e2e.saturation(base, opts.e2e_encounters, opts.seed, opts.timeout_s, say)
    paced = await e2e.steady(base, opts.e2e_rate, opts.e2e_duration_s, opts.seed + 1, opts.timeout_s, say)
    table = Table("End to end: intake -> patient balance, sandbox answering at once (bench/e2e.py)",
                  ("measurement", "encounters sent", "reached a balance", "seconds", "encounters/s",
                   "p50 ms", "p99 ms", "lag max / at feed end", "lag bounded"))
    for name, run in ((f"saturation ({opts.e2e_encounters:,} at once)", burst),
                      (f"steady {opts.e2e_rate:,.0f} encounters/s for {opts.e2e_duration_s:.0f} s", paced)):
        lat = run.latency
        lags = f"{run.max_lag:,} / {run.lag_at_feed_end:,}" if run.per_s_sent else "-"
        table.add(name, number(run.encounters_sent), number(run.reached), number(run.seconds, 2), number(run.per_s, 1),
                  number(lat.p50) if lat else "n/a", number(lat.p99) if lat else "n/a", lags,
                  ("yes" if run.lag_bounded else "no") if run.per_s_sent else "-")
        table.data[name] = {"sent": run.encounters_sent, "reached": run.reached, "seconds": run.seconds,
                            "per_s": run.per_s, "latency_ms": None if lat is None else vars(lat),
                            "max_lag": run.max_lag, "lag_at_feed_end": run.lag_at_feed_end,
                            "drain_after_feed_s": run.drain_after_feed_s}
    table.notes = ["Only an encounter the patient owes something for gets a balance event (remits' "
                   "patient_payments.py); the others are neither counted nor timed. "
                   f"Latency: an encounter's last intake record (its close) -> its first patient-balance event. "
                   f"Steady run: the last balance came {paced.drain_after_feed_s:.1f} s after the feed ended. "
                   f"Baseline (c) of this run: {number(found.c.per_s)} events/s."]
    return [table, cpu_table(burst, opts.e2e_encounters), sql_table(burst, opts.e2e_encounters)]


def cpu_table(run: e2e.Run, encounters: int) -> Table:
    """Where the saturation run's CPU went: when the total is near the machine's cores, the cores
    are the limit and the biggest row is what to make cheaper."""
    cores = os.cpu_count() or 1
    table = Table(f"End to end: CPU by process during the saturation run ({encounters:,} encounters)",
                  ("process", "CPU s", "ms per encounter", "share of the cores"))
    machine = run.seconds * cores
    for name, seconds in [*sorted(run.cpu_s.items(), key=lambda item: -item[1]), ("all", sum(run.cpu_s.values()))]:
        table.add(name, number(seconds, 1), number(1000 * seconds / encounters, 1),
                  f"{100 * seconds / machine:.0f}%" if machine > 0 else "n/a")
        table.data[name] = seconds
    table.notes = [f"From the first intake record to the last balance event ({run.seconds:.1f} s on {cores} cores). "
                   "Postgres counts its backends; Kafka and Postgres also serve the bench's own publisher and "
                   "follower (the `rcm bench` row)."]
    return table


def sql_table(run: e2e.Run, encounters: int) -> Table:
    """The saturation run's round trips: statements per encounter of each service, a figure that
    does not move with the machine's load, and the server time they took (which does)."""
    table = Table(f"End to end: Postgres statements by service during the saturation run ({encounters:,} encounters)",
                  ("service", "statements", "per encounter", "rows per statement", "server ms per encounter"))
    if run.sql is None:
        table.add("n/a", "-", "-", "-", "-")
        table.notes = ["pg_stat_statements is not loaded in this Postgres (shared_preload_libraries): the local "
                       "stack's deploy/local/postgres.sh loads it at its next start."]
        return table
    rows = [*sorted(run.sql.items(), key=lambda item: -item[1].calls), ("all", sum(run.sql.values(), Counts()))]
    for name, counts in rows:
        table.add(name, number(counts.calls), number(counts.calls / encounters, 1),
                  number(counts.rows / counts.calls, 1) if counts.calls else "n/a",
                  number(counts.exec_ms / encounters, 2))
        table.data[name] = vars(counts)
    table.notes = ["pg_stat_statements, each service's login role in the run's database, from the first intake "
                   "record to the last balance event. Server ms: time inside Postgres, lock waits and waits for a "
                   "busy core included (not CPU)."]
    return table
