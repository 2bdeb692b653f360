"""A connection that counts the statements sent through it: the round trips a path costs
(issue 17: a service's CPU per event is mostly asyncpg and the event loop, one turn per statement),
and a pool whose connections count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.dlq import SourceRecord
from services.chassis.settings import Settings


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


def as_record(platform: Settings, event: BaseModel, source: str) -> SourceRecord:
    """The event as the broker would hand it to a consumer (key and ce_subject: its aggregate)."""
    envelope = Envelope.new(source=source, type=event_type_of(event), subject=key_of(event), time=datetime.now(UTC))
    return SourceRecord(topic=platform.topic(spec_for_model(type(event)).topic), partition=0, offset=0,
                        key=key_of(event).encode(), value=encode(event), headers=envelope.to_headers())
