"""`rcm dlq list|show|replay`: dead letters per service, replayed to their own service only."""

from __future__ import annotations

import asyncio
import json

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from devstack import credentials, stack
from services.chassis import dlq_replay
from services.chassis.commands import service_argument
from services.chassis.settings import SERVICES, get_settings

app = typer.Typer(help="Dead letters: records a service could not decode or that broke their contract.")
console = Console()
err = Console(stderr=True)


def _position(value: str) -> tuple[int, int]:
    try:
        partition, offset = value.split(":")
        return int(partition), int(offset)
    except ValueError:
        err.print("[red]error:[/red] a dead letter is named PARTITION:OFFSET, as `rcm dlq list` prints it")
        raise typer.Exit(2) from None


def _json(response: httpx.Response) -> object:
    """The answer's JSON body, or None when it has none (a proxy's or a crashed handler's plain text)."""
    try:
        return response.json()
    except ValueError:
        return None


def _refusal(service: str, status: int, answer: object) -> str:
    """Why the service refused, in one line: its `detail` when it gave one, else what it answered."""
    detail = answer.get("detail") if isinstance(answer, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI's request validation: one entry per field
        fields = [".".join(str(p) for p in d.get("loc", ())[1:]) + ": " + str(d.get("msg", ""))
                  for d in detail if isinstance(d, dict)]
        return "; ".join(fields) or f"{service} answered HTTP {status}"
    if answer is None:
        return f"{service} answered HTTP {status} (not JSON; see its log)"
    return f"{service} answered HTTP {status} without an outcome"


@app.command("list")
def list_(
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service's DLQ."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every dead letter: where it came from and why it failed (no payloads)."""
    settings = get_settings()
    services = [service] if service else list(SERVICES)
    for s in services:
        service_argument(s)
    views = [v for s in services for v in asyncio.run(dlq_replay.read_all(settings, s))]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {"service": v.service, "position": f"{v.partition}:{v.offset}", "key": v.key,
                     "event_type": v.event_type, **v.metadata}
                    for v in views
                ],
                indent=2,
            )
        )
        return
    table = Table(title="dead letters")
    for col in ("service", "position", "event type", "from", "error", "reason", "failed at"):
        table.add_column(col)
    for v in views:
        m = v.metadata
        origin = f"{m.get('original_topic')}:{m.get('original_partition')}:{m.get('original_offset')}"
        table.add_row(v.service, f"{v.partition}:{v.offset}", v.event_type or "-", origin,
                      m.get("error_class", ""), m.get("reason", ""), m.get("failed_at", ""))
    console.print(table)


@app.command()
def show(
    service: str = typer.Argument(..., help="The service whose DLQ holds the record."),
    position: str = typer.Argument(..., help="PARTITION:OFFSET in that DLQ."),
    payload: bool = typer.Option(False, "--payload", help="Also print the record's payload (may hold PHI)."),
) -> None:
    """One dead letter's headers and reason; its payload only when asked."""
    service_argument(service)
    partition, offset = _position(position)
    views = [v for v in asyncio.run(dlq_replay.read_all(get_settings(), service))
             if (v.partition, v.offset) == (partition, offset)]
    if not views:
        err.print(f"[red]error:[/red] no dead letter at {position} in {service}'s DLQ")
        raise typer.Exit(1)
    v = views[0]
    typer.echo(json.dumps({"service": service, "position": position, "key": v.key, "event_type": v.event_type,
                           **v.metadata}, indent=2))
    if payload:
        typer.echo(v.value.decode(errors="replace"))


@app.command()
def replay(
    service: str = typer.Argument(..., help="The service whose DLQ holds the record."),
    position: str = typer.Argument(..., help="PARTITION:OFFSET in that DLQ."),
    reason: str = typer.Option(..., "--reason", help="Why it is safe to replay now (kept in the audit log)."),
) -> None:
    """Re-deliver a dead letter to its own service (not to every consumer of the original topic). Sends
    RCM_API_TOKEN, else the local operator token of `rcm up` (admin scope; the audit names the token)."""
    service_argument(service)
    partition, offset = _position(position)
    body = {"partition": partition, "offset": offset, "reason": reason}
    headers = credentials.auth_headers(get_settings())
    if not headers:
        err.print(f"[red]error:[/red] no API token: set {credentials.ENV} (an admin token, `rcm tokens create`)"
                  " or run `rcm up`, which writes the local operator token")
        raise typer.Exit(1)
    try:
        response = httpx.post(f"{stack.service_url(service)}/admin/dlq/replay", json=body, headers=headers,
                              timeout=60)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] {service} is not reachable ({type(exc).__name__}): is it up? (`rcm status`)")
        raise typer.Exit(1) from exc
    answer = _json(response)
    if response.status_code != 200 or not isinstance(answer, dict) or "outcome" not in answer:
        # escape(): a detail is text, not Rich markup (a "[...]" in it would vanish or raise).
        err.print("[red]error:[/red] replay refused: " + escape(_refusal(service, response.status_code, answer)))
        raise typer.Exit(1)
    outcome = answer["outcome"]
    console.print(f"replayed to {service}: {outcome}")
    if outcome == "dead_lettered":
        raise typer.Exit(1)
