"""The payer master's `poa_required` in Postgres: an installation upgraded to migration 0005 keeps
requiring POA of the payers it had loaded; `rcm payers load` stores the flag and the claims store
reads it back with the payer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.chassis import migrations
from services.chassis.db import create_pool
from services.chassis.settings import Settings
from services.claims.app import DEFINITION
from services.claims.domain.payers import PayerConfig
from services.claims.store import ClaimsStore

pytestmark = pytest.mark.integration
AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
AETNA = PayerConfig("60054", "Aetna", "CI", 0, 90, 30)


async def test_payers_loaded_before_0005_require_poa_and_a_load_sets_the_flag(platform: Settings) -> None:
    wanted = migrations.service_migrations(DEFINITION.migrations)
    before = [m for m in wanted if not m.name.startswith("service/") or m.name < "service/0005"]
    later = [m.name for m in wanted if m not in before]
    async with migrations.owner_connection(platform, "claims") as conn:
        await migrations.apply(conn, "claims", before)
        await conn.execute(
            "INSERT INTO payers (payer_id, name, claim_filing_indicator, bill_hold_days, timely_filing_days,"
            " follow_up_days, fee_schedule, loaded_at) VALUES ('60054', 'Aetna', 'CI', 0, 90, 30, NULL, $1)", AT)
    assert later == ["service/0005_payer_poa_required.sql"]
    assert await migrations.migrate(platform, "claims", wanted, DEFINITION.append_only) == later

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
