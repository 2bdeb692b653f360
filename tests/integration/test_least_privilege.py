"""Least privilege in Postgres (issue 16, item 5): each service's login role reaches only its own
schema, gets only DML there (no DDL, no GRANT, no SET ROLE to the owner), and only reads and appends
to its append-only tables (audit_log everywhere, the ledgers, postings and histories).

Before the owner roles, each login role owned its schema: it could UPDATE ... WHERE false and
TRUNCATE its audit_log and ledgers (the triggers only refuse row updates and deletes), disable
their triggers, drop them and grant itself anything. The append-only, DDL and upgrade tests here
failed then; the cross-schema ones guard what REVOKE ... FROM PUBLIC already gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from devstack import provision
from services.charges.app import DEFINITION as CHARGES
from services.chassis import audit, migrations
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import SERVICES, ServiceName, Settings, get_settings, owner_role
from services.claims.app import DEFINITION as CLAIMS
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.remits.app import DEFINITION as REMITS
from tests.support import infra as infra_support

pytestmark = pytest.mark.integration

DEFINITIONS: dict[str, ServiceDefinition] = {d.name: d for d in (CHARGES, CLAIMS, REMITS, NOTIFICATIONS)}
APPEND_ONLY = [(s, t) for s in SERVICES for t in (*migrations.CHASSIS_APPEND_ONLY, *DEFINITIONS[s].append_only)]


async def _migrate(settings: Settings, service: ServiceName) -> list[str]:
    d = DEFINITIONS[service]
    return await migrations.migrate(settings, service, migrations.service_migrations(d.migrations), d.append_only)


@pytest.fixture(scope="module")
async def migrated(platform: Settings) -> Settings:
    for service in SERVICES:
        await _migrate(platform, service)
        # Twice, as every start does: the grants are rebuilt, not accumulated.
        assert await _migrate(platform, service) == []
    return platform


@pytest.fixture
async def as_role(migrated: Settings) -> AsyncIterator[dict[ServiceName, asyncpg.Connection]]:
    conns = {s: await asyncpg.connect(migrated.database_url(s)) for s in SERVICES}
    try:
        yield conns
    finally:
        for conn in conns.values():
            await conn.close()


async def _tables(settings: Settings, schema: str) -> list[str]:
    conn = await asyncpg.connect(settings.admin_url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)
        return [r[0] for r in rows]
    finally:
        await conn.close()


@pytest.mark.parametrize(("service", "other"), list(itertools.permutations(SERVICES, 2)))
async def test_a_service_role_reaches_no_other_schema(
    migrated: Settings, as_role: dict[ServiceName, asyncpg.Connection], service: ServiceName, other: ServiceName
) -> None:
    conn = as_role[service]
    tables = await _tables(migrated, other)
    assert "audit_log" in tables and "outbox" in tables
    admin = await asyncpg.connect(migrated.admin_url)
    try:
        role = migrated.database_role(service)
        assert not await admin.fetchval("SELECT has_schema_privilege($1, $2, 'USAGE')", role, other)
        granted = await admin.fetch(
            "SELECT t, p FROM unnest($3::text[]) t, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE',"
            " 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p WHERE has_table_privilege($1, $2 || '.' || t, p)",
            role, other, tables)
        assert [tuple(r) for r in granted] == []
    finally:
        await admin.close()
    for table in tables:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch(f"SELECT * FROM {other}.{table} LIMIT 1")
    for statement in (f"INSERT INTO {other}.outbox SELECT * FROM {other}.outbox WHERE false",
                      f"UPDATE {other}.outbox SET topic = topic WHERE false",
                      f"DELETE FROM {other}.inbox WHERE false",
                      f"TRUNCATE {other}.inbox",
                      f"CREATE TABLE {other}.intruder (id int)"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_role_has_dml_only(
    as_role: dict[ServiceName, asyncpg.Connection], service: ServiceName
) -> None:
    conn = as_role[service]
    for statement in ("CREATE TABLE public.intruder (id int)",
                      f"CREATE TABLE {service}.intruder (id int)",
                      "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
                      "ALTER TABLE outbox ADD COLUMN intruder int",
                      "DROP TABLE audit_log",
                      "DROP TABLE outbox",
                      f"SET ROLE {owner_role(service)}",
                      f"ALTER SCHEMA {service} RENAME TO intruder"):
        with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.InvalidParameterValueError)):
            await conn.execute(statement)
    # Without a grant option a GRANT is at most a warning: nothing is granted.
    for statement in ("GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO PUBLIC",
                      "GRANT ALL ON audit_log TO CURRENT_USER"):
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
        assert not await conn.fetchval("SELECT has_table_privilege('audit_log', $1)", privilege)
    assert not await conn.fetchval("SELECT has_table_privilege('public', 'audit_log', 'UPDATE')")
    # What it needs: the outbox it writes and marks, its migration record it may only read.
    for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        assert await conn.fetchval("SELECT has_table_privilege('outbox', $1)", privilege)
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM schema_migrations WHERE false")


@pytest.mark.parametrize(("service", "table"), APPEND_ONLY, ids=[f"{s}.{t}" for s, t in APPEND_ONLY])
async def test_append_only_tables_are_read_and_appended_only(
    as_role: dict[ServiceName, asyncpg.Connection], service: ServiceName, table: str
) -> None:
    conn = as_role[service]
    column = await conn.fetchval(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = 1", f"{service}.{table}")
    # WHERE false: the privilege is checked before any row is read, and no trigger fires.
    for statement in (f"UPDATE {table} SET {column} = {column} WHERE false",
                      f"DELETE FROM {table} WHERE false",
                      f"TRUNCATE {table}"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    await conn.fetch(f"SELECT * FROM {table} LIMIT 1")
    await conn.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE false")
    assert await conn.fetchval("SELECT has_table_privilege($1, 'INSERT')", table)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_audit_log_takes_a_row_and_keeps_it(
    as_role: dict[ServiceName, asyncpg.Connection], service: ServiceName
) -> None:
    conn = as_role[service]
    await audit.record(conn, actor="least", action="test.append", subject="s1", reason="least privilege")
    n = await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'least'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE audit_log SET reason = 'rewritten' WHERE actor = 'least'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM audit_log WHERE actor = 'least'")
    assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'least'") == n >= 1


async def test_instances_starting_together_grant_one_at_a_time(migrated: Settings) -> None:
    """Extra instances (a rebalance, a rolling start) rebuild the same grants at the same moment."""
    results = await asyncio.gather(*(_migrate(migrated, "claims") for _ in range(4)))
    assert results == [[]] * 4


async def test_every_table_with_an_append_only_trigger_is_declared_append_only(migrated: Settings) -> None:
    conn = await asyncpg.connect(migrated.admin_url)
    try:
        rows = await conn.fetch(
            "SELECT n.nspname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE t.tgname LIKE '%append_only%' AND n.nspname = ANY($1::text[])", list(SERVICES))
    finally:
        await conn.close()
    guarded = {(r[0], r[1]) for r in rows}
    assert ("remits", "ledger_entries") in guarded
    assert guarded <= set(APPEND_ONLY)


async def test_a_database_made_before_the_owner_roles_is_upgraded(infra: infra_support.Infra) -> None:
    """The old layout (the login role owns its schema and tables, data in them) is taken over by
    the owner role at the next provisioning, and the next migration run grants the DML back."""
    settings = infra_support.isolated_settings(infra)
    await provision.ensure_database(settings)
    try:
        admin = await asyncpg.connect(settings.admin_url)
        try:
            await admin.execute('CREATE SCHEMA charges AUTHORIZATION "rcm_charges"')
            await admin.execute(f'GRANT CONNECT ON DATABASE "{settings.database_name}" TO "rcm_charges"')
        finally:
            await admin.close()
        old = await asyncpg.connect(settings.database_url("charges"))
        try:
            await old.execute("SET search_path TO charges")
            await migrations.apply(old, "charges", migrations.service_migrations(CHARGES.migrations))
            await audit.record(old, actor="before", action="a", subject="s", reason="r")
            await old.execute("TRUNCATE audit_log")  # what the old owner could do
            await audit.record(old, actor="before", action="a", subject="s", reason="r")
        finally:
            await old.close()

        await provision.ensure_roles_and_schemas(settings)
        assert await _migrate(settings, "charges") == []

        conn = await asyncpg.connect(settings.database_url("charges"))
        try:
            owners = await conn.fetch("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'charges'")
            assert [r[0] for r in owners] == [owner_role("charges")]
            assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE actor = 'before'") == 1
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("TRUNCATE audit_log")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE ledger_entries SET reason = reason WHERE false")
            await conn.execute("DELETE FROM outbox WHERE false")  # its DML is back
        finally:
            await conn.close()
    finally:
        await infra_support.teardown_isolated(settings)


async def test_without_migrate_on_start_the_service_needs_no_admin_and_refuses_a_pending_schema(
    infra: infra_support.Infra, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment that keeps the admin credentials away from the services: `rcm migrate` in the
    deploy job, the service with its own URL only, checking that nothing is pending."""
    settings = infra_support.isolated_settings(infra)
    await provision.ensure_database(settings)
    await provision.ensure_roles_and_schemas(settings)
    try:
        # The service's view: its own URL, an admin URL that answers nobody.
        service_only = settings.model_copy(update={
            "migrate_on_start": False, "admin_database_url": "postgresql://nobody:x@127.0.0.1:1/none",
            "remits_database_url": settings.database_url("remits")})
        wanted = migrations.service_migrations(REMITS.migrations)
        with pytest.raises(migrations.MigrationError, match=r"not applied .* run `rcm migrate remits`"):
            await migrations.prepare_schema(service_only, "remits", wanted, REMITS.append_only)

        for name, value in (("RCM_ADMIN_DATABASE_URL", settings.admin_url),
                            ("RCM_DATABASE_NAME", settings.database_name)):
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            # The command runs its own event loop: off this one's thread.
            result = await asyncio.to_thread(CliRunner().invoke, rcm, ["migrate", "remits"])
            bad = await asyncio.to_thread(CliRunner().invoke, rcm, ["migrate", "billing"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        assert f"remits: {len(wanted)} migration(s) applied" in result.output
        assert bad.exit_code == 2 and "no service billing" in bad.output and "Traceback" not in bad.output

        await migrations.prepare_schema(service_only, "remits", wanted, REMITS.append_only)  # nothing pending
        conn = await asyncpg.connect(service_only.database_url("remits"))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM ledger_entries WHERE false")
        finally:
            await conn.close()
    finally:
        await infra_support.teardown_isolated(settings)
