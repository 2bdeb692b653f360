"""Parking: events that came before what they need wait here, in the transaction of the handler
that parked them, until a later event releases their key. The chassis owns the table and the
shape of a key; services name what an event waits for with `ParkKey`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import asyncpg

from schemas.envelope import Envelope
from services.chassis.dlq import SourceRecord


@dataclass(frozen=True)
class ParkKey:
    """What a parked event waits for: a kind of thing and its opaque ids (never PHI)."""

    kind: str
    ids: tuple[str, ...]

    @classmethod
    def of(cls, kind: str, *ids: str) -> ParkKey:
        return cls(kind, ids)

    def __str__(self) -> str:
        return ":".join((self.kind, *self.ids))


# The class id of the parking locks: the two-key advisory lock space never meets the one-key
# space the leadership locks use, so a key's hash cannot collide with a leader's lock.
_LOCK_CLASS = 7217


async def hold(conn: asyncpg.Connection, key: ParkKey) -> None:
    """Serialize, until this transaction ends, with every other transaction that holds the key.

    A handler that checks for what it needs and parks when it is missing must hold the key
    before the check, and a release holds it before taking: otherwise, with the two events on
    different topics (an encounter and its charge) applied by two instances at once, the check
    misses the other's uncommitted state and the release misses the uncommitted park, and the
    parked event waits forever (the chaos suite's rebalances found it once batches made
    transactions long)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_CLASS, str(key))


async def hold_many(conn: asyncpg.Connection, keys: Collection[str]) -> None:
    """`hold` of every key (`str(ParkKey)`) in one statement, taken in key order so that two
    transactions holding overlapping sets never wait on each other crosswise."""
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock($1, hashtext(k))) FROM (SELECT k FROM unnest($2::text[]) k ORDER BY k) o",
        _LOCK_CLASS, sorted(keys))


@dataclass(frozen=True, slots=True)
class Parked:
    """An event parked under a key (`str(ParkKey)`): its row and the record as it is kept."""

    id: int
    key: str
    record: SourceRecord


async def parked_under(conn: asyncpg.Connection, keys: Collection[str]) -> list[Parked]:
    """The events parked under these keys, in arrival order. Only what is held is settled: call
    it after `hold_many` of the keys, in a statement of its own (READ COMMITTED takes a snapshot
    per statement, so a park committed while this transaction waited for the hold is seen)."""
    rows = await conn.fetch(
        "SELECT id, park_key, topic, message_key, headers, payload FROM parked WHERE park_key = ANY($1::text[])"
        " ORDER BY id", list(keys))
    return [Parked(row["id"], row["park_key"], _record(row)) for row in rows]


async def park(conn: asyncpg.Connection, key: ParkKey, envelope: Envelope, record: SourceRecord, reason: str
               ) -> Parked:
    """Keep the record under the key; returns it as `parked_under` would read it back."""
    kept = as_kept(record)
    row_id: int = await conn.fetchval(
        "INSERT INTO parked (park_key, event_id, event_type, topic, message_key, headers, payload, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id",
        str(key),
        envelope.id,
        envelope.type,
        kept.topic,
        kept.key.decode() if kept.key else None,
        [[k, v.decode()] for k, v in kept.headers if v is not None],
        kept.value,
        reason,
    )
    return Parked(row_id, str(key), kept)


async def remove(conn: asyncpg.Connection, ids: Collection[int]) -> None:
    """Delete these parked events (read by `parked_under` under keys this transaction holds, and
    applied in it): one statement for all that a transaction released."""
    await conn.execute("DELETE FROM parked WHERE id = ANY($1::bigint[])", list(ids))


def as_kept(record: SourceRecord) -> SourceRecord:
    """The record as parking keeps it: no partition or offset (it is consumed), text headers only."""
    return SourceRecord(topic=record.topic, partition=-1, offset=-1, key=record.key, value=record.value,
                        headers=[(k, v) for k, v in record.headers if _is_text(v)])


def _is_text(value: bytes | None) -> bool:
    """The headers column is JSON text. The envelope's headers are UTF-8 (the envelope check read
    them); a header of the sender's own that is not text is not kept while the event waits. Found
    by fuzzing against the broker: such a header turned a charge that came before its encounter
    into a dead letter (the handler failed encoding it) instead of parking it."""
    if value is None:
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def take(conn: asyncpg.Connection, key: ParkKey, *, held: bool = False) -> list[SourceRecord]:
    """Remove the events parked under `key` and return them in arrival order, holding the key
    first unless this transaction already `held` it."""
    if not held:
        await hold(conn, key)
    rows = await conn.fetch(
        "DELETE FROM parked WHERE park_key = $1 RETURNING id, topic, message_key, headers, payload", str(key)
    )
    return [_record(row) for row in sorted(rows, key=lambda r: r["id"])]


def _record(row: asyncpg.Record) -> SourceRecord:
    return SourceRecord(
        topic=row["topic"],
        partition=-1,
        offset=-1,
        key=row["message_key"].encode() if row["message_key"] else None,
        value=bytes(row["payload"]),
        headers=[(k, v.encode()) for k, v in row["headers"]],
    )


async def waiting(conn: asyncpg.Connection, key: ParkKey) -> int:
    """How many events wait for `key`."""
    count: int = await conn.fetchval("SELECT count(*) FROM parked WHERE park_key = $1", str(key))
    return count
