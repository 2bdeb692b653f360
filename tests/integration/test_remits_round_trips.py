"""The remits consumer's statements per batch of ClaimSubmitted (issue 17: service/unit.py), and
the books a batch leaves: the same as one event per transaction, a claim payment waiting in
suspense for one of them included. The batches are handed to `EventConsumer.process_batch`
directly on a pool that counts what is sent, so each test decides which records share a
transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from edi.x835 import read_835, write_835
from services.chassis.clock import FixedClock
from services.chassis.consumer import Outcome
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.remits.app import DEFINITION
from services.remits.service import remittances, suspense
from tests.support import batches
from tests.support.remits_io import params, sql, submitted
from tests.support.runtimes import running
from tests.unit.remits.builders import adj, claim, line, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture(scope="module")
async def remits(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(DEFINITION, platform, clock=FixedClock(NOW)) as runtime:
        yield runtime


async def applied(platform: Settings, runtime: Runtime, events: list[BaseModel]) -> int:
    """Apply the events in one batch (each must apply); the statements it sent."""
    outcomes, sent = await batches.applied(platform, runtime, events, "test-remits")
    assert outcomes == [Outcome.APPLIED] * len(events)
    return sent


def claims(tag: str, count: int) -> list[Any]:
    """`count` ClaimSubmitted of their own encounters, two by patient account."""
    return [submitted(f"SB{tag}{n}", f"{tag}{n}", f"PA-{tag}{n // 2}") for n in range(count)]


async def test_a_batch_of_claims_submitted_costs_the_same_statements_for_one_as_for_many(
        platform: Settings, remits: Runtime) -> None:
    """Per batch: the inbox claim (one), the CLP01 locks and what waits in suspense for them (two),
    the submissions written (one pipelined statement), their encounters' books locked, read (four)
    and journaled (one), the balances read (one; no event: a claim just sent leaves the patient
    owing nothing): 11, whatever the batch's size. Before the unit of work (main 20b49f9): 10 for
    one claim, 55 for six (the lock and submission in one statement, then nine per claim)."""
    sent = {size: await applied(platform, remits, claims(uuid.uuid4().hex[:6], size)) for size in (1, 6)}
    assert sent == {1: 11, 6: 11}


async def book_of(platform: Settings, tag: str, count: int) -> list[Any]:
    """Per encounter of the tag, in order: its book accounts in the ledger, its submission, its
    balance (the ids with the tag taken out, so two tags compare)."""
    out = []
    for n in range(count):
        encounter = f"enc_{tag}{n}"
        ledger = await sql(platform, "SELECT account, payer_rank, sum(amount) FROM ledger_entries"
                           " WHERE encounter_id = $1 GROUP BY 1, 2 ORDER BY 1, 2", encounter)
        balance = await sql(platform, "SELECT total, patient_paid, revision, items::text FROM balances"
                            " WHERE encounter_id = $1", encounter)
        subs = await sql(platform, "SELECT count(*) FROM submissions WHERE encounter_id = $1", encounter)
        out.append(([tuple(r) for r in ledger], [(r[0], r[1], r[2], r[3].replace(tag, "")) for r in balance],
                     subs[0][0]))
    return out


async def test_a_batch_books_what_one_event_per_transaction_books(platform: Settings, remits: Runtime) -> None:
    """Six claims, one of them paid (10.00 copay) by an 835 that came before its ClaimSubmitted
    (so it waits in suspense): in one batch, the books, balances and suspense are those of the same
    events applied one per transaction."""
    books = []
    for batched in (False, True):
        tag = uuid.uuid4().hex[:6]
        events = claims(tag, 6)
        early = f"SB{tag}3"
        text = write_835([remittance(f"EFT{tag}", claim(early, "1", "185.00", "104.50", line(
            "150.00", "88.00", adj("CO", "45", "52.00"), adj("PR", "3", "10.00"), lcn=f"{early}-1"), line(
            "35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{early}-2", code="87880"), pccn=f"P{tag}"))],
            params(700 + batched))
        assert remits.consumer is not None
        async with remits.consumer.pool.acquire() as conn:
            posted = await remittances.ingest(conn, text.encode(), f"{tag}.835", "test", NOW)
        assert posted.status == "posted", posted.reason
        if batched:
            await applied(platform, remits, events)
        else:
            for e in events:
                await applied(platform, remits, [e])
        waiting = await sql(platform, "SELECT count(*) FROM unmatched WHERE reported_submission = $1"
                            " AND resolved_at IS NULL", early)
        assert waiting[0][0] == 0
        books.append(await book_of(platform, tag, 6))
    assert books[0] == books[1]
    assert books[1][3][1][0][:3] == (D("10.00"), D("0.00"), 1)  # the claim paid from suspense: its copay


async def test_a_file_held_for_several_claims_of_a_batch_is_read_once(
        platform: Settings, remits: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three claims paid by one 835 that came before their ClaimSubmitted: the batch re-posts the
    three from suspense, reading the stored file once (not once per claim)."""
    tag = uuid.uuid4().hex[:6]
    events = claims(tag, 3)
    paid = [claim(e.submission_id, "1", "185.00", "175.00", line(
        "150.00", "140.00", adj("CO", "45", "10.00"), lcn=f"{e.submission_id}-1"), line(
        "35.00", "35.00", lcn=f"{e.submission_id}-2", code="87880"), pccn=f"P{tag}{n}") for n, e in enumerate(events)]
    assert remits.consumer is not None
    async with remits.consumer.pool.acquire() as conn:
        posted = await remittances.ingest(conn, write_835([remittance(f"EFT{tag}", *paid)], params(710)).encode(),
                                          f"{tag}.835", "test", NOW)
    assert posted.status == "posted", posted.reason
    reads = []

    def read(text: str) -> Any:
        reads.append(len(text))
        return read_835(text)

    monkeypatch.setattr(suspense, "read_835", read)
    await applied(platform, remits, events)
    assert len(reads) == 1
    resolved = await sql(platform, "SELECT count(*) FROM unmatched WHERE reported_submission = ANY($1::text[])"
                         " AND resolved_at IS NOT NULL", [e.submission_id for e in events])
    assert resolved[0][0] == 3
