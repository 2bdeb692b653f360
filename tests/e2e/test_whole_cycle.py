"""The whole platform as a newcomer runs it: `rcm up` starts every process (four services, the
sandbox clearinghouse and payers, the mail catcher) on an isolated platform, `rcm demo` pushes
synthetic encounters through the cycle, and `rcm audit` finds everything reconciled to the cent."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.demo_data import generate
from services.chassis.settings import Settings
from services.chassis.stack import PROCESSES

pytestmark = pytest.mark.integration
RCM = str(Path(sys.executable).with_name("rcm"))
Rcm = Callable[..., subprocess.CompletedProcess[str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def rcm(platform: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rcm]:
    state = tmp_path_factory.mktemp("state")
    smtp = str(_free_port())
    env = {
        **os.environ,
        "RCM_KAFKA_BOOTSTRAP": platform.bootstrap,
        "RCM_ADMIN_DATABASE_URL": platform.admin_url,
        "RCM_DATABASE_NAME": platform.database_name,
        "RCM_TOPIC_PREFIX": platform.topic_prefix,
        "RCM_STATE_DIR": str(state),
        "RCM_CLEARINGHOUSE_ROOT": str(state / "clearinghouse"),
        "RCM_MAILCATCHER_SMTP_PORT": smtp,
        "RCM_NOTIFICATIONS_SMTP_PORT": smtp,
        "RCM_CHARGES_MLLP_PORT": "0",
        "RCM_SANDBOX_SEED": "7",
        # As with real payers, acknowledgments come well before remittances (a 277CA after the
        # claim was paid is refused as a late transition, which this test must not provoke).
        "RCM_SANDBOX_ACK_DELAY_S": "0.2",
        "RCM_SANDBOX_REMIT_DELAY_S": "5",
        "RCM_CLAIMS_ACKS_INTERVAL_S": "1",
        **{f"RCM_{p.name.upper()}_HTTP_PORT": str(_free_port()) for p in PROCESSES},
    }

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)

    up = run("up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield run
    finally:
        down = run("down", "--keep-infra")
        assert down.returncode == 0, down.stderr


def test_every_process_is_up_and_reports_health_and_lag(rcm: Rcm) -> None:
    status = rcm("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    rows = {r["name"]: r for r in json.loads(status.stdout)}
    assert set(rows) == {"kafka", "postgres", *(p.name for p in PROCESSES)}
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

    generated = generate(n, seed)
    errors = [e for e in generated if e.error is not None]
    charges_sent = sum(1 for e in generated for d in e.events if d.event_type.endswith("ChargeSubmitted.v1"))
    counts = summary["counts"]
    assert summary["encounters_seen"] == n
    assert counts["ChargePosted"] + counts.get("ChargeRejected", 0) == charges_sent
    # Each deliberate error of the generator is caught with a reason the sender can act on.
    assert counts.get("ChargeRejected", 0) + counts.get("EncounterRejected", 0) >= len(errors)
    # Every submitted claim was acknowledged and adjudicated, and each payer rank reconciles.
    assert counts["ClaimSubmitted"] == counts["ClaimAccepted"] > 0
    assert counts.get("ClaimPaymentPosted", 0) + counts.get("ClaimDenied", 0) >= counts["ClaimAccepted"]
    for rank, payer in summary["payers"].items():
        assert Decimal(payer["accounted"]) == Decimal(payer["charged_on_835s"]), rank
    assert Decimal(summary["insurance_paid"]) > 0
    # Patients were billed, told, and some paid.
    assert counts["PatientBalanceCreated"] > 0 and counts["PatientPaymentPosted"] == summary["payments_sent"]
    assert sum(summary["notifications"].values()) > 0
    artifacts = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert {".837", ".999", ".277", ".835", ".eml"} <= artifacts, artifacts
