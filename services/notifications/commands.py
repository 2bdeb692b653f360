"""`rcm notifications ...` and `rcm webhooks ...`: the notifications service's commands.

State changes run with the service's own role in one transaction and record an audit row.
Webhook secrets are never stored or printed: a subscription names the environment variable
that holds its secret (`whsec_...`), which the notifications process reads when it signs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from schemas.registry import specs_for_topic
from services.chassis import audit
from services.chassis.clock import SystemClock
from services.chassis.commands import run_command, service_connection, service_group
from services.chassis.ids import new_id
from services.notifications import store
from services.notifications.domain.policy import due_reminders
from services.notifications.settings import get_notification_settings

app = service_group("notifications", "Notifications: statements, staff alerts and webhooks.")
webhooks_app = typer.Typer(help="Webhook subscriptions: signed HTTP POSTs of events to downstream systems.",
                           no_args_is_help=True)
console = Console()
err = Console(stderr=True)

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
WEBHOOK_EVENT_TYPES = sorted(
    spec.type
    for topic in ("rcm.charges.v1", "rcm.claims.v1", "rcm.eligibility.v1", "rcm.remittances.v1",
                  "rcm.patient-balances.v1")
    for spec in specs_for_topic(topic)
)


@app.command("list")
def notifications_list(
    state: str | None = typer.Option(None, "--state", help="pending, sending, sent, failed or skipped."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Recent notifications with their state, attempts and (for skips and failures) the reason."""
    if state is not None and state not in ("pending", "sending", "sent", "failed", "skipped"):
        err.print("[red]error:[/red] --state must be pending, sending, sent, failed or skipped")
        raise typer.Exit(2)

    async def run() -> list[dict[str, Any]]:
        async with service_connection("notifications") as conn:
            return [dict(r) for r in await store.recent(conn, state, limit)]

    rows = run_command("notifications", run())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="notifications")
    for col in ("id", "kind", "template", "about", "state", "attempts", "reason", "created"):
        table.add_column(col)
    for r in rows:
        about = next((str(v) for k, v in r["related"].items() if v and k != "statement_id"), "-")
        table.add_row(r["notification_id"], r["kind"], r["template"], about, r["state"], str(r["attempts"]),
                      r["reason"] or "-", str(r["created_at"]))
    console.print(table)


