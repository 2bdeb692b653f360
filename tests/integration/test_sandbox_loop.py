"""The sandbox loop over a real clearinghouse folder: 837Ps in outbound/, then 999 and 277CA in
inbound/acks/ after the acknowledgment delay and 835s in inbound/remits/ when each is due,
across a restart. Needs no Kafka or Postgres. Every file that comes back passes pyx12 and
balances."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from devstack.stack import PROCESSES, REPO
from edi.x277ca import read_277ca
from edi.x835 import ClaimStatus, read_835
from edi.x837 import render_837p
from edi.x999 import GroupAckCode, read_999
from sandbox.app import create_app
from sandbox.clearinghouse_loop import Sandbox, Timing
from sandbox.payers import load_payers
from services.chassis.clearinghouse import FolderClearinghouse
from tests.unit.sandbox.support import batch, checked, claim, line

D = Decimal
PAYERS = load_payers()
MEDI_CAL = {"responsibility": "S", "relationship": "18", "claim_filing_indicator": "MC",
            "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "91234567A",
            "payer": {"name": "Medi-Cal", "id": "610442"}}


class Clocks:
    def __init__(self) -> None:
        self.wall = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def names(root: Path, folder: str) -> list[str]:
    return sorted(p.name for p in (root / folder).iterdir() if not p.name.endswith(".part"))


def sandbox(root: Path, clocks: Clocks) -> Sandbox:
    box = Sandbox(root / "clearinghouse", root / "state" / "sandbox", PAYERS, seed=42,
                  timing=Timing(ack_delay_s=1, remit_delay_s=2), now=clocks.now, monotonic=clocks.monotonic)
    box.start()
    return box


def every_file_clean(root: Path) -> None:
    for folder in ("inbound/acks", "inbound/remits"):
        for path in (root / folder).iterdir():
            assert checked(path.read_text(), path.suffix[1:]) == [], path.name


async def test_loop_answers_then_remits_and_survives_a_restart(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    ch = tmp_path / "clearinghouse"
    first = batch(
        claim("AET1", "60054", line("99213", "150.00"), member="W123456789", payer={"name": "Aetna", "id": "60054"}),
        claim("MCR1", "01182", line("99213", "150.00"), member="1EG4TE5MK73", claim_filing_indicator="MB",
              payer={"name": "Medicare", "id": "01182"}, other_payers=[MEDI_CAL]),
        icn=201,
    )
    await box.exchange.write("outbound", "000000201.837", render_837p(first).encode())

    assert await box.poll_once() == 0  # the acknowledgment delay has not passed
    clocks.advance(1)
    await box.poll_once()
    assert names(ch, "inbound/acks") == ["000000201.277", "000000201.999"]
    assert names(ch, "outbound") == []
    assert names(ch, "archive/outbound") == ["000000201.837"]
    assert names(ch, "inbound/remits") == []
    assert read_999((ch / "inbound/acks/000000201.999").read_text()).group_code == GroupAckCode.ACCEPTED
    acks = {c.patient_control_number: c for c in read_277ca((ch / "inbound/acks/000000201.277").read_text()).claims}
    assert {k: c.outcome for k, c in acks.items()} == {"AET1": "accepted", "MCR1": "accepted"}

    clocks.advance(2)
    await box.poll_once()
    assert names(ch, "inbound/remits") == ["000000201-01182.835", "000000201-60054.835"]
    aetna = read_835((ch / "inbound/remits/000000201-60054.835").read_text()).claims[0]
    assert aetna.payer_claim_control_number == acks["AET1"].payer_claim_control_number
    assert aetna.service_lines[0].line_control_number == "LN1-99213"

    # A restart keeps the pending crossover 835 and the member's accumulators.
    restarted = sandbox(tmp_path, clocks)
    clocks.advance(2)
    await restarted.poll_once()
    assert "000000201-610442-crossover.835" in names(ch, "inbound/remits")
    crossover = read_835((ch / "inbound/remits/000000201-610442-crossover.835").read_text()).claims[0]
    assert crossover.status == ClaimStatus.PROCESSED_AS_SECONDARY
    assert restarted.state.deductible_met["60054|W123456789"] > 0

    # A replacement claim: the 835 reverses the original payment and pays the correction.
    replacement = batch(
        claim("AET1", "60054", line("99213", "120.00"), member="W123456789", payer={"name": "Aetna", "id": "60054"},
              frequency="7", payer_claim_control_number=aetna.payer_claim_control_number),
        icn=202,
    )
    await restarted.exchange.write("outbound", "000000202.837", render_837p(replacement).encode())
    await restarted.poll_once()
    clocks.advance(1)
    await restarted.poll_once()
    assert "000000202.277" in names(ch, "inbound/acks")
    clocks.advance(2)
    await restarted.poll_once()
    reversal, corrected = read_835((ch / "inbound/remits/000000202-60054.835").read_text()).claims
    assert reversal.status == ClaimStatus.REVERSAL and reversal.paid == -aetna.paid
    assert reversal.payer_claim_control_number == aetna.payer_claim_control_number
    assert corrected.status == ClaimStatus.PROCESSED_AS_PRIMARY and corrected.charge == D("120.00")
    every_file_clean(ch)


async def test_a_structurally_bad_file_gets_only_a_rejecting_999(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    text = render_837p(batch(claim("C1", "60054", member="W123456789"), icn=301)).replace("CLM*C1*150*", "CLM*C1*9*")
    await box.exchange.write("outbound", "000000301.837", text.encode())
    clocks.advance(5)
    await box.poll_once()
    clocks.advance(10)
    await box.poll_once()
    ch = tmp_path / "clearinghouse"
    assert names(ch, "inbound/acks") == ["000000301.999"]
    assert names(ch, "inbound/remits") == []
    assert read_999((ch / "inbound/acks/000000301.999").read_text()).group_code == GroupAckCode.REJECTED
    every_file_clean(ch)


def test_the_process_app_is_ready_and_runs_the_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCM_SANDBOX_POLL_S", "0.05")
    box = Sandbox(tmp_path / "ch", tmp_path / "state", PAYERS, timing=Timing(ack_delay_s=0, remit_delay_s=0))
    with TestClient(create_app(box)) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").json()["status"] == "ok"
        FolderClearinghouse(tmp_path / "ch").root.joinpath("outbound", "000000401.837").write_text(
            render_837p(batch(claim("C1", "60054", member="W123456789"), icn=401)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(names(tmp_path / "ch", "inbound/remits")) < 1:
            time.sleep(0.05)
        assert names(tmp_path / "ch", "inbound/acks") == ["000000401.277", "000000401.999"]
        assert names(tmp_path / "ch", "inbound/remits") == ["000000401-60054.835"]


def test_rcm_up_runs_python_m_sandbox_which_answers_readyz(tmp_path: Path) -> None:
    assert any(p.name == "sandbox" and p.module == "sandbox" and not p.consumes for p in PROCESSES)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RCM_STATE_DIR": str(tmp_path), "RCM_SANDBOX_HTTP_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "sandbox"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200
        assert (tmp_path / "clearinghouse" / "inbound" / "remits").is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
