"""Forward-only SQL migrations per service schema.

Files are applied in name order, one transaction each, under a session advisory lock so two
runners never collide. Each applied file's checksum is recorded; a changed file is refused
rather than silently diverging from what production ran.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.chassis.logs import ids

log = logging.getLogger(__name__)

CHASSIS_MIGRATIONS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    name: str  # "<track>/<file>", unique per schema
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(track: str, folder: Path) -> list[Migration]:
    return [Migration(f"{track}/{p.name}", p.read_text()) for p in sorted(folder.glob("*.sql"))]


def service_migrations(service_folder: Path) -> list[Migration]:
    """The chassis tables (outbox, inbox, parking, audit) first, then the service's own."""
    return discover("chassis", CHASSIS_MIGRATIONS) + discover("service", service_folder)


async def apply(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is pending; return the names applied. Runs as the connection's role."""
    lock_key = f"rcm-migrations:{schema}"
    await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock_key)
    try:
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
            " name text PRIMARY KEY, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch(f"SELECT name, checksum FROM {schema}.schema_migrations")
        applied = {r["name"]: r["checksum"] for r in rows}
        done: list[str] = []
        for migration in migrations:
            previous = applied.get(migration.name)
            if previous is not None:
                if previous != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.name} in schema {schema} was changed after it was applied;"
                        " add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            log.info("migration applied", extra=ids(migration=migration.name))
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock_key)