@app.command("reminders")
def reminders(
    as_of: str | None = typer.Option(None, "--as-of", metavar="YYYY-MM-DD",
                                     help="Preview the reminders due by the end of this day (default today)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Reminders due by a date: a preview, creates nothing.

    Open balances with something due and the 30/60/90-day steps they reach by then
    (RCM_NOTIFICATIONS_REMINDER_DAYS). A paid, zeroed or written-off balance never appears."""
    try:
        day = date.fromisoformat(as_of) if as_of else SystemClock().today()
    except ValueError:
        err.print("[red]error:[/red] --as-of must be a date, YYYY-MM-DD")
        raise typer.Exit(2) from None
    end = datetime.combine(day, time.max, tzinfo=UTC)
    steps = get_notification_settings().reminder_days

    async def run() -> list[dict[str, Any]]:
        async with service_connection("notifications") as conn:
            balances = await store.balances_needing_reminders(conn)
        return [{"balance_id": b["balance_id"], "encounter_id": b["encounter_id"],
                 "opened_at": b["opened_at"].isoformat(), "reminder_days": due}
                for b in sorted(balances, key=lambda b: (b["opened_at"], b["balance_id"]))
                if (due := due_reminders(b["opened_at"], end, steps, set(b["steps"])))]

    rows = run_command("notifications", run())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"reminders due by {day.isoformat()}")
    for col in ("balance", "encounter", "opened", "steps (days)"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["balance_id"], r["encounter_id"], r["opened_at"], ", ".join(map(str, r["reminder_days"])))
    console.print(table)


@app.command("attempts")
def notifications_attempts(
    notification_id: str = typer.Argument(..., help="The notification id (ntf_...)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every delivery attempt of one notification."""

    async def run() -> list[dict[str, Any]]:
        async with service_connection("notifications") as conn:
            return [dict(r) for r in await store.attempts_of(conn, notification_id)]

    rows = run_command("notifications", run())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        err.print("[red]error:[/red] no attempts recorded for that id")
        raise typer.Exit(1)
    table = Table(title=f"attempts of {notification_id}")
    for col in ("attempt", "outcome", "status", "at"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["attempt"]), r["outcome"], str(r["status_code"] or "-"), str(r["attempted_at"]))
    console.print(table)


@webhooks_app.command("add")
def add(
    url: str = typer.Argument(..., help="Where to POST (http:// or https://)."),
    events: list[str] = typer.Option(..., "--event", "-e", help="An event type to send (repeat), or '*' for all."),
    secret_env: str = typer.Option(..., "--secret-env", help="Name of the environment variable holding the "
                                   "signing secret (whsec_<base64>); the secret itself is never stored."),
    reason: str = typer.Option("webhook subscription", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Subscribe a URL to event types."""
    if not re.match(r"^https?://[^\s]+$", url):
        err.print("[red]error:[/red] the URL must start with http:// or https://")
        raise typer.Exit(2)
    unknown = [e for e in events if e != "*" and e not in WEBHOOK_EVENT_TYPES]
    if unknown:
        err.print(f"[red]error:[/red] unknown event type(s): {', '.join(unknown)}; see `rcm webhooks events`")
        raise typer.Exit(2)
    if not _ENV_NAME.fullmatch(secret_env):
        err.print("[red]error:[/red] --secret-env takes an environment variable NAME (e.g. RCM_WEBHOOK_ERP_SECRET)")
        raise typer.Exit(2)
    subscription_id = new_id("whk")

    async def run() -> None:
        async with service_connection("notifications") as conn, conn.transaction():
            await store.add_subscription(conn, subscription_id, url, sorted(set(events)), secret_env,
                                         SystemClock().now())
            await audit.record(conn, actor=audit.current_actor(), action="webhooks.add", subject=subscription_id,
                               reason=reason, details={"url": url, "events": sorted(set(events)),
                                                       "secret_env": secret_env})

    run_command("notifications", run())
    if as_json:
        typer.echo(json.dumps({"subscription_id": subscription_id}))
    else:
        typer.echo(f"webhook subscription {subscription_id} added")


@webhooks_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The subscriptions (secrets are never shown; only the variable that holds each)."""

    async def run() -> list[dict[str, Any]]:
        async with service_connection("notifications") as conn:
            return [dict(r) for r in await store.list_subscriptions(conn)]

    subs = run_command("notifications", run())
    if as_json:
        typer.echo(json.dumps(subs, indent=2, default=str))
        return
    table = Table(title="webhook subscriptions")
    for col in ("id", "url", "events", "secret env", "enabled", "failures in a row"):
        table.add_column(col)
    for s in subs:
        table.add_row(s["subscription_id"], s["url"], ", ".join(s["event_types"]), s["secret_env"],
                      "yes" if s["enabled"] else "[red]disabled[/red]", str(s["consecutive_failures"]))
    console.print(table)


@webhooks_app.command("remove")
def remove(
    subscription_id: str = typer.Argument(..., help="The subscription id (whk_...)."),
    reason: str = typer.Option("webhook subscription removed", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Remove a subscription; its pending deliveries are skipped."""

    async def run() -> bool:
        async with service_connection("notifications") as conn, conn.transaction():
            removed = await store.remove_subscription(conn, subscription_id, SystemClock().now())
            if removed:
                await audit.record(conn, actor=audit.current_actor(), action="webhooks.remove",
                                   subject=subscription_id, reason=reason)
            return removed

    if not run_command("notifications", run()):
        err.print("[red]error:[/red] no subscription has that id")
        raise typer.Exit(1)
    typer.echo(f"webhook subscription {subscription_id} removed")


@webhooks_app.command("events")
def events_() -> None:
    """The event types a subscription can name."""
    for event_type in WEBHOOK_EVENT_TYPES:
        typer.echo(event_type)
