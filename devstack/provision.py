"""Provisioning with the admin connection: the database, one login role and schema per service."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import asyncpg

from services.chassis.settings import SERVICES, ServiceName, Settings, owner_role, service_role


def _credentials(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password) if parts.password else None


async def ensure_database(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.database_name)
        if not exists:
            # A second runner (the migration Job's other pod) may create it between check and create.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{settings.database_name}"')
    finally:
        await conn.close()


async def drop_database(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{settings.database_name}" WITH (FORCE)')
    finally:
        await conn.close()


async def ensure_roles_and_schemas(settings: Settings, services: Sequence[ServiceName] = SERVICES) -> None:
    """Per service: a login role (what the service connects as) and a NOLOGIN owner role that owns
    the schema and its tables and runs the migrations. Idempotent; it also upgrades a database made
    before the owner roles existed (the login role owned its schema): everything the login role
    owns in this database passes to the owner, and the next migration run grants it back only the
    DML it needs (services/chassis/migrations.py `grant_service_privileges`)."""
    conn = await asyncpg.connect(settings.admin_url)
    try:
        # Runners started together (`rcm migrate` in two pods) would update the same catalog rows
        # (grants, role settings: "tuple concurrently updated"): one at a time per database; the
        # lock goes with the connection.
        await conn.execute("SELECT pg_advisory_lock(hashtext('rcm-provision'))")
        superuser = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        for service in services:
            user, password = _credentials(settings.database_url(service))
            role = user or service_role(service)
            owner = owner_role(service)
            # Roles are cluster-wide and shared by every database of the cluster (test runs too).
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rcm-provision-roles'))")
                if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                    await conn.execute(f'CREATE ROLE "{role}" LOGIN')
                if password is not None:
                    await conn.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password.replace(chr(39), '')}'")
                if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", owner):
                    await conn.execute(f'CREATE ROLE "{owner}" NOLOGIN')
                if not superuser:
                    # A non-superuser admin (a managed database's) reaches the owner by SET ROLE.
                    await conn.execute(f'GRANT "{owner}" TO CURRENT_USER')
            await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{settings.database_name}" TO "{role}"')
            async with conn.transaction():
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION "{owner}"')
                await conn.execute(f'ALTER SCHEMA {service} OWNER TO "{owner}"')
                # Per database: what the login role created before (tables, sequences, functions).
                await conn.execute(f'REASSIGN OWNED BY "{role}" TO "{owner}"')
                # Nobody else may use the service's schema; the login role gets USAGE and its DML
                # from the service's migration run (at its start).
                await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
            await conn.execute(
                f'ALTER ROLE "{role}" IN DATABASE "{settings.database_name}" SET search_path TO {service}'
            )
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    finally:
        await conn.close()
