"""The charges consumer's statements per batch (issue 17), and the books when one batch carries
an encounter's whole story. The batches are handed to `EventConsumer.process_batch` directly on a
pool that counts what is sent, so each test decides which records share a transaction."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

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
T = TypeVar("T")


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
    (applied after the registration: a batch applies registrations first), two charges of one
    encounter, a correction after its charge, the same key twice, a rejected line, and a close that
    bills what was posted; then a charge after the close in the next batch rebills."""
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
    assert outcomes == [APPLIED] * 8
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


async def test_charges_before_their_registration_cost_no_statement_each(platform: Settings, charges: Runtime
                                                                         ) -> None:
    """Issue 17's parking lever. One batch with 8 charges of 2 encounters before their registrations
    (a poll that fetched the charges topic first): the registrations are applied first, so nothing
    parks. And charges parked by an earlier batch: the batch of their registrations releases them
    all with a fixed number of statements, however many there are."""
    counts: dict[str, int] = {}
    for case in ("same batch", "earlier batch"):
        tag, encounters = uuid.uuid4().hex[:8], [intake.new_encounter_id() for _ in range(2)]
        lines = [intake.charge(sei, cid) for sei in encounters for cid in charge_ids(f"{tag}{sei[:4]}", 4)]
        registrations = [intake.encounter(sei) for sei in encounters]
        if case == "same batch":
            outcomes, counts[case] = await applied(platform, charges, [*lines, *registrations])
            assert outcomes == [APPLIED] * 10
        else:
            outcomes, counts["8 charges parked"] = await applied(platform, charges, lines)
            assert outcomes == [PARKED] * 8
            outcomes, counts[case] = await applied(platform, charges, registrations)
            assert outcomes == [APPLIED] * 2
        for sei in encounters:
            events, total, keys = await books(platform, sei)
            assert [name for name, _ in events] == ["ChargePosted"] * 4 and total == Decimal("600.00")
            assert [k["outcome"] for k in keys] == ["posted"] * 4
    print(json.dumps(counts))
    # Before (main c831b0a): 22 for the same batch (its 8 charges parked, one INSERT each, then
    # released by their registrations, a DELETE per encounter), 37 for the registrations releasing
    # 8 charges parked earlier (a DELETE per encounter, and per charge its key's outcome and a hold
    # and a DELETE of its own key, which its corrections would wait under). Now the same batch is
    # 12, what the registrations then the charges in two batches cost (9 + 8) but for one inbox
    # claim, park keys and unit; the release 15: the 9 of the registrations, the parked charges'
    # own keys held and looked at (2), one DELETE for all the released, the postings and their
    # outbox rows (1 each). Parking them is unchanged: 14.
    assert counts == {"same batch": 12, "8 charges parked": 14, "earlier batch": 15}


async def test_parking_more_where_charges_wait_costs_what_the_first_parks_cost(platform: Settings,
                                                                                 charges: Runtime) -> None:
    """Charges of an encounter still unknown, in two batches: the second reads the first's parked
    charges with its settle, and pays nothing more for them while it releases none (10 each, as
    on main c831b0a; settling their own keys eagerly cost 12)."""
    sei, tag = intake.new_encounter_id(), uuid.uuid4().hex[:8]
    counts = []
    for part in ("a", "b"):
        outcomes, sent = await applied(platform, charges, [intake.charge(sei, f"{tag}-{part}{n}") for n in range(4)])
        assert outcomes == [PARKED] * 4
        counts.append(sent)
    assert counts == [10, 10]


def merges(first: list[T], second: list[T]) -> list[list[T]]:
    """Every interleaving of the two sequences that keeps each one's order (what two topics'
    fetches may make of them)."""
    if not first or not second:
        return [[*first, *second]]
    return ([[first[0], *rest] for rest in merges(first[1:], second)]
            + [[second[0], *rest] for rest in merges(first, second[1:])])


_OUR_ID = re.compile(r"\b(?:chg|enc|rev|led|PA)_[0-9A-Z]+\b")


def as_told(events: list[tuple[str, dict[str, Any]]], sei: str, tag: str) -> list[tuple[str, str]]:
    """The events with the run's own ids replaced: the sender's by placeholders, ours by their
    order of first appearance (so two runs compare equal when they told the same story)."""
    told = [(name, json.dumps(payload, sort_keys=True).replace(sei, "SEI").replace(tag, "TAG"))
            for name, payload in events]
    seen: dict[str, str] = {}
    return [(name, _OUR_ID.sub(lambda m: seen.setdefault(m.group(0), f"id{len(seen)}"), text))
            for name, text in told]


async def test_the_books_are_the_same_whatever_the_interleaving(platform: Settings, charges: Runtime) -> None:
    """An encounter's story (registered, closed listing its three lines; two charges and a
    correction of the second) in every interleaving of its two topics, each applied as one batch,
    one batch per record, and two batches: the same events with the same payloads in the same
    order, the same ledger total, every time."""
    stories: set[tuple[tuple[str, str], ...]] = set()
    runs = 0
    for order in range(len(merges([0, 1], [0, 1, 2]))):
        for split in ("one batch", "each alone", "two batches"):
            sei, tag = intake.new_encounter_id(), uuid.uuid4().hex[:8]
            first, second, fixed = (f"{tag}-{n}" for n in ("c1", "c2", "fix"))
            told = [intake.encounter(sei), intake.closed(sei, first, second, fixed)]
            lines = [intake.charge(sei, first), intake.charge(sei, second),
                     intake.correction(sei, fixed, second, unit_price="40.00", amount="40.00")]
            batch = merges(told, lines)[order]
            parts = {"one batch": [batch], "each alone": [[event] for event in batch],
                     "two batches": [batch[:2], batch[2:]]}[split]
            for part in parts:
                outcomes, _ = await applied(platform, charges, part)
                assert Outcome.DEAD_LETTERED not in outcomes
            events, total, keys = await books(platform, sei)
            assert total == Decimal("190.00"), (order, split)  # 150 + 150 - 150 + 40
            assert sorted(k["outcome"] for k in keys) == ["posted"] * 3
            stories.add(tuple(as_told(events, sei, tag)))
            runs += 1
    assert runs == 30
    [story] = stories
    assert [name for name, _ in story] == ["ChargePosted", "ChargePosted", "ChargeReversed", "ChargePosted",
                                           "EncounterReadyToBill"]
