"""SQL round trips of the claims service's hot paths (issue 17: its CPU per event is mostly
asyncpg and the event loop, one turn per statement): an encounter assembled, an 837P batch,
a 999 and a 277CA file, a payment. Each path is counted on a connection that counts what is
sent; a batch or a file costs the same number of statements for one claim as for several."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest

from edi import x277ca, x999
from edi.envelope import EnvelopeParams, read_interchange
from sandbox.acknowledgments import ClaimDecision, acknowledge_interchange, build_277ca
from schemas import charges as ch
from schemas import remits as rm
from services.chassis import migrations
from services.chassis.clearinghouse import ExchangeFile
from services.chassis.clock import FixedClock
from services.chassis.consumer import EventConsumer, Outcome
from services.chassis.db import create_pool
from services.chassis.kafka import Publisher
from services.chassis.metrics import Metrics
from services.chassis.settings import Settings
from services.claims.app import DEFINITION
from services.claims.domain.claim import Claim
from services.claims.service import acknowledgments, adjudication, assembly, operator, submission
from services.claims.store import ClaimsStore
from tests.support.batches import record
from tests.support.counting import Counting, CountingPool
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
DOS = (NOW - timedelta(days=5)).date().isoformat()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def pool(platform: Settings) -> AsyncIterator[asyncpg.Pool]:
    await migrations.migrate(platform, "claims", migrations.service_migrations(DEFINITION.migrations),
                             DEFINITION.append_only)
    pool = await create_pool(platform.database_url("claims"))  # type: ignore[arg-type]
    payers, fees = operator.read_payer_master(REPO / "deploy" / "local" / "payers.yaml")
    async with pool.acquire() as conn, conn.transaction():
        await operator.load_payers(ClaimsStore(conn), payers, fees, "payers.yaml", "pytest", "test setup", NOW)
    yield pool
    await pool.close()


async def counted(pool: asyncpg.Pool, work: Any) -> int:
    """Statements `work(db)` sends in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        counting = Counting(conn)
        await work(ClaimsStore(cast(asyncpg.Connection, counting)))
        return counting.sent


def encounter_events(tag: str) -> tuple[ch.ChargePosted, ch.ChargePosted, ch.EncounterReadyToBill]:
    """An encounter's two ChargePosted and its EncounterReadyToBill."""
    first = cast(ch.ChargePosted, example("rcm.charges.ChargePosted.v1", encounter_id=f"enc_{tag}",
                                          charge_id=f"chg_{tag}1", patient_account_id=f"PA-{tag}",
                                          idempotency_key=f"t:{tag}1", service_date=DOS))
    second = ch.ChargePosted.model_validate_json(json.dumps({
        **json.loads(first.model_dump_json()), "charge_id": f"chg_{tag}2", "idempotency_key": f"t:{tag}2",
        "procedure_code": "87880", "modifiers": ["QW"], "unit_price": "35.00", "amount": "35.00",
        "diagnosis_pointers": [1], "diagnosis_codes": ["J020"], "revenue_code": "0300"}))
    ready = cast(ch.EncounterReadyToBill, example(
        "rcm.charges.EncounterReadyToBill.v1", encounter_id=f"enc_{tag}", patient_account_id=f"PA-{tag}",
        charge_ids=[first.charge_id, second.charge_id]))
    return first, second, ready


async def assembled(pool: asyncpg.Pool) -> tuple[int, int]:
    """(statements of the two ChargePosted, of the EncounterReadyToBill as its handler applies it)."""
    first, second, ready = encounter_events(uuid.uuid4().hex[:10])

    async def charges(db: ClaimsStore) -> None:
        await assembly.record_charge(db, first)
        await assembly.record_charge(db, second)

    async def release(db: ClaimsStore) -> None:
        assert not await assembly.missing_charges(db, ready)
        await assembly.ready_to_bill(db, ready, NOW)

    return await counted(pool, charges), await counted(pool, release)


async def claims_of(pool: asyncpg.Pool, state: str) -> list[Claim]:
    async with pool.acquire() as conn:
        ids = [r["claim_id"] for r in await conn.fetch("SELECT claim_id FROM claims WHERE state = $1", state)]
        db = ClaimsStore(conn)
        return [c for c in [await db.get_claim(i, lock=False) for i in ids] if c is not None]


