"""`rcm bench`: throughput and latency figures against the running stack, each beside a baseline
measured in the same run (the measuring code is in bench/; this module is its door)."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

app = typer.Typer(help="Benchmarks against the running stack: baselines, each service's main path, end to end.",
                  no_args_is_help=True)
# Wide enough for the tables when the output is a file or a pipe (rich assumes 80 columns there).
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
SERVICE_NAMES = ("charges", "claims", "remits", "notifications")
REPO = Path(__file__).resolve().parents[1]

EVENTS = typer.Option(2_000, "--events", min=100, help="Records of the baselines (a), (b), (c).")
ENCOUNTERS = typer.Option(600, "--encounters", min=10, help="Demo encounters feeding the per-service saturation.")
SEED = typer.Option(17, "--seed", help="Seed of the demo encounters.")
LATENCY_S = typer.Option(20.0, "--latency-seconds", min=1.0, help="Length of each half-saturation feed.")
E2E_ENCOUNTERS = typer.Option(600, "--e2e-encounters", min=10, help="Encounters published at once (saturation).")
RATE = typer.Option(150.0, "--rate", min=1.0, help="Encounters a second of the steady end-to-end run.")
DURATION = typer.Option(20.0, "--duration", min=1.0, help="Seconds of the steady end-to-end run.")
TIMEOUT = typer.Option(900.0, "--timeout", min=10.0, help="Give up waiting for a drain after this many seconds.")
AS_JSON = typer.Option(False, "--json", help="Print the figures as JSON (no progress, no tables).")
RECORD = typer.Option(False, "--record", help="Append the tables, the machine and this command to bench/results.md.")


def command_line() -> str:
    return "rcm " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _run(measure: Callable[[Any, Callable[[str], Any]], Awaitable[list[Any]]], as_json: bool,
         record: bool) -> None:
    """Check the stack is up, run `measure(settings, say)` under a progress line, then
    print (tables or JSON) and record."""
    from bench import report
    from bench.bench_stack import NotUp, check_up
    from devstack.stack import StackError
    from services.chassis.settings import get_settings

    settings = get_settings()

    async def go(say: Callable[[str], Any]) -> tuple[str, list[report.Table]]:
        postgres = await check_up(settings)
        return postgres, await measure(settings, say)

    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                      disable=as_json, transient=True) as progress:
            task = progress.add_task("rcm bench")
            postgres, tables = asyncio.run(go(lambda text: progress.update(task, description=text)))
    except NotUp as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except StackError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    host = report.machine(postgres)
    if as_json:
        typer.echo(json.dumps({"command": command_line(), **report.as_json(host, tables)}, indent=2))
    else:
        _print(tables, host.describe())
    if record:
        report.record(report.block(command_line(), host, tables))
        (err if as_json else console).print(f"recorded in {report.RESULTS}")


def _print(tables: list[Any], machine: str) -> None:
    from rich.table import Table as RichTable

    for table in tables:
        shown = RichTable(title=table.title)
        for i, column in enumerate(table.columns):
            shown.add_column(column, justify="left" if i == 0 else "right")
        for row in table.rows:
            shown.add_row(*row)
        console.print(shown)
        for note in table.notes:
            console.print(note)
    console.print(f"machine: {machine}")


def _options(**kwargs: Any) -> Any:
    from bench.suite import Options

    return Options(**kwargs)


@app.command()
def baseline(events: int = EVENTS, as_json: bool = AS_JSON, record: bool = RECORD) -> None:
    """Baselines only: (a) aiokafka produce -> consume, (b) one Postgres transaction per event doing
    inbox + state + outbox, (c) the same batched."""
    from bench import suite

    opts = _options(events=events)

    async def measure(settings: Any, say: Callable[[str], Any]) -> list[Any]:
        return [(await suite.baselines(settings, opts, say))[1]]

    _run(measure, as_json, record)


@app.command()
def service(
    names: list[str] = typer.Argument(..., help="One or more of: charges, claims, remits, notifications."),
    events: int = EVENTS, encounters: int = ENCOUNTERS, seed: int = SEED, latency_seconds: float = LATENCY_S,
    timeout: float = TIMEOUT, as_json: bool = AS_JSON, record: bool = RECORD,
) -> None:
    """A service's main path: events/s at saturation as a ratio to baselines (b) and (c), and
    p50/p95/p99 latency at half of saturation."""
    unknown = [n for n in names if n not in SERVICE_NAMES]
    if unknown:
        err.print(f"[red]error:[/red] no service {', '.join(unknown)} (services: {', '.join(SERVICE_NAMES)})")
        raise typer.Exit(2)
    from bench import suite

    opts = _options(events=events, encounters=encounters, seed=seed, latency_s=latency_seconds, timeout_s=timeout)
    wanted = tuple(n for n in SERVICE_NAMES if n in names)

    async def measure(settings: Any, say: Callable[[str], Any]) -> list[Any]:
        found, table = await suite.baselines(settings, opts, say)
        return [table, *await suite.per_service(settings, wanted, found, opts, say)]

    _run(measure, as_json, record)


@app.command()
def e2e(
    events: int = EVENTS, e2e_encounters: int = E2E_ENCOUNTERS, rate: float = RATE, duration: float = DURATION,
    seed: int = SEED, timeout: float = TIMEOUT, as_json: bool = AS_JSON, record: bool = RECORD,
) -> None:
    """End to end with the sandbox answering at once: encounters/s from intake to patient balance at
    saturation, and p50/p99 charge-to-balance latency at a steady rate."""
    from bench import suite

    opts = _options(events=events, e2e_encounters=e2e_encounters, e2e_rate=rate, e2e_duration_s=duration, seed=seed,
                    timeout_s=timeout)

    async def measure(settings: Any, say: Callable[[str], Any]) -> list[Any]:
        found, table = await suite.baselines(settings, opts, say)
        return [table, *await suite.end_to_end(settings, found, opts, say)]

    _run(measure, as_json, record)


@app.command("all")
def all_(
    events: int = EVENTS, encounters: int = ENCOUNTERS, seed: int = SEED, latency_seconds: float = LATENCY_S,
    e2e_encounters: int = E2E_ENCOUNTERS, rate: float = RATE, duration: float = DURATION, timeout: float = TIMEOUT,
    as_json: bool = AS_JSON, record: bool = RECORD,
    x12_and_remits: bool = typer.Option(False, "--x12-and-remits", help="Also run `rcm bench x12` and `rcm bench "
                                        "remits` afterwards (they append to bench/results.md themselves)."),
) -> None:
    """Baselines, every service, end to end (and, with --x12-and-remits, the X12 and 835 posting benches)."""
    from bench import suite

    opts = _options(events=events, encounters=encounters, seed=seed, latency_s=latency_seconds,
                    e2e_encounters=e2e_encounters, e2e_rate=rate, e2e_duration_s=duration, timeout_s=timeout)

    async def measure(settings: Any, say: Callable[[str], Any]) -> list[Any]:
        found, table = await suite.baselines(settings, opts, say)
        return [table, *await suite.per_service(settings, SERVICE_NAMES, found, opts, say),
                *await suite.end_to_end(settings, found, opts, say)]

    _run(measure, as_json, record)
    if x12_and_remits:
        x12()
        remits()


def _script(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
    """bench/<name>.py as its own process: it prints its tables and appends to bench/results.md."""
    import os

    result = subprocess.run([sys.executable, str(REPO / "bench" / f"{name}.py"), *args], cwd=REPO,
                            env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise typer.Exit(result.returncode)


@app.command()
def x12(claims: int = typer.Option(10_000, "--claims", min=1, help="837P claims in the file.")) -> None:
    """The X12 codec against pyx12 (bench/x12_bench.py; appends its block to bench/results.md)."""
    _script("x12_bench", ["--claims", str(claims)])


@app.command()
def remits(
    claims: int = typer.Option(2_000, "--claims", min=1, help="Claims in the 835 files."),
    files: int = typer.Option(20, "--files", min=1, help="835 files."),
) -> None:
    """835 posting against parsing the same files (bench/remits_bench.py; appends its block to
    bench/results.md). Uses the running stack's Kafka and Postgres, on a database of its own."""
    from services.chassis.settings import get_settings

    settings = get_settings()
    # tests/support/infra.obtain() takes these two first: the running stack, not a container.
    _script("remits_bench", ["--claims", str(claims), "--files", str(files)],
            {"RCM_KAFKA_BOOTSTRAP": settings.bootstrap, "RCM_ADMIN_DATABASE_URL": settings.admin_maintenance_url})
