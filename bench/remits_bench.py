"""835 posting benchmark: services/remits/service/remittances.ingest against parsing the same files.

Writes F 835 files (edi.x835.write_835) holding N claims in total (paid with CO-45 and PR-1/2/3,
some line denials, some whole-claim denials, some CO-253 sequestration, under-paid lines, a few PLB),
provisions an isolated database on the local Postgres the way the tests do, saves the matching
ClaimSubmitted projections, then times, for the same files:

1. baseline: parse only (read_835 + check_835 of every transaction set), the median of three runs;
2. post: remittances.ingest of every file, one transaction per file (as the poller does);
3. re-post the same files (hash duplicates: nothing posts);
4. the same remittances in new envelopes (payer + TRN02 duplicates: parsed, nothing posts).

For the post it also reports the CPU time of this process (parse included) and of the Postgres
backends it used (from /proc: Postgres on this machine), per claim: on a shared machine they move
less than the wall time, and they say which side limits the post.

Checks the outcome (payer cash = sum of BPR02, every journal balances, every claim posted once, the
duplicates changed nothing) and fails loudly otherwise.

Run: .venv/bin/python bench/remits_bench.py [--claims N] [--files F] [--profile]. Appends a result
block to bench/results.md (not with --profile: a profiled run's times are not comparable).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.x12_bench import machine
from edi.x12 import EnvelopeParams
from edi.x835 import (
    Address,
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    HandlingCode,
    HeaderNumber,
    Payee,
    Payer,
    PaymentMethod,
    Procedure,
    ProviderAdjustment,
    Reference,
    RemittanceTransaction,
    ServiceLine,
    check_835,
    read_835,
    write_835,
)
from schemas.claims import SubmittedLine
from services.chassis import migrations
from services.chassis.db import create_pool
from services.remits import store
from services.remits.app import DEFINITION
from services.remits.rows import SubmissionRow
from services.remits.service import remittances
from tests.support import infra

RESULTS = Path(__file__).with_name("results.md")
D = Decimal
CENT = D("0.01")
CO = AdjustmentGroup.CONTRACTUAL
PR = AdjustmentGroup.PATIENT_RESPONSIBILITY
ZERO = D("0.00")
AT = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
SERVICE_DATE = date(2026, 3, 2)
PAYER_ID = "ACME01"
PAYER = Payer(name="ACME HEALTH", address=Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL",
                                                   postal_code="62701"), id_qualifier="XV", id=PAYER_ID,
              contacts=(Contact("BL", "EDI DESK", (("TE", "8005551212"),)),))
PAYEE = Payee(name="SUNRISE CLINIC", id_qualifier="XX", id="1234567893", references=(Reference("TJ", "123456789"),))
# (procedure, charge, contracted share of the charge)
PROCEDURES = (("99213", D("150.00"), D("0.65")), ("87880", D("35.00"), D("0.47")), ("36415", D("18.00"), D("0.60")),
              ("93000", D("80.00"), D("0.55")))


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)


@dataclass
class Mix:
    """What the generated files hold, to check the outcome against and to report."""

    claims: int = 0
    lines: int = 0
    paid: int = 0
    line_denials: int = 0
    claim_denials: int = 0
    sequestration: int = 0
    underpaid: int = 0
    plb: int = 0


def _line(n: int, k: int, lcn: str, kind: str) -> tuple[ServiceLine, Decimal]:
    """One 835 service line of claim n and the contracted allowed amount its submission expects."""
    code, charge, rate = PROCEDURES[(n + k) % len(PROCEDURES)]
    contracted = cents(charge * rate)
    adjustments: list[Adjustment] = []
    if kind == "denied":  # nothing paid: the whole charge kept open as a denial
        adjustments.append(Adjustment(CO, "197" if n % 2 else "50", charge))
        return _service_line(code, charge, ZERO, lcn, adjustments), contracted
    allowed = contracted - D("4.00") if kind == "underpaid" else contracted
    adjustments.append(Adjustment(CO, "45", charge - allowed))
    patient = ZERO
    if n % 4 == 0:
        patient = min(allowed, D("40.00"))
        adjustments.append(Adjustment(PR, "1", patient))
    elif n % 4 == 1:
        patient = cents(allowed * D("0.20"))
        adjustments.append(Adjustment(PR, "2", patient))
    elif n % 4 == 2 and k == 0:
        patient = min(allowed, D("25.00"))
        adjustments.append(Adjustment(PR, "3", patient))
    sequestration = ZERO
    if kind == "sequestration":
        sequestration = cents((allowed - patient) * D("0.02"))
        adjustments.append(Adjustment(CO, "253", sequestration))
    paid = allowed - patient - sequestration
    return _service_line(code, charge, paid, lcn, adjustments), contracted


def _service_line(code: str, charge: Decimal, paid: Decimal, lcn: str, adjustments: list[Adjustment]) -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier="HC", code=code), charge=charge, paid=paid,
                       adjustments=tuple(a for a in adjustments if a.amount != 0), line_control_number=lcn,
                       service_date=SERVICE_DATE)


def build_claim(n: int, mix: Mix) -> tuple[ClaimPayment, SubmissionRow]:
    """Claim n's 835 claim payment and its ClaimSubmitted projection (as the handler saves it)."""
    sub = f"BN{n:08d}"
    count = 1 + n % 3
    whole_denial = n % 50 == 9
    kinds = ["paid"] * count
    if whole_denial:
        kinds = ["denied"] * count
        mix.claim_denials += 1
    elif n % 10 == 4 and count > 1:
        kinds[-1] = "denied"
        mix.line_denials += 1
    elif n % 10 == 7:
        kinds = ["sequestration"] * count
        mix.sequestration += 1
    elif n % 25 == 12:
        kinds[0] = "underpaid"
        mix.underpaid += 1
    lines: list[ServiceLine] = []
    submitted: list[dict[str, Any]] = []
    for k, kind in enumerate(kinds):
        lcn = f"{sub}-{k + 1}"
        line, contracted = _line(n, k, lcn, kind)
        lines.append(line)
        submitted.append(SubmittedLine(
            line_number=k + 1, line_control_number=lcn, charge_id=f"chg_b{n}_{k + 1}",
            procedure_code=line.procedure.code, service_date=SERVICE_DATE, units=D("1"), charge=line.charge,
            diagnosis_pointers=[1], expected_allowed=contracted).model_dump(mode="json"))
    patient = sum((a.amount for ln in lines for a in ln.adjustments if a.group is PR), ZERO)
    charge = sum((ln.charge for ln in lines), ZERO)
    paid = sum((ln.paid for ln in lines), ZERO)
    claim = ClaimPayment(
        patient_control_number=sub, status=ClaimStatus.DENIED if whole_denial else ClaimStatus.PROCESSED_AS_PRIMARY,
        charge=charge, paid=paid, patient_responsibility=patient, filing_indicator="CI",
        payer_claim_control_number=f"PCC{n:09d}", patient=EntityName(entity="QC", last_name="DOE", first_name="PAT"),
        service_lines=tuple(lines))
    projection = SubmissionRow(
        submission_id=sub, claim_id=f"clm_b{n}", claim_family_id=f"fam_b{n}", encounter_id=f"enc_b{n}",
        patient_account_id=f"acct_b{n // 3}", payer_id=PAYER_ID, payer_name=PAYER.name, coverage_rank=1,
        next_payer_rank=None, next_payer_id=None, frequency="1", total_charge=charge,
        lines=tuple(submitted), submitted_at=AT - timedelta(days=30),
    )
    mix.claims += 1
    mix.lines += count
    mix.paid += paid > 0
    return claim, projection


