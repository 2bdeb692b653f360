"""`rcm tokens create|list|revoke`: the bearer tokens of the HTTP APIs, one per operator or system.

They write through the admin connection into each service's own `api_tokens` table (one
transaction for all of them). A secret is printed once, at creation; only its hash is stored.
Exit codes: 0 done, 1 refused (unknown token, database unreachable or not migrated), 2 bad usage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.chassis import audit, tokens
from services.chassis.commands import service_argument
from services.chassis.settings import SERVICES, ServiceName, get_settings

app = typer.Typer(help="Bearer tokens of the HTTP APIs: one per operator or calling system, scopes read/operate/admin.",
                  no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _services(chosen: list[str] | None) -> list[ServiceName]:
    return [service_argument(s) for s in chosen] if chosen else list(SERVICES)


def _admin(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `work` on the admin connection: a refusal or a database problem is one line and exit 1."""

    async def run() -> T:
        conn = await asyncpg.connect(get_settings().admin_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except tokens.TokenError as exc:
        err.print(f"[red]error:[/red] {exc}")
    except (OSError, asyncpg.PostgresError) as exc:
        err.print(f"[red]error:[/red] cannot reach the database with the admin connection ({type(exc).__name__})")
    raise typer.Exit(1)


_SERVICE_OPTION = typer.Option(None, "--service", "-s", help="Only this service (repeatable); default: every one.")


@app.command()
def create(
    name: str = typer.Argument(..., help="The operator or calling system (the audit actor of what it does)."),
    scope: str = typer.Option(..., "--scope", help="read, operate (includes read) or admin (includes both)."),
    service: list[str] | None = _SERVICE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create a token and print its secret once (store it now: only its hash is kept)."""
    try:
        chosen = tokens.Scope.parse(scope)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    services = _services(service)
    secret, token_id = _admin(lambda conn: tokens.issue(conn, services, name=name, scope=chosen,
                                                        created_by=audit.current_actor()))
    if as_json:
        typer.echo(json.dumps({"token_id": token_id, "name": name, "scope": chosen.label, "services": services,
                               "token": secret}))
        return
    err.print(f"token {token_id} for {name} ({chosen.label}) on {', '.join(services)}; shown once:")
    typer.echo(secret)


@app.command("list")
def list_(
    service: list[str] | None = _SERVICE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every token: id, name, scope, services, who created it and when, revocation (never a secret or hash)."""
    services = _services(service)
    rows = _admin(lambda conn: tokens.listing(conn, services))
    first: dict[str, tokens.TokenRow] = {}
    where: dict[str, list[str]] = {}
    for r in rows:
        first.setdefault(r.token_id, r)
        where.setdefault(r.token_id, []).append(r.service)
    if as_json:
        typer.echo(json.dumps([
            {"token_id": t, "name": r.name, "scope": r.scope, "services": where[t],
             "created_at": r.created_at.isoformat(), "created_by": r.created_by,
             "revoked_at": r.revoked_at and r.revoked_at.isoformat(), "revoked_by": r.revoked_by,
             "revoke_reason": r.revoke_reason}
            for t, r in first.items()], indent=2))
        return
    table = Table(title="API tokens")
    for col in ("id", "name", "scope", "services", "created", "by", "revoked"):
        table.add_column(col)
    for t, r in first.items():
        revoked = f"{r.revoked_at:%Y-%m-%d %H:%M} by {r.revoked_by}: {r.revoke_reason}" if r.revoked_at else "-"
        table.add_row(t, r.name, r.scope, ", ".join(where[t]), f"{r.created_at:%Y-%m-%d %H:%M}", r.created_by,
                      revoked)
    console.print(table)


@app.command()
def revoke(
    ident: str = typer.Argument(..., metavar="NAME|ID", help="A token id, or a name (all its live tokens)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in each service's audit log)."),
    service: list[str] | None = _SERVICE_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Revoke live tokens by id or name; the services refuse them within RCM_TOKEN_CACHE_S (5 s)."""
    services = _services(service)
    revoked = _admin(lambda conn: tokens.revoke(conn, services, ident=ident, reason=reason,
                                                revoked_by=audit.current_actor()))
    if as_json:
        typer.echo(json.dumps({"revoked": revoked, "services": services}))
        return
    console.print(f"revoked {', '.join(revoked)} on {', '.join(services)}")
