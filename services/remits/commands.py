"""`rcm remits ...`, `rcm payments ...`, `rcm balances ...`, `rcm report ...`: the remits service's
commands. They run its own code with its own role, in one transaction, and audit operator actions."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, get_args

import asyncpg
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from schemas.intake import PaymentMethod
from schemas.remits import InsuranceWriteOffReason
from services.chassis import audit
from services.chassis.clock import SystemClock
from services.chassis.commands import run_command, service_connection, service_group
from services.remits import store
from services.remits.domain import kpis as kpi
from services.remits.domain.balances import BUCKETS
from services.remits.domain.cards import Card
from services.remits.domain.posting import ZERO
from services.remits.service import books, estimates, patient_payments, receivables, remittances, suspense

app = service_group("remits", "Remits: 835 posting, denials, underpayments and patient balances.")
payments_app = typer.Typer(help="Patient payments (posted by the remits service).", no_args_is_help=True)
balances_app = typer.Typer(help="Patient balances: write-offs.", no_args_is_help=True)
report_app = typer.Typer(help="A/R reports: account cards, aging and revenue-cycle KPIs.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]], refused: type[Exception] | None = None) -> T:
    """Run the command's work on the remits connection; `refused`: the error that means the books do
    not allow it (printed as one line, exit 1)."""
    async def run() -> T:
        async with service_connection("remits") as conn:
            return await work(conn)

    try:
        return run_command("remits", run())
    except Exception as exc:
        if refused is None or not isinstance(exc, refused):
            raise
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _one_of(value: str, choices: tuple[T, ...]) -> T | None:
    """The choice an option's text names (None: it names none): the text narrowed to its Literal type."""
    return next((choice for choice in choices if choice == value), None)


PAYMENT_METHODS: tuple[PaymentMethod, ...] = get_args(PaymentMethod)
BALANCE_WRITEOFF_REASONS: tuple[patient_payments.WriteOffReason, ...] = get_args(patient_payments.WriteOffReason)


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

    async def work(conn: asyncpg.Connection) -> remittances.IngestResult:
        result = await remittances.ingest(conn, raw, file.name, "cli", SystemClock().now())
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

    async def work(conn: asyncpg.Connection) -> remittances.IngestResult | None:
        result = await remittances.release(conn, file_id, SystemClock().now())
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


