"""The intake door's strict read (issue 16): unknown fields, record key and ce_subject."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import charges, intake
from schemas.envelope import Envelope
from schemas.errors import ContractError
from schemas.registry import encode, event_type_of, key_of
from services.chassis.consumer import HandlerContext, HandlerTable, IntakeProblem, read_intake
from services.chassis.dlq import SourceRecord
from tests.support import intake as build

SSN = "123-45-6789"


def record(event: Any, *, value: bytes | None = None, key: str | None = None,
           subject: str | None = None) -> tuple[Envelope, SourceRecord]:
    envelope = Envelope.new(source="t", type=event_type_of(event), subject=subject or key_of(event),
                            time=datetime(2026, 3, 2, tzinfo=UTC))
    return envelope, SourceRecord("rcm.intake.charges.v1", 0, 0, (key or key_of(event)).encode(),
                                  value if value is not None else encode(event), envelope.to_headers())


def problems(event: Any, **kw: Any) -> list[tuple[str, str]]:
    _, found = read_intake(*record(event, **kw))
    return [(p.code, p.field) for p in found]


def test_a_clean_intake_record_has_no_problem() -> None:
    assert problems(build.charge("e1", "c1")) == []


def test_every_unknown_field_is_named_at_its_path_and_no_value_is_echoed() -> None:
    event = build.encounter("e1")
    data = json.loads(event.model_dump_json())
    data["patient"]["ssn"] = SSN
    data["modifers"] = ["25"]
    envelope, rec = record(event, value=json.dumps(data).encode())
    decoded, found = read_intake(envelope, rec)
    assert isinstance(decoded, intake.EncounterRegistered)
    assert sorted((p.code, p.field) for p in found) == [
        ("INTAKE_UNKNOWN_FIELD", "modifers"), ("INTAKE_UNKNOWN_FIELD", "patient.ssn")]
    assert SSN not in repr(found)


def test_key_and_subject_must_equal_the_aggregate_key() -> None:
    event = build.charge("e1", "c1")
    assert problems(event, key="e2") == [("INTAKE_KEY_MISMATCH", "source_encounter_id")]
    assert problems(event, subject="e2") == [("INTAKE_SUBJECT_MISMATCH", "source_encounter_id")]


def test_an_unknown_field_next_to_a_broken_one_is_a_contract_violation_naming_both() -> None:
    event = build.charge("e1", "c1")
    data = json.loads(event.model_dump_json()) | {"units": 1, "modifers": ["25"]}
    with pytest.raises(ContractError) as caught:
        read_intake(*record(event, value=json.dumps(data).encode()))
    assert {(e["field"], e["type"]) for e in caught.value.errors} >= {("modifers", "extra_forbidden")}
    assert any(e["field"] == "units" for e in caught.value.errors)


def test_only_intake_events_can_be_refused() -> None:
    table = HandlerTable()

    async def refuse(ctx: HandlerContext, event: Any, found: tuple[IntakeProblem, ...]) -> None: ...

    with pytest.raises(ValueError, match="not an intake event"):
        table.rejects(charges.ChargePosted)(refuse)
    table.rejects(intake.ChargeSubmitted)(refuse)
    with pytest.raises(ValueError, match="already has a rejecter"):
        table.rejects(intake.ChargeSubmitted)(refuse)
