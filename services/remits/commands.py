"""`rcm remits ...`, `rcm payments ...`, `rcm balances ...`, `rcm report ...`: the remits service's
commands. They run its own code with its own role, in one transaction, and audit operator actions."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.chassis import audit
from services.chassis.clock import SystemClock
from services.chassis.commands import run_command, service_connection, service_group
from services.remits import intake, patients, store
from services.remits.domain.balances import BUCKETS, bucket, ratio

app = service_group("remits", "Remits: 835 posting, denials, underpayments and patient balances.")
payments_app = typer.Typer(help="Patient payments (posted by the remits service).", no_args_is_help=True)
balances_app = typer.Typer(help="Patient balances: write-offs.", no_args_is_help=True)
report_app = typer.Typer(help="A/R reports: aging and revenue-cycle KPIs.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def run() -> T:
        async with service_connection("remits") as conn:
            return await work(conn)

    return run_command("remits", run())


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        err.print("[red]error:[/red] the amount must be a number like 12.34")
        raise typer.Exit(2) from None
    if value <= 0 or value != value.quantize(Decimal("0.01")):
        err.print("[red]error:[/red] the amount must be positive with at most two decimals")
        raise typer.Exit(2)
    return value


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="An 835 file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Post an 835 file (the same path as the clearinghouse poller). Exit 1 if quarantined or duplicate."""
    raw = file.read_bytes()

    async def work(conn: asyncpg.Connection) -> intake.IngestResult:
        result = await intake.ingest(conn, raw, file.name, "cli", SystemClock().now())
        await audit.record(conn, actor=audit.current_actor(), action="remits.import", subject=result.file_id,
                           reason="operator import", details={"status": result.status})
        return result

    result = _run(work)
    out = {"file_id": result.file_id, "status": result.status, "reason": result.reason,
           "remittance_ids": result.remittance_ids, "duplicates": result.duplicates}
    typer.echo(json.dumps(out) if as_json else
               f"{result.file_id}: {result.status}" + (f" ({result.reason})" if result.reason else "")
               + (f"; remittances {', '.join(result.remittance_ids)}" if result.remittance_ids else ""))
    if result.status != "posted":
        raise typer.Exit(1)


