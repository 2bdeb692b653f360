"""837P codec benchmark: our writer and reader vs pyx12 on the same 10,000-claim file.

Run: .venv/bin/python bench/x12_bench.py [--claims N]. Appends a result block to bench/results.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edi.envelope import read_interchange
from edi.npi import npi_check_digit
from edi.validate import pyx12_validate
from edi.x837 import ClaimBatch, read_837p_interchange, render_837p

RESULTS = Path(__file__).with_name("results.md")


def _npi(n: int) -> str:
    first9 = f"1{n:08d}"
    return first9 + str(npi_check_digit(first9))


def build_batch(claims: int) -> ClaimBatch:
    """Deterministic batch: 20 billing providers, ~2 claims per subscriber, every third a dependent."""
    address = {"line1": "100 Main St", "city": "Springfield", "state": "IL", "zip": "627011234"}
    providers = [
        {
            "name": f"Clinic {p}",
            "npi": _npi(p + 1),
            "taxonomy": "207Q00000X",
            "tax_id": f"{p + 100000000}",
            "address": address,
        }
        for p in range(20)
    ]
    docs: list[dict[str, Any]] = []
    for n in range(claims):
        subscriber = {
            "last_name": f"Doe{n // 2}",
            "first_name": "Pat",
            "member_id": f"M{n // 2:08d}",
            "address": address,
            "birth_date": "1970-01-01",
            "gender": "F",
        }
        lines = [
            {
                "procedure_code": "99213",
                "charge": f"{100 + k}.25",
                "diagnosis_pointers": [1, 2],
                "service_date": "2025-01-15",
                "line_control_number": f"L{n}-{k}",
                "modifiers": ["25"],
            }
            for k in range(1 + n % 4)
        ]
        claim: dict[str, Any] = {
            "submission_id": f"C{n:09d}",
            "billing_provider": providers[n % 20],
            "subscriber": subscriber,
            "payer": {"name": "Acme Health", "id": "ACME01"},
            "claim_filing_indicator": "CI",
            "place_of_service": "11",
            "diagnoses": ["J020", "R509"],
            "lines": lines,
        }
        if n % 3 == 0:
            claim["patient"] = {
                "last_name": f"Doe{n // 2}",
                "first_name": "Kid",
                "relationship": "19",
                "address": address,
                "birth_date": "2015-01-01",
                "gender": "M",
            }
        docs.append(claim)
    return ClaimBatch.model_validate(
        {
            "sender_id": "REVCYCLE",
            "receiver_id": "CLEARHOUSE",
            "created": datetime(2025, 1, 20, 9, 30),
            "reference": "BENCH",
            "submitter": {"name": "Revcycle", "id": "SUB1", "contact_name": "Desk", "phone": "5551234567"},
            "receiver": {"name": "CH", "id": "CH1"},
            "claims": docs,
        }
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def pyx12_read_only(text: str) -> int:
    """pyx12's tokenizer alone (X12Reader), the closest analogue of our read_interchange."""
    import pyx12.x12file

    return sum(1 for _ in pyx12.x12file.X12Reader(io.StringIO(text)))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()} ({platform.machine()})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    args = parser.parse_args()
    console = Console()
    batch = build_batch(args.claims)
    write_s, text = timed(lambda: render_837p(batch))
    segments = text.count("~")
    mb = len(text) / 1e6
    envelope_s, interchange = timed(lambda: read_interchange(text))
    model_s, parsed = timed(lambda: read_837p_interchange(interchange))
    assert len(parsed.claims) == args.claims
    pyx12_read_s, pyx12_segments = timed(lambda: pyx12_read_only(text))
    pyx12_validate_s, issues = timed(lambda: pyx12_validate(text))
    ours_s = envelope_s + model_s

    table = Table(title=f"837P, {args.claims} claims, {segments} segments, {mb:.1f} MB")
    for col in ("step", "seconds", "segments/s", "vs ours (parse)"):
        table.add_column(col, justify="right")
    rows = [
        ("our write (model -> X12)", write_s),
        ("our parse: envelope (read_interchange)", envelope_s),
        ("our parse: envelope + 837P model", ours_s),
        ("pyx12 tokenize (X12Reader)", pyx12_read_s),
        ("pyx12 validate (x12n_document)", pyx12_validate_s),
    ]
    for name, seconds in rows:
        table.add_row(name, f"{seconds:.2f}", f"{segments / seconds:,.0f}", f"{seconds / ours_s:.1f}x")
    console.print(table)
    console.print(f"pyx12 issues: {len(issues)}; pyx12 segments read: {pyx12_segments}")
    console.print(f"machine: {machine()}")

    block = [
        f"\n## {datetime.now().isoformat(timespec='seconds')}: 837P, {args.claims} claims, "
        f"{segments} segments, {mb:.1f} MB",
        f"\nMachine: {machine()}\n",
        "| step | seconds | segments/s | ratio to our parse |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {seconds:.2f} | {segments / seconds:,.0f} | {seconds / ours_s:.1f}x |"
            for name, seconds in rows
        ),
        f"\npyx12 validation issues on the file: {len(issues)}\n",
    ]
    if not RESULTS.exists():
        RESULTS.write_text("# X12 codec benchmark results\n\nAppended by `bench/x12_bench.py`.\n")
    with RESULTS.open("a") as fh:
        fh.write("\n".join(block))


if __name__ == "__main__":
    main()
