"""`rcm claims ...`, `rcm payers ...` and `rcm feeschedule ...`: the claims service's commands.

They run the service's own code with its own database role, in one transaction (state +
outbox rows), and record operator actions in its audit log.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.chassis import audit
from services.chassis.clock import SystemClock
from services.chassis.commands import run_command, service_connection, service_group
from services.claims.domain.codesets import Mue, PtpEdit
from services.claims.domain.payers import PayerFileError, parse_fee_schedule
from services.claims.domain.scrubber import OVERRIDABLE
from services.claims.service import eligibility, operator
from services.claims.store import ClaimsStore

app = service_group("claims", "Claims: assembly, scrubbing, submission and acknowledgments.")
payers_app = typer.Typer(help="The payer master (deploy/local/payers.yaml).", no_args_is_help=True)
feeschedule_app = typer.Typer(help="Payer fee schedules: contracted allowed amount per procedure.",
                              no_args_is_help=True)
eligibility_app = typer.Typer(help="Eligibility (270/271): check an encounter's coverages with their payers now.",
                              no_args_is_help=True)
T = TypeVar("T")
console = Console()
err = Console(stderr=True)
DEFAULT_PAYERS = Path(__file__).resolve().parents[2] / "deploy" / "local" / "payers.yaml"


def _run(work: Coroutine[Any, Any, T]) -> T:
    return run_command("claims", work)


async def _with_conn(work: Callable[[ClaimsStore], Awaitable[T]], *, write: bool = False) -> T:
    async with service_connection("claims") as conn:
        if write:
            async with conn.transaction():
                return await work(ClaimsStore(conn))
        return await work(ClaimsStore(conn))


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@payers_app.command("load")
def payers_load(
    file: Path = typer.Argument(DEFAULT_PAYERS, exists=True, dir_okay=False, readable=True, help="payers.yaml"),
    reason: str = typer.Option("payer master update", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Validate the payer master and the fee schedules it names, then load them (all or nothing)."""
    try:
        payers, fees = operator.read_payer_master(file)
    except PayerFileError as exc:
        for e in exc.errors:
            err.print(f"{file.name}: {e}")
        raise _fail(f"{len(exc.errors)} error(s): nothing loaded") from None
    except (OSError, UnicodeDecodeError):
        raise _fail("the file cannot be read as UTF-8 text", 2) from None

    count = _run(_with_conn(lambda db: operator.load_payers(
        db, payers, fees, file.name, audit.current_actor(), reason, SystemClock().now()), write=True))
    if as_json:
        typer.echo(json.dumps({"payers": count, "fee_schedules": {k: len(v) for k, v in fees.items()}}))
    else:
        typer.echo(f"payers loaded: {count}; fee schedules: {len(fees)}")


@payers_app.command("list")
def payers_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The loaded payer master."""
    rows = _run(_with_conn(ClaimsStore.list_payers))
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    table = Table(title="payers")
    for col in ("payer", "name", "SBR09", "bill hold", "timely filing", "follow-up", "inpatient POA", "fee rows"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["payer_id"], r["name"], r["claim_filing_indicator"], str(r["bill_hold_days"]),
                      str(r["timely_filing_days"]), str(r["follow_up_days"]),
                      "required" if r["poa_required"] else "not required", str(r["fee_rows"]))
    console.print(table)


@feeschedule_app.command("load")
def feeschedule_load(
    payer_id: str = typer.Argument(..., help="The payer (must be in the payer master)."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="Fee schedule CSV."),
    reason: str = typer.Option("fee schedule update", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Replace one payer's fee schedule. Columns: procedure_code, modifier, allowed_amount, effective_date."""
    try:
        rows = parse_fee_schedule(file.read_text(encoding="utf-8"))
    except PayerFileError as exc:
        for e in exc.errors:
            err.print(f"{file.name}: {e}")
        raise _fail(f"{len(exc.errors)} error(s): nothing loaded") from None
    except UnicodeDecodeError:
        raise _fail("the file is not UTF-8 text", 2) from None

    async def work(db: ClaimsStore) -> int:
        try:
            return await operator.load_fee_schedule(db, payer_id, rows, file.name, audit.current_actor(), reason)
        except LookupError as exc:
            raise _fail(str(exc)) from None

    count = _run(_with_conn(work, write=True))
    typer.echo(f"fee schedule loaded for {payer_id}: {count} rows")


