"""asyncpg pools, one per service role."""

from __future__ import annotations

import json

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool. asyncpg's default runs
    `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` each time: a round trip
    per transaction, for state our pooled sessions never keep. An open transaction asyncpg rolls
    back itself before this is called; the advisory locks of parking and remits are
    transaction-scoped; no code SETs a session setting (search_path is the role's, set by
    ALTER ROLE); cursors live in transactions. The one session-scope state, a leadership lock and
    the relay's LISTEN on its connection, is let go of by its owners: the relay UNLISTENs, and
    services.chassis.leadership unlocks, or ends the session when it cannot be sure it did. (A
    LISTEN left behind would only bring notifications asyncpg drops: it forgets a connection's
    listeners when the pool takes it back.)"""


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection,
                                     reset=_keep_session)
    assert pool is not None
    return pool
