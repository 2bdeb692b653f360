"""`rcm demo`: publish synthetic encounters as an integration team would, follow them through
the whole cycle, pay some patient balances, and print a lifecycle summary that reconciles.

The demo only talks to the platform the way outsiders do: intake topics in, domain topics
and the clearinghouse folders out. Reference data (chargemaster, payers, fee schedules) is
loaded through the owning services' own commands.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.clean_claims import CleanClaims, acknowledgment_label, charges_label, clean_claims, scrubber_label
from cli.lifecycle import ZERO, Lifecycle, books_summary
from devstack import stack
from sandbox.demo_data import DEFAULT_ERROR_RATE, DEFAULT_HOSPITAL_SHARE, generate
from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model, validate
from schemas.topics import domain_topics
from services.chassis.clock import Clock, SystemClock
from services.chassis.kafka import client_options
from services.chassis.settings import Settings, get_settings
from services.chassis.topics import consumer_lag

console = Console()
err = Console(stderr=True)
FOLLOWED = domain_topics()
RCM = str(Path(sys.executable).with_name("rcm"))
UNSCOPED = frozenset({"NotificationSent", "NotificationFailed", "PatientPaymentPosted", "RemittanceReceived",
                      "ProviderAdjustmentPosted", "UnmatchedRemittance", "CreditBalanceCreated"})
ADJUDICATIONS = frozenset({"ClaimPaymentPosted", "ClaimDenied", "ClaimPaymentReversed"})
CLAIM_AT_REST = frozenset({"ClaimClosed", "ClaimAdjudicated", "ClaimHeld", "ClaimRejected", "ClaimVoided"})
CLAIM_MOVING = frozenset({"ClaimCreated", "ClaimReleased", "ClaimSubmitted", "ClaimAccepted", "ClaimResubmitted",
                          "ClaimForwarded", "ClaimCorrected"})
REFERENCE_LOADS = (
    ["chargemaster", "load", "deploy/local/chargemaster.csv", "--reason", "demo reference data"],
    ["payers", "load", "deploy/local/payers.yaml"],
)


@dataclass
class Follower:
    """Reads the domain topics from where the demo started and folds them into a Lifecycle."""

    settings: Settings
    starts: dict[TopicPartition, int]
    expected_charges: dict[str, int]  # sender's encounter id -> charges sent
    silent: frozenset[str] = frozenset()  # sender's ids whose 835 the payer withholds until a 276 asks
    life: Lifecycle = field(default_factory=Lifecycle)
    encounters: dict[str, str] = field(default_factory=dict)  # our encounter id -> sender's id
    charge_outcomes: Counter[str] = field(default_factory=Counter)
    charges_posted: Counter[str] = field(default_factory=Counter)
    rejected_encounters: set[str] = field(default_factory=set)
    claims: dict[str, tuple[str, bool]] = field(default_factory=dict)  # claim id -> (sender's id, done)
    _waiting: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    balances: dict[str, dict[str, Any]] = field(default_factory=dict)
    stops: dict[str, set[str]] = field(default_factory=dict)  # sender's id -> where it was stopped
    accepted: set[str] = field(default_factory=set)  # sender's ids with an accepted claim
    holds_by_edit: Counter[str] = field(default_factory=Counter)
    eligibility: Counter[str] = field(default_factory=Counter)  # EligibilityChecked outcomes
    status_actions: Counter[str] = field(default_factory=Counter)  # ClaimStatusChecked actions
    last_event_at: float = field(default_factory=time.monotonic)
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap, enable_auto_commit=False,
                                          **client_options(self.settings))
        await self._consumer.start()
        self._consumer.assign(list(self.starts))
        for tp, offset in self.starts.items():
            self._consumer.seek(tp, offset)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, ours: set[str]) -> int:
        """Fold in what arrived. Topics are read side by side, so an event may come before the
        one that tells us it is ours (or before its claim's ClaimSubmitted): it waits for it."""
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=500)
        for records in batch.values():
            for record in records:
                event_type = dict(record.headers or ()).get("ce_type", b"").decode().split(".")
                if len(event_type) == 4 and record.value:
                    payload = json.loads(record.value)
                    sei = payload.get("source_encounter_id")
                    if sei in ours and "encounter_id" in payload:
                        self.encounters[payload["encounter_id"]] = sei
                    self._waiting.append((event_type[2], payload))
        n = 0
        waiting, self._waiting = self._waiting, []
        for name, payload in waiting:
            if not self._ready(name, payload):
                self._waiting.append((name, payload))
                continue
            self.life.apply(name, payload)
            self._settle(name, payload)
            n += 1
        if n:
            self.last_event_at = time.monotonic()
        return n

    def _ready(self, name: str, payload: dict[str, Any]) -> bool:
        if name in UNSCOPED:
            return True
        if payload.get("encounter_id") not in self.encounters:
            return False
        return name not in ADJUDICATIONS or self.life.knows_claim(payload["claim_id"])

    def _settle(self, name: str, payload: dict[str, Any]) -> None:
        encounter = self.encounters.get(payload.get("encounter_id", ""))
        if encounter is None:
            return
        if name == "EncounterRejected":
            self.rejected_encounters.add(encounter)
        if name in ("EncounterRejected", "ChargeRejected"):
            self._stopped(encounter, [charges_label(r["code"]) for r in payload["reasons"]])
        elif name == "ClaimHeld":
            held = [e["edit_id"] for e in payload["edits"] if e["severity"] == "error"]
            self.holds_by_edit.update(held)
            self._stopped(encounter, [scrubber_label(edit) for edit in held])
        elif name == "ClaimRejected":
            self._stopped(encounter, [acknowledgment_label(payload["source"], c["code"]) for c in payload["codes"]]
                          or [f"{payload['source']} rejection"])
        elif name == "ClaimAccepted":
            self.accepted.add(encounter)
        elif name == "EligibilityChecked":
            self.eligibility[payload["outcome"]] += 1
        elif name == "ClaimStatusChecked":
            self.status_actions[payload["action"]] += 1
        if name in ("ChargePosted", "ChargeRejected") and not payload.get("replaces_charge_id"):
            self.charge_outcomes[encounter] += 1
            self.charges_posted[encounter] += name == "ChargePosted"
        elif name in CLAIM_AT_REST or name in CLAIM_MOVING:
            self.claims[payload["claim_id"]] = (encounter, name in CLAIM_AT_REST)
        elif name in ("PatientBalanceCreated", "PatientBalanceUpdated"):
            self.balances[payload["balance_id"]] = payload

    def _stopped(self, encounter: str, labels: list[str]) -> None:
        self.stops.setdefault(encounter, set()).update(labels)

    def settled(self) -> int:
        """Encounters with nothing left in flight: rejected, or every charge answered and every
        claim at rest (closed, adjudicated, held or rejected: the last two wait for a biller)."""
        done = 0
        for encounter, sent in self.expected_charges.items():
            if encounter in self.rejected_encounters:
                done += 1
                continue
            if self.charge_outcomes[encounter] < sent:
                continue
            claims = [at_rest for (e, at_rest) in self.claims.values() if e == encounter]
            if (claims and all(claims)) or not self.charges_posted[encounter] or (
                    encounter in self.silent and encounter in self.accepted):  # its 835 waits for a 276
                done += 1
        return done

    def silent_claims(self) -> list[str]:
        """The claims of silent encounters still waiting for their 835."""
        return [claim for claim, (e, at_rest) in self.claims.items() if e in self.silent and not at_rest]

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_event_at


