"""The charges consumer's statements per batch (issue 17), and the books when one batch carries
an encounter's whole story. The batches are handed to `EventConsumer.process_batch` directly on a
pool that counts what is sent, so each test decides which records share a transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from pydantic import BaseModel

from services.charges.app import DEFINITION
from services.chassis.clock import FixedClock
from services.chassis.consumer import Outcome
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support import batches, intake
from tests.support.runtimes import running

pytestmark = pytest.mark.integration
TODAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
APPLIED, PARKED = Outcome.APPLIED, Outcome.PARKED


@pytest.fixture(scope="module")
async def charges(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(DEFINITION, platform, clock=FixedClock(TODAY)) as runtime:
        yield runtime


async def applied(platform: Settings, runtime: Runtime, events: list[BaseModel]) -> tuple[list[Outcome], int]:
    """The outcomes of one batch of the events, and the statements it sent."""
    return await batches.applied(platform, runtime, events, "test-charges")


def charge_ids(tag: str, count: int) -> list[str]:
    return [f"{tag}-c{n}" for n in range(count)]


async def test_statements_per_batch_do_not_grow_with_its_charges(platform: Settings, charges: Runtime) -> None:
    """M encounters registered in one batch, then N charges of them in another: what each batch
    costs, for 2 encounters of 1 charge each and 2 encounters of 4 charges each."""
    counts: dict[str, int] = {}
    for per_encounter in (1, 4):
        tag = uuid.uuid4().hex[:8]
        encounters = [intake.new_encounter_id() for _ in range(2)]
        outcomes, counts[f"2 x EncounterRegistered ({per_encounter})"] = await applied(
            platform, charges, [intake.encounter(sei) for sei in encounters])
        assert outcomes == [APPLIED] * 2
        lines = [intake.charge(sei, cid) for sei in encounters for cid in charge_ids(f"{tag}{sei[:4]}", per_encounter)]
        outcomes, counts[f"{len(lines)} x ChargeSubmitted of 2 encounters"] = await applied(platform, charges, lines)
        assert outcomes == [APPLIED] * len(lines)
    print(json.dumps(counts))
    # Before the unit of work (main at 0753960): 11, 11, 11, 35: 3 per batch (inbox, park keys),
    # then 4 per registration and 4 per charge (its key, its encounter locked, the posting, the
    # outbox row). Now per batch: those 3, the encounter ids and the locked encounters (and the
    # keys, and one statement for all postings); per registration its account and the upsert;
    # per charge its outbox row (ChargePosted) only, and since the chassis writes a transaction's
    # outbox rows together (outbox.deferred), one outbox statement for the batch's charges.
    assert counts == {
        "2 x EncounterRegistered (1)": 9, "2 x ChargeSubmitted of 2 encounters": 8,
        "2 x EncounterRegistered (4)": 9, "8 x ChargeSubmitted of 2 encounters": 8,
    }


Books = tuple[list[tuple[str, dict[str, Any]]], Decimal, list[dict[str, Any]]]


async def books(platform: Settings, source_encounter_id: str) -> Books:
    """An encounter's events (type and payload, in order), ledger total and intake key outcomes."""
    conn = await asyncpg.connect(platform.database_url("charges"))  # type: ignore[arg-type]
    try:
        encounter_id = await conn.fetchval(
            "SELECT encounter_id FROM encounter_ids WHERE source_system = $1 AND source_encounter_id = $2",
            intake.SYSTEM, source_encounter_id)
        events = [(r["event_type"].split(".")[2], json.loads(r["payload"])) for r in await conn.fetch(
            "SELECT event_type, payload FROM outbox WHERE subject = $1 ORDER BY seq", encounter_id)]
        total = await conn.fetchval(
            "SELECT COALESCE(sum(l.amount), 0) FROM ledger_entries l JOIN charges c USING (charge_id)"
            " WHERE c.encounter_id = $1", encounter_id)
        keys = [dict(r) for r in await conn.fetch(
            "SELECT source_charge_id, outcome FROM intake_keys WHERE encounter_id = $1", encounter_id)]
        return events, total, keys
    finally:
        await conn.close()


