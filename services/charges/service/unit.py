"""The charges' unit of work for one consumer transaction (UNIT, the consumer's UnitOfWork): an
identity map of what its handlers read (our encounter ids, the encounters they lock, intake key
outcomes, chargemaster items), and the charges they post, written together.

`prefetch` loads the map for every event of a batch at once, in a few set-based statements,
before the first handler runs; a handler that misses (an event type without a prefetch, a key a
release brought in) loads what it needs and keeps it here. Every write of a handler to what is
kept here goes through here too, so a later event of the same batch reads what an earlier one
wrote: a charge after the registration of its encounter, a correction after its charge.

Postings (the charge, its ledger entry, its key's outcome) are buffered and written in one
statement by `flush`: before the commit, and before any read of what they write (`flush` before
reading charges, the ledger or intake keys from the database).

It lives in the transaction's memo, so nothing outlives a commit or a rollback.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from schemas import intake
from schemas.common import EncounterDetails
from services.charges import store
from services.charges.domain.chargemaster import ChargemasterItem
from services.charges.domain.reference import ReferenceData
from services.charges.store import EncounterPair, EncounterRow, KeyOutcome
from services.chassis.consumer import HandlerContext

EncounterEvent = (intake.EncounterRegistered | intake.EncounterUpdated | intake.EncounterClosed
                  | intake.ChargeSubmitted | intake.ChargeCorrected)
"""What `prefetch` takes: the events of a batch that lock their encounter."""

_MEMO = "charges.unit"


@dataclass
class Unit:
    # Our id of each encounter of the batch, by the sender's ids.
    ids: dict[EncounterPair, str] = field(default_factory=dict)
    # The encounters this transaction holds locked, by our id; None: not registered (as of the lock).
    encounters: dict[str, EncounterRow | None] = field(default_factory=dict)
    # The outcome of each key looked up; None: not processed yet.
    keys: dict[str, KeyOutcome | None] = field(default_factory=dict)
    chargemaster: dict[str, ChargemasterItem | None] = field(default_factory=dict)
    # Encounter details validated once per encounter and batch, by our id.
    details: dict[str, EncounterDetails] = field(default_factory=dict)
    # The reference data the rules consult (the code-set directory looked at once per batch).
    reference: ReferenceData | None = None
    # Charges posted and not yet written, in posting order.
    postings: list[store.Posting] = field(default_factory=list)


def unit(ctx: HandlerContext) -> Unit:
    found = ctx.memo.get(_MEMO)
    if found is None:
        found = ctx.memo[_MEMO] = Unit()
    assert isinstance(found, Unit)
    return found


async def prefetch(ctx: HandlerContext, events: list[EncounterEvent]) -> None:
    """Our ids of the events' encounters (assigned on first sight), the encounters locked in
    id order, the outcomes of the keys the charge lines carry or correct and of the keys billing
    waits for, and the chargemaster items the lines name: at most four statements for the whole
    batch. The keys are read after the locks: a key of a locked encounter that another
    transaction processed is committed by then."""
    state = unit(ctx)
    await _encounter_ids(ctx, state, [(e.source_system, e.source_encounter_id) for e in events])
    encounter_ids = [state.ids[(e.source_system, e.source_encounter_id)] for e in events]
    await _lock(ctx, state, encounter_ids)
    lines = [e for e in events if isinstance(e, intake.ChargeSubmitted | intake.ChargeCorrected)]
    keys = [e.idempotency_key for e in lines] + [e.corrects_idempotency_key for e in lines
                                                 if isinstance(e, intake.ChargeCorrected)]
    locked = [row for row in map(state.encounters.get, dict.fromkeys(encounter_ids)) if row is not None]
    await _key_outcomes(ctx, state, keys + [key for row in locked for key in _billing_waits_for(row)])
    await _chargemaster(ctx, state, [e.chargemaster_code for e in lines if e.chargemaster_code is not None])


def post(ctx: HandlerContext, posting: store.Posting) -> None:
    """Post a charge (written by the next `flush`); its key reads as posted from now on."""
    state = unit(ctx)
    state.postings.append(posting)
    state.keys[posting.idempotency_key] = KeyOutcome("posted", posting.charge_id, posting.encounter_id)


async def flush(ctx: HandlerContext) -> None:
    """Write the buffered postings: call before reading charges, the ledger or intake keys."""
    state = unit(ctx)
    if state.postings:
        await store.post_charges(ctx.conn, state.postings)
        state.postings = []


class _Unit:
    """The charges' UnitOfWork for the consumer (see the module doc)."""

    async def prefetch(self, ctx: HandlerContext, events: list[EncounterEvent]) -> None:
        await prefetch(ctx, events)

    async def flush(self, ctx: HandlerContext) -> None:
        await flush(ctx)


UNIT = _Unit()


async def encounter_id(ctx: HandlerContext, source_system: str, source_encounter_id: str) -> str:
    """Our id for the sender's encounter, assigned on first sight."""
    state, pair = unit(ctx), (source_system, source_encounter_id)
    await _encounter_ids(ctx, state, [pair])
    return state.ids[pair]


async def locked_encounter(ctx: HandlerContext, source_system: str, source_encounter_id: str) -> EncounterRow | None:
    """The sender's encounter, locked for this transaction; None when it is not registered."""
    state = unit(ctx)
    found = await encounter_id(ctx, source_system, source_encounter_id)
    await _lock(ctx, state, [found])
    return state.encounters[found]


