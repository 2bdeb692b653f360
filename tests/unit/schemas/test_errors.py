"""Validation errors never carry input values (they may be PHI)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.errors import field_path, safe_errors
from schemas.examples import ENCOUNTER
from schemas.intake import EncounterRegistered
from schemas.registry import ContractError, decode, validate

SECRET = "Zelda-Quixote-555-12-3456"


def _bad_encounter() -> dict[str, Any]:
    bad: dict[str, Any] = json.loads(json.dumps(ENCOUNTER))
    bad["patient"]["name"]["family"] = SECRET * 10  # too long
    bad["patient"]["birth_date"] = SECRET  # not a date
    bad["patient"]["sex"] = SECRET  # not in the enum
    bad["patient"]["email"] = SECRET  # not an email
    bad["patient"]["address"]["postal_code"] = SECRET
    bad["coverages"][0]["member_id"] = SECRET + " #"
    bad["coverages"][0]["relationship_to_subscriber"] = SECRET
    bad["billing_provider"]["npi"] = "1234567890"
    bad["diagnoses"] = [SECRET, 7]
    bad["place_of_service"] = 11
    bad[SECRET] = SECRET  # unknown field whose name is itself sensitive
    bad["ssn"] = SECRET
    return bad


def test_safe_errors_never_contain_input_values() -> None:
    try:
        validate("rcm.intake.EncounterRegistered.v1", _bad_encounter())
    except ContractError as exc:
        errors = exc.errors
        text = json.dumps(errors) + str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected a ContractError")
    assert SECRET not in text
    assert "Zelda" not in text and "555-12" not in text and "1234567890" not in text
    fields = {e["field"] for e in errors}
    assert "patient.birth_date" in fields
    assert "coverages[0].member_id" in fields
    assert "billing_provider.npi" in fields
    assert "diagnoses[0]" in fields and "diagnoses[1]" in fields
    assert "ssn" in fields  # an identifier-like unknown field is named
    assert "<field>" in fields  # a sensitive-looking one is not
    for err in errors:
        assert set(err) == {"field", "type", "message"}
        assert err["message"]


def test_each_error_has_a_specific_rule() -> None:
    try:
        validate("rcm.intake.EncounterRegistered.v1", _bad_encounter())
    except ContractError as exc:
        by_field = {e["field"]: e for e in exc.errors}
    assert by_field["billing_provider.npi"]["type"] == "npi_invalid"
    assert by_field["patient.sex"]["type"] == "literal_error"
    assert "'M', 'F' or 'U'" in by_field["patient.sex"]["message"]
    assert by_field["place_of_service"]["type"] == "string_type"
    assert by_field["patient.name.family"]["type"] == "string_too_long"


def test_cross_field_rules_name_fields_not_values() -> None:
    data: dict[str, Any] = json.loads(json.dumps(ENCOUNTER))
    data["coverages"][0]["relationship_to_subscriber"] = "19"  # child: subscriber required
    try:
        validate("rcm.intake.EncounterRegistered.v1", data)
    except ContractError as exc:
        assert exc.errors == [
            {
                "field": "coverages[0]",
                "type": "rule_subscriber_required",
                "message": "subscriber is required unless relationship_to_subscriber is 18 (self)",
            }
        ]


def test_pydantic_messages_that_echo_input_are_rewritten() -> None:
    # pydantic's own uuid/date messages quote offending characters; ours must not.
    payload = {
        "encounter_id": "enc_1",
        "source_system": "epic",
        "source_encounter_id": "v1",
        "rejected_event_id": f"{SECRET}-not-a-uuid",
        "rejected_event_type": "rcm.intake.EncounterRegistered.v1",
        "reasons": [{"code": "X1", "message": "m"}],
        "rejected_at": f"2026-13-45T{SECRET}",
    }
    try:
        decode("rcm.charges.EncounterRejected.v1", json.dumps(payload).encode())
    except ContractError as exc:
        text = json.dumps(exc.errors)
    assert SECRET not in text
    assert "must be a UUID" in text


def test_invalid_json_payload() -> None:
    try:
        decode("rcm.intake.EncounterClosed.v1", b'{"source_system": "' + SECRET.encode() + b'", ')
    except ContractError as exc:
        assert exc.errors[0]["type"] == "json_invalid"
        assert SECRET not in json.dumps(exc.errors)


def test_field_path() -> None:
    assert field_path(("coverages", 0, "member_id")) == "coverages[0].member_id"
    assert field_path(("diagnoses", 3)) == "diagnoses[3]"
    assert field_path(("John Smith 555",)) == "<field>"
    assert field_path(()) == ""


@settings(max_examples=60)
@given(st.text(min_size=3, max_size=40).filter(lambda s: s.strip() != ""))
def test_no_value_leaks_for_arbitrary_text(value: str) -> None:
    marker = "PHI" + value + "PHI"
    data: dict[str, Any] = json.loads(json.dumps(ENCOUNTER))
    for path in (
        ("patient", "birth_date"),
        ("patient", "phone"),
        ("billing_provider", "tax_id"),
        ("place_of_service",),
    ):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = marker
    data["diagnoses"] = [marker]
    try:
        EncounterRegistered.model_validate_json(json.dumps(data))
    except ValidationError as exc:
        assert marker not in json.dumps(safe_errors(exc))
