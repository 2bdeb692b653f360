"""Intake events as an integration team would build them, from the contracts' own examples."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from pydantic import BaseModel

from schemas import examples as ex
from schemas.registry import validate

SYSTEM = ex.SOURCE_SYSTEM
CHARGE_EXAMPLE: dict[str, Any] = {
    "source_system": SYSTEM,
    "service_date": "2026-03-02",
    "procedure_code": "99213",
    "modifiers": ["25"],
    "units": "1",
    "unit_price": "150.00",
    "amount": "150.00",
    "diagnosis_pointers": [1, 2],
}


def new_encounter_id() -> str:
    return str(uuid.uuid4())


def encounter(source_encounter_id: str, *, kind: str = "EncounterRegistered", **overrides: Any) -> BaseModel:
    data = copy.deepcopy(ex.ENCOUNTER) | {"source_encounter_id": source_encounter_id} | overrides
    return validate(f"rcm.intake.{kind}.v1", json.dumps(data))


def inpatient_encounter(source_encounter_id: str, **overrides: Any) -> BaseModel:
    """The hospital stay of the examples (bills both claims), under the given sender's id."""
    stay = {k: v for k, v in ex.INPATIENT_ENCOUNTER.items() if k != "source_encounter_id"}
    return encounter(source_encounter_id, **(copy.deepcopy(stay) | overrides))


def closed(source_encounter_id: str, *expected: str) -> BaseModel:
    data = {"source_system": SYSTEM, "source_encounter_id": source_encounter_id, "closed_at": "2026-03-02T18:40:00Z",
            "expected_source_charge_ids": list(expected)}
    return validate("rcm.intake.EncounterClosed.v1", json.dumps(data))


def charge(source_encounter_id: str, source_charge_id: str, **overrides: Any) -> BaseModel:
    data = CHARGE_EXAMPLE | {
        "source_encounter_id": source_encounter_id,
        "source_charge_id": source_charge_id,
        "idempotency_key": f"{SYSTEM}:{source_charge_id}",
    } | overrides
    return validate("rcm.intake.ChargeSubmitted.v1", json.dumps({k: v for k, v in data.items() if v is not None}))


def correction(source_encounter_id: str, source_charge_id: str, corrects: str, **overrides: Any) -> BaseModel:
    data = CHARGE_EXAMPLE | {
        "source_encounter_id": source_encounter_id,
        "source_charge_id": source_charge_id,
        "idempotency_key": f"{SYSTEM}:{source_charge_id}",
        "corrects_idempotency_key": f"{SYSTEM}:{corrects}",
    } | overrides
    return validate("rcm.intake.ChargeCorrected.v1", json.dumps(data))


def void(source_encounter_id: str, source_charge_id: str, voids: str) -> BaseModel:
    data = {
        "source_system": SYSTEM,
        "source_encounter_id": source_encounter_id,
        "source_charge_id": source_charge_id,
        "idempotency_key": f"{SYSTEM}:{source_charge_id}",
        "voids_idempotency_key": f"{SYSTEM}:{voids}",
    }
    return validate("rcm.intake.ChargeVoided.v1", json.dumps(data))
