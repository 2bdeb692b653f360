"""Inbox dedupe: a consumer applies an event at most once, in the transaction of its effects."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def claim(conn: asyncpg.Connection, consumer: str, event_id: UUID) -> bool:
    """Record the event for this consumer; False when it was already applied."""
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        event_id,
    )
    return row is not None


async def claim_many(conn: asyncpg.Connection, consumer: str, event_ids: list[UUID]) -> set[UUID]:
    """Record a batch's events for this consumer in one statement; the ids not applied before."""
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        list(dict.fromkeys(event_ids)),  # one row per id: a copy inside the batch is a duplicate too
    )
    return {row["event_id"] for row in rows}


async def prune(conn: asyncpg.Connection, older_than: datetime) -> int:
    """Housekeeping: forget events received before `older_than` (past retention, a redelivery of
    them is no longer expected)."""
    done = await conn.execute("DELETE FROM inbox WHERE received_at < $1", older_than)
    return int(done.split()[-1])