async def _end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [
            TopicPartition(settings.topic(t), p)
            for t in FOLLOWED
            for p in sorted(consumer.partitions_for_topic(settings.topic(t)) or ())
        ]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _publish(settings: Settings, events: list[BaseModel], progress: Progress, label: str, clock: Clock) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True,
                                **client_options(settings))
    await producer.start()
    task = progress.add_task(label, total=len(events))
    try:
        for event in events:
            envelope = Envelope.new(source="demo", type=event_type_of(event), subject=key_of(event),
                                    time=clock.now())
            await producer.send_and_wait(settings.topic(spec_for_model(type(event)).topic), encode(event),
                                         key=key_of(event).encode(), headers=envelope.to_headers())
            progress.advance(task)
    finally:
        await producer.stop()


async def _follow(follower: Follower, ours: set[str], progress: Progress, label: str, total: int,
                  done: Any, timeout_s: float, quiet_s: float) -> None:
    task = progress.add_task(label, total=total)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await follower.poll(ours)
        progress.update(task, completed=min(done(), total))
        if done() >= total and follower.quiet_for() > quiet_s:
            return
        if follower.quiet_for() > max(quiet_s * 4, 30):
            return  # nothing moves any more: the summary shows where things stopped
    progress.update(task, description=f"{label} (timed out)")


