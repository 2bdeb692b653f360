"""The UnmatchedRemittanceResolved contract: its example validates, producers are held strictly,
it is keyed and routed like the UnmatchedRemittance it resolves, and it carries no PHI."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas import remits
from schemas.registry import ContractError, decode, encode, key_of, spec_for, validate
from services.notifications.commands import WEBHOOK_EVENT_TYPES
from services.notifications.domain.policy import webhook_body

TYPE = "rcm.remittances.UnmatchedRemittanceResolved.v1"
ROOT = Path(__file__).resolve().parents[3]


def example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(remits.UnmatchedRemittanceResolved.model_json_schema()["examples"][0]))
    return data


def test_example_validates_and_round_trips() -> None:
    event = validate(TYPE, example())
    assert isinstance(event, remits.UnmatchedRemittanceResolved)
    assert event.amount_released == Decimal("130.00") and event.resolution == "claim_submitted"
    assert decode(TYPE, encode(event)) == event
    assert json.loads(encode(event))["amount_released"] == "130.00"


def test_keyed_and_routed_like_unmatched_remittance() -> None:
    spec, raised = spec_for(TYPE), spec_for("rcm.remittances.UnmatchedRemittance.v1")
    assert (spec.topic, spec.key_field, spec.producer) == (raised.topic, raised.key_field, raised.producer)
    assert key_of(validate(TYPE, example())) == example()["remittance_id"]
    catalog = yaml.safe_load((ROOT / "deploy" / "topics.yaml").read_text(encoding="utf-8"))
    topic = next(t for t in catalog["topics"] if t["name"] == "rcm.remittances.v1")
    assert TYPE in topic["events"]
    assert TYPE in WEBHOOK_EVENT_TYPES
    # The same position fields as the alert it resolves, so a consumer can pair them.
    same = example()["position"]
    assert remits.RemittancePosition.model_validate(same).claim_index == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_released", 130.0),  # money must be a string
        ("amount_released", "130.505"),  # at most two places
        ("resolution", "automatic"),  # only claim_submitted / operator_rematch
        ("resolved_at", "2026-04-09T08:15:03"),  # naive time
        ("reported_submission_id", ""),
        ("reported_submission_id", "S01\nHX"),
        ("patient_name", "Rivera"),  # unknown fields refused (and no PHI fields exist)
    ],
)
def test_producer_is_strict(field: str, value: Any) -> None:
    data = example()
    data[field] = value
    with pytest.raises(ContractError):
        validate(TYPE, data)


@pytest.mark.parametrize("missing", ["remittance_id", "position", "claim_id", "encounter_id", "amount_released",
                                     "resolution", "resolved_at", "reported_submission_id"])
def test_every_field_is_required(missing: str) -> None:
    data = example()
    del data[missing]
    with pytest.raises(ContractError):
        validate(TYPE, data)


def test_operator_rematch_and_negative_release_accepted() -> None:
    event = validate(TYPE, {**example(), "resolution": "operator_rematch", "amount_released": "-74.50"})
    assert isinstance(event, remits.UnmatchedRemittanceResolved) and event.amount_released == Decimal("-74.50")


def test_consumer_reads_tolerantly() -> None:
    data = {**example(), "added_later": "x"}
    event = decode(TYPE, json.dumps(data))
    assert isinstance(event, remits.UnmatchedRemittanceResolved)


def test_webhook_body_keeps_ids_amount_and_resolution() -> None:
    event = validate(TYPE, example())
    assert isinstance(event, remits.UnmatchedRemittanceResolved)
    body = webhook_body("evt-1", TYPE, event.resolved_at, event.model_dump())
    assert body["data"] == {
        "remittance_id": "rem_01JPB2C8M4", "reported_submission_id": "S01HX0000000", "claim_id": "clm_01HX00000Q",
        "encounter_id": "enc_01HX00000R", "amount_released": "130.00", "resolution": "claim_submitted",
        "resolved_at": "2026-04-09T08:15:03+00:00"}


def test_schema_generated_and_baselined() -> None:
    for folder in ("generated/jsonschema", "baseline/v1"):
        schema = json.loads((ROOT / "schemas" / folder / f"{TYPE}.json").read_text(encoding="utf-8"))
        assert set(schema["required"]) >= {"remittance_id", "claim_id", "resolution"}
