"""The chaos suite (issue 16): a seeded clinic workload of more than 5,000 intake events through
every service while the harness kills and restarts processes, the broker and the database, then
the end state is compared with a fault-free run of the very same records.

Faults, drawn from the seed, while the workload flows:
* kill -9 of each of the four services at a random moment; each restart is armed with one of the
  hooked crash points of services/chassis/faults.py (`<point>@<n>`: exit 137 at its n-th pass);
* SIGTERM while records are being handled (the graceful stop must finish or abandon cleanly);
* the broker killed with kill -9 and started again on the same data folder;
* Postgres stopped with `pg_ctl -m immediate` (crash recovery) and started again;
* consumer-group rebalances: an extra instance of a service joins its group, then leaves.
A small supervisor restarts whatever exited. Then: zero lag and empty outboxes, every input
accounted for exactly once, no ledger row duplicated, account cards, claims and balances equal to
the fault-free run's, `rcm audit` clean. The negative control plants the at-most-once bug
(offsets committed before processing) and the same accounting must report the loss.

Figures: printed, and written as JSON where RCM_CHAOS_REPORT points (docs/reliability.md).
Size and pace: RCM_CHAOS_ENCOUNTERS (default 1,120: 5,000+ intake events), RCM_CHAOS_SEED.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.chassis import faults
from services.chassis.settings import SERVICES
from services.chassis.topics import consumer_lag
from tests.chaos import harness
from tests.chaos.harness import OwnInfra, Platform

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.timeout(1800)]

ENCOUNTERS = int(os.environ.get("RCM_CHAOS_ENCOUNTERS", "1120"))
SEED = int(os.environ.get("RCM_CHAOS_SEED", "16"))
BROKEN = 12  # records without a valid envelope: dead-lettered
# Faults land in this window after the first record; publishing is spread over it too.
FAULT_WINDOW_S = float(os.environ.get("RCM_CHAOS_WINDOW_S", "150"))
CRASH_POINTS = (faults.CONSUMER_AFTER_COMMIT, faults.HANDLER_BEFORE_COMMIT, faults.RELAY_AFTER_ACK)


@dataclass
class Fault:
    at_s: float
    kind: str
    target: str = ""
    arm: str | None = None  # the crash point the restart is given


def schedule(rng: random.Random) -> list[Fault]:
    """The seeded fault plan: every kind at least once, spread over the window, the broker and
    database faults apart so each recovery is its own."""
    plan: list[Fault] = []
    services = list(SERVICES)
    rng.shuffle(services)
    points = [*CRASH_POINTS, *rng.sample(CRASH_POINTS, 3)]
    for i, service in enumerate([*services, *rng.sample(services, 2)]):
        plan.append(Fault(rng.uniform(5, FAULT_WINDOW_S), "kill -9", service,
                          f"{points[i]}@{rng.randint(3, 40)}"))
    for service in ("charges", "claims"):
        plan.append(Fault(rng.uniform(5, FAULT_WINDOW_S), "SIGTERM mid-handler", service))
    plan.append(Fault(rng.uniform(30, 60), "kafka kill -9 + restart"))
    plan.append(Fault(rng.uniform(90, 120), "postgres immediate restart"))
    for service in ("charges", "notifications"):
        plan.append(Fault(rng.uniform(5, FAULT_WINDOW_S - 30), "rebalance (extra instance)", service))
    return sorted(plan, key=lambda f: f.at_s)


async def busy(platform: Platform, service: str, timeout_s: float = 20) -> None:
    """Until the service has records to handle (so a SIGTERM lands mid-handler), at most timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if sum((await consumer_lag(platform.settings, service)).values()) > 0:
                return
        except Exception:
            await asyncio.sleep(1)  # the broker may be restarting: ask again
        await asyncio.sleep(0.2)


async def inject(platform: Platform, plan: list[Fault], started: float) -> Counter[str]:
    injected: Counter[str] = Counter()
    leaving: list[Awaitable[None]] = []
    infra = platform.infra
    assert isinstance(infra, OwnInfra)  # the broker and the database are the suite's to kill
    for fault in plan:
        await asyncio.sleep(max(0.0, started + fault.at_s - time.monotonic()))
        if fault.kind == "kill -9":
            if fault.arm:
                platform.faults[fault.target] = fault.arm  # the restart crashes at this point
            platform.signal(fault.target, signal.SIGKILL)
        elif fault.kind == "SIGTERM mid-handler":
            await busy(platform, fault.target)
            platform.signal(fault.target, signal.SIGTERM)
        elif fault.kind == "kafka kill -9 + restart":
            await asyncio.to_thread(infra.kill_kafka)
            await asyncio.sleep(3)
            await asyncio.to_thread(infra.start_kafka)
        elif fault.kind == "postgres immediate restart":
            await asyncio.to_thread(infra.restart_postgres_immediate)
        else:
            extra = platform.join_extra(fault.target)

            async def leave(proc: harness.Proc = extra) -> None:
                await asyncio.sleep(25)
                platform.leave_extra(proc)

            leaving.append(leave())
        injected[f"{fault.kind} {fault.target}".strip()] += 1
    await asyncio.gather(*leaving)
    return injected