async def _drained(settings: Settings, timeout_s: float) -> bool:
    """Wait until every service has consumed everything (lag 0 three checks in a row): the demo
    follows the events it cares about, but a slower consumer (notifications updating statements
    under load) may still be behind, and the audit must compare settled books."""
    zero_in_a_row, deadline = 0, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lags = [await consumer_lag(settings, p.name) for p in stack.PROCESSES if p.consumes]
        zero_in_a_row = zero_in_a_row + 1 if not any(sum(lag.values()) for lag in lags) else 0
        if zero_in_a_row >= 3:
            return True
        await asyncio.sleep(1)
    return False


async def _ask_status(claim_id: str) -> None:
    """`rcm claims status`: a 276 for the claim, waiting for the 277 (its answer shows in the summary)."""
    process = await asyncio.create_subprocess_exec(RCM, "claims", "status", claim_id, "--wait", "60", "--json",
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.DEVNULL)
    await process.wait()


def _payments(balances: dict[str, dict[str, Any]], seed: int, clock: Clock) -> list[BaseModel]:
    """The front desk collects: most balances paid in full, some in part, some not yet."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    out: list[BaseModel] = []
    for balance_id in sorted(balances):
        balance = balances[balance_id]
        due = Decimal(balance["amount_due"])
        roll = rng.random()
        if due <= ZERO or roll > 0.85:
            continue
        amount = due if roll < 0.6 else (due / 2).quantize(Decimal("0.01"))
        if amount <= ZERO:
            continue
        pid = f"demo-pay-{balance_id}"
        out.append(validate("rcm.intake.PatientPaymentReceived.v1", json.dumps({
            "source_system": "demo-portal", "source_payment_id": pid, "idempotency_key": f"demo-portal:{pid}",
            "patient_account_id": balance["patient_account_id"], "amount": str(amount), "method": "card",
            "received_on": clock.today().isoformat(), "encounter_id": balance["encounter_id"],
        })))
    return out


def _load_reference_data() -> None:
    for args in REFERENCE_LOADS:
        result = subprocess.run([RCM, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            err.print(f"[red]error:[/red] `rcm {' '.join(args[:2])}` failed: {result.stderr.strip()[-300:]}")
            raise typer.Exit(1)


def _books(follower: Follower) -> dict[str, Any] | None:
    """This run's account cards totalled, read as an operator would (`rcm report accounts --json`);
    None when they cannot be read (the summary says so)."""
    result = subprocess.run([RCM, "report", "accounts", "--json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return books_summary([c for c in json.loads(result.stdout) if c["encounter_id"] in follower.encounters])


def _summary(follower: Follower, n: int, payments: int, books: dict[str, Any] | None, clean: CleanClaims) -> Table:
    life = follower.life
    c = life.counts
    table = Table(title=f"Revcycle demo: {n} encounters", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    rows = [
        ("encounters", f"{len(follower.encounters)} seen, {c['EncounterRejected']} rejected, "
                       f"{c['EncounterReadyToBill']} releases to billing"),
        ("charges", f"{c['ChargePosted']} posted, {c['ChargeRejected']} rejected"
                    + (f" ({', '.join(f'{k} x{v}' for k, v in life.rejection_codes.most_common())})"
                       if life.rejection_codes else "")),
        ("claims", f"{c['ClaimCreated']} created, {c['ClaimHeld']} held, {c['ClaimSubmitted']} submitted, "
                   f"{c['ClaimAccepted']} accepted, {c['ClaimRejected']} rejected, "
                   f"{c['ClaimResubmitted']} resubmitted"),
        ("eligibility (270/271)", f"{c['EligibilityChecked']} checks ("
                                  + (", ".join(f"{n} {o.replace('_', ' ')}" for o, n in
                                               sorted(follower.eligibility.items())) or "none")
                                  + f"), {c['PatientEstimated']} patient estimates before the claims"),
        ("claim status (276/277)", f"{c['ClaimStatusChecked']} answer{'' if c['ClaimStatusChecked'] == 1 else 's'}"
                                   + "".join(f", {n} {a.replace('_', ' ')}" for a, n in
                                             sorted(follower.status_actions.items()))),
        ("adjudication", f"{c['ClaimPaymentPosted']} paid, {c['ClaimDenied']} denied, "
                         f"{c['ClaimPaymentReversed']} reversed, {c['UnderpaymentDetected']} underpaid, "
                         f"{c['OverpaymentDetected']} overpaid, {c['ClaimForwarded']} forwarded, "
                         f"{c['ClaimClosed']} closed"),
        ("patient balances", f"{c['PatientBalanceCreated']} created, {c['PatientBalanceUpdated']} updated, "
                             f"{payments} payments sent, {c['PatientPaymentPosted']} posted; "
                             f"open now {life.open_patient_balances}"),
        ("notifications", ", ".join(f"{k} x{v}" for k, v in sorted(life.notifications.items())) or "none"),
        ("charged", f"{life.charged - life.reversed_charges} "
                    f"(posted {life.charged}, reversed {life.reversed_charges})"),
        ("insurance paid", str(life.paid)),
        ("patient paid", str(life.patient_paid)),
        ("provider-level adjustments (PLB)", f"{life.provider_adjustments} (positive: taken back; negative: interest)"),
    ]
    if books is not None:
        states = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in books["states"].items())
        rows += [
            ("books (account cards)", f"{books['encounters']} encounters billed: {states}"),
            ("charge booked", f"{books['charge']} = payers paid {books['paid']} + contractual {books['contractual']}"
                              f" (of which Medicaid/QMB cost share {books['cost_share_protected']}) + other"
                              f" {books['other_adjustments']} + denied (open) {books['denied_open']} + patient"
                              f" {books['patient_responsibility']} + still with the payers {books['insurance_balance']}"
                              + ("" if books["closes"] else " [does not close: see rcm audit]")),
            ("patients", f"responsibility {books['patient_responsibility']}, paid {books['patient_paid']}, written off"
                         f" {books['patient_writeoffs']}, due {books['patient_balance']}"),
        ]
    for rank, a in sorted(life.by_rank.items()):
        who = {1: "primary payers' 835s", 2: "secondary payers' 835s", 3: "tertiary payers' 835s"}[rank]
        rejected = life.rejected(rank)
        waiting = a.billed - a.charged_on_835s - rejected
        pending = "".join((f" ({rejected} rejected, waiting for a fix)" if rejected else "",
                           f" ({waiting} not answered yet)" if waiting else ""))
        rows.append((who, f"billed {a.billed}{pending}; on 835s {a.charged_on_835s} = paid {a.paid} + contractual "
                          f"{a.contractual} + denied (open) {a.denied_open} + other {a.other_adjustments} + "
                          f"patient {a.patient_responsibility} = {a.accounted}"))
    rows += clean.lines()
    for k, v in rows:
        table.add_row(k, v)
    return table


def _summary_json(follower: Follower, n: int, payments: int, books: dict[str, Any] | None,
                  clean: CleanClaims) -> dict[str, Any]:
    life = follower.life
    return {
        "encounters": n,
        "encounters_seen": len(follower.encounters),
        "counts": dict(sorted(life.counts.items())),
        "charge_rejection_codes": dict(life.rejection_codes),
        "payments_sent": payments,
        "charged": str(life.charged - life.reversed_charges),
        "insurance_paid": str(life.paid),
        "patient_paid": str(life.patient_paid),
        "provider_adjustments": str(life.provider_adjustments),
        "open_patient_balances": str(life.open_patient_balances),
        "notifications": dict(life.notifications),
        "eligibility": dict(sorted(follower.eligibility.items())),
        "claim_status_actions": dict(sorted(follower.status_actions.items())),
        "payers": {
            str(rank): {k: str(getattr(a, k)) for k in ("billed", "charged_on_835s", "paid", "contractual",
                                                        "denied_open", "other_adjustments", "patient_responsibility",
                                                        "accounted")} | {"rejected": str(life.rejected(rank))}
            for rank, a in sorted(life.by_rank.items())
        },
        "books": None if books is None else json.loads(json.dumps(books, default=str)),
        "clean_claims": clean.as_json(),
    }


def _copy_artifacts(settings: Settings, out: Path, since: float) -> int:
    """This run's files only: what the clearinghouse and the mail catcher got since it started."""
    copied = 0
    sources = [(settings.clearinghouse, out / "clearinghouse"), (settings.state_dir / "mail", out / "statements")]
    for source, target in sources:
        if not source.exists():
            continue
        for path in sorted(p for p in source.rglob("*") if p.is_file() and p.stat().st_mtime >= since):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            copied += 1
    return copied


