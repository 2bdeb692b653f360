"""The order a batch's records are applied in when a service applies some event types first
(HandlerTable.applies_first): each such record before the same key's records of the batch's
other topics, and every topic's records in their order, whatever the interleaving."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import intake
from schemas.envelope import Envelope
from services.charges.handlers import APPLIED_FIRST
from services.chassis.consumer import HandlerContext, HandlerTable, _Work, applied_first_order
from services.chassis.dlq import SourceRecord

ENCOUNTERS, CHARGES = "p.rcm.intake.encounters.v1", "p.rcm.intake.charges.v1"
REGISTERED, UPDATED, CLOSED = (f"rcm.intake.{n}.v1" for n in ("EncounterRegistered", "EncounterUpdated",
                                                              "EncounterClosed"))
SUBMITTED = "rcm.intake.ChargeSubmitted.v1"
TOPIC_OF = {REGISTERED: ENCOUNTERS, UPDATED: ENCOUNTERS, CLOSED: ENCOUNTERS, SUBMITTED: CHARGES}


async def _handler(ctx: HandlerContext, event: Any) -> None: ...


def batch(*records: tuple[str, str]) -> list[tuple[int, _Work]]:
    """(event type, record key) in record order, as process_batch numbers its work."""
    return [(n, _Work(SourceRecord(TOPIC_OF[kind], 0, n, key.encode(), b"{}", []),
                      Envelope.new(source="t", type=kind, subject=key, time=datetime.now(UTC)), None, _handler))
            for n, (kind, key) in enumerate(records)]


def order(work: list[tuple[int, _Work]]) -> list[int]:
    return [n for n, _ in applied_first_order(work, APPLIED_FIRST)]


def test_charges_declare_their_encounters_registrations_and_updates_first() -> None:
    assert {REGISTERED, UPDATED} == APPLIED_FIRST


def test_a_registration_goes_before_its_charges_and_drags_its_topics_earlier_records_along() -> None:
    # 0 ch(a), 1 ch(b), 2 reg(b), 3 reg(a), 4 ch(c), 5 closed(a), 6 ch(a)
    work = batch((SUBMITTED, "a"), (SUBMITTED, "b"), (REGISTERED, "b"), (REGISTERED, "a"), (SUBMITTED, "c"),
                 (CLOSED, "a"), (SUBMITTED, "a"))
    # ch(a) waits for reg(a), which comes after reg(b) on its topic; ch(b) waits for reg(b) only.
    # The close is not applied first: ch(a) 6 stays after it, as it came.
    assert order(work) == [2, 3, 0, 1, 4, 5, 6]


def test_a_charge_waits_for_every_registration_and_update_of_its_key_in_the_batch() -> None:
    work = batch((REGISTERED, "a"), (SUBMITTED, "a"), (UPDATED, "a"))
    assert order(work) == [0, 2, 1]


def test_a_batch_without_a_type_applied_first_keeps_its_order() -> None:
    work = batch((SUBMITTED, "a"), (CLOSED, "a"), (SUBMITTED, "b"))
    assert applied_first_order(work, APPLIED_FIRST) is work
    assert order(batch((REGISTERED, "a"), (SUBMITTED, "b"))) == [0, 1]  # other keys keep record order


RECORDS = st.lists(st.tuples(st.sampled_from([REGISTERED, UPDATED, CLOSED, SUBMITTED, SUBMITTED]),
                             st.sampled_from("abc")), max_size=25)


@given(RECORDS)
def test_every_topic_keeps_its_order_and_registrations_come_before_their_keys_charges(
        records: list[tuple[str, str]]) -> None:
    work = batch(*records)
    applied = order(work)
    assert sorted(applied) == list(range(len(records)))  # each record once
    for topic in (ENCOUNTERS, CHARGES):
        on_topic = [n for n in applied if TOPIC_OF[records[n][0]] == topic]
        assert on_topic == sorted(on_topic)
    position = {n: p for p, n in enumerate(applied)}
    for first, (kind, key) in enumerate(records):
        if kind in APPLIED_FIRST:
            charges = [n for n, (other, k) in enumerate(records) if other == SUBMITTED and k == key]
            assert all(position[first] < position[n] for n in charges)


def test_types_applied_first_must_share_one_topic() -> None:
    table = HandlerTable()
    table.applies_first(intake.EncounterRegistered)
    with pytest.raises(ValueError, match="must share one topic"):
        table.applies_first(intake.ChargeSubmitted)
