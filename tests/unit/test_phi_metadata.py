"""Sender-controlled metadata and exception text, without infrastructure: what a sender puts
outside the payload (record key, ce_* headers, other headers, HL7 MSH fields) is checked against
SAFE_TOKEN_RE and never echoed raw; exception text never reaches a log line or a span.

Each test here failed before issue 16 item 4 (the envelope took any printable value, dead letters
copied the key and headers verbatim, tracebacks and spans carried exception messages, FastStream's
consumer spans carried the record key and the correlation_id header, the ACK echoed MSH-4/10)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv.trace import SpanAttributes

from schemas.dlq import DeadLetterInfo
from schemas.envelope import Envelope, EnvelopeError, is_safe_token
from services.chassis import telemetry
from services.chassis.clock import FixedClock
from services.chassis.dlq import SourceRecord, dlq_metadata, safe_copy, send
from services.chassis.logs import configure_logging
from services.chassis.settings import Settings
from services.chassis.tokens import Principal, Scope
from services.claims.app import create_app
from tests.unit.charges.test_hl7_mapping import FULL
from tests.unit.charges.test_hl7_mllp import door, segments

CANARY = "Zebediah Quux 555-12-3456"  # a name and an SSN, as a careless sender would put them
TOKEN_CANARY = "ZEBEDIAHQUUX555123456"  # the same, squeezed into an id's shape


def headers(**overrides: str) -> list[tuple[str, bytes]]:
    base = {"ce_specversion": "1.0", "ce_id": str(uuid4()), "ce_source": "epic-prod",
            "ce_type": "rcm.intake.ChargeSubmitted.v1", "ce_time": "2026-03-02T18:45:00Z",
            "ce_subject": "enc-1", "content-type": "application/json"} | overrides
    return [(k, v.encode()) for k, v in base.items()]


@pytest.mark.parametrize("value", ["epic-prod", "/ehr/epic-prod", "7f3a9c21-4b6e-4d0a-9e51-2c8d6f0b1a34",
                                   "source_sys.v2:enc_1", "a" * 128])
def test_ids_are_safe_tokens(value: str) -> None:
    assert is_safe_token(value) and is_safe_token(value.encode())


@pytest.mark.parametrize("value", [CANARY, "jane.doe@example.org", "DOE,JANE", "a" * 129, "", "x\ny",
                                   "O'Brien", "caf\u00e9", "(415)555-0142"])
def test_free_text_is_not_a_safe_token(value: str) -> None:
    assert not is_safe_token(value)
    assert not is_safe_token(b"\xff\xfe") and not is_safe_token(None)


@pytest.mark.parametrize("header", ["ce_source", "ce_subject"])
@pytest.mark.parametrize("value", [CANARY, "QUUX,ZEBEDIAH(1931-02-03)", "zebediah.quux@example.org"])
def test_the_envelope_refuses_free_text_in_source_and_subject_without_echoing_it(header: str, value: str) -> None:
    # The last two were accepted before: any printable characters without spaces passed.
    with pytest.raises(EnvelopeError) as caught:
        Envelope.from_headers(headers(**{header: value}))
    assert str(caught.value).startswith(f"bad header {header}: must be 1 to 128 of")
    assert "ebediah" not in str(caught.value) and "uux" not in str(caught.value)


def dead_letter(record: SourceRecord) -> tuple[bytes | None, list[tuple[str, bytes]], dict[str, str]]:
    sent: list[dict[str, Any]] = []

    class Publisher:
        async def send(self, topic: str, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
            sent.append({"key": key, "value": value, "headers": headers})

    info = DeadLetterInfo(original_topic=record.topic, original_partition=0, original_offset=7, consumer="charges",
                          error_class="envelope_invalid", reason="bad header ce_source: must be ...", attempts=1,
                          failed_at=datetime(2026, 3, 2, tzinfo=UTC))
    asyncio.run(send(Publisher(), "p.rcm.charges.dlq.v1", record, info))  # type: ignore[arg-type]
    (one,) = sent
    assert one["value"] == record.value  # the payload is kept as sent: it is shown only when asked
    return one["key"], one["headers"], dlq_metadata(one["headers"])


def test_a_dead_letter_withholds_an_unsafe_key_and_header_values_and_says_so() -> None:
    raw = [*headers(ce_source=CANARY, ce_subject=f"{CANARY}!"), ("x-patient", CANARY.encode()),
           (f"x-{TOKEN_CANARY}", b"1")]
    key, kept, meta = dead_letter(SourceRecord("p.rcm.intake.charges.v1", 0, 7, CANARY.encode(), b"{}", raw))
    assert key is None
    names = [n for n, _ in kept]
    assert "ce_source" not in names and "ce_subject" not in names and "x-patient" not in names
    assert {"ce_id", "ce_type", "ce_time", "content-type", "ce_specversion"} <= set(names)
    assert meta["reason"].endswith("withheld as unsafe to show: record key, header ce_source, header ce_subject, "
                                   "2 header(s) outside the envelope")
    everything = repr(kept)
    assert "Zebediah" not in everything and TOKEN_CANARY not in everything


def test_a_dead_letter_keeps_a_safe_key_and_envelope() -> None:
    raw = headers()
    key, kept, meta = dead_letter(SourceRecord("p.rcm.intake.charges.v1", 0, 7, b"enc-1", b"{}", raw))
    assert key == b"enc-1" and [h for h in kept if not h[0].startswith("dlq_")] == raw
    assert "withheld" not in meta["reason"]
    assert safe_copy(SourceRecord("t", 0, 0, None, b"", headers(ce_time="2026-03-02T18:45:00.123+02:00")))[2] == []


@pytest.fixture
def log_buffer() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("charges", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def unique_violation() -> asyncpg.UniqueViolationError:
    exc = asyncpg.UniqueViolationError('duplicate key value violates unique constraint "charges_pkey"')
    exc.detail = f"Key (source_charge_id)=({TOKEN_CANARY}) already exists."  # as asyncpg fills it in
    return exc


def test_a_logged_exception_keeps_its_type_and_frames_but_never_its_text(log_buffer: io.StringIO) -> None:
    assert TOKEN_CANARY in str(unique_violation())  # asyncpg's own text carries the row's values
    try:
        try:
            raise unique_violation()
        except asyncpg.UniqueViolationError as exc:
            raise RuntimeError(f"posting {CANARY} failed") from exc
    except RuntimeError:
        logging.getLogger("t").exception("background pass failed")
    line = json.loads(log_buffer.getvalue())
    assert "UniqueViolationError (message withheld" in line["exc_info"]
    assert "RuntimeError (message withheld" in line["exc_info"]
    assert "test_phi_metadata.py" in line["exc_info"]  # the frames are still there to debug with
    assert TOKEN_CANARY not in log_buffer.getvalue() and "Zebediah" not in log_buffer.getvalue()


def test_exported_spans_carry_no_exception_text_and_no_sender_attributes() -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(telemetry.RedactingExporter(memory)))
    tracer = provider.get_tracer("t")
    with pytest.raises(asyncpg.UniqueViolationError), tracer.start_as_current_span(
        "INSERT", attributes={SpanAttributes.MESSAGING_KAFKA_MESSAGE_KEY: TOKEN_CANARY, "db.system": "postgresql"}
    ):
        raise unique_violation()
    (span,) = memory.get_finished_spans()
    text = span.to_json()
    assert TOKEN_CANARY not in text and "duplicate key" not in text
    assert span.events[0].attributes == {"exception.type": "asyncpg.exceptions.UniqueViolationError"}
    assert span.attributes == {"db.system": "postgresql"} and span.status.description is None


def test_kafka_consumer_spans_leave_out_the_key_and_the_correlation_id() -> None:
    class Raw:
        topic, partition, offset, key = "p.rcm.intake.charges.v1", 0, 3, TOKEN_CANARY.encode()

    class Message:
        message_id, correlation_id, body, raw_message = "3-1", TOKEN_CANARY, b"{}", Raw()

    attributes = telemetry._attributes_provider(None).get_consume_attrs_from_message(Message())
    assert TOKEN_CANARY not in repr(attributes)
    assert attributes[SpanAttributes.MESSAGING_KAFKA_MESSAGE_OFFSET] == 3


async def test_hl7_msh_facility_and_control_id_must_be_ids_and_are_not_echoed() -> None:
    text = FULL.replace("|MISSIONFMG|", f"|{CANARY}|", 1).replace("|MSG00001|", "|Q's ctl id|", 1)
    ack = segments(await door().handle(text.encode()))
    assert ack[1][:2] == ["MSA", "AE"] and ack[1][2] == ""
    errors = {f[2]: f[8] for f in ack if f[0] == "ERR"}
    assert set(errors) == {"MSH^1^4", "MSH^1^10"}
    assert errors["MSH^1^4"].startswith("MSH-4 (sending facility) must be 1 to 128 of")
    assert ack[0][5] == "" and CANARY not in "\r".join("|".join(s) for s in ack) and "Q's" not in str(ack)


async def test_an_http_validation_error_names_the_field_and_never_repeats_the_value() -> None:
    app = create_app(Settings(), FixedClock(datetime(2026, 3, 2, tzinfo=UTC)), TracerProvider())

    class AnyTokenIsAdmin:  # the token check is not what this test is about, and needs a database
        async def principal(self, secret: str) -> Principal:
            return Principal(token_id="t", name="ops", scope=Scope.ADMIN)

    app.state.authenticator = AnyTokenIsAdmin()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://claims",
                                 headers={"Authorization": "Bearer rcm_test"}) as client:
        replay = await client.post("/admin/dlq/replay", json={"partition": CANARY, "offset": 0, "reason": "x"})
        action = await client.post("/v1/claims/c1/void", json={"reason": f"per {CANARY} " * 10})
    for response in (replay, action):
        assert response.status_code == 422, response.text
        assert "Zebediah" not in response.text
    assert [e["loc"] for e in replay.json()["detail"]] == [["body", "partition"]]
    assert [(e["loc"], e["type"]) for e in action.json()["detail"]] == [(["body", "reason"], "string_too_long")]