def demo(
    encounters: int = typer.Option(25, "--encounters", "-n", min=1, max=2000, help="How many encounters."),
    seed: int | None = typer.Option(None, "--seed", help="Reproduce a run (default: a new seed, printed)."),
    error_rate: float = typer.Option(DEFAULT_ERROR_RATE, "--error-rate", min=0.0, max=1.0,
                                     help="Share of encounters with one deliberate error of a named kind "
                                          "(the summary says where each was caught)."),
    hospital_share: float = typer.Option(DEFAULT_HOSPITAL_SHARE, "--hospital-share", min=0.0, max=1.0,
                                         help="Share of hospital encounters: emergency department visits and "
                                              "short inpatient stays, each billing the facility claim (837I) and "
                                              "the physician's (837P). 0: the clinic's encounters only."),
    out: Path | None = typer.Option(None, "--out", help="Copy the artifacts (837, 999, 277CA, 835, statements) here."),
    timeout: int = typer.Option(600, "--timeout", help="Give up following after this many seconds."),
    audit: bool = typer.Option(True, "--audit/--no-audit", help="Run `rcm audit` at the end."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress bars)."),
) -> None:
    """Push a clinic's month of synthetic encounters through the whole cycle and print what happened,
    to the cent, with the clean-claim rate reached and where each deliberate error was caught."""
    settings = get_settings()
    clock: Clock = SystemClock()
    rows = asyncio.run(stack.status(settings))
    down = [r.name for r in rows if not r.healthy]
    if down:
        err.print(f"[red]error:[/red] not running: {', '.join(down)}. Start the stack with `rcm up`.")
        raise typer.Exit(1)
    started = time.time()
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 10**6)
    if not as_json:
        console.print(f"demo seed {seed} (rerun with --seed {seed}; a fresh stack gives the same numbers)")
    _load_reference_data()
    generated = generate(encounters, seed, today=clock.today(), error_rate=error_rate, hospital_share=hospital_share)
    ours = {e.source_encounter_id for e in generated}
    intake = [d.event for e in generated for d in e.events]

    async def run() -> tuple[Follower, int]:
        expected = {e.source_encounter_id: sum(d.event_type.endswith("ChargeSubmitted.v1") for d in e.events)
                    for e in generated}
        follower = Follower(settings, await _end_offsets(settings), expected,
                            frozenset(e.source_encounter_id for e in generated if e.silent))
        await follower.start()
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console, disable=as_json) as progress:
                await _publish(settings, intake, progress, "publishing encounters and charges", clock)
                await _follow(follower, ours, progress, "encounters through the cycle", len(ours),
                              follower.settled, timeout, 10)
                silent = follower.silent_claims()
                if silent:  # as a biller would: ask the payer (276) about claims with no 835
                    await asyncio.gather(*(_ask_status(claim) for claim in silent))
                    await _follow(follower, ours, progress, "silent claims followed up (276/277)", len(silent),
                                  lambda: len(silent) - len(follower.silent_claims()), timeout / 2, 6)
                payments = _payments(follower.balances, seed, clock)
                if payments:
                    await _publish(settings, payments, progress, "patients paying", clock)
                    await _follow(follower, ours, progress, "payments posted", len(payments),
                                  lambda: follower.life.counts["PatientPaymentPosted"], timeout / 2, 6)
            if not await _drained(settings, timeout / 2):
                err.print("[yellow]warning:[/yellow] a service still has unread events (`rcm status` shows its lag): "
                          "the audit below may see books in flight")
            return follower, len(payments)
        finally:
            await follower.stop()

    follower, payments = asyncio.run(run())
    if not follower.encounters:
        err.print(f"[red]error:[/red] nothing came back for the {encounters} encounters of seed {seed}. If this seed "
                  "already ran on this stack, every event was recognized as a duplicate (same idempotency keys) "
                  "and rightly changed nothing: run with another --seed, or on a fresh stack. Otherwise see "
                  "`rcm status` and `rcm dlq list`.")
        raise typer.Exit(1)
    books = _books(follower)
    clean = clean_claims({e.source_encounter_id: e.error for e in generated}, follower.stops, follower.accepted,
                         follower.holds_by_edit)
    if as_json:
        typer.echo(json.dumps(_summary_json(follower, encounters, payments, books, clean), indent=2))
    else:
        console.print(_summary(follower, encounters, payments, books, clean))
    if out is not None:
        copied = _copy_artifacts(settings, out, started)
        (err if as_json else console).print(f"{copied} artifacts written to {out}")
    if audit:
        result = subprocess.run([RCM, "audit", *(["--json"] if as_json else [])], check=False)
        raise typer.Exit(result.returncode)
