"""Scale-out benchmark (issue 17 item 5, docs/scaling.md): the same seeded workload through the
platform with 1, 2 and 3 instances of each service, on the Kafka and Postgres of your stack.

Each run gets a platform of its own on that stack (topic prefix, database, folders), started as
`rcm up --instances N` starts it (every instance its own process), then the chaos suite's workload
(the `rcm demo` clinic month) is published at once and the platform is left to settle. Figure:
encounters per second from the first record published to the last patient balance written
(remits' `balances.updated_at`), as a ratio to the 1-instance run of the same invocation (the
machine is shared: only ratios measured side by side mean anything). Each run's books are
compared with the first run's (tests/integration/test_scale_out.py asserts the same).

Run: `rcm up --infra-only` (with your RCM_STATE_DIR and RCM_LOCAL_* ports), then
`python -m bench.scale_out [--encounters N] [--instances 1,2,3] [--note TEXT]`. Appends a block to
bench/results.md. A measurement, never a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as pyplatform
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from devstack import stack
from services.chassis.settings import get_settings
from tests.chaos import harness
from tests.chaos.harness import GivenInfra, Platform
from tests.support.infra import teardown_isolated

RESULTS = Path(__file__).with_name("results.md")
SEED = 17


@dataclass(frozen=True)
class Run:
    instances: int
    encounters: int
    start_s: float  # the processes' start until every one is ready
    balances: int
    to_last_balance_s: float
    settle_s: float
    same_books: bool | None  # None: the reference run itself

    @property
    def rate(self) -> float:
        return self.encounters / self.to_last_balance_s


async def one_run(given: GivenInfra, inputs: list[harness.Input], encounters: int, instances: int,
                  reference: dict[str, object] | None) -> tuple[Run, dict[str, object]]:
    platform = Platform(given, f"s{instances}", instances=instances)
    try:
        await platform.provision()
        began = time.monotonic()
        await platform.start_all()
        start_s = time.monotonic() - began
        await asyncio.to_thread(platform.load_reference_data)
        published_at = datetime.now(UTC)
        await harness.publish(platform.settings, inputs)
        settle_s = await harness.settle(platform.settings, quiet_s=10, timeout_s=3600)
        conn = await asyncpg.connect(platform.settings.admin_url, server_settings={"search_path": "remits"})
        try:
            count, last = await conn.fetchrow("SELECT count(*), max(updated_at) FROM balances")
        finally:
            await conn.close()
        books = await harness.books(platform)
        books["notifications"] = await harness.notification_counts(platform.settings)
    finally:
        await platform.stop_all()
        await teardown_isolated(platform.settings)
    same = None if reference is None else harness.differences(reference, books) == {}
    to_last = (last - published_at).total_seconds() if last else float("nan")
    return Run(instances, encounters, start_s, int(count), to_last, settle_s, same), books


def machine(pg_version: str) -> str:
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    kafka = re.search(r"<kafka.version>(.*)</kafka.version>", (stack.LOCAL / "kafka" / "pom.xml").read_text())
    return (f"nproc {os.cpu_count()}, {cpu}, {memory:,} MiB memory, load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; Python {pyplatform.python_version()}, "
            f"Kafka {kafka.group(1) if kafka else '?'} (one local broker), {pg_version} (one local server)")


def report(runs: list[Run], command: str, machine_line: str, note: str) -> str:
    base = runs[0]
    lines = [
        f"## {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%S')}: scale-out, 1 to {runs[-1].instances} instances per"
        " service (bench/scale_out.py)",
        "",
        f"Command: `{command}`. Machine: {machine_line}.",
        "",
        "| instances per service | encounters | balances | first record to last balance s | encounters/s |"
        " ratio to 1 instance | processes ready in s | settled after s | books = 1-instance run |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        same = "reference" if r.same_books is None else ("yes" if r.same_books else "**no**")
        lines.append(f"| {r.instances} | {r.encounters} | {r.balances} | {r.to_last_balance_s:.1f} | {r.rate:.2f} |"
                     f" {r.rate / base.rate:.2f}x | {r.start_s:.0f} | {r.settle_s:.0f} | {same} |")
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace, folder: Path) -> str:
    settings = get_settings()
    await stack.wait_for_kafka(settings, timeout_s=30)
    await stack.wait_for_postgres(settings, timeout_s=30)
    inputs = harness.workload(args.encounters, SEED, datetime.now(UTC).date(), 0)
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        pg_version = " ".join(str(await conn.fetchval("SELECT version()")).split()[:2])
    finally:
        await conn.close()
    machine_line = machine(pg_version)
    runs: list[Run] = []
    reference: dict[str, object] | None = None
    given = GivenInfra(folder, settings.bootstrap, settings.admin_maintenance_url)
    for n in args.instances:
        run, books = await one_run(given, inputs, args.encounters, n, reference)
        reference = reference or books
        runs.append(run)
        print(f"{n} instance(s): {run.rate:.2f} encounters/s ({run.to_last_balance_s:.1f} s to the last of "
              f"{run.balances} balances; books as the first run: {run.same_books})", flush=True)
    return report(runs, args.command, machine_line, args.note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encounters", type=int, default=150)
    parser.add_argument("--instances", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3],
                        help="comma-separated; the first is the baseline (default 1,2,3)")
    parser.add_argument("--note", default="", help="a paragraph appended to the results block")
    parser.add_argument("--no-write", action="store_true", help="print the block; leave bench/results.md alone")
    args = parser.parse_args()
    args.command = (f"python -m bench.scale_out --encounters {args.encounters}"
                    f" --instances {','.join(map(str, args.instances))}")
    settings = get_settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rcm-scale-bench-", dir=settings.state_dir) as folder:
        Path(folder).chmod(0o755)  # the platforms' folders live here
        block = asyncio.run(main_async(args, Path(folder)))
    print(block)
    if not args.no_write:
        with RESULTS.open("a") as out:
            out.write("\n" + block)


if __name__ == "__main__":
    main()
