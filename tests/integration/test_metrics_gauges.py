"""The gauges the dashboard and the alerts read, scraped from each service's /metrics registry after
a known state was made: outbox backlog and relay heartbeat, consumer lag per topic, claims on hold
and for how long, 835s in quarantine, A/R by party and aging bucket."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.chassis.clock import FixedClock
from services.chassis.metrics import Metrics
from services.chassis.runtime import Runtime
from services.chassis.sampling import FailureLog, dlq_depth, lag, sample
from services.chassis.settings import Settings
from services.remits import store as remits_store
from services.remits.app import DEFINITION as REMITS
from services.remits.domain.posting import INSURANCE_RECEIVABLE, LedgerRow
from services.remits.rows import BalanceRow
from services.remits.service.remittances import ingest
from tests.integration.test_claims_flow import (
    AT_THE_HOSPITAL,
    XRAY_IN_HOSPITAL,
    claims_running,
    post_encounter,
    wait_for,
)
from tests.support.kafka_io import eventually, publish
from tests.support.remits_io import NOW
from tests.support.runtimes import running
from tests.support.testsvc import example
from tests.unit.deploy.test_observability import SAMPLED

pytestmark = pytest.mark.integration
SAMPLE_S = 0.2


def fast(platform: Settings) -> Settings:
    """The module's platform, sampled every 0.2 s instead of every 30."""
    return platform.model_copy(update={"metrics_sample_interval_s": SAMPLE_S})


@pytest.fixture(scope="module")
async def claims(platform: Settings) -> AsyncIterator[Runtime]:
    """(Overrides the shared fixture: the same claims service, sampled often; `payers` loads into it.)"""
    async with claims_running(fast(platform)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def remits(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(REMITS, fast(platform), clock=FixedClock(NOW)) as runtime:
        yield runtime


def scrape(runtime: Runtime) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the registry /metrics serves, by (name, labels)."""
    text = generate_latest(runtime.metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def gauge(runtime: Runtime, name: str, expected: float | None = None, **labels: str) -> float:
    """The gauge's value once it is sampled (and, given `expected`, once it equals it)."""
    key = (name, frozenset(labels.items()))

    async def sampled() -> bool:
        value = scrape(runtime).get(key)
        return value is not None and (expected is None or value == expected)

    await eventually(sampled, timeout_s=20, what=f"{name}{labels} == {expected}")
    return scrape(runtime)[key]


async def test_a_held_claim_is_counted_and_aged_from_when_it_went_on_hold(claims: Runtime, payers: None,
                                                                           platform: Settings) -> None:
    assert await gauge(claims, "rcm_claims_held", service="claims") == 0
    assert await gauge(claims, "rcm_claims_held_oldest_age_seconds", service="claims") == 0
    enc, _ = await post_encounter(platform, second_line={**XRAY_IN_HOSPITAL, "modifiers": []},
                                  encounter=AT_THE_HOSPITAL)
    await wait_for(platform, enc, "ClaimHeld")
    await gauge(claims, "rcm_claims_held", 1, service="claims")
    assert isinstance(claims.clock, FixedClock)
    claims.clock.advance(timedelta(hours=25))  # past the alert's day
    await gauge(claims, "rcm_claims_held_oldest_age_seconds", 90000, service="claims")

    # The chassis' gauges of the same instance: the relay's heartbeat moves, nothing waits, and
    # every topic claims reads has its lag, by catalog name.
    beat = await gauge(claims, "rcm_outbox_relay_last_success_timestamp_seconds", service="claims")
    assert time.time() - 10 < beat <= time.time()
    await gauge(claims, "rcm_outbox_pending", 0, service="claims")
    await gauge(claims, "rcm_outbox_oldest_pending_age_seconds", 0, service="claims")
    for topic in claims._topics():
        await gauge(claims, "rcm_consumer_lag", 0, service="claims", topic=topic)
    assert {dict(labels)["topic"] for name, labels in scrape(claims) if name == "rcm_consumer_lag"} == set(
        claims._topics())


async def test_an_outbox_row_waiting_behind_a_held_one_is_aged_and_counted(claims: Runtime) -> None:
    key = f"stuck-{uuid.uuid4().hex[:8]}"
    async with claims.db.acquire() as conn:
        for held in (True, False):
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, message_key, event_type, subject, occurred_at, payload,"
                " created_at, held_at, held_reason) VALUES ($1, 'rcm.claims.v1', $2, 'rcm.claims.ClaimHeld.v1',"
                " $2, now(), '\\x7b7d', now() - interval '1 hour', CASE WHEN $3 THEN now() END,"
                " CASE WHEN $3 THEN 'test' END)", uuid.uuid4(), key, held)
    try:
        await gauge(claims, "rcm_outbox_held", 1, service="claims")
        await gauge(claims, "rcm_outbox_pending", 1, service="claims")
        age = await gauge(claims, "rcm_outbox_oldest_pending_age_seconds", service="claims")
        assert 3600 <= age < 3660
    finally:
        async with claims.db.acquire() as conn:
            await conn.execute("DELETE FROM outbox WHERE message_key = $1", key)
    await gauge(claims, "rcm_outbox_oldest_pending_age_seconds", 0, service="claims")


async def test_the_lag_is_what_the_group_has_not_committed_per_topic(platform: Settings) -> None:
    # notifications does not run in this module: what is published to a topic it reads waits.
    metrics = Metrics()
    topic = "rcm.claims.v1"
    sample = lag(platform, metrics, "notifications", [topic])

    async def lag_now() -> float:
        await sample()
        value = metrics.registry.get_sample_value("rcm_consumer_lag", {"service": "notifications", "topic": topic})
        assert value is not None
        return value

    before = await lag_now()
    for _ in range(3):
        await publish(platform, example("rcm.claims.ClaimSubmitted.v1", claim_id=f"clm_{uuid.uuid4().hex[:10]}"))
    assert await lag_now() == before + 3


async def test_the_dlq_depth_is_what_the_service_s_dlq_topic_holds(platform: Settings) -> None:
    metrics = Metrics()
    sample = dlq_depth(platform, metrics, "notifications")

    async def depth_now() -> float:
        await sample()
        value = metrics.registry.get_sample_value("rcm_dlq_depth", {"service": "notifications"})
        assert value is not None
        return value

    before = await depth_now()
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap)
    await producer.start()
    try:
        for n in range(4):
            await producer.send_and_wait(platform.dlq_topic("notifications"), b"undecodable", key=f"k{n}".encode())
    finally:
        await producer.stop()
    assert await depth_now() == before + 4


