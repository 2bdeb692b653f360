"""Fuzzing the Kafka intake door (issue 16): mutated intake records through the chassis
consumer's own `EventConsumer.process` (what the FastStream subscriber calls per record), with
the charges and remits services' event types and rejecters, without a broker or a database.

Every record ends one of three ways, and nothing else happens:
* handled: the handler got an event that reads strictly, on its own topic, with the record
  key and ce_subject equal to its aggregate key;
* refused: the service's rejecter got the event and problems, each with a code and a field;
* dead-lettered: one record on the service's DLQ with valid dlq_* headers and a reason, and no
  handler ran.
Never an exception out of `process`, never a hang, nothing written for a dead letter."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.dlq import DeadLetterInfo
from schemas.envelope import Envelope
from schemas.errors import ContractError
from schemas.registry import INTAKE_TOPICS, REGISTRY, key_of, spec_for, validate
from services.charges.handlers import HANDLERS as CHARGES_HANDLERS
from services.charges.handlers import REJECTERS as CHARGES_REJECTERS
from services.chassis.clock import FixedClock
from services.chassis.consumer import KEY_MISMATCH, SUBJECT_MISMATCH, UNKNOWN_FIELD, EventConsumer, Outcome
from services.chassis.dlq import SourceRecord
from services.chassis.metrics import Metrics
from services.chassis.settings import Settings
from services.remits.handlers import HANDLERS as REMITS_HANDLERS

CASES = 2500
PREFIX = "fz."
INTAKE_TYPES = sorted(t for t, spec in REGISTRY.items() if spec.topic in INTAKE_TOPICS)
OTHER_TYPES = sorted(t for t, spec in REGISTRY.items() if spec.topic not in INTAKE_TOPICS)
SERVICE_OF_TOPIC = {"rcm.intake.encounters.v1": "charges", "rcm.intake.charges.v1": "charges",
                    "rcm.intake.payments.v1": "remits"}


def example_of(event_type: str) -> dict[str, Any]:
    """The contract's own first example of the event (its JSON form)."""
    extra = cast(dict[str, Any], spec_for(event_type).model.model_config.get("json_schema_extra"))
    return cast(dict[str, Any], copy.deepcopy(extra["examples"][0]))


EXAMPLES = {t: example_of(t) for t in INTAKE_TYPES}
assert all(validate(t, json.dumps(data)) for t, data in EXAMPLES.items())


# --------------------------------------------------------------------------- the fakes around `process`


@dataclass
class _Conn:
    writes: list[tuple[Any, ...]] = field(default_factory=list)

    async def fetchval(self, *args: Any) -> int:
        self.writes.append(args)
        return 1  # the inbox row is new

    async def execute(self, *args: Any) -> str:
        self.writes.append(args)
        return "INSERT 0 1"

    def transaction(self) -> _Conn:
        return self

    async def __aenter__(self) -> _Conn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass
class _Pool:
    conn: _Conn = field(default_factory=_Conn)

    def acquire(self) -> _Conn:
        return self.conn


@dataclass
class _Publisher:
    sent: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = field(default_factory=list)

    async def send(self, topic: str, *, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.sent.append((topic, key, value, headers))


@dataclass
class Run:
    consumer: EventConsumer
    pool: _Pool
    publisher: _Publisher
    calls: list[tuple[str, BaseModel, tuple[Any, ...]]] = field(default_factory=list)


def run_for(service: str) -> Run:
    """A consumer with the service's event types and rejecters, whose handlers only record."""
    types, rejecting = (
        (CHARGES_HANDLERS, CHARGES_REJECTERS) if service == "charges" else (REMITS_HANDLERS, {})
    )
    pool, publisher = _Pool(), _Publisher()
    run = Run(cast(Any, None), pool, publisher)

    async def handle(ctx: Any, event: BaseModel) -> None:
        run.calls.append(("handled", event, ()))

    async def refuse(ctx: Any, event: BaseModel, problems: tuple[Any, ...]) -> None:
        run.calls.append(("refused", event, problems))

    run.consumer = EventConsumer(
        service=service, settings=Settings(topic_prefix=PREFIX, retry_attempts=2, retry_base_delay_s=0.001),
        clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)), pool=cast(Any, pool), publisher=cast(Any, publisher),
        metrics=Metrics(), handlers=dict.fromkeys(types, handle), rejecters=dict.fromkeys(rejecting, refuse),
    )
    return run


