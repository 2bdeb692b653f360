"""Statements each service ran in Postgres during a measurement, from pg_stat_statements: the
round trips per event, a figure the machine's noise does not move (CPU seconds and wall time do).

Counted per login role (a service runs as `rcm_<service>`, its migrations as the owner role, which
is left out) in the measurement's own database, as the difference of two snapshots. Where the
server was started without the library (`shared_preload_libraries`), there is nothing to count:
`snapshot` gives None and the tables say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from services.chassis.settings import service_role

BY_ROLE = (
    "SELECT r.rolname AS role, sum(s.calls)::bigint AS calls, sum(s.rows)::bigint AS rows,"
    " sum(s.total_exec_time)::float8 AS exec_ms"
    " FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid"
    " WHERE d.datname = current_database() GROUP BY r.rolname"
)
# The server was started without the library, or this build or role cannot have it.
UNAVAILABLE = (asyncpg.ObjectNotInPrerequisiteStateError, asyncpg.FeatureNotSupportedError,
               asyncpg.UndefinedFileError, asyncpg.InsufficientPrivilegeError)


@dataclass(frozen=True)
class Counts:
    calls: int = 0
    rows: int = 0
    exec_ms: float = 0.0
    """Time inside the server, waits for locks and for a busy core included: not CPU."""

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.calls + other.calls, self.rows + other.rows, self.exec_ms + other.exec_ms)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.calls - other.calls, self.rows - other.rows, self.exec_ms - other.exec_ms)


Snapshot = Mapping[str, Counts]
"""Role -> what it ran so far."""


class Statements:
    """Snapshots over one connection held for the measurement (a connection per snapshot would add a
    backend's start-up to the Postgres CPU being measured beside it)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._conn: asyncpg.Connection | None = None
        self.available = False

    async def __aenter__(self) -> Statements:
        self._conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await self._conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await self._conn.fetch(BY_ROLE)
            self.available = True
        except UNAVAILABLE:
            pass
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def snapshot(self) -> Snapshot | None:
        """What every role ran so far in the measured database; None without pg_stat_statements."""
        if not self.available or self._conn is None:
            return None
        rows = await self._conn.fetch(BY_ROLE)
        return {r["role"]: Counts(r["calls"], r["rows"], r["exec_ms"]) for r in rows}


def by_service(before: Snapshot | None, after: Snapshot | None, services: tuple[str, ...]) -> dict[str, Counts] | None:
    """What each service's login role ran between two snapshots (None when either is missing)."""
    if before is None or after is None:
        return None
    return {s: after.get(service_role(s), Counts()) - before.get(service_role(s), Counts()) for s in services}
