"""`rcm publish` against a real broker: the right topic, key and CloudEvents headers, or nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from schemas import examples as ex
from schemas.envelope import Envelope
from services.chassis.settings import Settings
from tests.support.kafka_io import eventually, read_topic

pytestmark = pytest.mark.integration


async def test_publish_sends_a_valid_encounter_with_key_and_headers(
    platform: Settings, cli_env: None, tmp_path: Path
) -> None:
    file = tmp_path / "encounter.json"
    file.write_text(json.dumps({"type": "rcm.intake.EncounterRegistered.v1",
                                "data": ex.ENCOUNTER | {"source_encounter_id": "pub-enc-1"}}))
    result = await asyncio.to_thread(
        CliRunner().invoke, rcm, ["publish", "rcm.intake.encounters.v1", str(file), "--json"]
    )
    assert result.exit_code == 0, result.output
    records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def arrived() -> bool:
        nonlocal records
        records = [r for r in await read_topic(platform, "rcm.intake.encounters.v1") if r[0] == b"pub-enc-1"]
        return bool(records)

    await eventually(arrived, timeout_s=30, what="the published record")
    assert len(records) == 1
    _, value, headers = records[0]
    envelope = Envelope.from_headers(headers)
    assert envelope.type == "rcm.intake.EncounterRegistered.v1" and envelope.subject == "pub-enc-1"
    assert json.loads(value)["source_encounter_id"] == "pub-enc-1"


async def test_publish_refuses_invalid_input_and_non_intake_topics(
    platform: Settings, cli_env: None, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "rcm.intake.EncounterRegistered.v1",
                               "data": ex.ENCOUNTER | {"source_encounter_id": "pub-enc-2", "place_of_service": "1"}}))
    invalid = await asyncio.to_thread(CliRunner().invoke, rcm, ["publish", "rcm.intake.encounters.v1", str(bad)])
    assert invalid.exit_code == 1 and "place_of_service" in invalid.output
    refused = await asyncio.to_thread(CliRunner().invoke, rcm, ["publish", "rcm.claims.v1", str(bad)])
    assert refused.exit_code == 2
    assert not [r for r in await read_topic(platform, "rcm.intake.encounters.v1") if r[0] == b"pub-enc-2"]