# --------------------------------------------------------------------------- records

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=20),
    st.sampled_from(["", "0", "-1", "1e400", "NaN", "150.005", "2026-02-30", "2026-03-02T25:00:00Z", "\x00",
                     "'; DROP TABLE charges; --", "99213\n", " epic-prod"]),
)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                          inner, max_size=4),
                     max_leaves=12)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def payloads(draw: st.DrawFn, event_type: str) -> bytes:
    """The example of `event_type`, mutated: fields removed, added or retyped, huge values, or
    not the event's JSON at all."""
    kind = draw(st.sampled_from(["mutated"] * 6 + ["valid", "random_json", "bytes", "other_event", "empty"]))
    if kind == "random_json":
        return json.dumps(draw(_JSON)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=80))
    if kind == "empty":
        return b""
    data = copy.deepcopy(EXAMPLES[event_type if kind != "other_event" else draw(st.sampled_from(INTAKE_TYPES))])
    rnd = random.Random(draw(st.integers(0, 2**32)))  # uniform over the paths (integers() favours 0)
    for _ in range(draw(st.integers(1, 3)) if kind == "mutated" else 0):
        paths = list(_paths(data))
        path = paths[rnd.randrange(len(paths))] if paths else ()
        parent = _parent(data, path) if path else data
        op = draw(st.sampled_from(["remove", "add", "retype", "huge", "add_nested"]))
        if op == "remove" and path:
            del parent[path[-1]]
        elif op == "add" or not path:
            data[draw(st.sampled_from(["modifers", "ssn", "extra", "source_encounter_id ", "__proto__"]))] = draw(_JSON)
        elif op == "retype":
            parent[path[-1]] = draw(_JSON)
        elif op == "huge":
            parent[path[-1]] = rnd.choice(["9", "A", "é", "{"]) * rnd.choice([300, 10_000, 100_000])
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.sampled_from(["ssn", "note", "x"]))] = draw(_SCALARS)
    text = json.dumps(data)
    if draw(st.integers(0, 9)) == 0:  # a duplicated key: JSON allows it, the last one wins
        text = text[:-1] + ', "source_system": "other"}' if text.endswith("}") and len(text) > 2 else text
    return text.encode()


_HEADER_NAMES = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type",
                 "traceparent"]
_BAD_VALUES = st.one_of(
    st.binary(max_size=40), st.just(b""), st.just(b"\xff\xfe"), st.just(b"x" * 300),
    st.sampled_from([b"0.3", b"text/plain", b"application/json; charset=utf-8", b"APPLICATION/JSON",
                     b"2026-03-02", b"2026-03-02T10:00:00", b"not-a-uuid", b"rcm.intake.Nope.v1",
                     b"00-00000000000000000000000000000000-0000000000000000-01", b"a b", b"\t"]),
)


@st.composite
def records(draw: st.DrawFn) -> tuple[str, SourceRecord]:
    """(service, record) for one intake record, valid or broken anywhere."""
    event_type = draw(st.sampled_from(INTAKE_TYPES))
    topic = spec_for(event_type).topic
    value = draw(payloads(event_type))
    try:
        subject = key_of(validate(event_type, value))
    except ContractError:  # a broken payload has no aggregate key: the example's
        subject = key_of(validate(event_type, json.dumps(EXAMPLES[event_type])))
    ce_type = draw(st.sampled_from([event_type] * 8 + ["other"]))
    if ce_type == "other":  # another intake type, an internal one, or none at all
        ce_type = draw(st.sampled_from([*INTAKE_TYPES, *OTHER_TYPES, "rcm.intake.Nope.v1", "rcm.x", ""]))
    envelope = Envelope.new(source="epic-prod", type=event_type, subject=subject, time=datetime(2026, 3, 2, tzinfo=UTC),
                            traceparent=draw(st.sampled_from([None, "00-4bf92f3577b34da6a3ce929d0e0e4736-"
                                                                    "00f067aa0ba902b7-01"])))
    headers = [(k, v if k != "ce_type" else ce_type.encode()) for k, v in envelope.to_headers()]
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):  # most records keep a whole envelope
        op = draw(st.sampled_from(["drop", "dup_same", "dup_other", "bad", "rename", "extra"]))
        i = rnd.randrange(len(headers)) if headers else 0
        if not headers:
            break
        name, value_ = headers[i]
        if op == "drop":
            del headers[i]
        elif op == "dup_same":
            headers.append((name, value_))
        elif op == "dup_other":
            headers.append((name, draw(_BAD_VALUES)))
        elif op == "bad":
            headers[i] = (name, draw(_BAD_VALUES))
        elif op == "rename":
            headers[i] = (draw(st.sampled_from([name.upper(), name + " ", "Content-Type", "ce-id"])), value_)
        else:
            headers.append((draw(st.sampled_from([*_HEADER_NAMES, "x-extra", "dlq_reason"])), draw(_BAD_VALUES)))
    key_kind = draw(st.sampled_from(["match"] * 5 + ["none", "other", "bytes", "huge"]))
    key = {"match": subject.encode(), "none": None, "other": b"another-encounter", "huge": b"k" * 10_000,
           "bytes": draw(st.binary(max_size=20))}[key_kind]
    on = draw(st.sampled_from([topic] * 9 + ["elsewhere"]))
    if on == "elsewhere":  # the record published to another intake topic than its type's
        on = draw(st.sampled_from(INTAKE_TOPICS))
    service = SERVICE_OF_TOPIC[on]
    return service, SourceRecord(PREFIX + on, draw(st.integers(0, 2)), draw(st.integers(0, 2**40)), key, value, headers)


