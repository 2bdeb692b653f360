"""Every SQL statement of the charges service (the one store module)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any
from uuid import UUID

import asyncpg

from services.chassis.ids import new_id

EncounterPair = tuple[str, str]
"""The sender's ids of an encounter: (source_system, source_encounter_id)."""


@dataclass(frozen=True)
class EncounterRow:
    encounter_id: str
    patient_account_id: str
    details_json: str  # read as text: the charge path validates it once, straight from the JSON
    closed_at: datetime | None
    billed_revision: int
    expected_charges: list[str]  # idempotency keys the sender listed at close: billing waits for them

    @cached_property
    def details(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.details_json)
        return parsed


@dataclass(frozen=True)
class KeyOutcome:
    """What became of an intake idempotency key."""

    outcome: str
    charge_id: str | None
    encounter_id: str


@dataclass(frozen=True)
class ChargeRow:
    charge_id: str
    encounter_id: str
    idempotency_key: str
    line: dict[str, Any]
    amount: Decimal
    reversed: bool


async def encounter_id_for(conn: asyncpg.Connection, source_system: str, source_encounter_id: str) -> str:
    """Our id for the sender's encounter, assigned on first sight: one round trip either way."""
    pair = (source_system, source_encounter_id)
    return (await encounter_ids_for(conn, [pair]))[pair]


async def encounter_ids_for(conn: asyncpg.Connection, pairs: list[EncounterPair]) -> dict[EncounterPair, str]:
    """Our ids for the sender's encounters, each assigned on first sight: one round trip for all
    (inserted in a stable order, so two transactions wait on each other, never crosswise)."""
    wanted = sorted(set(pairs))
    rows = await conn.fetch(
        "WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
        " AS w(source_system, source_encounter_id, new_id)),"
        " known AS (SELECT i.* FROM encounter_ids i JOIN wanted USING (source_system, source_encounter_id)),"
        " created AS (INSERT INTO encounter_ids (encounter_id, source_system, source_encounter_id)"
        " SELECT w.new_id, w.source_system, w.source_encounter_id FROM wanted w"
        " WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.source_system = w.source_system"
        " AND k.source_encounter_id = w.source_encounter_id) ORDER BY w.source_system, w.source_encounter_id"
        " ON CONFLICT (source_system, source_encounter_id) DO NOTHING RETURNING *)"
        " SELECT source_system, source_encounter_id, encounter_id FROM known"
        " UNION ALL SELECT source_system, source_encounter_id, encounter_id FROM created",
        [p[0] for p in wanted],
        [p[1] for p in wanted],
        [new_id("enc") for _ in wanted],
    )
    found = {(r["source_system"], r["source_encounter_id"]): r["encounter_id"] for r in rows}
    lost = [p for p in wanted if p not in found]
    if lost:  # lost a race to another transaction: read the winners
        found.update(await encounter_ids_for(conn, lost))
    return found


_ENCOUNTER_COLUMNS = ("encounter_id, patient_account_id, details::text AS details_json, closed_at, billed_revision,"
                      " expected_charges")


async def lock_encounters(conn: asyncpg.Connection, encounter_ids: list[str]) -> dict[str, EncounterRow]:
    """The registered ones of these encounters, locked for this transaction in encounter id order
    (so two transactions never lock crosswise), in one round trip."""
    rows = await conn.fetch(
        f"SELECT {_ENCOUNTER_COLUMNS} FROM encounters WHERE encounter_id = ANY($1::text[])"
        " ORDER BY encounter_id FOR UPDATE",
        encounter_ids,
    )
    return {r["encounter_id"]: EncounterRow(**dict(r)) for r in rows}


async def find_encounter_id(conn: asyncpg.Connection, source_system: str, source_encounter_id: str) -> str | None:
    found: str | None = await conn.fetchval(
        "SELECT encounter_id FROM encounter_ids WHERE source_system = $1 AND source_encounter_id = $2",
        source_system,
        source_encounter_id,
    )
    return found


async def patient_account_for(conn: asyncpg.Connection, source_system: str, source_account_number: str) -> str:
    row: str | None = await conn.fetchval(
        "INSERT INTO patient_accounts (patient_account_id, source_system, source_account_number) VALUES ($1, $2, $3)"
        " ON CONFLICT (source_system, source_account_number) DO UPDATE SET source_system = EXCLUDED.source_system"
        " RETURNING patient_account_id",
        new_id("PA", 8),
        source_system,
        source_account_number,
    )
    assert row is not None
    return row


