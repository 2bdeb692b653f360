"""`rcm audit`: the internal audit a billing manager runs on a live installation.

Each check reads the owning service's own records with that service's own role (read only):
* charges vs claims: per encounter released to billing, the charge ledger = its primary claims;
* charge booked once: per encounter billed, remits' books hold the charge the charges service posted;
* the payers' statements: per 835 claim, charge = paid + adjustments + patient responsibility, and
  the patient responsibility = CLP05;
* account cards: per encounter, charge = what every payer paid, adjusted and left denied + the
  patient's responsibility + what the payers still owe, no figure negative or above the charge;
* ledger = cards: per encounter, the ledger's book accounts hold exactly its card;
* KPI inputs: the payer payments and contractual adjustments the KPIs count = the sums of the cards;
* cash: per remittance, the ledger's payer cash = BPR02 as recorded = BPR02 in the raw file;
* patient balances: shares = the items = the card's patient responsibility, payments and write-offs
  applied = the ledger's;
* statements: what notifications last told the patient = the balance's amount due, and every
  balance with something due has a statement (sent, or skipped with a reason).
Every difference is printed with its ids; exit status 1 when there is any.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table

from edi.x12 import X12Error
from edi.x835 import read_835
from services.charges import store as charges_store
from services.chassis.commands import service_connection
from services.claims.store import ClaimsStore
from services.notifications import store as notifications_store
from services.remits import store as remits_store
from services.remits.domain import cards as cards_domain
from services.remits.service import books

console = Console()
err = Console(stderr=True)
ZERO = Decimal("0.00")


@dataclass
class Check:
    name: str
    checked: int = 0
    differences: list[str] = field(default_factory=list)

    def expect(self, ok: bool, difference: str) -> None:
        self.checked += 1
        if not ok:
            self.differences.append(difference)


async def _charges_vs_claims() -> tuple[Check, dict[str, Decimal], set[str]]:
    check = Check("charges = primary claim totals, per encounter")
    async with service_connection("charges") as conn:
        billed = await charges_store.billable_totals(conn)
    async with service_connection("claims") as conn:
        claims = ClaimsStore(conn)
        claimed, pending = await claims.audit_primary_totals()
        unsent = await claims.audit_unsent_primaries()
    for encounter_id, total in sorted(billed.items()):
        if encounter_id in pending:
            continue
        claim_total = claimed.get(encounter_id, ZERO)
        check.expect(claim_total == total, f"encounter {encounter_id}: charges {total}, primary claims {claim_total}")
    return check, billed, pending | unsent


async def _remits(charged: dict[str, Decimal], in_flight: set[str]) -> tuple[list[Check], dict[str, Decimal]]:
    journals = Check("ledger: every journal's entries sum to zero")
    booked = Check("charge booked once: remits' books = the charges posted, per encounter billed")
    posted = Check("835 claims: charge = paid + adjustments + patient responsibility, patient = CLP05")
    cards_check = Check("account cards: charge = payers' paid, adjusted and denied + patient + insurance balance")
    ledger = Check("ledger = account cards, per encounter and payer")
    kpis = Check("KPI inputs (payer payments, contractual adjustments) = the sums of the cards")
    cash = Check("cash: ledger = BPR02 recorded = BPR02 in the 835 file, per remittance")
    balances = Check("patient balances: shares = the card's patient responsibility; payments and write-offs = ledger")
    patients = Check("patient money, per account: paid in - refunded = on balances + open credits = ledger")
    due: dict[str, Decimal] = {}
    async with service_connection("remits") as conn:
        count, unbalanced = await remits_store.audit_unbalanced_journals(conn)
        journals.checked = count
        journals.differences += [f"journal {j['journal_id']} ({j['kind']}): entries sum to {j['off']}"
                                 for j in unbalanced]
        for p in await remits_store.audit_payer_statements(conn):
            said = p["paid"] + p["contractual"] + p["denied"] + p["other_adjustment"] + p["prior_payer"] + p["patient"]
            posted.expect(
                said == p["charge"] and p["patient"] == p["patient_resp"],
                f"claim {p['claim_id']} posting {p['posting_id']}: charge {p['charge']}, paid {p['paid']} + CO"
                f" {p['contractual']} + denied {p['denied']} + other {p['other_adjustment']} + prior payer"
                f" {p['prior_payer']} + patient {p['patient']} (CLP05 {p['patient_resp']})",
            )
        cards = await books.cards(conn)
        held = await remits_store.audit_book_ledger(conn)
        totals = {r["balance_id"]: r for r in await remits_store.audit_balances(conn)}
        by_encounter = {r["encounter_id"]: r for r in totals.values()}
        for card in cards:
            enc = card.encounter_id
            want, got = cards_domain.figures(card), cards_domain.held_figures(held.get(enc, {}))
            if enc not in in_flight and enc in charged:
                in_ledger = got.get("charge", ZERO)
                booked.expect(in_ledger == charged[enc],
                              f"encounter {enc}: remits' ledger booked {in_ledger}, charges posted {charged[enc]}")
            problems = cards_domain.problems(card)
            cards_check.expect(not problems, f"encounter {enc}: " + "; ".join(problems))
            off = sorted(k for k in set(want) | set(got) if want.get(k, ZERO) != got.get(k, ZERO))
            ledger.expect(not off, f"encounter {enc}: " + ", ".join(
                f"{k} card {want.get(k, ZERO)} ledger {got.get(k, ZERO)}" for k in off))
            b = by_encounter.get(enc)
            share = b["total"] if b is not None else ZERO
            balances.expect(share == card.patient_responsibility,
                            f"encounter {enc}: card patient responsibility {card.patient_responsibility},"
                            f" balance {share}")
        money = (await remits_store.fetch(conn, "kpi_collections", datetime.max.replace(tzinfo=UTC),
                                          datetime.min.replace(tzinfo=UTC)))[0]
        paid = sum((p.paid for c in cards for p in c.payers), ZERO)
        contractual = sum((p.contractual for c in cards for p in c.payers), ZERO)
        kpis.expect(money["payer"] == paid, f"KPI payer payments {money['payer']}, cards {paid}")
        kpis.expect(money["contractual"] == contractual,
                    f"KPI contractual adjustments {money['contractual']}, cards {contractual}")
        for r in await remits_store.audit_remittance_cash(conn):
            in_file = _bpr02(bytes(r["raw"]), r["trace_number"])
            cash.expect(
                r["ledger_cash"] == r["total_payment"] == in_file,
                f"remittance {r['remittance_id']}: ledger {r['ledger_cash']}, recorded {r['total_payment']},"
                f" file {in_file}",
            )
        for b in totals.values():
            balances.expect(
                b["item_shares"] == b["total"] and b["ledger_paid"] == b["patient_paid"]
                and b["ledger_written_off"] == b["written_off"],
                f"balance {b['balance_id']}: shares {b['item_shares']} vs total {b['total']}, paid {b['patient_paid']}"
                f" vs ledger {b['ledger_paid']}, written off {b['written_off']} vs ledger {b['ledger_written_off']}",
            )
            due[b["balance_id"]] = b["total"] - b["patient_paid"] - b["written_off"]
        for a in await remits_store.audit_patient_accounts(conn):
            held_money = a["paid_in"] - a["refunded"]
            patients.expect(
                held_money == a["on_balances"] + a["credits"] == a["ledger_cash"]
                and a["credits"] == a["ledger_credit"],
                f"account {a['patient_account_id']}: paid in {a['paid_in']} - refunded {a['refunded']}, on balances"
                f" {a['on_balances']} + credits {a['credits']}; ledger cash {a['ledger_cash']},"
                f" credit {a['ledger_credit']}",
            )
    return [journals, booked, posted, cards_check, ledger, kpis, cash, balances, patients], due


def _bpr02(raw: bytes, trace_number: str) -> Decimal | None:
    try:
        remittance = read_835(raw.decode("utf-8", errors="replace"))
    except X12Error:
        return None
    for t in remittance.transactions:
        if t.trace_number == trace_number:
            return t.total_payment
    return None


async def _statements(due: dict[str, Decimal]) -> Check:
    check = Check("statements: amount due told to the patient = the balance")
    async with service_connection("notifications") as conn:
        told = await notifications_store.audit_statement_amounts(conn)
    for balance_id, amount in sorted(due.items()):
        seen = told.get(balance_id)
        if seen is None:
            check.expect(amount == ZERO, f"balance {balance_id}: {amount} due, notifications never heard of it")
            continue
        last, statements = seen
        check.expect(last == amount, f"balance {balance_id}: due {amount}, notifications says {last}")
        check.expect(amount == ZERO or statements > 0, f"balance {balance_id}: {amount} due and no statement")
    return check


async def run_audit() -> list[Check]:
    charges, charged, in_flight = await _charges_vs_claims()
    remits_checks, due = await _remits(charged, in_flight)
    return [charges, *remits_checks, await _statements(due)]


def audit(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Reconcile charges, claims, remittances, the ledger, patient balances and statements.

    Exit status 0 when everything agrees to the cent, 1 when anything differs (each difference
    is printed with its ids).
    """
    checks = asyncio.run(run_audit())
    differences = sum(len(c.differences) for c in checks)
    if as_json:
        typer.echo(json.dumps([{"check": c.name, "checked": c.checked, "differences": c.differences}
                               for c in checks], indent=2))
    else:
        table = Table(title="rcm audit")
        for col in ("check", "checked", "differences"):
            table.add_column(col)
        for c in checks:
            table.add_row(c.name, str(c.checked), "[green]0[/green]" if not c.differences
                          else f"[red]{len(c.differences)}[/red]")
        console.print(table)
        for c in checks:
            for d in c.differences:
                console.print(f"[red]difference[/red] {c.name.split(':')[0]}: {d}")
        console.print("[green]audit clean[/green]" if not differences else f"[red]{differences} difference(s)[/red]")
    if differences:
        raise typer.Exit(1)