@app.command("held")
def held(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The work queue: held claims with every failed edit."""
    rows = _run(_with_conn(operator.held))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no held claims")
        return
    table = Table(title=f"held claims ({len(rows)})")
    for col in ("claim", "encounter", "payer", "charge", "edits"):
        table.add_column(col)
    for r in rows:
        edits = "\n".join(f"{e['edit_id']} ({e['severity']}): {e['message']}" for e in r["edits"])
        table.add_row(r["claim_id"], r["encounter_id"], r["payer_id"], r["total_charge"], edits)
    console.print(table)


def _action(name: str, ident: str, reason: str, as_json: bool, *arguments: str) -> None:
    work = getattr(operator, name)

    async def run(db: ClaimsStore) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await work(db, ident, *arguments, audit.current_actor(), reason,
                                                SystemClock().now())
        except LookupError as exc:
            raise _fail(str(exc)) from None
        except operator.Refused as exc:
            raise _fail(str(exc)) from None
        return result

    result = _run(_with_conn(run, write=True))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(f"claim {result['claim_id']}: {result['state']} (frequency {result['frequency']})")
        for e in result["edits"]:
            typer.echo(f"  {e['edit_id']} ({e['severity']}): {e['message']}")
    if result["state"] == "held":
        raise typer.Exit(1)


@app.command("release")
def release(
    ident: str = typer.Argument(..., metavar="ID", help="Claim, claim family or submission id."),
    reason: str = typer.Option("data fixed upstream", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Re-scrub a held or rejected claim from the current data; submit it (as a new original) when clean."""
    _action("release", ident, reason, as_json)


@app.command("override")
def override(
    ident: str = typer.Argument(..., metavar="ID", help="Claim, claim family or submission id."),
    edit_id: str = typer.Argument(..., metavar="EDIT_ID", help="The edit to waive, as `rcm claims held` shows it "
                                  f"({', '.join(sorted(OVERRIDABLE))})."),
    reason: str = typer.Option(..., "--reason", help="Why the edit does not apply to this claim (kept in the audit "
                               "log and the claim's history)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Waive one edit on one held claim, then scrub it again: it is queued for the next 837P batch
    when nothing else holds it (exit 1 while it stays held). The waiver is for this claim only."""
    _action("override", ident, reason, as_json, edit_id)


@app.command("correct")
def correct(
    ident: str = typer.Argument(..., metavar="ID", help="Claim, claim family or submission id."),
    reason: str = typer.Option(..., "--reason", help="Why (sent as the correction reason)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Replace an adjudicated claim (frequency 7, REF*F8 = the payer's claim number)."""
    _action("correct", ident, reason, as_json)


@app.command("void")
def void(
    ident: str = typer.Argument(..., metavar="ID", help="Claim, claim family or submission id."),
    reason: str = typer.Option(..., "--reason", help="Why."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Void an adjudicated claim (frequency 8, REF*F8 = the payer's claim number)."""
    _action("void", ident, reason, as_json)


def load_code_set(kind: Literal["ncci", "mue"], rows: Sequence[PtpEdit] | Sequence[Mue], quarter: str,
                  source_file: str, reason: str) -> int:
    """Store a parsed CMS quarterly file in the claims schema (audited); `rcm codesets load` calls it."""
    return _run(_with_conn(lambda db: operator.load_code_set(
        db, kind, quarter, source_file, rows, audit.current_actor(), reason, SystemClock().now()), write=True))


def code_set_loads() -> list[dict[str, Any]]:
    """The CMS files loaded into the claims schema, by kind and quarter."""
    return _run(_with_conn(ClaimsStore.code_set_loads))


@app.command("show")
def show(
    ident: str = typer.Argument(..., metavar="ID", help="Claim, claim family or submission id."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A claim family's whole history: its claims, submissions and every transition."""

    async def run(db: ClaimsStore) -> dict[str, Any]:
        try:
            return await operator.show(db, ident)
        except LookupError as exc:
            raise _fail(str(exc)) from None

    data = _run(_with_conn(run))
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    console.print(f"[bold]claim family {data['claim_family_id']}[/bold]")
    claims = Table(title="claims")
    for col in ("claim", "rank", "origin", "freq", "payer", "state", "submission", "payer claim #", "charge", "paid"):
        claims.add_column(col)
    for c in data["claims"]:
        claims.add_row(c["claim_id"], str(c["coverage_rank"]), c["origin"], c["frequency"], c["payer_id"], c["state"],
                       c["submission_id"] or "-", c["payer_claim_control_number"] or "-", c["total_charge"],
                       c["total_paid"])
    console.print(claims)
    if data["eligibility"]:
        _print_checks(data["eligibility"])
    typer.echo("history:")
    for h in data["history"]:
        refused = " REFUSED" if h["refused"] else ""
        typer.echo(f"  {h['at']}  {h['claim_id']}  {h['trigger']}{refused}  {h['from_state'] or '-'} -> "
                   f"{h['to_state'] or '-'}  {h['event_type'] or '-'}  {json.dumps(h['detail'])}")
    if data["status_requests"]:
        typer.echo("claim status requests (276/277):")
    for r in data["status_requests"]:
        typer.echo(f"  {r['queued_at']}  {r['request_id']}  {r['claim_id']}  {r['trigger']}  {r['state']}  "
                   f"{r['outcome'] or '-'}  {r['action'] or '-'}  next {r['next_check_on'] or '-'}")


STATUS_NO_ANSWER = 3


@app.command("status")
def status(
    ident: str = typer.Argument(..., metavar="CLAIM_ID", help="Claim, claim family or submission id."),
    wait: float = typer.Option(30.0, "--wait", min=0, help="Seconds to wait for the payer's 277 (0: just queue)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Ask the payer for the claim's status now: a 276 goes in the claims service's next batch
    (or the one already waiting is named), then wait for the 277 and show what it said and what
    claims did with it (also in `rcm claims show`).

    Exit codes: 0 answered; 1 unknown claim, or a claim never sent to the payer; 3 no answer
    within --wait (the request stays queued: its 277 is applied whenever it comes), or the
    clearinghouse rejected the 276 (999/TA1)."""

    async def queue(db: ClaimsStore) -> dict[str, Any]:
        try:
            return await operator.ask_status(db, ident, audit.current_actor(), SystemClock().now())
        except (LookupError, operator.Refused) as exc:
            raise _fail(str(exc)) from None

    request = _run(_with_conn(queue, write=True))

    async def answered(db: ClaimsStore) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        while True:
            found = await operator.status_request(db, request["request_id"])
            current = found or request
            if current["state"] in {"answered", "rejected"} or time.monotonic() >= deadline:
                return current
            await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))

    result = _run(_with_conn(answered))
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    elif result["state"] == "answered":
        statuses = ", ".join(f"{s['category_code']}:{s['status_code']}" for s in result["answer"]["statuses"])
        typer.echo(f"claim {result['claim_id']}: {result['outcome']} (277 {statuses}); action {result['action']}"
                   + (f", next on {result['next_check_on']}" if result["next_check_on"] else ""))
    elif result["state"] == "rejected":
        typer.echo(f"claim {result['claim_id']}: the clearinghouse rejected the 276 of request "
                   f"{result['request_id']} ({', '.join(result['answer']['codes'])}): no answer will come")
    else:
        typer.echo(f"claim {result['claim_id']}: no 277 within {wait:g} s; request {result['request_id']} is "
                   f"{result['state']} (its answer is applied when it comes)")
    if result["state"] != "answered":
        raise typer.Exit(STATUS_NO_ANSWER)


@app.command("acks")
def flagged_acks(as_json: bool = typer.Option(False, "--json")) -> None:
    """Acknowledgments kept and flagged: they matched no current submission, or were unreadable."""
    rows = _run(_with_conn(ClaimsStore.flagged_acks))
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"flagged acknowledgments ({len(rows)})")
    for col in ("id", "file", "kind", "reference", "outcome", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["file_name"], r["kind"], r["reference"], r["outcome"], str(r["detail"]))
    console.print(table)


BENEFIT_COLUMNS = (("deductible", "C"), ("co-insurance", "A"), ("copay", "B"), ("out of pocket", "G"))
"""The cost-share benefits (EB01) shown of a check, each as the payer sent it."""


def _benefit_cell(benefits: list[dict[str, Any]], code: str) -> str:
    cells = []
    for b in benefits:
        if b["code"] != code:
            continue
        value = f"{Decimal(b['percent']) * 100:.0f}%" if "percent" in b else b.get("amount", "")
        qualifiers = "/".join(x for x in (b.get("coverage_level"),
                                          b.get("time_period") and f"period {b['time_period']}",
                                          b.get("in_network") and f"in-network {b['in_network']}") if x)
        cells.append(f"{value} ({qualifiers})" if qualifiers else str(value))
    return "; ".join(cells) or "-"


def _print_checks(checks: list[dict[str, Any]]) -> None:
    """Each check on its lines (a table of every benefit is too wide for a terminal)."""
    typer.echo("eligibility checks:")
    for c in checks:
        plan = f"{c['plan_begin'] or '...'}..{c['plan_end'] or '...'}" if c["plan_begin"] or c["plan_end"] else "-"
        typer.echo(f"  {c['check_id']}  rank {c['coverage_rank']}  {c['payer_id']}  {c['service_date']}  "
                   f"{c['state']} ({c['source'] or c['trigger']})  {c['outcome'] or '-'}  plan {plan}  "
                   f"level {c['coverage_level'] or '-'}")
        for name, code in BENEFIT_COLUMNS:
            typer.echo(f"    {name}: {_benefit_cell(c['benefits'], code)}")
        for o in c["other_payers"]:
            typer.echo(f"    other payer: {o['role']} {o.get('payer_name') or o.get('payer_id') or '?'}"
                       f"{'' if o['on_file'] else ' (not on file)'}")
        for r in c["rejections"]:
            typer.echo(f"    rejected: AAA {r['reason_code']}/{r['follow_up']} ({r['loop']})")


@eligibility_app.command("check", epilog="Exit codes: 0 every coverage is active; 1 usage error or unknown "
                        "encounter; 3 a coverage is inactive, rejected (AAA) or not answered within --wait.")
def eligibility_check(
    encounter_id: str = typer.Argument(..., metavar="ENCOUNTER_ID", help="The encounter (as claims has it)."),
    wait: float = typer.Option(60.0, "--wait", min=0, help="Seconds to wait for the payers' 271s."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Check each coverage of an encounter now (a fresh earlier answer is reused) and wait for the
    answers: the running claims service sends the 270 and reads the 271.

    Exit codes: 0 every coverage is active; 1 usage error or unknown encounter; 3 a coverage is
    inactive, rejected (AAA) or not answered within --wait."""

    async def queue(db: ClaimsStore) -> list[str]:
        try:
            checks = await eligibility.check_encounter(db, encounter_id, eligibility.Policy.current(),
                                                       SystemClock().now())
        except LookupError as exc:
            raise _fail(str(exc)) from None
        return [c.check_id for c in checks]

    async def answers(check_ids: list[str]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait
        async with service_connection("claims") as conn:
            db = ClaimsStore(conn)
            while True:
                found = [c for c in [await db.get_check(i) for i in check_ids] if c is not None]
                if all(c.state not in eligibility.OPEN for c in found) or time.monotonic() >= deadline:
                    return [eligibility.check_json(c) for c in found]
                await asyncio.sleep(0.5)

    check_ids = _run(_with_conn(queue, write=True))
    if not check_ids:
        raise _fail("no coverage of this encounter is checked (self-pay, or eligibility is off for its payers)")
    rows = _run(answers(check_ids))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _print_checks(rows)
    if any(r["outcome"] != "active" for r in rows):
        raise typer.Exit(3)
