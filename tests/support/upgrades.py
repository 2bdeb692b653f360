"""An installation as it was before a service migration, for the tests of what an upgrade does
to the rows an older version wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.chassis import migrations
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import Settings


@asynccontextmanager
async def installed_before(
    platform: Settings, service: ServiceDefinition, first_new: str,
) -> AsyncIterator[tuple[asyncpg.Connection, list[str]]]:
    """The service's schema with its migrations before `first_new` (e.g. "service/0006") applied,
    and a connection of the schema's owner to write the old rows as the old service did; also the
    names of the migrations an upgrade then applies (`upgrade`)."""
    wanted = migrations.service_migrations(service.migrations)
    before = [m for m in wanted if not m.name.startswith("service/") or m.name < first_new]
    async with migrations.owner_connection(platform, service.name) as conn:
        await migrations.apply(conn, service.name, before)
        yield conn, [m.name for m in wanted if m not in before]


async def upgrade(platform: Settings, service: ServiceDefinition) -> list[str]:
    """Migrate the installation to the service's migrations of today: the names applied."""
    wanted = migrations.service_migrations(service.migrations)
    return await migrations.migrate(platform, service.name, wanted, service.append_only)
