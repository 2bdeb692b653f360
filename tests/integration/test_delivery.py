"""The delivery rules against real Kafka and Postgres: outbox, inbox, DLQ, replay, tracing."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest
from pydantic import BaseModel
from typer.testing import CliRunner

from cli.main import app as rcm
from services.chassis import inbox, outbox
from services.chassis.app import install_platform
from services.chassis.outbox import OutboxRelay
from services.chassis.parking import ParkKey
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support import testsvc
from tests.support.kafka_io import count, eventually, publish, read_topic
from tests.support.runtimes import running
from tests.support.tokens import bearer, issue

pytestmark = pytest.mark.integration

EFFECTS = "SELECT count(*) FROM test_effects"


@pytest.fixture(scope="module")
async def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def relay_and_sink(platform: Settings, spans: InMemorySpanExporter) -> AsyncIterator[tuple[Runtime, Runtime]]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    async with (running(testsvc.RELAY, platform, provider=provider) as relay,
                running(testsvc.SINK, platform, provider=provider) as sink):
        yield relay, sink


def payment(account: str | None = None) -> BaseModel:
    return testsvc.example(testsvc.PAYMENT_RECEIVED, patient_account_id=account or f"PA{uuid.uuid4().hex[:10]}")


async def test_events_flow_through_outbox_and_apply_once(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime]
) -> None:
    before_remits = await count(platform, "remits", EFFECTS)
    before_sink = await count(platform, "notifications", EFFECTS)
    for _ in range(5):
        await publish(platform, payment())

    async def sink_done() -> bool:
        return await count(platform, "notifications", EFFECTS) == before_sink + 5

    await eventually(sink_done, what="five downstream effects")
    assert await count(platform, "remits", EFFECTS) == before_remits + 5
    assert await count(platform, "remits", "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_duplicate_delivery_changes_nothing(platform: Settings, relay_and_sink: tuple[Runtime, Runtime]) -> None:
    event = payment()
    event_id = uuid.uuid4()
    before = await count(platform, "remits", EFFECTS)
    await publish(platform, event, event_id=event_id)
    await publish(platform, event, event_id=event_id)
    marker = await publish(platform, payment())  # a later record proves both copies were consumed

    async def marker_applied() -> bool:
        return await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE event_id = $1", marker.id) == 1

    await eventually(marker_applied, what="the marker event")
    assert await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE event_id = $1", event_id) == 1
    assert await count(platform, "remits", EFFECTS) == before + 2
    assert await count(platform, "remits", "SELECT count(*) FROM inbox WHERE event_id = $1", event_id) == 1


async def _dlq_positions(platform: Settings) -> list[dict[str, str]]:
    from services.chassis.dlq import dlq_metadata

    return [
        {**dlq_metadata(h), "key": (k or b"").decode()}
        for k, _, h in await read_topic(platform, "rcm.remits.dlq.v1")
    ]


async def test_poison_record_goes_to_dlq_and_partition_moves_on(
    platform: Settings,
    relay_and_sink: tuple[Runtime, Runtime],
    spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
    cli_env: None,
) -> None:
    # Our own loggers at their most verbose (aiokafka's DEBUG dumps records; services keep it at WARNING).
    for name in ("services", "rcm", "faststream"):
        caplog.set_level(logging.DEBUG, logger=name)
    canary = "CANARY-PATIENT-JANE-DOE-123-45-6789"
    poison = payment("PA-POISON-1")
    await publish(platform, poison, raw_value=b'{"patient_account_id": "' + canary.encode() + b'", "amount": 12.5}')
    follower = await publish(platform, payment("PA-POISON-1"))  # same key, same partition, after the poison

    async def follower_applied() -> bool:
        applied = "SELECT count(*) FROM test_effects WHERE event_id = $1"
        return await count(platform, "remits", applied, follower.id) == 1

    await eventually(follower_applied, what="the record after the poison")
    letters = [m for m in await _dlq_positions(platform) if m["key"] == "PA-POISON-1"]
    assert len(letters) == 1
    letter = letters[0]
    assert letter["error_class"] == "contract_violation"
    assert letter["original_topic"] == platform.topic("rcm.intake.payments.v1")
    assert letter["reason"].startswith("contract violation")
    # Reasons, logs, span attributes and metrics name fields, rules and ids, never values.
    assert canary not in str(letter)
    assert canary not in caplog.text
    assert not any(canary in str(s.attributes) for s in spans.get_finished_spans())
    relay, _ = relay_and_sink
    assert canary not in generate_latest(relay.metrics.registry).decode()

    listing = await asyncio.to_thread(CliRunner().invoke, rcm, ["dlq", "list", "--service", "remits", "--json"])
    assert listing.exit_code == 0, listing.output
    listed = [d for d in json.loads(listing.output) if d["key"] == "PA-POISON-1"]
    assert listed and listed[0]["error_class"] == "contract_violation" and canary not in listing.output


async def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), timeout_s=10, what="admin HTTP server")
    return server, task


async def test_handler_failure_dead_letters_then_replay_applies_it(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime], unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay, _ = relay_and_sink
    conn = await asyncpg.connect(platform.database_url("remits"))
    await conn.execute("INSERT INTO test_switches VALUES ('broken', true) ON CONFLICT (name) DO UPDATE SET on_ = true")
    try:
        failing = await publish(platform, payment("PA-REPLAY-1"))

        async def dead_lettered() -> bool:
            return any(m["key"] == "PA-REPLAY-1" for m in await _dlq_positions(platform))

        await eventually(dead_lettered, what="the failing record in the DLQ")
    finally:
        await conn.execute("UPDATE test_switches SET on_ = false WHERE name = 'broken'")
        await conn.close()
    assert await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE event_id = $1", failing.id) == 0

    records = await read_topic(platform, "rcm.remits.dlq.v1")
    index = next(i for i, (k, _, _) in enumerate(records) if k == b"PA-REPLAY-1")
    app = FastAPI()
    install_platform(app, relay)
    server, task = await _serve(app, unused_tcp_port)
    monkeypatch.setenv("RCM_REMITS_HTTP_PORT", str(unused_tcp_port))
    # The CLI sends RCM_API_TOKEN (else `rcm up`'s operator token); the audit names the token's owner.
    monkeypatch.setenv("RCM_API_TOKEN", await issue(platform, ["remits"], name="ops-replayer"))
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, rcm, ["dlq", "replay", "remits", f"0:{index}", "--reason", "handler fixed"]
        )
    finally:
        server.should_exit = True
        await task
    assert result.exit_code == 0, result.output
    assert "applied" in result.output
    assert await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE event_id = $1", failing.id) == 1
    assert await count(platform, "remits", "SELECT count(*) FROM audit_log WHERE action = 'dlq.replay'"
                                           " AND actor = 'ops-replayer'") == 1


async def test_trace_crosses_kafka_hop_and_outbox_relay(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime], spans: InMemorySpanExporter
) -> None:
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    event = await publish(platform, payment(), traceparent=traceparent)

    async def downstream_traced() -> bool:
        return await count(
            platform, "notifications", "SELECT count(*) FROM test_effects WHERE traceparent LIKE $1", f"00-{trace_id}-%"
        ) == 1

    await eventually(downstream_traced, what="the downstream effect to carry the trace")
    in_trace = [s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == trace_id]
    kinds = {s.kind.name for s in in_trace}
    assert {"CONSUMER", "PRODUCER"} <= kinds
    assert any(s.name.endswith("publish") and (s.attributes or {}).get("messaging.message.id") for s in in_trace)
    assert event.id


async def test_service_role_cannot_touch_another_schema(platform: Settings) -> None:
    conn = await asyncpg.connect(platform.database_url("charges"))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM claims.schema_migrations")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE claims.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
        # Nor in its own schema: its owner role runs the migrations (test_least_privilege.py).
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE charges.own_table (id int)")
    finally:
        await conn.close()


async def test_early_arrivals_are_parked_then_applied_in_order(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime]
) -> None:
    account = f"{testsvc.WAITING_PREFIX}{uuid.uuid4().hex[:8]}"
    first = await publish(platform, payment(account))
    second = await publish(platform, payment(account))
    parked = "SELECT count(*) FROM parked WHERE park_key = $1"
    key = str(ParkKey.of("account", account))

    async def both_parked() -> bool:
        return await count(platform, "remits", parked, key) == 2

    await eventually(both_parked, what="two parked payments")
    assert await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE subject = $1", account) == 0
    await publish(platform, testsvc.example(testsvc.REFUND_ISSUED, patient_account_id=account))

    async def released() -> bool:
        return await count(platform, "remits", parked, key) == 0

    await eventually(released, what="the parked payments to be released")
    conn = await asyncpg.connect(platform.database_url("remits"))
    try:
        rows = await conn.fetch(
            "SELECT event_id, event_type FROM test_effects WHERE subject = $1 ORDER BY seq", account
        )
    finally:
        await conn.close()
    applied = [r["event_id"] for r in rows if r["event_type"] == testsvc.PAYMENT_RECEIVED]
    assert applied == [first.id, second.id]


async def test_records_without_envelope_or_with_unknown_type_are_dead_lettered(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime]
) -> None:
    event = payment("PA-ENVELOPE-1")
    await publish(platform, event, headers_override=[("content-type", b"application/json")])
    envelope = await publish(platform, event)
    unknown = [(k, v) for k, v in envelope.to_headers() if k not in ("ce_type", "ce_id")]
    unknown += [("ce_type", b"rcm.intake.SomethingNew.v1"), ("ce_id", str(uuid.uuid4()).encode())]
    await publish(platform, event, headers_override=unknown)

    async def both_dead() -> bool:
        classes = {m["error_class"] for m in await _dlq_positions(platform) if m["key"] == "PA-ENVELOPE-1"}
        return classes == {"envelope_invalid", "unknown_event_type"}

    await eventually(both_dead, what="both records in the DLQ")
    assert await count(platform, "remits", "SELECT count(*) FROM test_effects WHERE event_id = $1", envelope.id) == 1


async def test_only_one_relay_leads_per_service(platform: Settings, relay_and_sink: tuple[Runtime, Runtime]) -> None:
    relay, _ = relay_and_sink
    assert relay.relay is not None and relay.pool is not None
    await eventually(lambda: asyncio.sleep(0, relay.relay.is_leader), what="the running relay to lead")  # type: ignore[union-attr]
    second = OutboxRelay(service="remits", settings=platform, pool=relay.pool, publisher=relay.publisher,
                         metrics=relay.metrics, tracer=relay.tracer)
    stop = _WaitsCounted()
    task = asyncio.create_task(second.run(stop))
    # A relay refused the lock waits on its stop event before it asks again: once it waits, it asked.
    await eventually(lambda: asyncio.sleep(0, stop.waits >= 1), timeout_s=10, what="the second relay to ask")
    assert relay.relay.is_leader and not second.is_leader
    stop.set()
    await task


class _WaitsCounted(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    async def wait(self) -> Literal[True]:
        self.waits += 1
        return await super().wait()


async def test_a_record_the_broker_refuses_is_held_and_only_its_key_waits(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime], cli_env: None
) -> None:
    from services.chassis import outbox

    relay, _ = relay_and_sink
    assert relay.pool is not None
    stuck, other = f"PA{uuid.uuid4().hex[:10]}", f"PA{uuid.uuid4().hex[:10]}"
    async with relay.pool.acquire() as conn, conn.transaction():
        first = await outbox.enqueue(conn, testsvc.example(testsvc.PAYMENT_POSTED, patient_account_id=stuck),
                                     occurred_at=datetime.now(UTC))
        behind = await outbox.enqueue(conn, testsvc.example(testsvc.PAYMENT_POSTED, patient_account_id=stuck),
                                      occurred_at=datetime.now(UTC))
        flowing = await outbox.enqueue(conn, testsvc.example(testsvc.PAYMENT_POSTED, patient_account_id=other),
                                       occurred_at=datetime.now(UTC))
        good_payload = await conn.fetchval("SELECT payload FROM outbox WHERE event_id = $1", first)
        # Larger than the producer's 1 MB request limit: no retry can deliver it as it is.
        await conn.execute("UPDATE outbox SET payload = $2 WHERE event_id = $1", first, b"x" * 1_100_000)

    async def published(event_id: uuid.UUID) -> bool:
        return await count(platform, "remits", "SELECT count(*) FROM outbox WHERE event_id = $1"
                           " AND published_at IS NOT NULL", event_id) == 1

    await eventually(lambda: published(flowing), what="the other key's event to flow past the held row")
    assert not await published(first) and not await published(behind)
    listing = await asyncio.to_thread(CliRunner().invoke, rcm, ["outbox", "list", "--service", "remits", "--json"])
    assert listing.exit_code == 1, listing.output
    [held] = [r for r in json.loads(listing.output) if r["message_key"] == stuck]
    assert held["event_type"] == testsvc.PAYMENT_POSTED and held["waiting"] == 1
    assert "MessageSizeTooLargeError" in held["held_reason"] and "payload" not in held
    health = await relay.health()
    assert health["outbox_held"] not in (0, None) and health["ready"] is True

    # The operator fixes the cause (here: the record) and releases it; the key resumes in order.
    async with relay.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET payload = $2 WHERE event_id = $1", first, good_payload)
    released = await asyncio.to_thread(CliRunner().invoke, rcm, ["outbox", "retry", "remits", str(held["seq"]),
                                                                  "--reason", "record fixed"])
    assert released.exit_code == 0, released.output
    await eventually(lambda: published(behind), what="the held key to resume")
    order: list[str] = []

    async def both_on_the_topic() -> bool:
        order[:] = [dict(h)["ce_id"].decode() for k, _, h in await read_topic(platform, "rcm.patient-balances.v1")
                    if k == stuck.encode()]
        return len(order) >= 2

    await eventually(both_on_the_topic, what="the held key's two events on the topic")
    assert order == [str(first), str(behind)]
    again = await asyncio.to_thread(CliRunner().invoke, rcm, ["outbox", "retry", "remits", str(held["seq"]),
                                                              "--reason", "twice"])
    assert again.exit_code == 1
    assert await count(platform, "remits", "SELECT count(*) FROM audit_log WHERE action = 'outbox.retry'") == 1


async def test_a_broker_outage_pauses_the_relay_and_loses_nothing(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

    from services.chassis import outbox

    relay, _ = relay_and_sink
    assert relay.pool is not None and relay.relay is not None
    real_send = relay.publisher.enqueue
    failures = [KafkaConnectionError("broker away"), KafkaTimeoutError()]

    async def flaky_send(*args: object, **kwargs: object) -> asyncio.Future[object]:
        if failures:
            raise failures.pop(0)
        return await real_send(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(relay.publisher, "enqueue", flaky_send)
    async with relay.pool.acquire() as conn:
        event_id = await outbox.enqueue(conn, testsvc.example(testsvc.PAYMENT_POSTED), occurred_at=datetime.now(UTC))

    async def published() -> bool:
        return await count(platform, "remits", "SELECT count(*) FROM outbox WHERE event_id = $1"
                           " AND published_at IS NOT NULL", event_id) == 1

    await eventually(published, what="the event to be published once the broker is back")
    assert failures == []
    assert (await relay.health())["background_tasks"] is True


async def test_the_stop_drain_and_the_relay_loop_never_send_a_row_twice(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime]
) -> None:
    from services.chassis import outbox

    relay, _ = relay_and_sink
    assert relay.pool is not None and relay.relay is not None
    key = f"PA{uuid.uuid4().hex[:10]}"
    async with relay.pool.acquire() as conn, conn.transaction():
        ids_ = [await outbox.enqueue(conn, testsvc.example(testsvc.PAYMENT_POSTED, patient_account_id=key),
                                     occurred_at=datetime.now(UTC)) for _ in range(5)]
    # What Runtime.stop's drain does while the relay loop still runs: publish concurrently.
    await asyncio.gather(*(relay.relay.publish_pending() for _ in range(3)))
    sent: list[str] = []

    async def all_sent() -> bool:
        sent[:] = [dict(h)["ce_id"].decode() for k, _, h in await read_topic(platform, "rcm.patient-balances.v1")
                   if k == key.encode()]
        return len(set(sent)) == 5

    await eventually(all_sent, what="the five events on the topic")
    assert sent == [str(i) for i in ids_]  # each once, in order


async def test_retention_prunes_old_inbox_rows_and_old_published_outbox_rows_only(platform: Settings) -> None:
    old, cutoff = datetime(1999, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, tzinfo=UTC)
    conn = await asyncpg.connect(platform.database_url("notifications"))
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.executemany("INSERT INTO inbox (consumer, event_id, received_at) VALUES ($1, $2, $3)",
                               [("retention-test", uuid.uuid4(), old), ("retention-test", uuid.uuid4(), cutoff)])
        await conn.executemany(
            "INSERT INTO outbox (event_id, topic, message_key, event_type, subject, occurred_at, payload,"
            " published_at) VALUES ($1, 't', 'k', 'e', 's', $2, ''::bytea, $3)",
            [(uuid.uuid4(), old, old), (uuid.uuid4(), old, None), (uuid.uuid4(), old, cutoff)])
        assert await inbox.prune(conn, cutoff) == 1
        assert await outbox.prune(conn, cutoff) == 1  # the unsent row stays, however old
        assert await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'retention-test'") == 1
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE occurred_at = $1", old) == 2
        await tx.rollback()
    finally:
        await conn.close()


async def test_replay_of_a_missing_partition_or_offset_answers_404_at_once(
    platform: Settings, relay_and_sink: tuple[Runtime, Runtime], unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: a partition the DLQ topic does not have hung 40 s (metadata wait) then answered 500."""
    relay, _ = relay_and_sink
    await publish(platform, payment(), raw_value=b"{}")  # a dead letter, so the DLQ topic exists

    async def dlq_exists() -> bool:
        return bool(await read_topic(platform, "rcm.remits.dlq.v1"))

    await eventually(dlq_exists, what="a record in the DLQ")
    app = FastAPI()
    install_platform(app, relay)
    body = {"reason": "x"}
    secret = await issue(platform, ["remits"])
    monkeypatch.setenv("RCM_API_TOKEN", secret)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://remits",
                                 headers=bearer(secret)) as client:
        started = time.monotonic()
        missing = await client.post("/admin/dlq/replay", json={**body, "partition": 5, "offset": 0})
        elapsed = time.monotonic() - started
        assert missing.status_code == 404, missing.text
        assert elapsed < 1.0, elapsed
        assert missing.json()["detail"] == (
            f"{platform.dlq_topic('remits')} has no partition 5 (its partitions: 0)"
        )
        beyond = await client.post("/admin/dlq/replay", json={**body, "partition": 0, "offset": 1_000_000})
        assert beyond.status_code == 404, beyond.text
        assert re.fullmatch(
            rf"no dead letter at {re.escape(platform.dlq_topic('remits'))} partition 0 offset 1000000: "
            r"the partition holds offsets \d+ to \d+", beyond.json()["detail"]), beyond.json()

    server, task = await _serve(app, unused_tcp_port)
    monkeypatch.setenv("RCM_REMITS_HTTP_PORT", str(unused_tcp_port))
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, rcm, ["dlq", "replay", "remits", "5:0", "--reason", "x"]
        )
    finally:
        server.should_exit = True
        await task
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "replay refused" in result.output and "has no partition 5" in result.output, result.output


async def test_replay_cli_reports_a_non_json_answer_without_a_traceback(
    platform: Settings, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: `rcm dlq replay charges 5:0` printed a JSONDecodeError traceback on a plain-text 500."""
    app = FastAPI()

    @app.post("/admin/dlq/replay")
    async def broken() -> PlainTextResponse:
        return PlainTextResponse("Internal Server Error", status_code=500)

    server, task = await _serve(app, unused_tcp_port)
    monkeypatch.setenv("RCM_CHARGES_HTTP_PORT", str(unused_tcp_port))
    monkeypatch.setenv("RCM_API_TOKEN", "rcm_" + "x" * 43)  # any token: this server answers 500 whatever
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, rcm, ["dlq", "replay", "charges", "5:0", "--reason", "x"]
        )
    finally:
        server.should_exit = True
        await task
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, ValueError), result.exception
    assert "Traceback" not in result.output
    assert "replay refused: charges answered HTTP 500 (not JSON; see its log)" in " ".join(result.output.split())
