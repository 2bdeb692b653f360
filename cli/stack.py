"""Platform commands: `rcm up`, `rcm down`, `rcm status`, `rcm logs`."""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack import credentials, provision, secure_kafka, stack
from services.chassis import migrations
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import SERVICES, Settings, get_settings

console = Console()
err = Console(stderr=True)


def up(
    infra_only: bool = typer.Option(False, "--infra-only", help="Kafka, Postgres, topics and schemas; no services."),
    secure: bool = typer.Option(False, "--secure", help="Kafka with SASL/SCRAM over TLS, one principal per service"
                                " with ACLs (docs/security.md)."),
    instances: int = typer.Option(None, "--instances", min=1, max=9, show_default=False,
                                  help="Processes per service, one consumer group each; instance k listens on the"
                                  " base ports + 10*k (default RCM_INSTANCES, else 1; docs/scaling.md)."),
) -> None:
    """Bring everything up: Kafka, Postgres, topics, schemas, then each service as its own process."""
    settings = get_settings()
    if instances is not None:
        settings = settings.model_copy(update={"instances": instances})
    material = secure_kafka.prepare(settings) if secure else None
    # Provisioning and the status checks connect as the super user under --secure.
    admin = material.client_settings(settings, secure_kafka.ADMIN) if material else settings
    steps: list[tuple[str, Callable[[], object]]] = [
        ("Kafka" + (" (SASL_SSL)" if secure else ""), partial(stack.start_local_kafka, settings, secure=secure)),
        ("Postgres", partial(stack.start_local_postgres, settings)),
        ("Kafka ready (round trip)", lambda: asyncio.run(stack.wait_for_kafka(admin))),
        ("Postgres ready", lambda: asyncio.run(stack.wait_for_postgres(settings))),
        ("database, roles, schemas, topics, folders", lambda: asyncio.run(stack.provision_all(admin))),
    ]
    if material:
        steps.append(("Kafka ACLs of each service", lambda: asyncio.run(
            secure_kafka.ensure_acls(admin, secure_kafka.acls(settings)))))
    if not infra_only:
        # The services' further instances; the mail catcher and the sandbox stay one each.
        started = [(p.name, k) for p in stack.PROCESSES for k in range(settings.instances if p.consumes else 1)]
        steps += [(f"{stack.instance_name(s, k)} started",
                   partial(stack.start_service, settings, s, _principal_env(material, s), k)) for s, k in started]
        steps += [(f"{stack.instance_name(s, k)} ready", partial(_wait_ready, settings, s, k)) for s, k in started]
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
    _print_status(asyncio.run(stack.status(admin)))
    if material:
        console.print(f"Kafka is SASL_SSL; operator commands (rcm status, dlq, publish) connect as the super user"
                      f" with: set -a; . {secure_kafka.write_admin_env(material)}; set +a")


def _principal_env(material: secure_kafka.SecureKafka | None, process: str) -> dict[str, str]:
    """A service's own Kafka principal under --secure; the other processes use no Kafka."""
    if material is None or process not in SERVICES:
        return {}
    return material.client_env(process)


def _wait_ready(settings: Settings, service: str, instance: int) -> None:
    asyncio.run(stack.wait_ready(settings, service, instance=instance))


def down(
    keep_infra: bool = typer.Option(False, "--keep-infra", help="Stop the services only; leave Kafka and Postgres."),
) -> None:
    """Stop the services, then the local Kafka and Postgres (never a cluster you provided)."""
    settings = get_settings()
    for process in reversed(stack.PROCESSES):
        for instance in reversed(stack.running_instances(settings, process.name)):
            if stack.stop_service(settings, process.name, instance=instance):
                console.print(f"{stack.instance_name(process.name, instance)} stopped")
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
    component: str = typer.Argument(..., help="A service name (claims-1: its instance 1), or kafka, or postgres."),
    lines: int = typer.Option(100, "-n", "--lines", help="How many lines from the end."),
    follow: bool = typer.Option(False, "-f", "--follow", help="Keep printing as the log grows."),
) -> None:
    """Show a component's log file."""
    settings = get_settings()
    paths: dict[str, Path] = {p.name: settings.logs_dir / f"{p.name}.log" for p in stack.PROCESSES}
    paths.update({f.stem: f for f in settings.logs_dir.glob("*-[0-9]*.log")})  # further instances: claims-1
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


def migrate(
    services: list[str] = typer.Argument(None, help="Services to migrate (default: all four).",
                                         show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output: the migrations applied per service."),
) -> None:
    """Apply each service's pending migrations as its schema owner (through `RCM_ADMIN_DATABASE_URL`)
    and rebuild its role's grants: the deploy step when services run with `RCM_MIGRATE_ON_START=false`;
    creates the database, roles and schemas first when missing; safe to run twice and concurrently.

    From nothing: the database `RCM_DATABASE_NAME`, each service's login role with the password of
    its `RCM_<SERVICE>_DATABASE_URL`, its owner role and schema. Runners in several processes at
    once (two pods of the migration Job) take turns on advisory locks: each migration is applied
    once, and a later run applies nothing. Exit 1 when the database refuses; 2 for an unknown service or,
    on a server that is not local, a service without its `RCM_<SERVICE>_DATABASE_URL`."""
    settings = get_settings()
    chosen = services or list(SERVICES)
    unknown = [s for s in chosen if s not in SERVICES]
    if unknown:
        err.print(f"[red]error:[/red] no service {', '.join(unknown)} (services: {', '.join(SERVICES)})")
        raise typer.Exit(2)
    known = [s for s in SERVICES if s in chosen]
    unset = [f"RCM_{s.upper()}_DATABASE_URL" for s in known if not getattr(settings, f"{s}_database_url")]
    if unset and not _local_postgres(settings):
        # Provisioning sets each login role's password from its URL; without one it would set the
        # local stack's well-known password on a real server.
        err.print(f"[red]error:[/red] set {', '.join(unset)}: each service role's password comes from its URL")
        raise typer.Exit(2)
    try:
        asyncio.run(provision.ensure_database(settings))
        asyncio.run(provision.ensure_roles_and_schemas(settings, known))
    except (asyncpg.PostgresError, OSError) as exc:
        err.print(f"[red]error:[/red] provisioning the database failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from exc
    applied: dict[str, list[str]] = {}
    for service in known:
        definition: ServiceDefinition = importlib.import_module(f"services.{service}.app").DEFINITION
        try:
            done = asyncio.run(migrations.migrate(settings, definition.name, migrations.service_migrations(
                definition.migrations), definition.append_only))
        except (migrations.MigrationError, asyncpg.PostgresError, OSError) as exc:
            err.print(f"[red]error:[/red] migrating {service} failed: {type(exc).__name__}: {exc}")
            raise typer.Exit(1) from exc
        applied[service] = done
        if not as_json:
            console.print(f"{service}: {len(done)} migration(s) applied, grants rebuilt")
    if as_json:
        typer.echo(json.dumps({"database": settings.database_name,
                               "services": [{"service": s, "applied": names} for s, names in applied.items()]},
                              indent=2))


def _local_postgres(settings: Settings) -> bool:
    host = urlsplit(settings.admin_url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")