@app.command("unmatched")
def unmatched(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Claim payments still in suspense: file, position, CLP01, amount and age. Those waiting for
    their ClaimSubmitted are re-posted when it arrives; CLP02 23 (not our claim) stays for a person."""
    now = SystemClock().now()
    rows = _run(store.in_suspense)
    items = [{"remittance_id": r["remittance_id"], "file_id": r["file_id"], "file_name": r["file_name"],
              "payer": r["payer_name"], "trace_number": r["trace_number"],
              "position": {"transaction_set_control_number": r["st_control"], "claim_index": r["claim_index"],
                           "segment_number": r["segment_number"]},
              "clp01": r["reported_submission"], "reason": r["reason"], "total_paid": str(r["total_paid"]),
              "total_charge": None if r["total_charge"] is None else str(r["total_charge"]),
              "detected_at": r["detected_at"].isoformat(), "age_days": (now - r["detected_at"]).days,
              "submission_known": r["submission_known"], "last_attempt": r["last_attempt"]} for r in rows]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    table = Table(title=f"claim payments in suspense ({len(items)})")
    for col in ("file", "name", "ST / claim / segment", "CLP01", "paid", "age (days)", "reason"):
        table.add_column(col)
    for i in items:
        pos = i["position"]
        note = i["reason"] + (f"; last re-post failed: {i['last_attempt']}" if i["last_attempt"] else "")
        table.add_row(i["file_id"], i["file_name"],
                      f"{pos['transaction_set_control_number']} / {pos['claim_index']} / {pos['segment_number']}",
                      i["clp01"], i["total_paid"], str(i["age_days"]), note)
    console.print(table)


@app.command("rematch")
def rematch(reason: str = typer.Option("sweep", "--reason", help="Why (kept in the audit log).")) -> None:
    """Re-post every payment in suspense whose submission is known by now (normally automatic when
    the ClaimSubmitted arrives; this sweeps ones that failed or predate it). Exit 1 if some remain."""

    async def work(conn: asyncpg.Connection) -> tuple[list[str], int]:
        now = SystemClock().now()
        posted: list[str] = []
        for submission_id in await store.waiting_with_submission(conn):
            async with conn.transaction():  # per CLP01: the postings, their events and the audit row
                await store.lock_submission_id(conn, submission_id)
                done = await suspense.rematch(conn, submission_id, now, resolution="operator_rematch")
                if done:
                    await audit.record(conn, actor=audit.current_actor(), action="remits.rematch",
                                       subject=submission_id, reason=reason, details={"postings": done})
            posted += done
        left = [r for r in await store.in_suspense(conn)
                if r["submission_known"] and r["reason"] == "unknown_submission_id"]
        return posted, len(left)

    posted, left = _run(work)
    typer.echo(f"re-posted {len(posted)}" + (f"; {left} with a known submission still in suspense" if left else ""))
    if left:
        raise typer.Exit(1)


@payments_app.command("post")
def post_payment(
    account: str = typer.Argument(..., metavar="PATIENT_ACCOUNT_ID"),
    amount: str = typer.Argument(...),
    method: str = typer.Option("cash", "--method", help="cash, check, card, ach or other."),
    encounter: str | None = typer.Option(None, "--encounter", help="Apply to this encounter's balance first."),
    key: str | None = typer.Option(None, "--key", help="Idempotency key (frontdesk:<receipt>)."),
    statement: str | None = typer.Option(None, "--statement", help="The statement paid (stm_...): its balance first."),
) -> None:
    """Post a patient payment: the statement's balance, else the named encounter's, then the oldest open
    ones; any excess becomes a credit. An unknown statement or another account's is ignored (said on stderr)."""
    chosen = _one_of(method, PAYMENT_METHODS)
    if chosen is None:
        err.print("[red]error:[/red] --method must be cash, check, card, ach or other")
        raise typer.Exit(2)
    value = _money(amount)
    now = SystemClock().now()
    idem = key or f"frontdesk:{now.strftime('%Y%m%d%H%M%S%f')}"

    async def work(conn: asyncpg.Connection) -> tuple[str, str | None]:
        async with conn.transaction():
            payment_id = await patient_payments.post_payment(conn, idempotency_key=idem, patient_account_id=account,
                                                     amount=value, method=chosen, received_on=now.date(),
                                                     encounter_id=encounter, at=now, statement_id=statement)
            ignored = await store.payment_reference_ignored(conn, payment_id)
            await audit.record(conn, actor=audit.current_actor(), action="payments.post", subject=payment_id,
                               reason="front desk payment", details={"amount": str(value), "statement": statement,
                                                                      "reference_ignored": ignored})
            return payment_id, ignored

    payment_id, ignored = _run(work)
    if ignored:
        err.print(f"[yellow]note:[/yellow] reference ignored ({ignored}): applied to the oldest open balances")
    typer.echo(payment_id)


@payments_app.command("apply-credit")
def apply_credit(
    credit_balance_id: str = typer.Argument(..., metavar="CREDIT_BALANCE_ID"),
    encounter: str | None = typer.Option(None, "--encounter", help="Apply to this encounter's balance first."),
    reason: str = typer.Option("apply patient credit", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Apply a patient's credit balance to their open balances (named encounter first, then oldest)."""

    async def work(conn: asyncpg.Connection) -> Decimal:
        async with conn.transaction():
            applied = await patient_payments.apply_credit(conn, credit_balance_id=credit_balance_id,
                                                          at=SystemClock().now(), encounter_id=encounter)
            await audit.record(conn, actor=audit.current_actor(), action="payments.apply_credit",
                               subject=credit_balance_id, reason=reason, details={"applied": str(applied)})
            return applied

    applied = _run(work, refused=patient_payments.PatientError)
    typer.echo(f"{credit_balance_id}: applied {applied}")
    if applied == 0:
        raise typer.Exit(1)


@payments_app.command("refund-rejections")
def refund_rejections(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """PatientRefundIssued events refused (unknown credit, another account's, more than remains):
    nothing was posted for them. Exit 1 when there are any."""
    rows = _run(store.refund_rejections)
    items = [{"idempotency_key": r["idempotency_key"], "credit_balance_id": r["credit_balance_id"],
              "amount": str(r["amount"]), "remaining": None if r["remaining"] is None else str(r["remaining"]),
              "reason": r["reason"], "rejected_at": r["rejected_at"].isoformat()} for r in rows]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
    else:
        table = Table(title="refunds rejected")
        for col in ("key", "credit", "amount", "remaining", "reason", "rejected"):
            table.add_column(col)
        for i in items:
            table.add_row(i["idempotency_key"], i["credit_balance_id"], i["amount"], i["remaining"] or "-",
                          i["reason"], i["rejected_at"])
        console.print(table)
    if items:
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
    why = _one_of(reason, BALANCE_WRITEOFF_REASONS)
    if why is None:
        err.print("[red]error:[/red] --reason must be small_balance, charity, bad_debt, administrative or other")
        raise typer.Exit(2)
    value = _money(amount)

    async def work(conn: asyncpg.Connection) -> Decimal:
        async with conn.transaction():
            left = await patient_payments.write_off(conn, balance_id=balance_id, amount=value, reason=why,
                                            operator_id=operator, at=SystemClock().now())
            await audit.record(conn, actor=audit.current_actor(), action="balances.writeoff", subject=balance_id,
                               reason=note or reason, details={"amount": str(value), "operator": operator})
            return left

    left = _run(work, refused=patient_payments.PatientError)
    typer.echo(f"{balance_id}: written off {value}; remaining {left}")


def _day(text: str | None, option: str = "--as-of") -> date:
    if text is None:
        return SystemClock().today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        err.print(f"[red]error:[/red] {option} must be a date like 2026-04-30")
        raise typer.Exit(2) from None


async def aging(conn: asyncpg.Connection, today: date) -> dict[str, Any]:
    ar = await receivables.aging(conn, today)
    return {"as_of": ar.as_of.isoformat(), "buckets": list(BUCKETS),
            "payers": {p: {b: str(v) for b, v in row.items()} for p, row in ar.payers.items()},
            "patients": {b: str(v) for b, v in ar.patients.items()}}


async def kpi_book(conn: asyncpg.Connection, period: kpi.Period) -> kpi.Book:
    """The facts remits has, as they stood at the end of the period's last day."""
    cutoff = receivables.end_of(period.end)
    denials: dict[str, list[kpi.DenialLine]] = {}
    for d in await store.fetch(conn, "kpi_denials", cutoff):
        denials.setdefault(d["posting_id"], []).append(kpi.DenialLine(d["category"], d["scope"], d["amount"]))
    subs = [kpi.Submission(r["claim_id"], r["claim_family_id"], r["coverage_rank"], r["frequency"],
                           r["total_charge"], r["submitted_at"].astimezone(UTC).date())
            for r in await store.fetch(conn, "kpi_submissions", cutoff)]
    adjs = [kpi.Adjudication(r["claim_id"], r["status"], r["posted_at"].astimezone(UTC).date(), r["paid"],
                             r["patient_resp"], tuple(denials.get(r["posting_id"], ())))
            for r in await store.fetch(conn, "kpi_adjudications", cutoff)]
    money = (await store.fetch(conn, "kpi_collections", cutoff,
                               datetime.combine(period.start, datetime.min.time(), UTC)))[0]
    ar = await receivables.aging(conn, period.end)
    insurance = sum(ar.insurance().values(), Decimal("0.00"))
    patient = sum(ar.patients.values(), Decimal("0.00"))
    return kpi.Book(subs, adjs, kpi.Collections(money["payer"], money["patient"], money["contractual"]),
                    kpi.Receivables(insurance, patient))


def _kpi_json(k: kpi.Kpi) -> dict[str, Any]:
    return {"key": k.key, "name": k.name, "value": None if k.value is None else str(k.value), "unit": k.unit,
            "shown": k.shown(), "numerator": str(k.numerator), "denominator": str(k.denominator),
            "reason": k.reason, "definition": k.definition, "source": k.source}


async def kpis(conn: asyncpg.Connection, period: kpi.Period) -> dict[str, Any]:
    report = kpi.compute(await kpi_book(conn, period), period)
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat(), "days": period.days},
        "kpis": [_kpi_json(k) for k in report.kpis],
        "denials_by_category": [{"category": c.category, "claims": c.claims, "lines": c.lines,
                                 "amount": str(c.amount), **{f"rate_{k}": v for k, v in _kpi_json(c.rate).items()
                                                             if k in ("value", "numerator", "denominator", "reason")}}
                                for c in report.denials_by_category],
    }


@report_app.command("aging")
def report_aging(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    as_of: str | None = typer.Option(None, "--as-of", help="Age as of this date (YYYY-MM-DD); default today."),
) -> None:
    """A/R aging buckets (0-30 ... 120+) by payer and for patients, as they stood at the end of that day."""
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
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output (numerator and denominator too)."),
    start: str | None = typer.Option(None, "--from", help="First day of the period (YYYY-MM-DD); default: 90 days"
                                                          " ending --to."),
    end: str | None = typer.Option(None, "--to", help="Last day of the period (YYYY-MM-DD); default today."),
    as_of: str | None = typer.Option(None, "--as-of", hidden=True, help="Old name of --to."),
) -> None:
    """Clean-claim rate, initial denial rate (by CARC category), days in A/R, net collection rate and
    first-pass payment rate over a period, each with its published definition; n/a (with the reason)
    when there is nothing to divide by."""
    if end is not None and as_of is not None:
        err.print("[red]error:[/red] give --to or --as-of, not both")
        raise typer.Exit(2)
    last = _day(end if end is not None else as_of, "--to")
    first = _day(start, "--from") if start is not None else kpi.last_days(last).start
    if last < first:
        err.print("[red]error:[/red] --from must not be after --to")
        raise typer.Exit(2)
    period = kpi.Period(first, last)
    data = _run(lambda conn: kpis(conn, period))
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"revenue-cycle KPIs {data['period']['from']} .. {data['period']['to']}"
                        f" ({data['period']['days']} days)")
    for col in ("KPI", "value", "numerator / denominator", "definition"):
        table.add_column(col, overflow="fold")
    for k in data["kpis"]:
        table.add_row(k["name"], k["shown"], f"{k['numerator']} / {k['denominator']}",
                      f"{k['definition']}. Source: {k['source']}")
    for d in data["denials_by_category"]:
        shown = "n/a" if d["rate_value"] is None else f"{(Decimal(d['rate_value']) * 100).quantize(Decimal('0.01'))}%"
        table.add_row(f"  denials: {d['category']}", shown, f"{d['rate_numerator']} / {d['rate_denominator']}",
                      f"{d['lines']} denial lines, {d['amount']} denied")
    console.print(table)


