"""`rcm publish TOPIC FILE.json`: validate one intake event against its contract and publish it.

Only the intake topics are accepted: domain events come from the services' outboxes, never
from an operator's shell. The file holds one event:

    {"type": "rcm.intake.ChargeSubmitted.v1", "data": {...},
     "id": "<optional UUID: reuse it to republish the same event>",
     "time": "<optional RFC 3339 time, default now>", "traceparent": "<optional>"}

Exit codes: 0 published (or valid, with --dry-run); 1 the file breaks the contract (nothing
published); 2 usage error (topic refused, file unreadable); 3 the broker did not take it.
Error output names fields and rules, never values: the file may hold PHI.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn
from uuid import UUID, uuid4

import typer
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from schemas.envelope import Envelope, format_time, utc_now
from schemas.errors import SafeError, safe_errors
from schemas.registry import INTAKE_TOPICS, REGISTRY, ContractError, key_of, spec_for, validate
from schemas.topics import prefixed
from services.chassis.settings import KafkaSecurityError

__all__ = ["EXIT_BROKER", "EXIT_INVALID", "EXIT_USAGE", "Prepared", "prepare", "publish"]

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BROKER = 3
MAX_FILE_BYTES = 900_000  # under Kafka's default 1 MiB record limit, headers included
DEFAULT_BOOTSTRAP = "127.0.0.1:39092"


class PublishFile(BaseModel):
    """The file format: one event and, optionally, its envelope attributes."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: str
    data: dict[str, Any]
    id: UUID | None = None
    time: AwareDatetime | None = None
    traceparent: str | None = None


class PublishRefused(Exception):
    def __init__(self, exit_code: int, errors: list[SafeError]) -> None:
        super().__init__(f"refused with {len(errors)} error(s)")
        self.exit_code = exit_code
        self.errors = errors


@dataclass(frozen=True)
class Prepared:
    topic: str
    """Unprefixed."""
    event_type: str
    key: str
    value: bytes
    envelope: Envelope


def _error(field: str, etype: str, message: str) -> SafeError:
    return {"field": field, "type": etype, "message": message}


def prepare(topic: str, text: str, *, source: str | None = None) -> Prepared:
    """Validate a publish file for `topic`; raise PublishRefused with safe errors."""
    if topic not in INTAKE_TOPICS:
        raise PublishRefused(
            EXIT_USAGE,
            [_error("TOPIC", "topic_refused", "rcm publish accepts intake topics only: " + ", ".join(INTAKE_TOPICS))],
        )
    try:
        wrapper = PublishFile.model_validate_json(text)
    except ValidationError as exc:
        raise PublishRefused(EXIT_INVALID, safe_errors(exc)) from None
    if wrapper.type not in REGISTRY:
        raise PublishRefused(EXIT_INVALID, [_error("type", "unknown_event_type", "not a known event type")])
    spec = spec_for(wrapper.type)
    if spec.topic != topic:
        raise PublishRefused(
            EXIT_INVALID,
            [_error("type", "wrong_topic", f"{spec.type} belongs on {spec.topic}, not {topic}")],
        )
    try:
        event = validate(spec.type, wrapper.data)
    except ContractError as exc:
        errors = [{**e, "field": f"data.{e['field']}" if e["field"] else "data"} for e in exc.errors]
        raise PublishRefused(EXIT_INVALID, errors) from None
    key = key_of(event)
    try:
        envelope = Envelope.model_validate(
            {
                "id": wrapper.id or uuid4(),
                "source": source or str(getattr(event, "source_system", "rcm-cli")),
                "type": spec.type,
                "time": wrapper.time or utc_now(),
                "subject": key,
                "traceparent": wrapper.traceparent,
            }
        )
    except ValidationError as exc:
        raise PublishRefused(EXIT_INVALID, safe_errors(exc)) from None
    return Prepared(topic, spec.type, key, event.model_dump_json().encode("utf-8"), envelope)


