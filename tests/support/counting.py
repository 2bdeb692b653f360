"""A connection that counts the statements sent through it: the round trips a path costs
(issue 17: a service's CPU per event is mostly asyncpg and the event loop, one turn per statement)."""

from __future__ import annotations

from typing import Any

import asyncpg


class Counting:
    """A connection that counts the statements sent through it (each is a round trip; an
    executemany is one pipelined round trip)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _count(self, method: str, *args: Any) -> Any:
        self.sent += 1
        return await getattr(self._conn, method)(*args)

    async def execute(self, *args: Any) -> Any:
        return await self._count("execute", *args)

    async def executemany(self, *args: Any) -> Any:
        return await self._count("executemany", *args)

    async def fetch(self, *args: Any) -> Any:
        return await self._count("fetch", *args)

    async def fetchrow(self, *args: Any) -> Any:
        return await self._count("fetchrow", *args)

    async def fetchval(self, *args: Any) -> Any:
        return await self._count("fetchval", *args)