# --------------------------------------------------------------------------- the books: account cards, write-offs


def _cards_table(cards: list[Card]) -> Table:
    table = Table(title=f"account cards ({len(cards)})")
    for col in ("encounter", "state", "charge", "paid", "adjusted", "denied", "insurance bal.", "patient bal."):
        table.add_column(col, justify="left" if col in ("encounter", "state") else "right",
                         overflow="fold" if col == "encounter" else "ellipsis")
    for c in cards:
        table.add_row(c.encounter_id, c.state.replace("_", " "), str(c.charge),
                      str(sum((p.paid for p in c.payers), ZERO)),
                      str(sum((p.contractual + p.other_adjustments for p in c.payers), ZERO)),
                      str(sum((p.denied_open for p in c.payers), ZERO)), str(c.insurance_balance),
                      str(c.patient_balance))
    return table


@report_app.command("accounts")
def report_accounts(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output (one card per encounter)."),
    state: str | None = typer.Option(None, "--state", help="Only cards in this state: open, waiting_for_payer,"
                                                          " patient_due or closed."),
) -> None:
    """Account cards: per encounter, its charge and what each payer paid, adjusted and left denied, the
    patient's responsibility, what the payers and the patient still owe, and its state."""
    if state is not None and state not in ("open", "waiting_for_payer", "patient_due", "closed"):
        err.print("[red]error:[/red] --state must be open, waiting_for_payer, patient_due or closed")
        raise typer.Exit(2)
    cards = [c for c in _run(books.cards) if state is None or c.state == state]
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in cards], indent=2))
        return
    console.print(_cards_table(cards))


