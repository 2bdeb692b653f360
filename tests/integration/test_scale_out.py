"""Scale-out shown (issue 17 item 5, docs/scaling.md): the same seeded workload through the
platform with one instance of each service and with three (one consumer group each, topics of
three partitions) ends in the same books: charge ledger and outcomes, claims and their states,
patient balances, the remits ledger by account and by encounter, account cards, notifications.

The platforms run as `rcm up` runs them (each instance its own process) on the session's Kafka and
Postgres, through the chaos suite's harness (tests/chaos/harness.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.chassis.settings import SERVICES
from tests.chaos import harness
from tests.chaos.harness import GivenInfra, Platform
from tests.support.infra import Infra, teardown_isolated

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

ENCOUNTERS = int(os.environ.get("RCM_SCALE_ENCOUNTERS", "40"))
SEED = 17
INSTANCES = 3


@pytest.fixture(scope="module")
async def given(infra: Infra) -> AsyncIterator[GivenInfra]:
    with tempfile.TemporaryDirectory(prefix="rcm-scale-") as state:
        Path(state).chmod(0o755)
        yield GivenInfra(Path(state), infra.kafka_bootstrap, infra.admin_database_url)


async def through(platform: Platform, inputs: list[harness.Input]) -> dict[str, object]:
    """The workload through `platform` to rest; its books, and what each instance consumed."""
    try:
        # Spread over a few seconds, so the extra instances' partitions are assigned while it flows.
        await harness.run(platform, inputs, 10, None)
        state = await harness.books(platform)
        state["notifications"] = await harness.notification_counts(platform.settings)
        consumed = {key: await harness.received(proc) for key, proc in platform.procs.items()
                    if proc.name in SERVICES}
        return {"books": state, "consumed": consumed}
    finally:
        await platform.stop_all()
        await teardown_isolated(platform.settings)


async def test_three_instances_per_service_end_in_the_same_books_as_one(given: GivenInfra) -> None:
    inputs = harness.workload(ENCOUNTERS, SEED, datetime.now(UTC).date(), 2)
    one = await through(Platform(given, "one"), inputs)
    three = await through(Platform(given, "three", instances=INSTANCES), inputs)
    consumed = three["consumed"]
    assert isinstance(consumed, dict)
    # Really three consumers a group: every instance of every service took records of its own.
    assert sorted(consumed) == sorted(f"{s}-{k}" if k else s for s in SERVICES for k in range(INSTANCES))
    assert all(n > 0 for n in consumed.values()), consumed
    expected, got = one["books"], three["books"]
    assert isinstance(expected, dict) and isinstance(got, dict)
    assert harness.differences(expected, got) == {}, harness.differences(expected, got)
    assert expected["balances"] and expected["notifications"], expected  # the workload reached the patients
