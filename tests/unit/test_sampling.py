"""The metrics sampler's pure parts: each part on its own, a failure logged once per kind and
never raised, the last values kept; ages never negative."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, Gauge

from services.chassis.sampling import FailureLog, age_s, sample
from services.remits.background import BUCKET_LABELS
from services.remits.domain.balances import BUCKETS

AT = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)


def test_age_is_seconds_since_and_zero_for_nothing_or_a_clock_behind() -> None:
    assert age_s(AT, AT - timedelta(hours=25)) == 90000.0
    assert age_s(AT, None) == 0.0
    assert age_s(AT, AT + timedelta(seconds=3)) == 0.0


def test_a_failure_is_logged_once_per_kind_and_once_when_it_reads_again(caplog: pytest.LogCaptureFixture) -> None:
    failures = FailureLog("claims")
    with caplog.at_level(logging.INFO, logger="services.chassis.sampling"):
        assert failures.failed("consumer_lag", OSError("down"))
        assert not failures.failed("consumer_lag", OSError("still down"))
        assert failures.failed("consumer_lag", TimeoutError())  # another kind
        assert failures.failed("outbox", OSError("down"))  # another part
        assert failures.succeeded("consumer_lag")
        assert not failures.succeeded("consumer_lag")
        assert failures.failed("consumer_lag", TimeoutError())  # failing again after a recovery
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("metrics sample failed; keeping the last values and retrying at each pass") == 4
    assert messages.count("metrics sample reads again") == 1
    # The error's class only, never its text (it may hold values).
    assert all("down" not in r.getMessage() and getattr(r, "error_class", "OSError") in ("OSError", "TimeoutError")
               for r in caplog.records)


async def test_a_failing_or_hanging_part_keeps_its_last_value_and_the_others_are_set() -> None:
    registry = CollectorRegistry()
    good = Gauge("good", "", registry=registry)
    bad = Gauge("bad", "", registry=registry)
    slow = Gauge("slow", "", registry=registry)
    bad.set(7)
    slow.set(3)
    calls = {"good": 0}

    async def reads() -> None:
        calls["good"] += 1
        good.set(calls["good"])

    async def breaks() -> None:
        raise ConnectionRefusedError

    async def hangs() -> None:
        await asyncio.sleep(5)
        slow.set(99)

    failures = FailureLog("remits")
    for _ in range(2):
        await sample({"good": reads, "bad": breaks, "slow": hangs}, failures, timeout_s=0.05)
    assert (good._value.get(), bad._value.get(), slow._value.get()) == (2, 7, 3)
    assert failures.failing == {"bad": "ConnectionRefusedError", "slow": "TimeoutError"}


def test_the_gauge_buckets_are_the_reports_with_the_last_named_by_its_days() -> None:
    assert [BUCKET_LABELS.get(b, b) for b in BUCKETS] == ["0-30", "31-60", "61-90", "91-120", "121+"]
