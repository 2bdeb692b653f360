"""Crash tests: a real process killed at the worst moment, then restarted (ARCHITECTURE rules 1-3)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.chassis import faults
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.chassis.topics import consumer_lag
from tests.support import testsvc
from tests.support.kafka_io import consumed, count, eventually, publish, read_topic
from tests.support.runtimes import running

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
EFFECTS = "SELECT count(*) FROM test_effects"


def spawn(settings: Settings, which: str, fault: str | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RCM_KAFKA_BOOTSTRAP": settings.bootstrap,
        "RCM_ADMIN_DATABASE_URL": settings.admin_url,
        "RCM_DATABASE_NAME": settings.database_name,
        "RCM_TOPIC_PREFIX": settings.topic_prefix,
        "RCM_OUTBOX_POLL_INTERVAL_S": "0.3",
        "RCM_LOG_LEVEL": "WARNING",
    }
    env.pop("RCM_FAULT", None)
    if fault:
        env["RCM_FAULT"] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.testsvc", which], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def wait_exit(proc: subprocess.Popen[bytes], timeout_s: float = 90) -> int:
    for _ in range(int(timeout_s * 4)):
        if proc.poll() is not None:
            return proc.returncode
        await asyncio.sleep(0.25)
    proc.kill()
    raise AssertionError("the process did not crash at its fault point")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
async def sink(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(testsvc.SINK, platform) as rt:
        yield rt


async def test_relay_crash_between_ack_and_mark_republishes_and_applies_once(
    platform: Settings, sink: Runtime
) -> None:
    crashing = spawn(platform, "relay", faults.RELAY_AFTER_ACK)
    try:
        for n in range(3):
            await publish(platform, testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=f"PA-RELAY-{n}"))
        assert await wait_exit(crashing) == 137
    finally:
        if crashing.poll() is None:
            crashing.kill()
    # The broker has the events, but the outbox still says they are unpublished.
    assert await count(platform, "remits", "SELECT count(*) FROM outbox WHERE published_at IS NULL") >= 1

    restarted = spawn(platform, "relay")
    try:
        async def all_applied() -> bool:
            return await count(platform, "notifications", EFFECTS) == 3

        await eventually(all_applied, timeout_s=90, what="three downstream effects")

        async def all_marked() -> bool:
            return await count(platform, "remits", "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        await eventually(all_marked, what="every outbox row marked")
    finally:
        stop(restarted)
    on_wire: list[bytes] = []

    async def all_on_the_wire() -> bool:
        on_wire[:] = [dict(h)["ce_id"] for _, _, h in await read_topic(platform, "rcm.patient-balances.v1")]
        return len(set(on_wire)) >= 3

    await eventually(all_on_the_wire, what="the three events on the topic")
    assert len(on_wire) > len(set(on_wire)) == 3  # republished with the same ids...
    await consumed(platform, "notifications", "rcm.patient-balances.v1")  # the sink has seen every copy
    assert await count(platform, "notifications", EFFECTS) == 3  # ...and applied once
    assert await count(platform, "remits", EFFECTS) == 3


async def test_consumer_killed_after_db_commit_before_offset_commit_has_no_double_effect(
    platform: Settings, sink: Runtime
) -> None:
    before = await count(platform, "remits", EFFECTS)
    crashing = spawn(platform, "relay", faults.CONSUMER_AFTER_COMMIT)
    try:
        event = await publish(platform, testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id="PA-CONSUMER-1"))
        assert await wait_exit(crashing) == 137
    finally:
        if crashing.poll() is None:
            crashing.kill()
    applied = "SELECT count(*) FROM test_effects WHERE event_id = $1"
    assert await count(platform, "remits", applied, event.id) == 1
    lag = await consumer_lag(platform, "remits")
    assert lag[platform.topic("rcm.intake.payments.v1")] == 1  # the offset was never committed

    restarted = spawn(platform, "relay")
    try:
        async def caught_up() -> bool:
            lag = await consumer_lag(platform, "remits")
            return lag[platform.topic("rcm.intake.payments.v1")] == 0

        await eventually(caught_up, timeout_s=90, what="the restarted consumer to commit past the record")
    finally:
        stop(restarted)
    assert await count(platform, "remits", applied, event.id) == 1
    assert await count(platform, "remits", EFFECTS) == before + 1