# --------------------------------------------------------------------------- the oracle


def check(service: str, record: SourceRecord, run: Run, outcome: Outcome) -> str:
    """The record's fate, after checking it is one of the three allowed, whole."""
    if outcome is Outcome.DEAD_LETTERED:
        assert run.calls == [] and run.pool.conn.writes == [], "a dead letter must leave nothing written"
        assert len(run.publisher.sent) == 1
        topic, key, value, headers = run.publisher.sent[0]
        # The key goes along unless it is not a safe token (then withheld, and the reason says so).
        assert topic == f"{PREFIX}rcm.{service}.dlq.v1" and key in (record.key, None) and value == record.value
        info = DeadLetterInfo.from_headers(headers)
        assert info.reason and info.original_topic == record.topic and info.consumer == service
        assert "?" not in info.reason, "a dead letter's reason names the field, or the payload"
        return f"dlq:{info.error_class}"
    assert run.publisher.sent == [], outcome
    assert outcome is Outcome.APPLIED, outcome
    assert len(run.calls) == 1
    kind, event, problems = run.calls[0]
    envelope = Envelope.from_headers(record.headers)
    spec = spec_for(envelope.type)
    assert record.topic == PREFIX + spec.topic, "an event type is only read on its own topic"
    if kind == "refused":
        assert problems and all(p.code in (UNKNOWN_FIELD, KEY_MISMATCH, SUBJECT_MISMATCH) and p.field for p in problems)
        return "refused"
    validate(envelope.type, record.value)  # strict: anything handled has no unknown field
    assert record.key == key_of(event).encode() and envelope.subject == key_of(event)
    return "handled"


def process(service: str, record: SourceRecord) -> tuple[Run, Outcome]:
    run = run_for(service)
    outcome = asyncio.run(asyncio.wait_for(run.consumer.process(record), 10))
    return run, outcome


def routed(event_type: str, on: str) -> tuple[str, SourceRecord]:
    """A valid record of `event_type` published to the intake topic `on`."""
    data = example_of(event_type)
    subject = key_of(validate(event_type, json.dumps(data)))
    envelope = Envelope.new(source="epic-prod", type=event_type, subject=subject, time=datetime(2026, 3, 2, tzinfo=UTC))
    record = SourceRecord(PREFIX + on, 0, 7, subject.encode(), json.dumps(data).encode(), envelope.to_headers())
    return SERVICE_OF_TOPIC[on], record


# Found by this fuzzer: a payment on the charges intake topic was acknowledged and ignored (lost
# to the sender), and an internal ClaimSubmitted on the payments intake topic was applied by
# remits, read tolerantly, past the strict intake read. Both are dead-lettered now.
PAYMENT_ON_CHARGES = routed("rcm.intake.PatientPaymentReceived.v1", "rcm.intake.charges.v1")
CLAIM_ON_PAYMENTS = routed("rcm.claims.ClaimSubmitted.v1", "rcm.intake.payments.v1")


@pytest.mark.parametrize("case", [PAYMENT_ON_CHARGES, CLAIM_ON_PAYMENTS],
                         ids=["payment-on-charges", "claim-on-payments"])
def test_an_event_type_on_a_topic_that_does_not_carry_it_is_dead_lettered(case: tuple[str, SourceRecord]) -> None:
    run, outcome = process(*case)
    assert check(*case, run, outcome) == "dlq:unknown_event_type"
    assert "not carried by this topic" in DeadLetterInfo.from_headers(run.publisher.sent[0][3]).reason


@settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@example(case=PAYMENT_ON_CHARGES)
@example(case=CLAIM_ON_PAYMENTS)
@example(case=routed("rcm.intake.ChargeSubmitted.v1", "rcm.intake.charges.v1"))
@given(case=records())
def test_fuzz_kafka_intake(case: tuple[str, SourceRecord]) -> None:
    service, record = case
    run, outcome = process(service, record)
    check(service, record, run, outcome)

