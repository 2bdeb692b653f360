"""The whole platform as a newcomer runs it: `rcm up` starts every process (four services, the
sandbox clearinghouse and payers, the mail catcher) on an isolated platform, `rcm demo` pushes
synthetic encounters through the cycle, and `rcm audit` finds everything reconciled to the cent."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from devstack.stack import PROCESSES
from sandbox.demo_data import DEFAULT_HOSPITAL_SHARE, ERRORS, generate
from tests.e2e.support import Rcm

pytestmark = pytest.mark.integration


def test_every_process_is_up_and_reports_health_and_lag(rcm: Rcm) -> None:
    status = rcm("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {r["name"]: r for r in json.loads(status.stdout)}
    assert set(rows) == {"kafka", "postgres", "icd10cm", *(p.name for p in PROCESSES)}
    assert rows["icd10cm"]["detail"].startswith("newest ICD-10-CM FY")  # with a warning once today is past it
    assert all(r["healthy"] for r in rows.values()), rows
    assert all("lag 0" in rows[p.name]["detail"] for p in PROCESSES if p.consumes), rows
    logs = rcm("logs", "claims", "-n", "200")
    assert any(json.loads(line).get("message") == "service ready" for line in logs.stdout.splitlines() if line)


def test_demo_runs_the_whole_cycle_and_the_audit_is_clean(rcm: Rcm, tmp_path: Path) -> None:
    n, seed = 12, 5
    result = rcm("demo", "-n", str(n), "--seed", str(seed), "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]  # exit 0: the audit is clean
    decoder = json.JSONDecoder()
    summary, end = decoder.raw_decode(result.stdout.lstrip())
    audit = json.loads(result.stdout.lstrip()[end:])
    assert all(check["differences"] == [] and check["checked"] > 0 for check in audit), audit

    # The demo command makes hospital encounters at its default share: generate the same ones.
    generated = generate(n, seed, today=datetime.now(UTC).date(), hospital_share=DEFAULT_HOSPITAL_SHARE)
    charges_sent = sum(1 for e in generated for d in e.events if d.event_type.endswith("ChargeSubmitted.v1"))
    counts = summary["counts"]
    assert summary["encounters_seen"] == n
    # An encounter rejected at intake (a non-billable diagnosis) may keep its charges waiting for the
    # corrected encounter: neither posted nor rejected.
    waiting = sum(1 for e in generated if e.error == "non_billable_icd" for d in e.events
                  if d.event_type.endswith("ChargeSubmitted.v1"))
    assert charges_sent - waiting <= counts["ChargePosted"] + counts.get("ChargeRejected", 0) <= charges_sent
    # Only the deliberate errors stopped anything, each where its kind says; the rest went through.
    clean = summary["clean_claims"]
    assert clean["unexpected"] == {} and clean["not_answered"] == 0, clean
    assert clean["clean"] == n - sum(1 for e in generated if e.error is not None) > 0
    # Every submitted claim was acknowledged and adjudicated, and each payer rank reconciles.
    assert counts["ClaimSubmitted"] == counts["ClaimAccepted"] + counts.get("ClaimRejected", 0)
    assert counts.get("ClaimPaymentPosted", 0) + counts.get("ClaimDenied", 0) >= counts["ClaimAccepted"]
    for rank, payer in summary["payers"].items():
        assert Decimal(payer["accounted"]) == Decimal(payer["charged_on_835s"]), rank
    # The books of the run (its account cards) close to the charge booked, once per encounter billed.
    books = summary["books"]
    assert books["closes"] and books["encounters"] > 0 and Decimal(books["charge"]) > 0, books
    assert Decimal(summary["insurance_paid"]) > 0
    # Patients were billed, told, and some paid.
    assert counts["PatientBalanceCreated"] > 0 and counts["PatientPaymentPosted"] == summary["payments_sent"]
    assert sum(summary["notifications"].values()) > 0
    artifacts = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert {".837", ".999", ".277", ".835", ".eml"} <= artifacts, artifacts


def test_each_kind_of_deliberate_error_is_caught_where_its_kind_says(rcm: Rcm) -> None:
    result = rcm("demo", "-n", "40", "--seed", "1", "--error-rate", "0.5", "--json", "--no-audit")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    clean = json.loads(result.stdout)["clean_claims"]
    assert clean["unexpected"] == {} and clean["not_answered"] == 0, clean
    errors = clean["deliberate_errors"]
    sent = Counter(e.error for e in generate(40, 1, today=datetime.now(UTC).date(), error_rate=0.5,
                                             hospital_share=DEFAULT_HOSPITAL_SHARE) if e.error)
    assert {kind: e["injected"] for kind, e in errors.items() if e["injected"]} == sent
    assert len(sent) >= 6, sent  # (all eight kinds, on the days this seed was checked for)
    for kind, e in errors.items():
        assert e["missed"] == 0 and e["caught"] and set(e["caught"]) <= set(ERRORS[kind].caught_by), kind
    assert clean["claims"] == 40 and clean["clean"] == 40 - sum(e["injected"] for e in errors.values())
    assert Decimal(clean["rate_percent"]) == (Decimal(clean["clean"] * 100) / 40).quantize(Decimal("0.1"))