@app.command("quarantine")
def quarantine(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """835 files held back, with the reason (nothing of them was posted)."""
    rows = _run(store.quarantined)
    items = [{"file_id": r["file_id"], "file_name": r["file_name"], "reason": r["reason"],
              "received_at": r["received_at"].isoformat()} for r in rows]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    table = Table(title="quarantined 835 files")
    for col in ("file", "name", "received", "reason"):
        table.add_column(col)
    for i in items:
        table.add_row(i["file_id"], i["file_name"], i["received_at"], i["reason"] or "")
    console.print(table)


@app.command("release")
def release(
    file_id: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option("reviewed", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """After review, try a quarantined file again; it posts only if it now reads, balances and validates."""

    async def work(conn: asyncpg.Connection) -> intake.IngestResult | None:
        result = await intake.release(conn, file_id, SystemClock().now())
        if result is not None:
            await audit.record(conn, actor=audit.current_actor(), action="remits.release", subject=file_id,
                               reason=reason, details={"status": result.status})
        return result

    result = _run(work)
    if result is None:
        err.print("[red]error:[/red] no quarantined file has that id")
        raise typer.Exit(1)
    typer.echo(f"{file_id}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
    if result.status != "released":
        raise typer.Exit(1)


@payments_app.command("post")
def post_payment(
    account: str = typer.Argument(..., metavar="PATIENT_ACCOUNT_ID"),
    amount: str = typer.Argument(...),
    method: str = typer.Option("cash", "--method", help="cash, check, card, ach or other."),
    encounter: str | None = typer.Option(None, "--encounter", help="Apply to this encounter's balance first."),
    key: str | None = typer.Option(None, "--key", help="Idempotency key (frontdesk:<receipt>)."),
) -> None:
    """Post a patient payment: the named balance, else the oldest open ones; any excess becomes a credit."""
    if method not in ("cash", "check", "card", "ach", "other"):
        err.print("[red]error:[/red] --method must be cash, check, card, ach or other")
        raise typer.Exit(2)
    value = _money(amount)
    now = SystemClock().now()
    idem = key or f"frontdesk:{now.strftime('%Y%m%d%H%M%S%f')}"

    async def work(conn: asyncpg.Connection) -> str:
        async with conn.transaction():
            payment_id = await patients.post_payment(conn, idempotency_key=idem, patient_account_id=account,
                                                     amount=value, method=method, received_on=now.date(),
                                                     encounter_id=encounter, at=now)
            await audit.record(conn, actor=audit.current_actor(), action="payments.post", subject=payment_id,
                               reason="front desk payment", details={"amount": str(value)})
            return payment_id

    typer.echo(_run(work))


@payments_app.command("apply-credit")
def apply_credit(
    credit_balance_id: str = typer.Argument(..., metavar="CREDIT_BALANCE_ID"),
    encounter: str | None = typer.Option(None, "--encounter", help="Apply to this encounter's balance first."),
    reason: str = typer.Option("apply patient credit", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Apply a patient's credit balance to their open balances (named encounter first, then oldest)."""

    async def work(conn: asyncpg.Connection) -> Decimal:
        async with conn.transaction():
            applied = await patients.apply_credit(conn, credit_balance_id=credit_balance_id, at=SystemClock().now(),
                                                  encounter_id=encounter)
            await audit.record(conn, actor=audit.current_actor(), action="payments.apply_credit",
                               subject=credit_balance_id, reason=reason, details={"applied": str(applied)})
            return applied

    try:
        applied = _run(work)
    except patients.PatientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"{credit_balance_id}: applied {applied}")
    if applied == 0:
        raise typer.Exit(1)


@balances_app.command("writeoff")
def writeoff(
    balance_id: str = typer.Argument(..., metavar="BALANCE_ID"),
    amount: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="small_balance, charity, bad_debt, administrative or other."),
    operator: str = typer.Option(..., "--operator", help="Who approved it (operator id)."),
    note: str = typer.Option("", "--note", help="Free-text justification for the audit log."),
) -> None:
    """Write off part or all of a patient balance, with a reason and the approving operator."""
    if reason not in ("small_balance", "charity", "bad_debt", "administrative", "other"):
        err.print("[red]error:[/red] --reason must be small_balance, charity, bad_debt, administrative or other")
        raise typer.Exit(2)
    value = _money(amount)

    async def work(conn: asyncpg.Connection) -> Decimal:
        async with conn.transaction():
            left = await patients.write_off(conn, balance_id=balance_id, amount=value, reason=reason,
                                            operator_id=operator, at=SystemClock().now())
            await audit.record(conn, actor=audit.current_actor(), action="balances.writeoff", subject=balance_id,
                               reason=note or reason, details={"amount": str(value), "operator": operator})
            return left

    try:
        left = _run(work)
    except patients.PatientError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    typer.echo(f"{balance_id}: written off {value}; remaining {left}")


def _day(text: str | None) -> date:
    if text is None:
        return SystemClock().today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        err.print("[red]error:[/red] --as-of must be a date like 2026-04-30")
        raise typer.Exit(2) from None


async def aging(conn: asyncpg.Connection, today: date) -> dict[str, Any]:
    payers: dict[str, dict[str, Decimal]] = {}
    for r in await store.fetch(conn, "payer_ar"):
        row = payers.setdefault(r["payer"], {b: Decimal("0.00") for b in BUCKETS})
        row[bucket((today - r["since"].date()).days)] += r["amount"]
    patient = {b: Decimal("0.00") for b in BUCKETS}
    for r in await store.fetch(conn, "patient_ar"):
        patient[bucket((today - r["since"].date()).days)] += r["amount"]
    return {"as_of": today.isoformat(), "buckets": list(BUCKETS),
            "payers": {p: {b: str(v) for b, v in row.items()} for p, row in sorted(payers.items())},
            "patients": {b: str(v) for b, v in patient.items()}}


async def kpis(conn: asyncpg.Connection, today: date) -> dict[str, Any]:
    since = datetime.combine(today - timedelta(days=90), datetime.min.time(), UTC)
    counts = (await store.fetch(conn, "submission_counts", since))[0]
    firsts = await store.fetch(conn, "first_postings")
    adjudicated = (await store.fetch(conn, "adjudicated"))[0]["claims"]
    money = (await store.fetch(conn, "payments"))[0]
    ar = await aging(conn, today)
    open_ar = sum((Decimal(v) for row in ar["payers"].values() for v in row.values()), Decimal("0.00")) + sum(
        (Decimal(v) for v in ar["patients"].values()), Decimal("0.00"))
    clean = sum(1 for f in firsts if f["submissions"] == 1 and f["outcome"] == "posted")
    first_pass = sum(1 for f in firsts if f["outcome"] == "posted" and (f["paid"] > 0 or f["patient_resp"] > 0))
    daily = counts["recent_charges"] / 90
    net_base = counts["charges"] - money["contractual"]
    denials = [{"category": r["category"], "claims": r["claims"], "amount": str(r["amount"]),
                "rate": str(ratio(Decimal(r["claims"]), Decimal(adjudicated)))} for r in
               await store.fetch(conn, "denials_by_category")]

    def s(v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    return {
        "as_of": today.isoformat(),
        "clean_claim_rate": s(ratio(Decimal(clean), Decimal(len(firsts)))),
        "first_pass_payment_rate": s(ratio(Decimal(first_pass), Decimal(len(firsts)))),
        "denial_rate": s(ratio(Decimal(sum(1 for f in firsts if f["outcome"] == "denied")), Decimal(len(firsts)))),
        "denial_rate_by_category": denials,
        "days_in_ar": None if daily == 0 else str((open_ar / daily).quantize(Decimal("0.1"))),
        "net_collection_rate": s(ratio(money["payer"] + money["patient"], net_base)),
        "claims_adjudicated": adjudicated,
    }


@report_app.command("aging")
def report_aging(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    as_of: str | None = typer.Option(None, "--as-of", help="Age as of this date (YYYY-MM-DD); default today."),
) -> None:
    """A/R aging buckets (0-30 ... 120+) by payer and for patients."""
    day = _day(as_of)
    data = _run(lambda conn: aging(conn, day))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"A/R aging as of {data['as_of']}")
    table.add_column("who")
    for b in BUCKETS:
        table.add_column(b, justify="right")
    for payer, row in data["payers"].items():
        table.add_row(payer, *(row[b] for b in BUCKETS))
    table.add_row("patients", *(data["patients"][b] for b in BUCKETS))
    console.print(table)


@report_app.command("kpis")
def report_kpis(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    as_of: str | None = typer.Option(None, "--as-of", help="Compute as of this date (YYYY-MM-DD); default today."),
) -> None:
    """Clean-claim rate, denial rate by category, days in A/R, net collection, first-pass payment rate."""
    day = _day(as_of)
    data = _run(lambda conn: kpis(conn, day))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"revenue-cycle KPIs as of {data['as_of']}", show_header=False)
    for k, v in data.items():
        if k != "denial_rate_by_category":
            table.add_row(k, str(v))
    for d in data["denial_rate_by_category"]:
        table.add_row(f"denials: {d['category']}", f"{d['claims']} claims, {d['amount']}, rate {d['rate']}")
    console.print(table)
