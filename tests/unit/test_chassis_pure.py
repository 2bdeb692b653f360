"""Pure chassis pieces: settings, clock, clearinghouse folders, DLQ headers, log hygiene."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from schemas.dlq import DeadLetterInfo
from services.charges.app import DEFINITION as CHARGES
from services.chassis import migrations
from services.chassis.clearinghouse import FOLDERS, FolderClearinghouse
from services.chassis.clock import FixedClock
from services.chassis.dlq import SourceRecord, dlq_metadata, original_headers
from services.chassis.icd10cm import load_shipped
from services.chassis.logs import configure_logging, ids
from services.chassis.outbox import OutboxRow, _next_wave
from services.chassis.runtime import Runtime, ServiceDefinition, log_if_died
from services.chassis.settings import Settings
from services.claims.app import DEFINITION as CLAIMS


def test_prefix_applies_to_topics_groups_and_dlqs() -> None:
    s = Settings(topic_prefix="ci42.")
    assert s.topic("rcm.claims.v1") == "ci42.rcm.claims.v1"
    assert s.group_id("claims") == "ci42.rcm.claims"
    assert s.dlq_topic("claims") == "ci42.rcm.claims.dlq.v1"


def test_user_urls_win_over_the_local_stack() -> None:
    s = Settings(
        admin_database_url="postgresql://admin:secret@db.example:5432/whatever",
        claims_database_url="postgresql://claimsuser:pw@db.example:5432/rcm",
        kafka_bootstrap="broker:9092",
    )
    assert s.bootstrap == "broker:9092"
    assert s.admin_url == "postgresql://admin:secret@db.example:5432/rcm"
    assert s.database_url("claims") == "postgresql://claimsuser:pw@db.example:5432/rcm"
    # Unset service URLs derive from the admin URL's host with the service's own role.
    assert s.database_url("charges") == "postgresql://rcm_charges:rcm_charges-local@db.example:5432/rcm"


def test_local_defaults_use_fixed_local_ports() -> None:
    s = Settings()
    assert s.bootstrap == "127.0.0.1:39092"
    assert "@127.0.0.1:55432/rcm" in s.admin_url


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    clock.advance(timedelta(days=30))
    assert clock.today().isoformat() == "2026-03-31"
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))


async def test_clearinghouse_writes_atomically_and_archives(tmp_path: Path) -> None:
    ch = FolderClearinghouse(tmp_path)
    ch.ensure_layout()
    assert all((tmp_path / f).is_dir() for f in FOLDERS)
    (tmp_path / "outbound" / "half.x12.part").write_text("ISA*partial")  # a writer mid-way
    await ch.write("outbound", "claims-0001.x12", b"ISA*...~")
    files = await ch.list("outbound")
    assert [f.name for f in files] == ["claims-0001.x12"]
    assert await ch.read(files[0]) == b"ISA*...~"
    await ch.archive(files[0])
    assert await ch.list("outbound") == []
    assert (tmp_path / "archive" / "outbound" / "claims-0001.x12").exists()
    with pytest.raises(ValueError):
        await ch.write("outbound", "../escape", b"x")
    with pytest.raises(ValueError):
        await ch.write("elsewhere", "a", b"x")


def test_dead_letter_headers_keep_the_original_and_add_the_reason() -> None:
    record = SourceRecord("t.rcm.intake.charges.v1", 2, 41, b"K1", b"{}", [("ce_id", b"abc"), ("ce_type", b"x")])
    info = DeadLetterInfo(
        original_topic=record.topic, original_partition=2, original_offset=41, consumer="charges",
        error_class="contract_violation", reason="contract violation: units: greater_than", attempts=1,
        failed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    headers = original_headers(record.headers) + info.to_headers()
    meta = dlq_metadata(headers)
    assert meta["original_topic"] == "t.rcm.intake.charges.v1"
    assert meta["original_partition"] == "2" and meta["original_offset"] == "41"
    assert meta["reason"] == "contract violation: units: greater_than"
    assert original_headers(headers) == record.headers
    assert DeadLetterInfo.from_headers(headers) == info


@pytest.fixture
def process_logging() -> Iterator[None]:
    """configure_logging sets up the whole process (root handlers and level, aiokafka's level):
    put it back, or every later test logs into this test's buffer."""
    root, kafka = logging.getLogger(), logging.getLogger("aiokafka")
    handlers, level, kafka_level = root.handlers[:], root.level, kafka.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        kafka.setLevel(kafka_level)


@pytest.mark.usefixtures("process_logging")
def test_logs_are_json_and_refuse_non_id_fields() -> None:
    stream = io.StringIO()
    configure_logging("claims", "INFO", stream)
    logging.getLogger("x").info("claim held", extra=ids(claim_id="CL123"))
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["service"] == "claims" and line["claim_id"] == "CL123" and line["level"] == "INFO"
    with pytest.raises(ValueError):
        ids(patient_name="Jane Doe")


async def test_status_calls_a_service_with_held_outbox_rows_unhealthy(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    import asyncpg

    from devstack import stack

    async def away(*_: object, **__: object) -> None:
        raise OSError("not here")

    async def readiness(service: str, instance: int = 0) -> dict[str, object]:
        return {"service": service, "ready": True, "http_status": 200, "outbox_held": 2 if service == "claims" else 0}

    monkeypatch.setattr(stack, "kafka_roundtrip", away)
    monkeypatch.setattr(asyncpg, "connect", away)
    monkeypatch.setattr(stack, "readiness", readiness)
    rows = {r.name: r for r in await stack.status(Settings(state_dir=tmp_path))}
    assert not rows["claims"].healthy and "2 outbox rows held" in rows["claims"].detail
    assert rows["charges"].healthy and rows["charges"].detail == "ready"
    assert not rows["kafka"].healthy and not rows["postgres"].healthy


def _outbox_row(seq: int, key: str, topic: str = "rcm.charges.v1") -> OutboxRow:
    return OutboxRow(seq=seq, event_id=uuid.uuid4(), topic=topic, message_key=key, event_type="t", subject=key,
                     occurred_at=datetime.now(UTC), traceparent=None, payload=b"{}")


def test_a_relay_wave_takes_the_first_row_of_each_key_and_skips_blocked_keys() -> None:
    rows = [_outbox_row(1, "a"), _outbox_row(2, "a"), _outbox_row(3, "b"), _outbox_row(4, "c"),
            _outbox_row(5, "a", topic="rcm.claims.v1"), _outbox_row(6, "b"), _outbox_row(7, "a")]
    wave, behind = _next_wave(rows, blocked={("rcm.charges.v1", "c")})
    assert [r.seq for r in wave] == [1, 3, 5]
    assert [r.seq for r in behind] == [2, 6, 7]  # still in seq order: each key's next row leads the next wave
    wave, behind = _next_wave(behind, blocked=set())
    assert [r.seq for r in wave] == [2, 6] and [r.seq for r in behind] == [7]


def test_consumer_batch_settings_have_bounds() -> None:
    assert Settings().consumer_batch_size == 500
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        Settings(consumer_batch_size=0)


async def test_warm_up_loads_run_before_the_service_touches_its_database(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []

    async def no_database(*_: object) -> None:
        steps.append("schema")
        raise RuntimeError("stop here")

    monkeypatch.setattr(migrations, "prepare_schema", no_database)
    definition = ServiceDefinition(name="charges", migrations=Path("."), warm_up=(lambda: steps.append("warm"),))
    runtime = Runtime(definition, Settings(), FixedClock(datetime(2026, 1, 1, tzinfo=UTC)), TracerProvider())
    with pytest.raises(RuntimeError, match="stop here"):
        await runtime.start()
    assert steps == ["warm", "schema"]


def test_the_services_that_check_icd10cm_codes_load_the_code_set_at_start() -> None:
    assert load_shipped in CHARGES.warm_up
    assert load_shipped in CLAIMS.warm_up


@pytest.mark.usefixtures("process_logging")
async def test_a_background_task_that_dies_says_so_in_the_log() -> None:
    async def pass_that_breaks() -> None:
        raise KeyError("W" + "1234" * 2)  # a value from the data: its text must never reach the log

    async def pass_that_ends() -> None:
        return None

    broken = asyncio.create_task(pass_that_breaks(), name="claims:exchange_eligibility")
    done = asyncio.create_task(pass_that_ends(), name="claims:bootstrap_payers")
    await asyncio.wait([broken, done])
    stream = io.StringIO()
    configure_logging("claims", "INFO", stream)
    log_if_died(broken)
    log_if_died(done)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["message"], line["component"], line["error_class"], line["level"]) == (
        "background task ended with an error", "claims:exchange_eligibility", "KeyError", "ERROR")
    assert "KeyError" in line["exc_info"] and "W12341234" not in stream.getvalue()