async def load_encounter(conn: asyncpg.Connection, encounter_id: str, *, lock: bool = False) -> EncounterRow | None:
    row = await conn.fetchrow(
        f"SELECT {_ENCOUNTER_COLUMNS} FROM encounters WHERE encounter_id = $1" + (" FOR UPDATE" if lock else ""),
        encounter_id,
    )
    return EncounterRow(**dict(row)) if row else None


async def save_encounter(
    conn: asyncpg.Connection, encounter_id: str, patient_account_id: str, details_json: str, at: datetime
) -> None:
    """`details_json`: the details already serialized (sent as text, so not encoded again)."""
    await conn.execute(
        "INSERT INTO encounters (encounter_id, patient_account_id, details, updated_at)"
        " VALUES ($1, $2, $3::text::jsonb, $4)"
        " ON CONFLICT (encounter_id) DO UPDATE SET patient_account_id = EXCLUDED.patient_account_id,"
        " details = EXCLUDED.details, updated_at = EXCLUDED.updated_at",
        encounter_id,
        patient_account_id,
        details_json,
        at,
    )


async def close_encounter(
    conn: asyncpg.Connection, encounter_id: str, closed_at: datetime, expected_keys: list[str]
) -> None:
    await conn.execute(
        "UPDATE encounters SET closed_at = COALESCE(closed_at, $2),"
        " expected_charges = ARRAY(SELECT DISTINCT unnest(expected_charges || $3::text[]))"
        " WHERE encounter_id = $1",
        encounter_id,
        closed_at,
        expected_keys,
    )


async def set_billed_revision(conn: asyncpg.Connection, encounter_id: str, revision: int) -> None:
    await conn.execute("UPDATE encounters SET billed_revision = $2 WHERE encounter_id = $1", encounter_id, revision)


async def key_outcomes(conn: asyncpg.Connection, idempotency_keys: list[str]) -> dict[str, KeyOutcome]:
    """The outcomes of those of the keys already processed."""
    rows = await conn.fetch(
        "SELECT idempotency_key, outcome, charge_id, encounter_id FROM intake_keys"
        " WHERE idempotency_key = ANY($1::text[])",
        idempotency_keys,
    )
    return {r["idempotency_key"]: KeyOutcome(r["outcome"], r["charge_id"], r["encounter_id"]) for r in rows}


