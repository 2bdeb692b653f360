"""The payer master's `poa_required` in Postgres: an installation upgraded to migration 0005 keeps
requiring POA of the payers it had loaded; the claims store writes the flag and reads it back with
the payer; `rcm payers load` takes it from the file and `rcm payers list` shows it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.chassis.db import create_pool
from services.chassis.settings import Settings
from services.claims.app import DEFINITION
from services.claims.domain.payers import PayerConfig
from services.claims.store import ClaimsStore
from tests.integration.test_claims_flow import cli
from tests.support.upgrades import installed_before, upgrade

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AETNA = PayerConfig("60054", "Aetna", "CI", 0, 90, 30)


async def test_payers_loaded_before_0005_require_poa_and_a_load_sets_the_flag(platform: Settings) -> None:
    async with installed_before(platform, DEFINITION, "service/0005") as (conn, later):
        await conn.execute(
            "INSERT INTO payers (payer_id, name, claim_filing_indicator, bill_hold_days, timely_filing_days,"
            " follow_up_days, fee_schedule, loaded_at) VALUES ('60054', 'Aetna', 'CI', 0, 90, 30, NULL, $1)", AT)
    # 0006 (eligibility) adds the payers' `eligibility` switch: true for payers loaded before it.
    assert later[:2] == ["service/0005_payer_poa_required.sql", "service/0006_eligibility.sql"]
    assert await upgrade(platform, DEFINITION) == later

    pool = await create_pool(platform.database_url("claims"), max_size=2)
    try:
        async with pool.acquire() as conn:
            assert await ClaimsStore(conn).get_payer("60054") == AETNA  # poa_required: the column's default
            async with conn.transaction():
                await ClaimsStore(conn).upsert_payers([replace(AETNA, poa_required=False)], AT)
            assert await ClaimsStore(conn).get_payer("60054") == replace(AETNA, poa_required=False)
            [listed] = await ClaimsStore(conn).list_payers()
            assert (listed["payer_id"], listed["poa_required"]) == ("60054", False)
            async with conn.transaction():
                await ClaimsStore(conn).upsert_payers([AETNA], AT)
            assert (await ClaimsStore(conn).get_payer("60054")) == AETNA
            assert await conn.fetchval("SELECT poa_required FROM payers WHERE payer_id = '60054'") is True
    finally:
        await pool.close()


async def test_rcm_payers_load_reads_the_flag_from_the_file(platform: Settings, cli_env: None, tmp_path: Path) -> None:
    await upgrade(platform, DEFINITION)  # nothing left when the test above ran first
    master = tmp_path / "payers.yaml"
    master.write_text('payers:\n  - {payer_id: "60054", name: Aetna, claim_filing_indicator: CI, poa_required: false}\n'
                      '  - {payer_id: "94036", name: Blue Shield of California, claim_filing_indicator: BL}\n')
    loaded = await cli(["payers", "load", str(master), "--json"])
    assert loaded.exit_code == 0, loaded.output
    listed = json.loads((await cli(["payers", "list", "--json"])).stdout)
    assert [(p["payer_id"], p["poa_required"]) for p in listed] == [("60054", False), ("94036", True)]
    master.write_text('payers:\n  - {payer_id: "60054", name: Aetna, claim_filing_indicator: CI, poa_required: "no"}\n')
    refused = await cli(["payers", "load", str(master)])
    assert refused.exit_code == 1 and "payers[0].poa_required: true or false required" in refused.output
