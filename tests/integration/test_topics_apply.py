"""`rcm topics apply|describe` against a real broker, on topics of a prefix of their own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from typer.testing import CliRunner

from cli.main import app as rcm
from services.chassis.settings import Settings, get_settings
from services.chassis.topic_plan import Cluster
from services.chassis.topics import CATALOG, connected, delete_prefixed_topics, load_catalog, observe, reconcile
from tests.support import infra as infra_support

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_prefix(infra: infra_support.Infra, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    settings = infra_support.isolated_settings(infra)
    for name, value in (("RCM_KAFKA_BOOTSTRAP", settings.bootstrap), ("RCM_TOPIC_PREFIX", settings.topic_prefix),
                        ("RCM_TOPIC_REPLICATION_FACTOR", "1")):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield settings
    finally:
        get_settings.cache_clear()
        await asyncio.wait_for(delete_prefixed_topics(settings), 30)


async def topics(*args: str) -> tuple[int, Any]:
    result = await asyncio.to_thread(CliRunner().invoke, rcm, ["topics", *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def actions(plan: list[dict[str, str]]) -> dict[str, str]:
    return {p["topic"]: p["action"] for p in plan}


async def cluster(settings: Settings) -> Cluster:
    async with connected(settings) as admin:
        return await observe(admin, [settings.topic(t.name) for t in load_catalog()])


async def test_apply_creates_converges_and_reports_drift(own_prefix: Settings, tmp_path: Path) -> None:
    settings = own_prefix
    every = {settings.topic(t.name) for t in load_catalog()}

    code, plan = await topics("apply")
    assert code == 0 and actions(plan) == dict.fromkeys(every, "create")
    code, plan = await topics("apply")
    assert code == 0 and actions(plan) == dict.fromkeys(every, "none")

    claims, charges = settings.topic("rcm.claims.v1"), settings.topic("rcm.charges.v1")
    before = await cluster(settings)
    # An operator's own config on a topic (kafka-configs.sh --add-config) that the catalog does not name.
    async with connected(settings) as admin:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, charges,
                                                  {**before.topics[charges].overrides, "segment.ms": "3600000"})])
    for _ in range(40):  # the broker's metadata follows its controller a moment later
        if (await cluster(settings)).topics[charges].overrides.get("segment.ms") == "3600000":
            break
        await asyncio.sleep(0.25)

    raw = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    for topic in raw["topics"]:
        if topic["name"] == "rcm.claims.v1":
            topic["partitions"] = 4
        if topic["name"] == "rcm.charges.v1":
            topic["configs"]["retention.ms"] = 86400000
    changed = tmp_path / "topics.yaml"
    changed.write_text(yaml.safe_dump(raw), encoding="utf-8")

    code, plan = await topics("apply", "--dry-run", "--file", str(changed))
    assert code == 0
    assert actions(plan) == {**dict.fromkeys(every, "none"), claims: "add_partitions", charges: "alter_config"}
    unchanged = await cluster(settings)
    assert unchanged.topics[claims].partitions == 3
    assert unchanged.topics[charges].configs["retention.ms"] == "2592000000"

    code, plan = await topics("apply", "--file", str(changed))
    assert code == 0 and actions(plan)[claims] == "add_partitions" and actions(plan)[charges] == "alter_config"
    after = await cluster(settings)
    assert after.topics[claims].partitions == 4
    assert after.topics[charges].configs["retention.ms"] == "86400000"
    assert after.topics[charges].configs["segment.ms"] == "3600000"  # not reset by the whole-set alter
    code, plan = await topics("apply", "--file", str(changed))
    assert code == 0 and actions(plan) == dict.fromkeys(every, "none")

    code, described = await topics("describe", "--file", str(changed))
    assert code == 0
    row = next(t for t in described["topics"] if t["topic"] == claims)
    assert (row["partitions"], row["replication_factor"], row["min_insync_replicas"]) == (4, 1, "1")
    assert {g["service"] for g in described["groups"]} == {"charges", "claims", "remits", "notifications"}
    assert all(g["lag"] is not None for g in described["groups"])

    # Back to the catalog's 3 partitions: Kafka cannot remove them, so drift, exit 1, nothing changed.
    code, plan = await topics("apply")
    assert code == 1
    assert actions(plan)[claims] == "drift" and actions(plan)[charges] == "alter_config"
    drift = next(p for p in plan if p["topic"] == claims)
    assert "cannot remove partitions" in drift["detail"]
    assert (await cluster(settings)).topics[claims].partitions == 4
    code, described = await topics("describe")
    assert code == 1
    assert [p["action"] for t in described["topics"] if t["topic"] == claims for p in t["plan"]] == ["drift"]


async def test_two_applies_at_once_both_succeed(own_prefix: Settings) -> None:
    """Two topic jobs (or `rcm up` and a job) at once: the second finds the work done, not an error."""
    catalog = load_catalog()
    first, second = await asyncio.gather(reconcile(own_prefix, catalog), reconcile(own_prefix, catalog))
    assert {s.action for s in first} | {s.action for s in second} <= {"create", "none"}
    more = [replace(t, partitions=t.partitions + 1) for t in catalog]
    await asyncio.gather(reconcile(own_prefix, more), reconcile(own_prefix, more))
    # The broker's metadata follows its controller a moment after the partitions were added.
    for _ in range(40):
        if {s.action for s in await reconcile(own_prefix, more, dry_run=True)} == {"none"}:
            break
        await asyncio.sleep(0.25)
    else:
        pytest.fail(f"still planned after concurrent applies: {await reconcile(own_prefix, more, dry_run=True)}")