@pytest.fixture(scope="module")
async def infras() -> AsyncIterator[tuple[OwnInfra, OwnInfra]]:
    """Two Kafka + Postgres pairs of the suite's own: one for the fault-free run, one to break."""
    pair = (OwnInfra.create(), OwnInfra.create())
    try:
        await asyncio.gather(*(asyncio.to_thread(i.start) for i in pair))
        await asyncio.gather(*(i.tune_postgres() for i in pair))
        yield pair
    finally:
        for infra in pair:
            infra.destroy()


async def test_chaos_workload_ends_exactly_as_a_fault_free_run(infras: tuple[OwnInfra, OwnInfra]) -> None:
    began = time.monotonic()
    today = datetime.now(UTC).date()
    inputs = harness.workload(ENCOUNTERS, SEED, today, BROKEN)
    intake_events = sum(1 for i in inputs if i.kind == "intake")
    assert intake_events >= 5000 or "RCM_CHAOS_ENCOUNTERS" in os.environ, intake_events
    plan = schedule(random.Random(SEED))
    base, chaos = Platform(infras[0], "base"), Platform(infras[1], "chaos")
    try:
        base_run, chaos_run = await asyncio.gather(
            harness.run(base, inputs, FAULT_WINDOW_S, None),
            harness.run(chaos, inputs, FAULT_WINDOW_S, lambda started: inject(chaos, plan, started)),
        )
        accounting = await harness.account(chaos.settings, inputs)
        expected, got = await harness.books(base), await harness.books(chaos)
        audit = await asyncio.to_thread(chaos.rcm, "audit", "--json")
    finally:
        await asyncio.gather(base.stop_all(), chaos.stop_all())
    injected = chaos_run["injected"]
    figures = {
        "seed": SEED, "encounters": ENCOUNTERS, "intake_events": intake_events, "broken_records": BROKEN,
        **accounting.as_json(),
        "faults_injected": dict(sorted(injected.items())),
        "process_exits": dict(sorted(chaos.exits.items())),
        "restarts": dict(sorted(chaos.restarts.items())),
        "resent_chunks": {"fault_free": base_run["resent_chunks"], "chaos": chaos_run["resent_chunks"]},
        "rows_compared": {k: len(v) for k, v in got.items()},
        "fault_free_s": {k: base_run[k] for k in ("publish_s", "flow_s", "settle_s")},
        "chaos_s": {k: chaos_run[k] for k in ("publish_s", "flow_s", "settle_s")},
        "duration_s": round(time.monotonic() - began, 1),
    }
    print("chaos figures:", json.dumps(figures, indent=2))
    if os.environ.get("RCM_CHAOS_REPORT"):
        Path(os.environ["RCM_CHAOS_REPORT"]).write_text(json.dumps(figures, indent=2) + "\n")

    assert accounting.lost == [] and accounting.duplicated == [], figures
    assert accounting.dead_lettered == BROKEN and accounting.rejected > 0, figures
    assert harness.differences(expected, got) == {}, harness.differences(expected, got)
    assert audit.returncode == 0 and all(c["differences"] == [] for c in json.loads(audit.stdout)), audit.stdout[-3000:]
    # Every kind of fault was injected, and every crash point was actually passed and fired.
    kinds = {k.split(" ")[0] for k in injected}
    assert {"kill", "SIGTERM", "kafka", "postgres", "rebalance"} <= kinds, injected
    assert {s for s in SERVICES if injected[f"kill -9 {s}"]} == set(SERVICES), injected
    assert {f"crash point {p}" for p in CRASH_POINTS} <= set(chaos.exits), chaos.exits


async def test_negative_control_offsets_committed_before_processing_are_reported_lost(
    infras: tuple[OwnInfra, OwnInfra],
) -> None:
    """The same harness and accounting, with the at-most-once bug planted in the consumer: the
    offset is committed before the record is processed, then the process crashes. The loss must
    show (a harness that cannot see it proves nothing)."""
    platform = Platform(infras[1], "neg")
    inputs = harness.workload(40, SEED + 1, datetime.now(UTC).date(), 2)
    platform.faults["charges"] = f"{faults.COMMIT_BEFORE_PROCESS}@25"
    # One record a batch: the planted commit then skips exactly one record, and the 25th pass
    # comes within this small workload (a batch of hundreds would lose a whole poll, or never
    # reach its 25th pass).
    platform.env["RCM_CONSUMER_BATCH_SIZE"] = "1"
    try:
        await platform.provision()
        await platform.start_all(("charges",))
        platform.load_reference_data(payers=False)  # claims does not run here
        await harness.publish(platform.settings, inputs)
        await harness.settle(platform.settings, quiet_s=5, timeout_s=300, services=("charges",))
        accounting = await harness.account(platform.settings, inputs)
    finally:
        await platform.stop_all()
    print("negative control:", json.dumps(accounting.as_json()))
    assert platform.exits == {f"crash point {faults.COMMIT_BEFORE_PROCESS}": 1}, platform.exits
    assert len(accounting.lost) == 1, accounting.as_json()  # exactly the record committed, never processed
    assert accounting.duplicated == []
