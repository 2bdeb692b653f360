"""`rcm charges ...` and `rcm chargemaster ...`: the charges service's own commands.

They run the service's own code with its own database role, and record operator actions in
its audit log (ARCHITECTURE rule 8).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from services.charges import store
from services.charges.domain.chargemaster import parse_chargemaster_csv
from services.charges.domain.reference import shipped_reference
from services.charges.service import encounters
from services.chassis import audit
from services.chassis.clock import SystemClock
from services.chassis.commands import run_command, service_connection, service_group

app = service_group("charges", "Charges: encounters, charge posting and their history.")
chargemaster_app = typer.Typer(help="The chargemaster: CDM code -> procedure code, revenue code and price.",
                               no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@chargemaster_app.command("load")
def load(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Chargemaster CSV."),
    reason: str = typer.Option("chargemaster update", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate every row, then replace the chargemaster in one transaction (all or nothing).

    Columns: cdm_code, procedure_code (empty on a facility item a revenue code alone describes),
    modifiers (space-separated), revenue_code, description, unit_price, effective_date. Errors are
    listed by line number; exit 1 loads nothing.
    """
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        err.print("[red]error:[/red] the file is not UTF-8 text")
        raise typer.Exit(2) from None
    result = parse_chargemaster_csv(text, reference=shipped_reference())
    if not result.ok or result.chargemaster is None:
        if as_json:
            typer.echo(json.dumps({"loaded": 0, "errors": [e.__dict__ for e in result.errors]}, indent=2))
        else:
            for error in result.errors:
                err.print(f"{file.name}: {error}")
            err.print(f"[red]{len(result.errors)} error(s): nothing loaded[/red]")
        raise typer.Exit(1)
    items = [
        (i.cdm_code, i.procedure_code, list(i.modifiers), i.revenue_code, i.description, i.unit_price)
        for i in result.chargemaster.items.values()
    ]

    async def run() -> int:
        async with service_connection("charges") as conn, conn.transaction():
            count = await store.replace_chargemaster(conn, items, SystemClock().now())
            await audit.record(conn, actor=audit.current_actor(), action="chargemaster.load",
                               subject=file.name, reason=reason, details={"items": count})
            return count

    count = run_command("charges", run())
    typer.echo(json.dumps({"loaded": count, "errors": []}) if as_json else f"chargemaster loaded: {count} items")


@app.command("show")
def show(
    ident: str = typer.Argument(..., metavar="ID", help="Our encounter or charge id, the sender's encounter id, "
                                "or the sender's charge key SOURCE_SYSTEM:SOURCE_CHARGE_ID."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """An encounter's (or a charge's encounter's) whole history: charges, ledger, events."""

    async def run() -> dict[str, Any] | None:
        async with service_connection("charges") as conn:
            return await encounters.encounter_history(conn, ident)

    history = run_command("charges", run())
    if history is None:
        err.print("[red]error:[/red] no encounter or charge has that id")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(history, indent=2, default=str))
        return
    console.print(
        f"[bold]encounter {history['encounter_id']}[/bold]  (sender: {history['source_system']} "
        f"{history['source_encounter_id']})  state: {history['state']}  ledger total: {history['ledger_total']}"
    )
    ledger = Table(title="charge ledger")
    for col in ("entry", "charge", "kind", "amount", "key", "at"):
        ledger.add_column(col)
    for e in history["ledger"]:
        ledger.add_row(e["entry_id"], e["charge_id"], e["kind"], str(e["amount"]), e["idempotency_key"],
                       str(e["entered_at"]))
    console.print(ledger)
    keys = Table(title="intake keys")
    for col in ("key", "kind", "outcome", "charge", "reasons"):
        keys.add_column(col)
    for k in history["intake"]:
        keys.add_row(k["idempotency_key"], k["kind"], k["outcome"], k["charge_id"] or "-",
                     ", ".join(r["code"] for r in k["reasons"]) or "-")
    console.print(keys)
    events = Table(title="events emitted")
    for col in ("event", "type", "at", "published"):
        events.add_column(col)
    for e in history["events"]:
        events.add_row(str(e["event_id"]), e["event_type"], str(e["occurred_at"]), "yes" if e["published"] else "no")
    console.print(events)
