"""A connection that counts the statements sent through it: the round trips a path costs
(issue 17: a service's CPU per event is mostly asyncpg and the event loop, one turn per statement),
and a pool whose connections count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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


class CountingPool:
    """A pool whose connections count: `sent` is every statement since it was made."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._lent: list[Counting] = []

    @property
    def sent(self) -> int:
        return sum(conn.sent for conn in self._lent)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Counting]:
        async with self._pool.acquire() as conn:
            counting = Counting(conn)
            self._lent.append(counting)
            yield counting
