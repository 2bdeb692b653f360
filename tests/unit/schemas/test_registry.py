"""The registry and every event model: examples, round trips, strict and tolerant reading."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from schemas import charges, claims, common, intake, notifications, remits
from schemas.registry import (
    INTAKE_TOPICS,
    REGISTRY,
    ContractError,
    EventSpec,
    UnknownEventType,
    decode,
    encode,
    event_type_of,
    key_of,
    spec_for,
    spec_for_model,
    specs_for_topic,
    validate,
)

SPECS = list(REGISTRY.values())
IDS = [s.type for s in SPECS]


def examples_of(model: type[BaseModel]) -> list[dict[str, Any]]:
    return list(model.model_json_schema().get("examples", []))


def all_models() -> Iterator[type[BaseModel]]:
    for module in (common, intake, charges, claims, remits, notifications):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseModel):
                yield obj


# --------------------------------------------------------------------------- catalog conventions


def test_event_count_and_names() -> None:
    assert len(REGISTRY) == 46
    for spec in SPECS:
        domain = spec.type.split(".")[1]
        assert spec.type == f"rcm.{domain}.{spec.name}.v1"
        assert spec.name == spec.model.__name__
        assert spec.version == "v1"


EXPECTED_KEYS = {
    "rcm.intake.encounters.v1": {"source_encounter_id"},
    "rcm.intake.charges.v1": {"source_encounter_id"},
    "rcm.intake.payments.v1": {"patient_account_id"},
    "rcm.charges.v1": {"encounter_id"},
    "rcm.claims.v1": {"claim_id"},
    "rcm.eligibility.v1": {"encounter_id"},
    "rcm.remittances.v1": {"claim_id", "remittance_id"},
    "rcm.patient-balances.v1": {"patient_account_id"},
    "rcm.notifications.v1": {"notification_id"},
}
FILE_LEVEL = {"RemittanceReceived", "UnmatchedRemittance", "UnmatchedRemittanceResolved", "ProviderAdjustmentPosted"}
PRODUCERS = {
    "rcm.intake.encounters.v1": "integration",
    "rcm.intake.charges.v1": "integration",
    "rcm.intake.payments.v1": "integration",
    "rcm.charges.v1": "charges",
    "rcm.claims.v1": "claims",
    "rcm.eligibility.v1": "claims",
    "rcm.remittances.v1": "remits",
    "rcm.patient-balances.v1": "remits",
    "rcm.notifications.v1": "notifications",
}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_topic_key_and_producer_conventions(spec: EventSpec) -> None:
    assert spec.key_field in EXPECTED_KEYS[spec.topic]
    if spec.topic == "rcm.remittances.v1":
        assert spec.key_field == ("remittance_id" if spec.name in FILE_LEVEL else "claim_id")
    assert spec.producer == PRODUCERS[spec.topic]
    assert spec.model.model_fields[spec.key_field].is_required()


def test_lookups() -> None:
    spec = spec_for("rcm.claims.ClaimSubmitted.v1")
    assert spec.model is claims.ClaimSubmitted
    assert spec_for_model(claims.ClaimSubmitted) is spec
    assert [s.name for s in specs_for_topic("rcm.intake.payments.v1")] == [
        "PatientPaymentReceived",
        "PatientRefundIssued",
    ]
    assert set(INTAKE_TOPICS) == {s.topic for s in SPECS if s.producer == "integration"}
    with pytest.raises(UnknownEventType) as info:
        spec_for("rcm.claims.ClaimTeleported.v1")
    assert isinstance(info.value, KeyError)
    assert "ClaimTeleported" in str(info.value)
    with pytest.raises(UnknownEventType):
        spec_for_model(common.Address)
    with pytest.raises(UnknownEventType):
        encode(common.PayerRef(payer_id="60054", payer_name="Aetna"))


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_example_validates_and_round_trips(spec: EventSpec) -> None:
    examples = examples_of(spec.model)
    assert examples, f"{spec.name} has no example"
    for example in examples:
        event = validate(spec.type, example)
        assert event_type_of(event) == spec.type
        assert key_of(event) == example[spec.key_field]
        payload = encode(event)
        back = decode(spec.type, payload)
        assert back == event and type(back) is spec.model
        # The wire form is stable: encoding what was decoded gives the same bytes.
        assert encode(back) == payload


def test_sub_model_examples_validate() -> None:
    checked = 0
    for model in all_models():
        for example in examples_of(model):
            model.model_validate_json(json.dumps(example))
            checked += 1
    assert checked >= len(REGISTRY) + 6


def test_money_is_encoded_as_strings() -> None:
    event = validate("rcm.remittances.ClaimPaymentPosted.v1", examples_of(remits.ClaimPaymentPosted)[0])
    wire = json.loads(encode(event))
    assert wire["total_paid"] == "74.50"
    assert wire["lines"][0]["adjustments"][0]["amount"] == "52.00"
    assert isinstance(event.total_paid, Decimal)  # type: ignore[attr-defined]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_no_float_anywhere(spec: EventSpec) -> None:
    schema = spec.model.model_json_schema()
    assert not [n for n in _walk(schema) if n.get("type") == "number"]


# --------------------------------------------------------------------------- strict producers, tolerant consumers


def _add_unknown_everywhere(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _add_unknown_everywhere(v) for k, v in node.items()}
        out["x_future_field"] = {"nested": True}
        return out
    if isinstance(node, list):
        return [_add_unknown_everywhere(v) for v in node]
    return node


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_producers_refuse_and_consumers_ignore_unknown_fields(spec: EventSpec) -> None:
    example = examples_of(spec.model)[0]
    noisy = _add_unknown_everywhere(example)
    with pytest.raises(ContractError) as info:
        validate(spec.type, noisy)
    assert {e["type"] for e in info.value.errors} == {"extra_forbidden"}
    assert decode(spec.type, json.dumps(noisy)) == validate(spec.type, example)


def test_nested_unknown_field_refused_at_its_path() -> None:
    example = json.loads(json.dumps(examples_of(intake.EncounterRegistered)[0]))
    example["patient"]["address"]["county"] = "San Francisco"
    with pytest.raises(ContractError) as info:
        validate("rcm.intake.EncounterRegistered.v1", example)
    assert info.value.errors == [
        {
            "field": "patient.address.county",
            "type": "extra_forbidden",
            "message": "unknown field: not part of this contract",
        }
    ]


def test_decode_unknown_type() -> None:
    with pytest.raises(UnknownEventType):
        decode("rcm.claims.Nope.v1", b"{}")


def test_decode_contract_error_is_a_value_error_with_safe_errors() -> None:
    with pytest.raises(ContractError) as info:
        decode("rcm.intake.EncounterClosed.v1", b'{"source_system": "epic-prod"}')
    assert isinstance(info.value, ValueError)
    assert {e["field"] for e in info.value.errors} == {"source_encounter_id", "closed_at"}


def test_models_are_immutable() -> None:
    event = validate("rcm.intake.EncounterClosed.v1", examples_of(intake.EncounterClosed)[0])
    with pytest.raises(ValueError):
        event.source_system = "other"  # type: ignore[misc, attr-defined]
