"""`rcm bench`'s statement counter on the real Postgres: what a service's login role ran, in the
measured database only. The local stack loads pg_stat_statements (deploy/local/postgres.sh); a
Postgres given from outside may not, and then the counter must say it has nothing, not zero."""

from __future__ import annotations

import asyncpg

from bench.statements import Statements, by_service
from services.chassis.settings import Settings
from tests.support.infra import Infra


async def test_counts_each_services_statements_in_its_database(platform: Settings, infra: Infra) -> None:
    async with Statements(platform.admin_url) as sql:
        if infra.source != "local stack":
            assert sql.available == (await sql.snapshot() is not None)
            return
        assert sql.available, "the local stack's Postgres must load pg_stat_statements (deploy/local/postgres.sh)"
        before = await sql.snapshot()
        conn = await asyncpg.connect(platform.database_url("claims"))
        try:
            for n in range(3):
                await conn.fetchval("SELECT $1::int + 1", n)
            assert await conn.fetchval("SELECT current_user") == "rcm_claims"
        finally:
            await conn.close()
        admin = await asyncpg.connect(platform.admin_url)
        try:
            await admin.fetchval("SELECT 1")  # the admin role is nobody's service
        finally:
            await admin.close()
        ran = by_service(before, await sql.snapshot(), ("claims", "remits"))
    assert ran is not None
    assert ran["claims"].calls == 4
    assert ran["claims"].rows == 4
    assert ran["remits"].calls == 0