def build_files(claims: int, files: int, mix: Mix) -> tuple[list[RemittanceTransaction], list[SubmissionRow]]:
    """One transaction set (one EFT) per file; claims dealt out evenly; every 4th file an L6 interest
    PLB, every 4th (offset) a WO recoupment naming a claim of the same file."""
    transactions: list[RemittanceTransaction] = []
    projections: list[SubmissionRow] = []
    n = 0
    for f in range(files):
        share = claims // files + (1 if f < claims % files else 0)
        batch: list[ClaimPayment] = []
        for _ in range(share):
            claim, projection = build_claim(n, mix)
            batch.append(claim)
            projections.append(projection)
            n += 1
        plbs: tuple[ProviderAdjustment, ...] = ()
        if f % 4 == 1:
            plbs = (ProviderAdjustment(provider_id=PAYEE.id, fiscal_period_date=date(2026, 12, 31), reason="L6",
                                       amount=D("-3.21")),)
        elif f % 4 == 3 and batch:
            plbs = (ProviderAdjustment(provider_id=PAYEE.id, fiscal_period_date=date(2026, 12, 31), reason="WO",
                                       reference=batch[0].payer_claim_control_number, amount=D("15.00")),)
        mix.plb += len(plbs)
        total = sum((c.paid for c in batch), ZERO) - sum((p.amount for p in plbs), ZERO)
        transactions.append(RemittanceTransaction(
            handling_code=HandlingCode.PAYMENT_WITH_REMITTANCE if total > 0 else HandlingCode.REMITTANCE_ONLY,
            total_payment=total, payment_method=PaymentMethod.ACH if total > 0 else PaymentMethod.NON,
            payment_date=date(2026, 4, 8), trace_number=f"EFT{f + 1:08d}", trace_payer_id="1999999999", payer=PAYER,
            payee=PAYEE, header_numbers=(HeaderNumber(1, tuple(batch)),) if batch else (), provider_adjustments=plbs))
    return transactions, projections


