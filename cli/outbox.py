"""`rcm outbox list|retry`: outbox rows a service's relay holds because the broker refused them for
good (too large, invalid topic, not authorized). The rows behind each, with the same key, wait."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from services.chassis import audit, outbox
from services.chassis.commands import run_command, service_argument, service_connection
from services.chassis.settings import SERVICES, ServiceName

app = typer.Typer(help="Outbox rows held after the broker refused them for good, and their release.",
                  no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("list")
def list_(
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service's outbox."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Held rows; exit 1 when any.

    Event type, key, why, since when, and how many rows of the same key wait behind each (no
    payloads: they may hold PHI)."""
    services = [service_argument(service)] if service else list(SERVICES)

    async def read(name: ServiceName) -> list[dict[str, Any]]:
        async with service_connection(name) as conn:
            return [{"service": name, **dict(r)} for r in await outbox.held_rows(conn)]

    rows = [r for name in services for r in run_command(name, read(name))]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
    elif not rows:
        console.print("no held outbox rows")
    else:
        table = Table(title="held outbox rows")
        for col in ("service", "seq", "event type", "key", "reason", "held at", "waiting behind"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["service"], str(r["seq"]), r["event_type"], r["message_key"], r["held_reason"],
                          str(r["held_at"]), str(r["waiting"]))
        console.print(table)
    if rows:
        raise typer.Exit(1)


@app.command("retry")
def retry(
    service: str = typer.Argument(..., help="The service whose outbox holds the row."),
    seq: int = typer.Argument(..., help="The row's seq, as `rcm outbox list` prints it."),
    reason: str = typer.Option(..., "--reason", help="What was fixed (kept in the service's audit log)."),
) -> None:
    """Release a held row for the relay to publish again.

    Use it after the topic or broker was fixed; the rows of the same key follow it in order.
    Exit 1 when no such held row exists."""
    name = service_argument(service)
    if not reason.strip():
        err.print("[red]error:[/red] --reason must say what was fixed")
        raise typer.Exit(2)

    async def work() -> bool:
        async with service_connection(name) as conn, conn.transaction():
            if not await outbox.release_held(conn, seq):
                return False
            await audit.record(conn, actor=audit.current_actor(), action="outbox.retry", subject=str(seq),
                               reason=reason)
            return True

    if not run_command(name, work()):
        err.print(f"[red]error:[/red] {name} holds no outbox row {seq}")
        raise typer.Exit(1)
    console.print(f"{name}: outbox row {seq} released; the relay publishes it next")