async def record_key(
    conn: asyncpg.Connection,
    *,
    idempotency_key: str,
    encounter_id: str,
    kind: str,
    source_charge_id: str,
    outcome: str,
    charge_id: str | None,
    reasons: list[dict[str, Any]],
    event_id: Any,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO intake_keys (idempotency_key, encounter_id, kind, source_charge_id, outcome, charge_id, reasons,"
        " event_id, processed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        idempotency_key,
        encounter_id,
        kind,
        source_charge_id,
        outcome,
        charge_id,
        reasons,
        event_id,
        at,
    )


@dataclass(frozen=True)
class Posting:
    """A charge to post: the charge, its ledger entry and its key's outcome ('posted')."""

    charge_id: str
    encounter_id: str
    idempotency_key: str
    line_json: str  # the ChargePosted payload, serialized
    amount: Decimal
    replaces_charge_id: str | None
    kind: str
    source_charge_id: str
    event_id: UUID
    at: datetime


async def post_charges(conn: asyncpg.Connection, postings: list[Posting]) -> None:
    """The postings, in their order, in one statement: a row per posting in each of charges,
    ledger_entries and intake_keys (a correction may replace a charge posted before it in the list:
    the foreign keys are checked at the statement's end)."""
    columns = ("charge_id", "encounter_id", "idempotency_key", "line_json", "amount", "replaces_charge_id", "kind",
               "source_charge_id", "event_id", "at")
    await conn.execute(
        "WITH p AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[],"
        " $7::text[], $8::text[], $9::uuid[], $10::timestamptz[], $11::text[]) WITH ORDINALITY"
        " AS p(charge_id, encounter_id, idempotency_key, line, amount, replaces_charge_id, kind, source_charge_id,"
        " event_id, at, entry_id, n)),"
        " charge AS (INSERT INTO charges (charge_id, encounter_id, idempotency_key, line, amount, replaces_charge_id,"
        " posted_at) SELECT charge_id, encounter_id, idempotency_key, line::jsonb, amount, replaces_charge_id, at"
        " FROM p ORDER BY n),"
        " entry AS (INSERT INTO ledger_entries (entry_id, charge_id, kind, amount, idempotency_key, entered_at)"
        " SELECT entry_id, charge_id, 'post', amount, idempotency_key, at FROM p ORDER BY n)"
        " INSERT INTO intake_keys (idempotency_key, encounter_id, kind, source_charge_id, outcome, charge_id, reasons,"
        " event_id, processed_at) SELECT idempotency_key, encounter_id, kind, source_charge_id, 'posted', charge_id,"
        " '[]'::jsonb, event_id, at FROM p ORDER BY n",
        *([getattr(p, c) for p in postings] for c in columns),
        [new_id("led") for _ in postings],
    )


async def reverse_charge(
    conn: asyncpg.Connection, *, charge_id: str, idempotency_key: str, reason: str, at: datetime
) -> tuple[str, Decimal]:
    """Post the reversing entry of a charge; returns (reversal id, amount taken off)."""
    reversal_id = new_id("rev")
    posted: Decimal = await conn.fetchval(
        "INSERT INTO ledger_entries (entry_id, charge_id, kind, amount, idempotency_key, reason, entered_at)"
        " SELECT $1, charge_id, 'reverse', -amount, $3, $4, $5 FROM ledger_entries"
        " WHERE charge_id = $2 AND kind = 'post' RETURNING -amount",
        reversal_id,
        charge_id,
        idempotency_key,
        reason,
        at,
    )
    return reversal_id, posted


async def charge_by_key(conn: asyncpg.Connection, idempotency_key: str) -> ChargeRow | None:
    row = await conn.fetchrow(
        "SELECT c.charge_id, c.encounter_id, c.idempotency_key, c.line, c.amount,"
        " EXISTS (SELECT 1 FROM ledger_entries l WHERE l.charge_id = c.charge_id AND l.kind = 'reverse') AS reversed"
        " FROM charges c WHERE c.idempotency_key = $1",
        idempotency_key,
    )
    return ChargeRow(**dict(row)) if row else None


async def active_charges(conn: asyncpg.Connection, encounter_id: str) -> list[ChargeRow]:
    rows = await conn.fetch(
        "SELECT c.charge_id, c.encounter_id, c.idempotency_key, c.line, c.amount, false AS reversed FROM charges c"
        " WHERE c.encounter_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM ledger_entries l WHERE l.charge_id = c.charge_id AND l.kind = 'reverse')"
        " ORDER BY c.posted_at, c.charge_id",
        encounter_id,
    )
    return [ChargeRow(**dict(r)) for r in rows]


async def chargemaster_items(conn: asyncpg.Connection, cdm_codes: list[str]) -> list[asyncpg.Record]:
    """The loaded ones of these chargemaster items."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT cdm_code, procedure_code, modifiers, revenue_code, description, unit_price FROM chargemaster"
        " WHERE cdm_code = ANY($1::text[])",
        cdm_codes,
    )
    return rows


async def replace_chargemaster(conn: asyncpg.Connection, items: list[tuple[Any, ...]], at: datetime) -> int:
    await conn.execute("DELETE FROM chargemaster")
    await conn.executemany(
        "INSERT INTO chargemaster (cdm_code, procedure_code, modifiers, revenue_code, description, unit_price,"
        " loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(*item, at) for item in items],
    )
    return len(items)


async def ledger_total(conn: asyncpg.Connection, encounter_id: str) -> Decimal:
    total: Decimal = await conn.fetchval(
        "SELECT COALESCE(sum(l.amount), 0) FROM ledger_entries l JOIN charges c USING (charge_id)"
        " WHERE c.encounter_id = $1",
        encounter_id,
    )
    return total


async def http_request(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT request_hash, response FROM http_requests WHERE idempotency_key = $1", key
    )
    return row


async def save_http_request(conn: asyncpg.Connection, key: str, request_hash: str, response: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO http_requests (idempotency_key, request_hash, response) VALUES ($1, $2, $3)",
        key,
        request_hash,
        response,
    )


async def encounter_status(
    conn: asyncpg.Connection, source_system: str, source_encounter_id: str
) -> dict[str, Any] | None:
    encounter_id = await find_encounter_id(conn, source_system, source_encounter_id)
    if encounter_id is None:
        return None
    row = await conn.fetchrow(
        "SELECT patient_account_id, closed_at, billed_revision FROM encounters WHERE encounter_id = $1", encounter_id
    )
    keys = await conn.fetch(
        "SELECT kind, source_charge_id, outcome, charge_id, reasons FROM intake_keys WHERE encounter_id = $1"
        " ORDER BY processed_at",
        encounter_id,
    )
    return {
        "encounter_id": encounter_id,
        "state": "unknown" if row is None else ("billed" if row["billed_revision"] else
                                                 "closed" if row["closed_at"] else "open"),
        "patient_account_id": row["patient_account_id"] if row else None,
        "billed_revision": row["billed_revision"] if row else 0,
        "ledger_total": str(await ledger_total(conn, encounter_id)),
        "charges": [dict(k) for k in keys],
    }


async def charge_status(conn: asyncpg.Connection, idempotency_key: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT k.encounter_id, k.kind, k.outcome, k.charge_id, k.reasons, k.processed_at,"
        " EXISTS (SELECT 1 FROM ledger_entries l WHERE l.charge_id = k.charge_id AND l.kind = 'reverse') AS reversed"
        " FROM intake_keys k WHERE k.idempotency_key = $1",
        idempotency_key,
    )
    if row is None:
        return None
    out = dict(row)
    out["processed_at"] = row["processed_at"].isoformat()
    return out


async def history(conn: asyncpg.Connection, ident: str) -> dict[str, Any] | None:
    """Everything about the encounter an id points at (ours or the sender's)."""
    encounter_id: str | None = await conn.fetchval(
        "SELECT encounter_id FROM encounter_ids WHERE encounter_id = $1 OR source_encounter_id = $1"
        " UNION SELECT encounter_id FROM charges WHERE charge_id = $1 OR idempotency_key = $1"
        " UNION SELECT encounter_id FROM intake_keys WHERE idempotency_key = $1 LIMIT 1",
        ident,
    )
    if encounter_id is None:
        return None
    ids_row = await conn.fetchrow(
        "SELECT source_system, source_encounter_id FROM encounter_ids WHERE encounter_id = $1", encounter_id
    )
    status = await encounter_status(conn, ids_row["source_system"], ids_row["source_encounter_id"])
    assert status is not None
    ledger = await conn.fetch(
        "SELECT l.entry_id, l.charge_id, l.kind, l.amount, l.idempotency_key, l.entered_at FROM ledger_entries l"
        " JOIN charges c USING (charge_id) WHERE c.encounter_id = $1 ORDER BY l.entered_at, l.entry_id",
        encounter_id,
    )
    intake_rows = await conn.fetch(
        "SELECT idempotency_key, kind, outcome, charge_id, reasons, processed_at FROM intake_keys"
        " WHERE encounter_id = $1 ORDER BY processed_at",
        encounter_id,
    )
    events = await conn.fetch(
        "SELECT event_id, event_type, occurred_at, published_at IS NOT NULL AS published FROM outbox"
        " WHERE subject = $1 ORDER BY seq",
        encounter_id,
    )
    return {
        **status,
        "source_system": ids_row["source_system"],
        "source_encounter_id": ids_row["source_encounter_id"],
        "ledger": [dict(r) for r in ledger],
        "intake": [dict(r) for r in intake_rows],
        "events": [dict(r) for r in events],
    }


async def encounter_is_registered(conn: asyncpg.Connection, source_system: str, source_encounter_id: str) -> bool:
    """True once the consumer has accepted an encounter event for this visit.

    An encounter_ids row alone is not enough: a door assigns the id on first sight, so charges
    that arrived before their encounter have one too.
    """
    encounter_id = await find_encounter_id(conn, source_system, source_encounter_id)
    if encounter_id is None:
        return False
    found: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM encounters WHERE encounter_id = $1)", encounter_id)
    return found


async def billable_totals(conn: asyncpg.Connection) -> dict[str, Decimal]:
    """For the audit: per encounter released to billing, the ledger total of its charges."""
    rows = await conn.fetch(
        "SELECT c.encounter_id, sum(l.amount) AS total FROM ledger_entries l JOIN charges c USING (charge_id)"
        " JOIN encounters e USING (encounter_id) WHERE e.billed_revision > 0 GROUP BY c.encounter_id"
    )
    return {r["encounter_id"]: r["total"] for r in rows}