def envelope(icn: int) -> EnvelopeParams:
    return EnvelopeParams(sender_id="ACME", receiver_id="SUNRISE", interchange_control_number=icn,
                          group_control_number=icn, created=datetime(2026, 4, 8, 9, 0))


def parse_all(raws: list[bytes]) -> int:
    """The baseline: what every post does before touching the database."""
    checked = 0
    for raw in raws:
        for t in read_835(raw.decode("utf-8")).transactions:
            problems = [c for c in check_835(t) if not c.ok]
            if problems:
                raise SystemExit(f"bench bug: a generated file does not balance: {problems[0].message}")
            checked += len(t.claims)
    return checked


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process of this machine (None when /proc does not say)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BackendCpu:
    """The CPU time the Postgres backends of the bench's connections spent since each was first seen."""

    start: dict[int, float | None]

    def see(self, conn: Any) -> None:
        pid = conn.get_server_pid()
        if pid not in self.start:
            self.start[pid] = process_cpu(pid)

    def spent(self) -> float | None:
        total = 0.0
        for pid, start in self.start.items():
            now = process_cpu(pid)
            if start is None or now is None:
                return None
            total += now - start
        return total


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await fn()
    return time.perf_counter() - start, result


class Failed(Exception):
    """The posted outcome is wrong: the benchmark must not report numbers for it."""


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise Failed(what)


