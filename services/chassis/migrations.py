"""Forward-only SQL migrations per service schema, and the privileges of the service's role.

Files are applied in name order, one transaction each, under a session advisory lock so two
runners never collide. Each applied file's checksum is recorded; a changed file is refused
rather than silently diverging from what production ran.

`migrate` runs them as the schema's owner (`rcm_<service>_owner`, NOLOGIN, reached with the admin
connection's SET ROLE), never as the service's login role: the login role gets USAGE and the DML
it needs, and only SELECT and INSERT on its append-only tables (docs/security.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.chassis.logs import ids
from services.chassis.settings import ServiceName, Settings, owner_role

log = logging.getLogger(__name__)

CHASSIS_MIGRATIONS = Path(__file__).with_name("migrations")
# The chassis tables no service role may change or remove rows of (operator actions).
CHASSIS_APPEND_ONLY: tuple[str, ...] = ("audit_log",)


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


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def grant_service_privileges(
    conn: asyncpg.Connection, schema: str, login: str, owner: str, append_only: tuple[str, ...]
) -> None:
    """Give the login role exactly what the service needs in its schema, from scratch each time
    (idempotent): USAGE, SELECT/INSERT/UPDATE/DELETE, sequences; SELECT and INSERT only on the
    append-only tables and the migration record; TRUNCATE, DDL and GRANT never. Run by the owner
    or the admin."""
    s, who = _ident(schema), _ident(login)
    async with conn.transaction():
        # Instances starting together would update the same catalog rows ("tuple concurrently
        # updated"): one at a time, under the migration runners' lock.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"rcm-migrations:{schema}")
        await conn.execute(f"REVOKE ALL ON SCHEMA {s} FROM PUBLIC, {who}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {s} TO {who}")
        await conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC, {who}")
        await conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {who}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {who}")
        await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON {s}.schema_migrations FROM {who}")
        for table in (*CHASSIS_APPEND_ONLY, *append_only):
            await conn.execute(f"REVOKE UPDATE, DELETE ON {s}.{_ident(table)} FROM {who}")
        # Tables of later migrations get the DML at once; an append-only one is narrowed by the
        # call after its migration (the service's `append_only` names it).
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}"
        )
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {_ident(owner)} IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {who}"
        )


@asynccontextmanager
async def owner_connection(settings: Settings, service: ServiceName) -> AsyncIterator[asyncpg.Connection]:
    """The admin connection (`RCM_ADMIN_DATABASE_URL`) acting as the service's schema owner."""
    conn = await asyncpg.connect(settings.admin_url)
    try:
        await conn.execute(f"SET ROLE {_ident(owner_role(service))}")
        await conn.execute(f"SET search_path TO {_ident(service)}")
        yield conn
    finally:
        await conn.close()


async def migrate(
    settings: Settings, service: ServiceName, migrations: list[Migration], append_only: tuple[str, ...] = ()
) -> list[str]:
    """Apply the service's pending migrations as its schema owner, then (re)grant its login role,
    which cannot create, alter or drop anything in its schema itself."""
    async with owner_connection(settings, service) as conn:
        done = await apply(conn, service, migrations)
        await grant_service_privileges(
            conn, service, settings.database_role(service), owner_role(service), append_only
        )
        return done


async def pending(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """The migrations not applied yet (or applied with another checksum), read as any role that may
    SELECT the schema's migration record."""
    # Before the first `rcm migrate` the role has no USAGE on its schema yet: nothing is applied.
    if not await conn.fetchval("SELECT has_schema_privilege($1, 'USAGE')", schema) or \
            await conn.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations") is None:
        return [m.name for m in migrations]
    rows = await conn.fetch(f"SELECT name, checksum FROM {_ident(schema)}.schema_migrations")
    applied = {r["name"]: r["checksum"] for r in rows}
    return [m.name for m in migrations if applied.get(m.name) != m.checksum]


async def prepare_schema(
    settings: Settings, service: ServiceName, migrations: list[Migration], append_only: tuple[str, ...] = ()
) -> None:
    """At a service's start: migrate (RCM_MIGRATE_ON_START, the default), or only check, with the
    service's own role, that `rcm migrate` left nothing pending."""
    if settings.migrate_on_start:
        await migrate(settings, service, migrations, append_only)
        return
    conn = await asyncpg.connect(settings.database_url(service))
    try:
        missing = await pending(conn, service, migrations)
    finally:
        await conn.close()
    if missing:
        raise MigrationError(
            f"{len(missing)} migration(s) of schema {service} not applied ({', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}) and RCM_MIGRATE_ON_START is false: run `rcm migrate {service}`")