async def test_one_batch_carries_an_encounters_whole_story(platform: Settings, charges: Runtime) -> None:
    """What a handler writes, a later event of the same batch sees: a charge before its encounter
    (parked, then released by the registration), two charges of one encounter, a correction after
    its charge, the same key twice, a rejected line, and a close that bills what was posted; then a
    charge after the close in the next batch rebills."""
    sei, tag = intake.new_encounter_id(), uuid.uuid4().hex[:8]
    early, first, second, bad, fixed, late = (f"{tag}-{n}" for n in ("early", "c1", "c2", "bad", "fix", "late"))
    batch = [
        intake.charge(sei, early),
        intake.encounter(sei),
        intake.charge(sei, first),
        intake.charge(sei, second, procedure_code="87880", modifiers=["QW"], unit_price="35.00", amount="35.00",
                      diagnosis_pointers=[1]),
        intake.charge(sei, first),
        intake.charge(sei, bad, diagnosis_pointers=[9]),
        intake.correction(sei, fixed, second, procedure_code="87880", modifiers=["QW"], unit_price="40.00",
                          amount="40.00", diagnosis_pointers=[1]),
        intake.closed(sei),
    ]
    outcomes, _ = await applied(platform, charges, batch)
    assert outcomes == [PARKED, *[APPLIED] * 7]
    events, total, keys = await books(platform, sei)
    assert [name for name, _ in events] == ["ChargePosted", "ChargePosted", "ChargePosted", "ChargeRejected",
                                            "ChargeReversed", "ChargePosted", "EncounterReadyToBill"]
    assert total == Decimal("340.00")  # 150 (early) + 150 + 35 - 35 + 40; the repeat and the bad line post nothing
    assert sorted((k["source_charge_id"], k["outcome"]) for k in keys) == sorted([
        (early, "posted"), (first, "posted"), (second, "posted"), (bad, "rejected"), (fixed, "posted")])
    outcomes, _ = await applied(platform, charges, [intake.charge(sei, late), intake.charge(sei, late)])
    assert outcomes == [APPLIED, APPLIED]
    assert billed(events) == 3
    events, total, _ = await books(platform, sei)
    assert [name for name, _ in events][-2:] == ["ChargePosted", "EncounterReadyToBill"]
    assert total == Decimal("490.00") and billed(events) == 4


def billed(events: list[tuple[str, dict[str, Any]]]) -> int:
    """How many charges the last EncounterReadyToBill lists; they must be every charge posted and
    not reversed."""
    posted = {p["charge_id"] for name, p in events if name == "ChargePosted"}
    reversed_ = {p["charge_id"] for name, p in events if name == "ChargeReversed"}
    ready = [p for name, p in events if name == "EncounterReadyToBill"][-1]
    assert sorted(ready["charge_ids"]) == sorted(posted - reversed_)
    return len(ready["charge_ids"])


async def test_a_closed_encounter_bills_once_the_charges_it_listed_are_in(platform: Settings, charges: Runtime) -> None:
    """Closed listing three charges: a batch with two of them bills nothing and sends a statement
    for no charge beyond its outbox row; the batch with the third (rejected: it counts as
    processed) bills the two posted."""
    sei, tag = intake.new_encounter_id(), uuid.uuid4().hex[:8]
    first, second, bad = (f"{tag}-{n}" for n in ("c1", "c2", "bad"))
    outcomes, _ = await applied(platform, charges, [intake.encounter(sei), intake.closed(sei, first, second, bad)])
    assert outcomes == [APPLIED, APPLIED]
    outcomes, sent = await applied(platform, charges, [intake.charge(sei, first), intake.charge(sei, second)])
    assert outcomes == [APPLIED, APPLIED]
    events, _, _ = await books(platform, sei)
    assert [name for name, _ in events] == ["ChargePosted", "ChargePosted"]
    # 3 for the batch (inbox, park keys), 3 for the unit (ids, locks, keys incl. the listed
    # ones), the postings, the 2 outbox rows in one statement. Before (main at 0753960): 15, 4 per
    # charge and 2 more per charge to ask the database whether billing still waits.
    assert sent == 8
    outcomes, _ = await applied(platform, charges, [intake.charge(sei, bad, diagnosis_pointers=[9])])
    assert outcomes == [APPLIED]
    events, total, _ = await books(platform, sei)
    assert [name for name, _ in events][-2:] == ["ChargeRejected", "EncounterReadyToBill"]
    assert billed(events) == 2 and total == Decimal("300.00")
