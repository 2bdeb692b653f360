"""Leadership among a service's instances: a Postgres session advisory lock per role.

Several instances of a service share one schema. Work that must run in one of them at a time (the
outbox relay: one publisher keeps the per-key order; a folder poller; a batcher) runs while its
instance holds the lock `rcm-leader:<service>:<role>`. The lock belongs to a database session: a
process that dies, or loses its connection, loses it, and another instance takes the role over
within one poll interval. Leadership is checked while the work runs: a lock connection that stops
answering cancels the work before another instance can take the role, so two never do it at once
for longer than one check.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

CHECK_TIMEOUT_S = 10.0
"""How long the leader's check of its lock connection may take on a loaded machine before the
leader gives the role up (a slow answer is not a lost lock, a silent one is)."""
LeaderWork = Callable[[asyncpg.Connection], Awaitable[None]]
"""What a leader does, given the connection holding the lock (the relay LISTENs on it)."""


class LeadershipLost(ConnectionError):
    """The lock's connection stopped answering while the work ran: the work was cancelled."""


def lock_key(service: str, role: str) -> str:
    return f"rcm-leader:{service}:{role}"


async def lead(pool: asyncpg.Pool, key: str, stopping: asyncio.Event, work: LeaderWork, *,
               poll_s: float, on_change: Callable[[bool], None] | None = None) -> None:
    """Wait until this instance holds `key` (or `stopping` is set), then run `work` holding it and
    release it when `work` returns. Followers take a connection only to try the lock, so N
    instances do not hold N idle connections per role. Raises LeadershipLost (an OSError: callers
    retry it as they retry a database that went away) when the lock's connection died."""
    while not stopping.is_set():
        async with pool.acquire() as conn:
            if await _try_lock(conn, key):
                await _hold(conn, key, stopping, work, poll_s, on_change or _ignore)
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), poll_s)


async def _hold(conn: asyncpg.Connection, key: str, stopping: asyncio.Event, work: LeaderWork, poll_s: float,
                on_change: Callable[[bool], None]) -> None:
    on_change(True)
    task = asyncio.ensure_future(work(conn))
    try:
        while not task.done():
            await asyncio.wait([task], timeout=poll_s)
            if task.done() or stopping.is_set():
                break
            if not await _answers(conn):
                # Whatever state the session is in, ending it releases the lock: a connection
                # left half-used must not go back to the pool still holding it.
                _end(conn)
                raise LeadershipLost(f"{key}: the lock's connection stopped answering")
        await task
    finally:
        on_change(False)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await _unlock(conn, key)


# The pool no longer resets a session when it takes the connection back (services.chassis.db):
# a connection whose lock state is unknown (a try or an unlock that failed or was cancelled half
# way) is ended instead, which releases the lock (and the relay's LISTEN on it).


async def _try_lock(conn: asyncpg.Connection, key: str) -> bool:
    try:
        return bool(await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", key))
    except BaseException:
        _end(conn)
        raise


async def _unlock(conn: asyncpg.Connection, key: str) -> None:
    try:
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", key)
    except BaseException:
        _end(conn)
        raise


def _end(conn: asyncpg.Connection) -> None:
    """End the session at once. One the server closed, the pool has already taken back: nothing
    to end then."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


async def _answers(conn: asyncpg.Connection) -> bool:
    """The work runs on other connections of the pool: this one only proves the lock is still held.
    Any failure counts as lost (a timed-out query leaves the connection unusable, too)."""
    try:
        await asyncio.wait_for(conn.fetchval("SELECT 1"), CHECK_TIMEOUT_S)
    except Exception:
        return False
    return True


def _ignore(_: bool) -> None:
    return None
