"""Platform commands: `rcm up`, `rcm down`, `rcm status`, `rcm logs`."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack import credentials, stack
from services.chassis.settings import Settings, get_settings

console = Console()
err = Console(stderr=True)


def up(
    infra_only: bool = typer.Option(False, "--infra-only", help="Kafka, Postgres, topics and schemas; no services."),
) -> None:
    """Bring everything up: Kafka, Postgres, topics, schemas, then each service as its own process."""
    settings = get_settings()
    steps: list[tuple[str, Callable[[], object]]] = [
        ("Kafka", partial(stack.start_local_kafka, settings)),
        ("Postgres", partial(stack.start_local_postgres, settings)),
        ("Kafka ready (round trip)", lambda: asyncio.run(stack.wait_for_kafka(settings))),
        ("Postgres ready", lambda: asyncio.run(stack.wait_for_postgres(settings))),
        ("database, roles, schemas, topics, folders", lambda: asyncio.run(stack.provision_all(settings))),
    ]
    if not infra_only:
        names = [p.name for p in stack.PROCESSES]
        steps += [(f"{s} started", partial(stack.start_service, settings, s)) for s in names]
        steps += [(f"{s} ready", partial(_wait_ready, settings, s)) for s in names]
        # After the services migrated their schemas (api_tokens); kept across restarts.
        steps.append(("operator token", lambda: asyncio.run(credentials.ensure_operator_token(settings))))
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=False
    ) as progress:
        overall = progress.add_task("bringing Revcycle up", total=len(steps))
        for label, action in steps:
            progress.update(overall, description=label)
            try:
                action()
            except stack.StackError as exc:
                progress.stop()
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from exc
            progress.advance(overall)
        progress.update(overall, description="Revcycle is up")
    _print_status(asyncio.run(stack.status(settings)))


def _wait_ready(settings: Settings, service: str) -> None:
    asyncio.run(stack.wait_ready(settings, service))


def down(
    keep_infra: bool = typer.Option(False, "--keep-infra", help="Stop the services only; leave Kafka and Postgres."),
) -> None:
    """Stop the services, then the local Kafka and Postgres (never a cluster you provided)."""
    settings = get_settings()
    for process in reversed(stack.PROCESSES):
        if stack.stop_service(settings, process.name):
            console.print(f"{process.name} stopped")
    if not keep_infra:
        try:
            stack.stop_local_infrastructure(settings)
        except stack.StackError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        console.print("local Kafka and Postgres stopped")


def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Health of each component, each consumer group's lag and the newest ICD-10-CM edition (a
    warning once today is past it). Exit 1 when anything is unhealthy."""
    rows = asyncio.run(stack.status(get_settings()))
    if as_json:
        typer.echo(json.dumps([{"name": r.name, "healthy": r.healthy, "detail": r.detail, "warning": r.warning}
                               for r in rows], indent=2))
    else:
        _print_status(rows)
    if not all(r.healthy for r in rows):
        raise typer.Exit(1)


def _print_status(rows: list[stack.ComponentStatus]) -> None:
    table = Table(title="Revcycle")
    table.add_column("component")
    table.add_column("health")
    table.add_column("detail")
    for r in rows:
        health = "[green]healthy[/green]" if r.healthy and not r.warning else "[yellow]warning[/yellow]"
        if not r.healthy:
            health = "[red]down[/red]"
        table.add_row(r.name, health, r.detail + (f"\n[yellow]{r.warning}[/yellow]" if r.warning else ""))
    console.print(table)


def logs(
    component: str = typer.Argument(..., help="A service name, or kafka, or postgres."),
    lines: int = typer.Option(100, "-n", "--lines", help="How many lines from the end."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing as the log grows."),
) -> None:
    """Show a component's log file."""
    settings = get_settings()
    paths: dict[str, Path] = {p.name: settings.logs_dir / f"{p.name}.log" for p in stack.PROCESSES}
    paths["kafka"] = settings.state_dir / "kafka" / "logs" / "server.log"
    paths["postgres"] = settings.state_dir / "postgres" / "postgres.log"
    path: Path | None = paths.get(component)
    if path is None:
        err.print(f"[red]error:[/red] unknown component; choose one of: {', '.join(paths)}")
        raise typer.Exit(2)
    if not path.exists():
        err.print(f"[red]error:[/red] no log yet at {path}")
        raise typer.Exit(1)
    subprocess.run(["tail", "-n", str(lines), *(["-F"] if follow else []), str(path)], check=False)


def register(root: typer.Typer) -> None:
    root.command()(up)
    root.command()(down)
    root.command()(status)
    root.command()(logs)