async def submitted_file(pool: asyncpg.Pool) -> tuple[int, str]:
    names: list[str] = []

    async def submit(db: ClaimsStore) -> None:
        names.extend(await submission.submit_pending(db, NOW))

    sent = await counted(pool, submit)
    async with pool.acquire() as conn:
        content = await conn.fetchval("SELECT content FROM interchanges WHERE file_name = $1", names[0])
    return sent, bytes(content).decode()


def params(number: int) -> EnvelopeParams:
    return EnvelopeParams(sender_id="RCMCLEARINGHSE", receiver_id="REVCYCLE", interchange_control_number=number,
                          group_control_number=number, created=NOW)


async def ack_file(pool: asyncpg.Pool, text: str) -> int:
    async def apply(db: ClaimsStore) -> None:
        await acknowledgments.process_ack_file(db, ExchangeFile("inbound/acks", f"{uuid.uuid4().hex}.x12"),
                                               text.encode(), NOW)

    return await counted(pool, apply)


def accepted_277ca(claims: list[Claim]) -> str:
    decisions = [ClaimDecision(
        patient_control_number=c.submission_id or "", charge=c.total_charge, service_from=c.draft.first_service_date,
        patient_last_name="Rivera", patient_first_name="Ana", member_id="W123456789",
        provider_name="Mission Family Medical Group", provider_npi="1234567893", accepted=True,
        payer_claim_control_number=f"PCN{c.claim_id[-6:]}") for c in claims]
    tx = build_277ca(decisions, source_name="Aetna", source_id="60054", receiver_name="Revcycle Billing",
                     receiver_id="REVCYCLE", batch_trace="B1", reference=f"R{uuid.uuid4().hex[:8]}", created=NOW)
    return x277ca.write_277ca([tx], params(7))


def paid(claim: Claim) -> rm.ClaimPaymentPosted:
    base = json.loads(example("rcm.remittances.ClaimPaymentPosted.v1").model_dump_json())
    lines = [dict(line, line_control_number=f"{claim.submission_id}-{i}")
             for i, line in enumerate(base["lines"], start=1)]
    return cast(rm.ClaimPaymentPosted, example(
        "rcm.remittances.ClaimPaymentPosted.v1", claim_id=claim.claim_id, claim_family_id=claim.claim_family_id,
        encounter_id=claim.encounter_id, submission_id=claim.submission_id,
        payer_claim_control_number=claim.payer_claim_control_number, lines=lines,
        remittance_id=f"rem_{uuid.uuid4().hex[:10]}"))


async def test_round_trips_per_path(pool: asyncpg.Pool) -> None:
    counts: dict[str, int] = {}
    counts["2 x ChargePosted"], counts["EncounterReadyToBill"] = await assembled(pool)
    counts["837P batch of 1 claim"], one = await submitted_file(pool)
    for _ in range(3):
        await assembled(pool)
    counts["837P batch of 3 claims"], three = await submitted_file(pool)
    counts["999 of 1 claim"] = await ack_file(pool, x999.write_999(acknowledge_interchange(read_interchange(one)),
                                                                   params(5)))
    counts["999 of 3 claims"] = await ack_file(pool, x999.write_999(
        acknowledge_interchange(read_interchange(three)), params(6)))
    submitted = await claims_of(pool, "submitted")
    assert len(submitted) == 4
    counts["277CA of 1 claim"] = await ack_file(pool, accepted_277ca(submitted[:1]))
    counts["277CA of 3 claims"] = await ack_file(pool, accepted_277ca(submitted[1:]))
    accepted = await claims_of(pool, "accepted")
    assert len(accepted) == 4

    async def payment(db: ClaimsStore) -> None:
        await adjudication.on_payment_posted(db, paid(accepted[0]), NOW)

    counts["ClaimPaymentPosted (secondary billed)"] = await counted(pool, payment)
    print(json.dumps(counts))
    # Before issue 17 (90a5909): 2, 20, 9, 21, 5, 11, 7, 19, 21: a batch or a file cost more per claim.
    assert counts == {
        "2 x ChargePosted": 2, "EncounterReadyToBill": 9, "837P batch of 1 claim": 8,
        "837P batch of 3 claims": 8, "999 of 1 claim": 5, "999 of 3 claims": 5, "277CA of 1 claim": 6,
        "277CA of 3 claims": 6, "ClaimPaymentPosted (secondary billed)": 12,
    }


