"""Leadership among a service's instances (services/chassis/leadership.py) against real Postgres:
one leader per role at a time, a take-over when the leader finishes, and a leader whose lock
connection dies stops its work before another one starts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.chassis import leadership
from services.chassis.db import create_pool
from services.chassis.settings import Settings
from tests.support.kafka_io import eventually

pytestmark = pytest.mark.integration
POLL_S = 0.1


@pytest.fixture
async def pools(platform: Settings) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two instances' pools: two processes, as far as Postgres can tell."""
    a, b = await create_pool(platform.admin_url), await create_pool(platform.admin_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_one_leader_at_a_time_and_the_next_takes_over(pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> None:
    key, stopping = f"test-{uuid.uuid4()}", asyncio.Event()
    running: list[str] = []
    overlaps: list[list[str]] = []
    release = {name: asyncio.Event() for name in "ab"}

    def work(name: str) -> leadership.LeaderWork:
        async def run(_: asyncpg.Connection) -> None:
            running.append(name)
            if len(running) > 1:
                overlaps.append(list(running))
            await release[name].wait()
            running.remove(name)
        return run

    first = asyncio.create_task(leadership.lead(pools[0], key, stopping, work("a"), poll_s=POLL_S))
    await eventually(lambda: asyncio.sleep(0, running == ["a"]), what="a to lead")
    second = asyncio.create_task(leadership.lead(pools[1], key, stopping, work("b"), poll_s=POLL_S))
    await asyncio.sleep(POLL_S * 5)  # b asked several times meanwhile
    assert running == ["a"] and not second.done()
    release["a"].set()
    await first
    await eventually(lambda: asyncio.sleep(0, running == ["b"]), what="b to take over")
    release["b"].set()
    await second
    assert overlaps == []


async def test_a_leader_that_lost_its_lock_connection_stops_before_another_leads(
    platform: Settings, pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    key, stopping = f"test-{uuid.uuid4()}", asyncio.Event()
    lock_pid: list[int] = []
    cancelled = asyncio.Event()

    async def forever(conn: asyncpg.Connection) -> None:
        lock_pid.append(conn.get_server_pid())
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    leader = asyncio.create_task(leadership.lead(pools[0], key, stopping, forever, poll_s=POLL_S))
    await eventually(lambda: asyncio.sleep(0, bool(lock_pid)), what="the first instance to lead")
    admin = await asyncpg.connect(platform.admin_url)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", lock_pid[0])  # its session, and the lock, are gone
    finally:
        await admin.close()
    with pytest.raises(leadership.LeadershipLost):
        await asyncio.wait_for(leader, 10)
    assert cancelled.is_set()
    took_over = asyncio.Event()

    async def mark(_: asyncpg.Connection) -> None:
        took_over.set()

    await asyncio.wait_for(leadership.lead(pools[1], key, stopping, mark, poll_s=POLL_S), 10)
    assert took_over.is_set()


async def test_a_pooled_session_goes_back_unreset_and_a_leader_leaves_no_lock_on_it(platform: Settings) -> None:
    """The pool runs no reset query on release (services.chassis.db): leadership lets go of its
    session lock itself, when it steps down and when it is cancelled while leading."""
    pool, other = await create_pool(platform.admin_url, max_size=1), await create_pool(platform.admin_url)
    admin = await asyncpg.connect(platform.admin_url)
    try:
        async with pool.acquire() as conn:
            pid = conn.get_server_pid()
            await conn.execute("SELECT 1")
        last = await admin.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT 1"  # not asyncpg's reset (pg_advisory_unlock_all(); CLOSE ALL; ...)

        async def locks() -> int:
            return int(await admin.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pid))

        key, stopping = f"test-{uuid.uuid4()}", asyncio.Event()
        held: list[int] = []

        async def note_locks(_: asyncpg.Connection) -> None:
            held.append(await locks())

        await leadership.lead(pool, key, stopping, note_locks, poll_s=POLL_S)
        assert held == [1] and await locks() == 0  # stepped down: unlocked, the session kept

        leading = asyncio.Event()

        async def forever(_: asyncpg.Connection) -> None:
            leading.set()
            await asyncio.Event().wait()

        leader = asyncio.create_task(leadership.lead(pool, key, stopping, forever, poll_s=POLL_S))
        await asyncio.wait_for(leading.wait(), 10)
        leader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await leader
        taken: list[bool] = []

        async def mark(_: asyncpg.Connection) -> None:
            taken.append(True)

        await asyncio.wait_for(leadership.lead(other, key, stopping, mark, poll_s=POLL_S), 10)
        assert taken == [True]
    finally:
        await admin.close()
        await pool.close()
        await other.close()