async def _send(bootstrap: str, topic: str, prepared: Prepared, wait_seconds: float) -> tuple[int, int]:
    from aiokafka import AIOKafkaProducer

    from services.chassis.kafka import client_options
    from services.chassis.settings import Settings

    # RCM_KAFKA_SECURITY_PROTOCOL, _USERNAME, _PASSWORD, _CA_FILE, as every client reads them.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, **client_options(Settings()))
    try:
        await asyncio.wait_for(producer.start(), wait_seconds)
        metadata = await asyncio.wait_for(
            producer.send_and_wait(
                topic, value=prepared.value, key=prepared.key.encode("utf-8"), headers=prepared.envelope.to_headers()
            ),
            wait_seconds,
        )
    finally:
        await producer.stop()
    return int(metadata.partition), int(metadata.offset)


def _fail(exit_code: int, errors: list[SafeError], json_output: bool) -> NoReturn:
    if json_output:
        typer.echo(json.dumps({"ok": False, "exit_code": exit_code, "errors": errors}, indent=2))
    else:
        for err in errors:
            where = f"{err['field']}: " if err["field"] else ""
            typer.echo(f"error: {where}{err['message']} [{err['type']}]", err=True)
        if exit_code == EXIT_INVALID:
            typer.echo("nothing was published", err=True)
    raise typer.Exit(exit_code)


def publish(
    topic: Annotated[str, typer.Argument(help="Intake topic (without prefix): " + ", ".join(INTAKE_TOPICS))],
    file: Annotated[Path, typer.Argument(help='JSON file: {"type": "<event type>", "data": {...}}')],
    *,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only; publish nothing.")] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="ce_source (default: the event's source_system).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the broker.")] = 30.0,
) -> None:
    """Validate an intake event against its contract and publish it with its key and CloudEvents headers.

    Kafka: RCM_KAFKA_BOOTSTRAP (default 127.0.0.1:39092); RCM_TOPIC_PREFIX is prepended to TOPIC.
    """
    try:
        raw = file.read_bytes()
    except OSError as exc:
        _fail(EXIT_USAGE, [_error("FILE", "file_unreadable", f"cannot read the file ({exc.strerror})")], json_output)
    if len(raw) > MAX_FILE_BYTES:
        _fail(EXIT_INVALID, [_error("", "file_too_large", f"file is larger than {MAX_FILE_BYTES} bytes")], json_output)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail(EXIT_INVALID, [_error("", "encoding", "file is not UTF-8")], json_output)
    try:
        prepared = prepare(topic, text, source=source)
    except PublishRefused as refused:
        _fail(refused.exit_code, refused.errors, json_output)

    full_topic = prefixed(topic, os.environ.get("RCM_TOPIC_PREFIX", ""))
    result: dict[str, Any] = {
        "ok": True,
        "dry_run": dry_run,
        "topic": full_topic,
        "type": prepared.event_type,
        "key": prepared.key,
        "ce_id": str(prepared.envelope.id),
        "ce_time": format_time(prepared.envelope.time),
        "partition": None,
        "offset": None,
    }
    if not dry_run:
        bootstrap = os.environ.get("RCM_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP)
        try:
            partition, offset = asyncio.run(_send(bootstrap, full_topic, prepared, timeout))
        except KafkaSecurityError as exc:
            _fail(EXIT_USAGE, [_error("", "kafka_security", str(exc))], json_output)
        except Exception as exc:
            message = f"publish to {full_topic} via {bootstrap} failed: {type(exc).__name__}"
            _fail(EXIT_BROKER, [_error("", "broker_error", message)], json_output)
        result["partition"], result["offset"] = partition, offset
    if json_output:
        typer.echo(json.dumps(result, indent=2))
    elif dry_run:
        typer.echo(f"valid {prepared.event_type} for {full_topic} (key {prepared.key}); dry run, nothing published")
    else:
        typer.echo(
            f"published {prepared.event_type} to {full_topic} partition {result['partition']} "
            f"offset {result['offset']} (key {prepared.key}, ce_id {prepared.envelope.id})"
        )