async def batch(platform: Settings, pool: asyncpg.Pool, events: list[Any]) -> int:
    """Statements of one batch of the events through the claims consumer (all applied)."""
    counting = CountingPool(pool)
    consumer = EventConsumer(
        service="claims", settings=platform, clock=FixedClock(NOW), pool=cast(asyncpg.Pool, counting),
        publisher=cast(Publisher, None), metrics=Metrics(), handlers=DEFINITION.handlers,
        park_keys=DEFINITION.park_keys, units=DEFINITION.units, record_spans=False)
    outcomes = await consumer.process_batch([record(platform, e, "test-claims") for e in events])
    assert outcomes == [Outcome.APPLIED] * len(events)
    return counting.sent


async def test_statements_per_batch_do_not_grow_with_its_events(platform: Settings, pool: asyncpg.Pool) -> None:
    """Batches through the consumer: the charges of 1 and of 4 encounters, their releases (a claim
    each, scrubbed and queued), then payments of 1 and of 3 of those claims (each closes it and
    bills the secondary payer): what a batch costs does not depend on how many events it has."""
    counts: dict[str, int] = {}
    ours: list[str] = []
    for n in (1, 4):
        stories = [encounter_events(uuid.uuid4().hex[:10]) for _ in range(n)]
        counts[f"{2 * n} x ChargePosted"] = await batch(platform, pool, [c for s in stories for c in s[:2]])
        counts[f"{n} x EncounterReadyToBill"] = await batch(platform, pool, [s[2] for s in stories])
        ours += [s[2].encounter_id for s in stories]
    _, sent = await submitted_file(pool)
    await ack_file(pool, x999.write_999(acknowledge_interchange(read_interchange(sent)), params(8)))
    claims = [c for c in await claims_of(pool, "submitted") if c.encounter_id in ours]
    assert len(claims) == 5
    await ack_file(pool, accepted_277ca(claims))
    accepted = [c for c in await claims_of(pool, "accepted") if c.encounter_id in ours]
    counts["1 x ClaimPaymentPosted"] = await batch(platform, pool, [paid(accepted[0])])
    counts["3 x ClaimPaymentPosted"] = await batch(platform, pool, [paid(c) for c in accepted[1:4]])
    async with pool.acquire() as conn:
        states = await conn.fetch("SELECT coverage_rank, state, count(*) FROM claims WHERE encounter_id = ANY($1)"
                                  " GROUP BY 1, 2 ORDER BY 1, 2", ours)
    assert [tuple(r) for r in states] == [(1, "accepted", 1), (1, "closed", 4), (2, "ready", 4)]
    print(json.dumps(counts))
    # Before the unit of work (main at 20b49f9): 5, 10, 11, 34, 11, 29: each charge its INSERT,
    # each release 8 (its charges, payer, upsert, the duplicate edit's read, the code-set quarters,
    # the claim, its submission, assembled), each payment 9. Now per batch: the inbox, the park
    # keys (ChargePosted), what the unit reads (charges; payers, encounters locked, the patient
    # accounts' claims, the quarters; claims locked, their families) and one statement per table
    # it writes (charges; encounters, claims inserted and updated, history, submissions), and
    # the outbox rows.
    assert counts == {
        "2 x ChargePosted": 5, "1 x EncounterReadyToBill": 11, "8 x ChargePosted": 5, "4 x EncounterReadyToBill": 11,
        "1 x ClaimPaymentPosted": 11, "3 x ClaimPaymentPosted": 11,
    }


async def test_the_claims_of_patient_accounts_are_read_by_index_not_by_scanning_every_claim(
        pool: asyncpg.Pool) -> None:
    """The duplicate edit's read (ClaimsUnit.load_accounts) must not grow with the claims table."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # a small table would be scanned anyway
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN SELECT claim_id FROM claims WHERE patient_account_id = ANY($1::text[])", ["PA-1", "PA-2"]))
    assert "claims_account" in plan, plan
