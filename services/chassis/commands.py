"""Command-group pieces every service shares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.chassis import ports
from services.chassis.settings import SERVICES, ServiceName, get_settings, service_role
from services.chassis.topics import topics_consumed_by


def service_group(service: ServiceName, help: str) -> typer.Typer:
    app = typer.Typer(help=help, no_args_is_help=True)

    @app.command("info")
    def info() -> None:
        """Where this service listens, what it consumes, and what it owns."""
        settings = get_settings()
        table = Table(show_header=False)
        table.add_row("HTTP", f"http://127.0.0.1:{ports.HTTP[service]}")
        table.add_row("schema / role", f"{service} / {service_role(service)}")
        table.add_row("consumer group", settings.group_id(service))
        table.add_row("consumes", ", ".join(settings.topic(t) for t in topics_consumed_by(service)) or "-")
        table.add_row("dead letters", settings.dlq_topic(service))
        Console().print(table)

    return app


T = TypeVar("T")
_err = Console(stderr=True)


def service_argument(name: str) -> ServiceName:
    """A service named on the command line, or exit 2 naming the choices."""
    if name not in SERVICES:
        _err.print(f"[red]error:[/red] unknown service; choose one of: {', '.join(SERVICES)}")
        raise typer.Exit(2)
    return name


@asynccontextmanager
async def service_connection(service: ServiceName) -> AsyncIterator[asyncpg.Connection]:
    """A connection with the service's own role, for its operator commands."""
    try:
        conn: asyncpg.Connection = await asyncpg.connect(get_settings().database_url(service))
    except (OSError, asyncpg.PostgresError) as exc:
        _err.print(f"[red]error:[/red] cannot reach the {service} database ({type(exc).__name__}): is the stack up?")
        raise typer.Exit(1) from exc
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        yield conn
    finally:
        await conn.close()


def run_command(service: ServiceName, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's database work: a database problem is one clear line and exit 1, never a traceback."""
    try:
        return asyncio.run(work)
    except asyncpg.UndefinedTableError:
        _err.print(f"[red]error:[/red] the {service} schema is not migrated yet: start the service first (`rcm up`)")
    except (OSError, asyncpg.PostgresError) as exc:
        _err.print(f"[red]error:[/red] database error ({type(exc).__name__})")
    raise typer.Exit(1)