async def counts(conn: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in ("remittances", "postings", "ledger_entries", "denials", "balances", "outbox", "duplicate_arrivals"):
        out[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return out


async def check_posted(conn: Any, transactions: list[RemittanceTransaction], projections: list[SubmissionRow],
                       ) -> None:
    """Payer cash = BPR02 (per remittance and in total), journals balance, every claim posted once."""
    bpr = {t.trace_number: t.total_payment for t in transactions}
    rows = await conn.fetch(
        "SELECT r.trace_number, r.total_payment, (SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l"
        " WHERE l.remittance_id = r.remittance_id AND l.account = 'payer_cash') AS cash FROM remittances r"
        " WHERE r.payer_id = $1", PAYER_ID)
    got = {r["trace_number"]: (r["total_payment"], r["cash"]) for r in rows}
    expect(set(got) == set(bpr), f"remittances posted {len(got)}, files {len(bpr)}")
    wrong = [trace for trace, amount in bpr.items() if got[trace] != (amount, amount)]
    expect(not wrong, f"payer cash differs from BPR02 for {len(wrong)} remittances, first {wrong[:1]}")
    cash = await conn.fetchval("SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = 'payer_cash'")
    expect(cash == sum(bpr.values(), ZERO), f"ledger payer cash {cash} != sum of BPR02 {sum(bpr.values(), ZERO)}")
    journals, unbalanced = await store.audit_unbalanced_journals(conn)
    expect(not unbalanced, f"{len(unbalanced)} of {journals} journals do not balance")
    posted = await conn.fetch("SELECT reported_submission, claim_id, count(*) AS n FROM postings"
                              " GROUP BY reported_submission, claim_id")
    by_sub = {r["reported_submission"]: (r["claim_id"], r["n"]) for r in posted}
    want = {p.submission_id: p.claim_id for p in projections}
    expect(len(posted) == len(by_sub) and set(by_sub) == set(want),
           f"postings name {len(by_sub)} submissions, {len(want)} were sent")
    twice = [s for s, (_, n) in by_sub.items() if n != 1]
    expect(not twice, f"{len(twice)} claims posted more than once")
    unmatched = [s for s, (claim_id, _) in by_sub.items() if claim_id != want[s]]
    expect(not unmatched, f"{len(unmatched)} claims did not match their submission")
    expect(await conn.fetchval("SELECT count(*) FROM unmatched") == 0, "claims left in suspense")


async def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    mix = Mix()
    transactions, projections = build_files(args.claims, args.files, mix)
    with tempfile.TemporaryDirectory(prefix="remits-bench-") as tmp:
        settings = infra.isolated_settings(infra.obtain(), clearinghouse_root=Path(tmp) / "clearinghouse")
        inbound = Path(tmp) / "inbound"
        inbound.mkdir()
        paths = []
        for f, t in enumerate(transactions, start=1):
            path = inbound / f"remit-{f:04d}.835"
            path.write_text(write_835([t], envelope(f)))
            paths.append(path)
        raws = [p.read_bytes() for p in paths]
        # The same remittances in new envelopes: new bytes, same payer + TRN02.
        rewrapped = [write_835([t], envelope(10_000 + f)).encode() for f, t in enumerate(transactions, start=1)]
        segments = sum(r.count(b"~") for r in raws)
        mb = sum(len(r) for r in raws) / 1e6
        await infra.provision_isolated(settings)
        try:
            return await measure(args, console, settings, mix, transactions, projections, raws, rewrapped,
                                 segments, mb)
        finally:
            await infra.teardown_isolated(settings)


async def measure(args: argparse.Namespace, console: Console, settings: Any, mix: Mix,
                  transactions: list[RemittanceTransaction], projections: list[SubmissionRow], raws: list[bytes],
                  rewrapped: list[bytes], segments: int, mb: float) -> dict[str, Any]:
    await migrations.migrate(settings, DEFINITION.name, migrations.service_migrations(DEFINITION.migrations),
                             DEFINITION.append_only)
    pool = await create_pool(settings.database_url(DEFINITION.name), max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            for p in projections:
                await store.save_submission(conn, p)

        async def parse() -> int:
            return parse_all(raws)

        backends = BackendCpu({})

        async def ingest_all(files: list[bytes], tag: str) -> list[remittances.IngestResult]:
            out = []
            for i, raw in enumerate(files, start=1):
                async with pool.acquire() as conn:  # as poll_once: one connection, one transaction per file
                    backends.see(conn)
                    out.append(await remittances.ingest(conn, raw, f"{tag}-{i:04d}.835", "bench",
                                                        AT + timedelta(seconds=i)))
            return out

        # The baseline is short: the median of three runs damps the shared machine's noise.
        parse_runs = [await timed(parse) for _ in range(3)]
        parse_s, parsed = sorted(parse_runs, key=lambda run: float(run[0]))[1]
        expect(parsed == args.claims, f"parsed {parsed} claims, wrote {args.claims}")
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        cpu = time.process_time()
        post_s, posted = await timed(lambda: ingest_all(raws, "remit"))
        post_cpu, post_pg = time.process_time() - cpu, backends.spent()
        if profiler:
            profiler.disable()
        bad = [r for r in posted if r.status != "posted"]
        expect(not bad, f"{len(bad)} files not posted, first: {bad[0].status} {bad[0].reason}" if bad else "")
        async with pool.acquire() as conn:
            await check_posted(conn, transactions, projections)
            after_post = await counts(conn)
        dup_s, dups = await timed(lambda: ingest_all(raws, "again"))
        trace_s, traces = await timed(lambda: ingest_all(rewrapped, "rewrapped"))
        expect(all(r.status == "duplicate" for r in dups + traces), "a re-posted file was not a duplicate")
        async with pool.acquire() as conn:
            await check_posted(conn, transactions, projections)
            after_dups = await counts(conn)
            kinds = dict(await conn.fetch("SELECT kind, count(*) FROM duplicate_arrivals GROUP BY kind"))
        changed = {k: (after_post[k], after_dups[k]) for k in after_post
                   if k != "duplicate_arrivals" and after_post[k] != after_dups[k]}
        expect(not changed, f"duplicates changed the books: {changed}")
        expect(kinds == {"file": args.files, "trace": args.files}, f"duplicate arrivals recorded: {kinds}")
    finally:
        await pool.close()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
    return {"parse": parse_s, "post": post_s, "dup": dup_s, "trace": trace_s, "segments": segments, "mb": mb,
            "mix": mix, "rows": after_post, "post_cpu": post_cpu, "post_pg": post_pg}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=2_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="cProfile the post step; print, append nothing")
    args = parser.parse_args()
    if args.claims < 1 or args.files < 1 or args.files > args.claims:
        parser.error("need 1 <= --files <= --claims")
    console = Console(width=150)
    try:
        r = asyncio.run(run(args, console))
    except Failed as exc:
        console.print(f"[bold red]FAILED:[/] {exc}")
        raise SystemExit(1) from exc
    mix: Mix = r["mix"]
    rows = [
        ("parse only (read_835 + check_835), median of 3: baseline", r["parse"]),
        ("post (remittances.ingest, one transaction per file)", r["post"]),
        ("re-post the same files (hash duplicates)", r["dup"]),
        ("same remittances, new envelopes (trace duplicates)", r["trace"]),
    ]
    title = (f"835 posting, {args.claims} claims ({mix.lines} lines) in {args.files} files, "
             f"{r['segments']} segments, {r['mb']:.2f} MB")
    table = Table(title=title)
    for col in ("step", "seconds", "claims/s", "ms/file", "ratio to parse"):
        table.add_column(col, justify="right")
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.2f}", f"{args.claims / seconds:,.0f}", f"{1000 * seconds / args.files:,.1f}",
                      f"{seconds / r['parse']:.2f}x")
    console.print(table)
    mix_text = (f"{mix.paid} claims paid, {mix.claim_denials} whole-claim denials, {mix.line_denials} with a line "
                f"denial, {mix.sequestration} with CO-253, {mix.underpaid} underpaid, {mix.plb} PLB")
    written = ", ".join(f"{k} {v:,}" for k, v in r["rows"].items() if k != "duplicate_arrivals")
    per_claim = 1000 / args.claims
    pg = "n/a (not on this machine)" if r["post_pg"] is None else (
        f"{r['post_pg']:.2f} s ({r['post_pg'] * per_claim:.2f} ms/claim)")
    cpu_text = (f"Post CPU: this process {r['post_cpu']:.2f} s ({r['post_cpu'] * per_claim:.2f} ms/claim, the parse "
                f"included), Postgres backends {pg}")
    console.print(cpu_text)
    console.print(f"mix: {mix_text}")
    console.print(f"rows after posting: {written}")
    console.print("checked: payer cash = sum of BPR02 (per remittance and total), every journal balances, every "
                  "claim posted once and matched, duplicates changed nothing")
    console.print(f"machine: {machine()}")
    if args.profile:
        return
    block = [
        f"\n## {datetime.now().isoformat(timespec='seconds')}: 835 posting (bench/remits_bench.py), "
        f"{args.claims} claims in {args.files} files, {r['segments']} segments, {r['mb']:.2f} MB",
        f"\nMachine: {machine()}; Postgres local (same machine)\n",
        "| step | seconds | claims/s | ms/file | ratio to parse |",
        "|---|---:|---:|---:|---:|",
        *(f"| {name} | {seconds:.2f} | {args.claims / seconds:,.0f} | {1000 * seconds / args.files:,.1f} | "
          f"{seconds / r['parse']:.2f}x |" for name, seconds in rows),
        f"\n{cpu_text}.",
        f"\nMix: {mix_text}. Rows written by the post: {written}. Checked: payer cash = BPR02, journals "
        "balance, every claim posted once, duplicates changed nothing.\n",
    ]
    with RESULTS.open("a") as fh:
        fh.write("\n".join(block))


if __name__ == "__main__":
    main()