async def encounter(ctx: HandlerContext, encounter_id: str, *, lock: bool = False) -> EncounterRow | None:
    """The encounter as this transaction knows it (locked when it was locked here), else as stored."""
    state = unit(ctx)
    if encounter_id in state.encounters:
        return state.encounters[encounter_id]
    if lock:
        await _lock(ctx, state, [encounter_id])
        return state.encounters[encounter_id]
    return await store.load_encounter(ctx.conn, encounter_id)


def details(ctx: HandlerContext, row: EncounterRow) -> EncounterDetails:
    """The encounter's details as the contract reads them, validated once per batch."""
    state = unit(ctx)
    found = state.details.get(row.encounter_id)
    if found is None:
        found = state.details[row.encounter_id] = EncounterDetails.model_validate_json(row.details_json)
    return found


async def save_encounter(ctx: HandlerContext, before: EncounterRow | None, encounter_id: str, patient_account_id: str,
                         details_json: str, at: datetime) -> None:
    """Store the encounter's new state and keep it here."""
    await store.save_encounter(ctx.conn, encounter_id, patient_account_id, details_json, at)
    state = unit(ctx)
    state.details.pop(encounter_id, None)
    state.encounters[encounter_id] = EncounterRow(
        encounter_id=encounter_id, patient_account_id=patient_account_id, details_json=details_json,
        closed_at=before.closed_at if before else None, billed_revision=before.billed_revision if before else 0,
        expected_charges=before.expected_charges if before else [])


async def close_encounter(ctx: HandlerContext, row: EncounterRow, closed_at: datetime, expected_keys: list[str]
                          ) -> None:
    await store.close_encounter(ctx.conn, row.encounter_id, closed_at, expected_keys)
    _changed(ctx, row.encounter_id, closed_at=row.closed_at or closed_at,
             expected_charges=list(dict.fromkeys(row.expected_charges + expected_keys)))


async def set_billed_revision(ctx: HandlerContext, encounter_id: str, revision: int) -> None:
    await store.set_billed_revision(ctx.conn, encounter_id, revision)
    _changed(ctx, encounter_id, billed_revision=revision)


async def awaited_charges(ctx: HandlerContext, row: EncounterRow) -> int:
    """How many charges the sender listed at close that have not been processed yet."""
    state = unit(ctx)
    waits_for = _billing_waits_for(row)
    await _key_outcomes(ctx, state, waits_for)
    return sum(state.keys[key] is None for key in waits_for)


def _billing_waits_for(row: EncounterRow) -> list[str]:
    """The keys listed at close, while billing may wait for them (not billed yet)."""
    return row.expected_charges if row.closed_at is not None and row.billed_revision == 0 else []


async def key_outcome(ctx: HandlerContext, idempotency_key: str) -> KeyOutcome | None:
    state = unit(ctx)
    await _key_outcomes(ctx, state, [idempotency_key])
    return state.keys[idempotency_key]


def keyed(ctx: HandlerContext, idempotency_key: str, outcome: KeyOutcome) -> None:
    """Note a key's outcome that this transaction wrote."""
    unit(ctx).keys[idempotency_key] = outcome


async def chargemaster_item(ctx: HandlerContext, cdm_code: str) -> ChargemasterItem | None:
    state = unit(ctx)
    await _chargemaster(ctx, state, [cdm_code])
    return state.chargemaster[cdm_code]


def _changed(ctx: HandlerContext, encounter_id: str, **changes: Any) -> None:
    state = unit(ctx)
    row = state.encounters.get(encounter_id)
    if row is not None:
        state.encounters[encounter_id] = dataclasses.replace(row, **changes)


async def _encounter_ids(ctx: HandlerContext, state: Unit, pairs: list[EncounterPair]) -> None:
    missing = [p for p in dict.fromkeys(pairs) if p not in state.ids]
    if missing:
        state.ids.update(await store.encounter_ids_for(ctx.conn, missing))


async def _lock(ctx: HandlerContext, state: Unit, encounter_ids: list[str]) -> None:
    missing = [i for i in dict.fromkeys(encounter_ids) if i not in state.encounters]
    if missing:
        found = await store.lock_encounters(ctx.conn, missing)
        state.encounters.update({i: found.get(i) for i in missing})


async def _key_outcomes(ctx: HandlerContext, state: Unit, keys: list[str]) -> None:
    missing = [k for k in dict.fromkeys(keys) if k not in state.keys]
    if missing:
        found = await store.key_outcomes(ctx.conn, missing)
        state.keys.update({k: found.get(k) for k in missing})


async def _chargemaster(ctx: HandlerContext, state: Unit, cdm_codes: list[str]) -> None:
    missing = [c for c in dict.fromkeys(cdm_codes) if c not in state.chargemaster]
    if missing:
        found = await chargemaster_items(ctx.conn, missing)
        state.chargemaster.update({c: found.get(c) for c in missing})


async def chargemaster_items(conn: asyncpg.Connection, cdm_codes: list[str]) -> dict[str, ChargemasterItem]:
    """The loaded ones of these chargemaster items, by code."""
    return {row["cdm_code"]: ChargemasterItem(
        cdm_code=row["cdm_code"], procedure_code=row["procedure_code"], modifiers=tuple(row["modifiers"]),
        revenue_code=row["revenue_code"] or "", description=row["description"] or "",
        unit_price=row["unit_price"],
    ) for row in await store.chargemaster_items(conn, cdm_codes)}