@report_app.command("account")
def report_account(
    encounter_id: str = typer.Argument(..., metavar="ENCOUNTER_ID"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """One encounter's account card: its claims (CLM01 as sent), each payer's figures, the patient's
    side. Exit 1 when remits knows no claim of that encounter."""
    found = _run(lambda conn: books.cards(conn, encounter_id))
    if not found:
        err.print(f"[red]error:[/red] no claim of encounter {encounter_id} was ever sent to a payer")
        raise typer.Exit(1)
    card = found[0]
    if as_json:
        typer.echo(json.dumps(card.to_json(), indent=2))
        return
    head = Table(title=f"account {card.encounter_id}", show_header=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    for label, value in (("patient account", card.patient_account_id), ("state", card.state.replace("_", " ")),
                         ("charge", card.charge), ("patient responsibility", card.patient_responsibility),
                         *_estimate_rows(card),
                         ("patient paid", card.patient_paid), ("patient write-offs", card.patient_writeoffs),
                         ("patient balance", card.patient_balance), ("insurance balance", card.insurance_balance),
                         *((f"cost share written off ({reason})", amount) for reason, amount in card.protection)):
        head.add_row(label, str(value))
    console.print(head)
    claims = Table(title="claims sent")
    for col in ("claim", "payer", "rank", "CLM01"):
        claims.add_column(col)
    for c in card.claims:
        claims.add_row(c.claim_id, c.payer_id, str(c.rank), c.patient_control_number)
    console.print(claims)
    payers = Table(title="payers, in coverage order")
    for col in ("rank", "payer", "paid", "contractual", "other adj.", "denied", "left to the patient"):
        payers.add_column(col, justify="right" if col not in ("payer",) else "left")
    for p in card.payers:
        payers.add_row(str(p.rank), p.payer_id or "?", str(p.paid), str(p.contractual), str(p.other_adjustments),
                       str(p.denied_open), str(p.patient_responsibility))
    console.print(payers)
    for f in card.facility:
        a = f.facility
        facility = Table(title=f"institutional adjudication of {f.claim_id} (payer rank {f.rank})", show_header=False)
        facility.add_column(style="bold")
        facility.add_column(justify="right")
        for label, value in (("DRG (CLP11)", a.drg_code), ("DRG weight (CLP12)", a.drg_weight),
                             ("covered days (MIA01)", a.covered_days), ("DRG amount (MIA04)", a.drg_amount),
                             ("outlier amount (MIA02)", a.outlier_amount),
                             ("reimbursement rate (MOA01)", a.reimbursement_rate),
                             ("HCPCS payable (MOA02)", a.hcpcs_payable),
                             ("remarks", " ".join(a.remark_codes) or None)):
            if value is not None:
                facility.add_row(label, str(value))
        console.print(facility)


def _estimate_rows(card: Card) -> list[tuple[str, object]]:
    """The estimate the patient was given, beside the responsibility (none: no estimate was made)."""
    c = card.estimate
    if c is None:
        return []
    e = c.estimate
    label = f"patient estimate (payer {e.payer_id}, rank {e.coverage_rank}" + ("" if e.complete else ", a floor") + ")"
    return [(label, e.patient_estimate),
            ("posted - estimate", "waiting for the payer" if c.difference is None else c.difference)]


@report_app.command("estimates")
def report_estimates(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Patient estimates against the 835s: per encounter whose estimate's payer answered, the estimate,
    the patient responsibility that payer posted and the difference (posted - estimate), with totals;
    the encounters still waiting for that payer listed apart."""
    found = _run(estimates.estimates_report)
    if as_json:
        typer.echo(json.dumps(found.to_json(), indent=2))
        return
    table = Table(title=f"patient estimates vs the 835s ({len(found.adjudicated)} adjudicated)")
    for col in ("encounter", "payer", "service date", "estimate", "posted PR", "difference", "complete"):
        table.add_column(col, justify="right" if col in ("estimate", "posted PR", "difference") else "left")
    for c in found.adjudicated:
        e = c.estimate
        table.add_row(e.encounter_id, e.payer_id, e.service_date.isoformat(), str(e.patient_estimate), str(c.posted),
                      str(c.difference), "yes" if e.complete else "no (a floor)")
    totals = found.totals()
    table.add_row("total", "", "", totals["estimated"], totals["posted"], totals["difference"],
                  f"{totals['exact']} exact")
    console.print(table)
    if found.waiting:
        waiting = Table(title=f"waiting for the payer's 835 ({len(found.waiting)})")
        for col in ("encounter", "payer", "service date", "estimate"):
            waiting.add_column(col)
        for c in found.waiting:
            e = c.estimate
            waiting.add_row(e.encounter_id, e.payer_id, e.service_date.isoformat(), str(e.patient_estimate))
        console.print(waiting)


INSURANCE_WRITEOFF_REASONS: tuple[InsuranceWriteOffReason, ...] = get_args(InsuranceWriteOffReason)


@app.command("writeoff")
def writeoff_insurance(
    claim_id: str = typer.Argument(..., metavar="CLAIM_ID"),
    reason: str = typer.Option(..., "--reason", help=", ".join(INSURANCE_WRITEOFF_REASONS) + "."),
    operator: str = typer.Option(..., "--operator", help="Who approved it (operator id)."),
    amount: str | None = typer.Option(None, "--amount", help="How much; default everything open with that payer."),
    payer: str | None = typer.Option(None, "--payer", help="The payer id, when several have something open."),
    note: str = typer.Option("", "--note", help="Free-text justification for the audit log."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Write off what a payer left open on a claim: its open denials first, then what it still owes
    (say, past the filing limit). Never billed to the patient; audited; the claim is closed."""
    why = _one_of(reason, INSURANCE_WRITEOFF_REASONS)
    if why is None:
        err.print("[red]error:[/red] --reason must be one of " + ", ".join(INSURANCE_WRITEOFF_REASONS))
        raise typer.Exit(2)
    value = _money(amount) if amount is not None else None

    async def work(conn: asyncpg.Connection) -> books.WrittenOff:
        async with conn.transaction():
            done = await books.write_off(conn, claim_id, reason=why,
                                            operator_id=operator, at=SystemClock().now(), amount=value,
                                            payer_id=payer, note=note or None)
            await audit.record(conn, actor=audit.current_actor(), action="remits.writeoff", subject=claim_id,
                               reason=note or reason, details={"amount": str(done.amount), "payer": done.payer_id,
                                                               "operator": operator, "writeoff_id": done.writeoff_id})
            return done

    done = _run(work, refused=books.WriteOffRefused)
    if as_json:
        typer.echo(json.dumps({"writeoff_id": done.writeoff_id, "claim_id": claim_id, "payer_id": done.payer_id,
                               "rank": done.rank, "amount": str(done.amount),
                               "remaining_open": str(done.remaining_open)}))
        return
    typer.echo(f"{claim_id}: wrote off {done.amount} with payer {done.payer_id} (rank {done.rank});"
               f" {done.remaining_open} still open")


@app.command("restate")
def restate(
    encounter: str | None = typer.Option(None, "--encounter", help="Only this encounter."),
    reason: str = typer.Option("restate", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Bring the ledger's books of every encounter (or one) to what remits knows, one transaction
    each (the service does it by itself after each posting, and at start for encounters posted
    before the books existed). Exit 1 when an encounter's payer cash does not match its postings."""

    async def work(conn: asyncpg.Connection) -> tuple[int, list[str]]:
        now = SystemClock().now()
        ids_ = [encounter] if encounter else sorted(await store.book_records(conn))
        failed: list[str] = []
        with Progress(transient=True, console=err) as progress:
            task = progress.add_task("restating books", total=len(ids_))
            for encounter_id in ids_:
                try:
                    async with conn.transaction():
                        await books.restate(conn, encounter_id, now, "remittance")
                        await store.books_done(conn, encounter_id)
                except books.BooksOutOfSync:
                    failed.append(encounter_id)
                progress.advance(task)
        async with conn.transaction():
            await audit.record(conn, actor=audit.current_actor(), action="remits.restate", subject=encounter or "*",
                               reason=reason, details={"encounters": len(ids_), "failed": failed[:50]})
        return len(ids_), failed

    count, failed = _run(work)
    typer.echo(f"restated the books of {count - len(failed)} encounter(s)"
               + (f"; payer cash differs from the postings of {', '.join(failed)} (see `rcm audit`)" if failed else ""))
    if failed:
        raise typer.Exit(1)