async def test_a_lag_that_cannot_be_read_keeps_its_last_value_and_is_logged_once(
        platform: Settings, caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    topic = "rcm.claims.v1"
    await lag(platform, metrics, "notifications", [topic])()
    read = metrics.registry.get_sample_value("rcm_consumer_lag", {"service": "notifications", "topic": topic})
    assert read is not None
    with socket.socket() as closed:  # a port nothing listens on: the broker is away
        closed.bind(("127.0.0.1", 0))
        away = platform.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{closed.getsockname()[1]}"})
    failures = FailureLog("notifications")
    with caplog.at_level(logging.WARNING, logger="services.chassis.sampling"):
        for _ in range(2):
            await sample({"consumer_lag": lag(away, metrics, "notifications", [topic])}, failures, timeout_s=5)
    assert metrics.registry.get_sample_value("rcm_consumer_lag", {"service": "notifications", "topic": topic}) == read
    assert [r.getMessage() for r in caplog.records if r.name == "services.chassis.sampling"] == [
        "metrics sample failed; keeping the last values and retrying at each pass"]
    assert "consumer_lag" in failures.failing


async def test_a_quarantined_835_and_the_receivables_by_party_and_bucket(remits: Runtime) -> None:
    assert await gauge(remits, "rcm_remits_quarantined_835", service="remits") == 0
    today: date = NOW.date()
    async with remits.db.acquire() as conn:
        result = await ingest(conn, b"ISA*this is not an 835~", "broken.835", "test", NOW)
        assert result.status == "quarantined"
        # A patient balance opened 45 days ago (31-60).
        opened = NOW - timedelta(days=45)
        await remits_store.insert_balances(conn, [BalanceRow(
            balance_id="bal_metrics", encounter_id="enc_metrics", patient_account_id="PA-metrics", claim_ids=(),
            items=(), total=Decimal("120.50"), patient_paid=Decimal("0.00"), written_off=Decimal("0.00"),
            due_date=today + timedelta(days=30), revision=1, created_at=opened, updated_at=opened)])
        # 300.00 a payer owes since 100 days ago (91-120), as a claim's receivable.
        async with conn.transaction():
            await remits_store.journal(conn, "jnl_metrics", "claim", [
                LedgerRow(INSURANCE_RECEIVABLE, Decimal("300.00"), payer_id="60054"),
                LedgerRow("gross_charges", Decimal("-300.00"), payer_id="60054"),
            ], NOW - timedelta(days=100), encounter_id="enc_metrics", payer_id="60054")
    await gauge(remits, "rcm_remits_quarantined_835", 1, service="remits")
    await gauge(remits, "rcm_ar_outstanding_amount", 300.0, service="remits", party="insurance", bucket="91-120")
    await gauge(remits, "rcm_ar_outstanding_amount", 120.5, service="remits", party="patient", bucket="31-60")
    values = scrape(remits)

    def ar(party: str) -> dict[str, float]:
        return {dict(labels)["bucket"]: v for (name, labels), v in values.items()
                if name == "rcm_ar_outstanding_amount" and dict(labels)["party"] == party}

    assert ar("patient") == {"0-30": 0, "31-60": 120.5, "61-90": 0, "91-120": 0, "121+": 0}
    # (0-30: the claims this module's other tests submitted, which remits books as they come.)
    assert {b: v for b, v in ar("insurance").items() if b != "0-30"} == {"31-60": 0, "61-90": 0, "91-120": 300,
                                                                        "121+": 0}


async def test_every_sampled_name_the_dashboard_and_alerts_read_is_served(claims: Runtime, remits: Runtime) -> None:
    # Each runtime's service gauges are there once its first sample has read them.
    await gauge(remits, "rcm_remits_quarantined_835", service="remits")
    await gauge(claims, "rcm_claims_held", service="claims")
    served = {name for runtime in (claims, remits) for name, _ in scrape(runtime)}
    assert served >= SAMPLED, SAMPLED - served
