"""The migration runner against real Postgres: no-op re-runs, concurrent runners, changed files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from services.chassis import migrations
from services.chassis.settings import Settings

pytestmark = pytest.mark.integration


def _write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


async def test_rerun_is_a_noop_and_concurrent_runners_do_not_collide(platform: Settings, tmp_path: Path) -> None:
    _write(tmp_path, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY);")
    _write(tmp_path, "0002_more.sql", "INSERT INTO things VALUES (1);")
    wanted = migrations.service_migrations(tmp_path)
    async with migrations.owner_connection(platform, "claims") as first, \
            migrations.owner_connection(platform, "claims") as second:
        results = await asyncio.gather(
            migrations.apply(first, "claims", wanted), migrations.apply(second, "claims", wanted)
        )
        applied = sorted(results, key=len)
        assert applied[0] == []  # the runner that waited for the lock found nothing to do
        assert applied[1] == [m.name for m in wanted]
        assert await migrations.apply(first, "claims", wanted) == []
        assert await first.fetchval("SELECT count(*) FROM claims.things") == 1
        owner = await first.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'claims' AND tablename = 'things'"
        )
        # The schema's owner role, not the service's login role (docs/security.md).
        assert owner == "rcm_claims_owner"


async def test_a_changed_applied_file_is_refused(platform: Settings, tmp_path: Path) -> None:
    _write(tmp_path, "0001_widgets.sql", "CREATE TABLE widgets (id int);")
    async with migrations.owner_connection(platform, "remits") as conn:
        await migrations.apply(conn, "remits", migrations.discover("service", tmp_path))
        _write(tmp_path, "0001_widgets.sql", "CREATE TABLE widgets (id bigint);")
        with pytest.raises(migrations.MigrationError, match="was changed after it was applied"):
            await migrations.apply(conn, "remits", migrations.discover("service", tmp_path))


async def test_a_failing_file_leaves_nothing_behind(platform: Settings, tmp_path: Path) -> None:
    _write(tmp_path, "0001_half.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
    async with migrations.owner_connection(platform, "notifications") as conn:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await migrations.apply(conn, "notifications", migrations.discover("broken", tmp_path))
        assert await conn.fetchval("SELECT to_regclass('notifications.half')") is None
        assert await conn.fetchval(
            "SELECT count(*) FROM notifications.schema_migrations WHERE name LIKE 'broken/%'"
        ) == 0
