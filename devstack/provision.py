"""Provisioning with the admin connection: the database, one login role and schema per service."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import asyncpg

from services.chassis.settings import SERVICES, Settings, service_role


def _credentials(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password) if parts.password else None


async def ensure_database(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", settings.database_name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{settings.database_name}"')
    finally:
        await conn.close()


async def drop_database(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{settings.database_name}" WITH (FORCE)')
    finally:
        await conn.close()


async def ensure_roles_and_schemas(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.admin_url)
    try:
        for service in SERVICES:
            user, password = _credentials(settings.database_url(service))
            role = user or service_role(service)
            # Roles are cluster-wide and shared by every database of the cluster (test runs too).
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rcm-provision-roles'))")
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                if not exists:
                    await conn.execute(f'CREATE ROLE "{role}" LOGIN')
                if password is not None:
                    await conn.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password.replace(chr(39), '')}'")
            await conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{settings.database_name}" TO "{role}"')
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION "{role}"')
            # Nobody else may use the service's schema; its role gets no default search path elsewhere.
            await conn.execute(f"REVOKE ALL ON SCHEMA {service} FROM PUBLIC")
            await conn.execute(
                f'ALTER ROLE "{role}" IN DATABASE "{settings.database_name}" SET search_path TO {service}'
            )
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    finally:
        await conn.close()
