"""The institutional billing fields of the v1 contracts: shapes, defaults that keep old
producers valid, and what a ChargePosted promises of each claim type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from schemas import examples as ex
from schemas.registry import REGISTRY, ContractError, validate
from schemas.types import Icd10PcsCode

REGISTERED = "rcm.intake.EncounterRegistered.v1"
SUBMITTED = "rcm.intake.ChargeSubmitted.v1"
POSTED = "rcm.charges.ChargePosted.v1"
READY = "rcm.charges.EncounterReadyToBill.v1"


def example(event_type: str, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(REGISTRY[event_type].model.model_json_schema()["examples"][index]))
    return data


def errors(event_type: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ContractError) as caught:
        validate(event_type, data)
    return [(e["field"], e["type"]) for e in caught.value.errors]


def test_an_encounter_of_an_old_producer_bills_professional() -> None:
    event = validate(REGISTERED, json.loads(json.dumps(ex.ENCOUNTER)))
    assert (event.bills, event.institutional) == ("professional", None)  # type: ignore[attr-defined]


def test_the_inpatient_example_carries_its_institutional_data_to_billing() -> None:
    ready = validate(READY, example(READY, 1))
    assert ready.bills == "both"  # type: ignore[attr-defined]
    assert ready.institutional.principal_procedure.code == "0BJ08ZZ"  # type: ignore[attr-defined]
    assert json.loads(ready.model_dump_json())["institutional"] == ex.INSTITUTIONAL


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (("type_of_bill",), "111", "type_of_bill_format"),
        (("type_of_bill",), "91", "type_of_bill_format"),
        (("admission_hour",), 24, "less_than_equal"),
        (("admission_type",), "6", "literal_error"),
        (("admission_source",), "0", "admission_source_format"),
        (("patient_status",), "1", "patient_status_format"),
        (("principal_diagnosis", "present_on_admission"), "X", "literal_error"),
        (("principal_procedure", "code"), "0BJ08ZO", "icd10pcs_format"),
        (("principal_procedure", "code"), "0BJ08Z", "icd10pcs_format"),
        (("condition_codes",), ["0-"], "nubc_code_format"),
        (("value_codes",), [{"code": "80", "amount": 3.0}], "money_type"),
        (("value_codes",), [{"code": "80", "amount": "-3.00"}], "money_format"),
    ],
)
def test_institutional_shapes(path: tuple[str, ...], value: Any, error: str) -> None:
    data = example(REGISTERED, 1)
    target = data["institutional"]
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    found = errors(REGISTERED, data)
    assert len(found) == 1 and found[0][1] == error, found
    assert found[0][0].startswith("institutional." + path[0])


def test_icd10_pcs_is_carried_uppercase() -> None:
    assert TypeAdapter(Icd10PcsCode).validate_python("0bj08zz") == "0BJ08ZZ"


def test_bills_takes_three_values() -> None:
    data = example(REGISTERED, 1)
    data["bills"] = "facility"
    assert errors(REGISTERED, data) == [("bills", "literal_error")]


def test_a_facility_line_may_carry_a_revenue_code_alone() -> None:
    assert validate(SUBMITTED, example(SUBMITTED, 4)).revenue_code == "0250"  # type: ignore[attr-defined]
    data = example(SUBMITTED, 4)
    del data["revenue_code"]
    assert errors(SUBMITTED, data) == [("", "rule_code_choice")]
    data = example(SUBMITTED, 0)
    data["revenue_code"] = "250"
    assert errors(SUBMITTED, data) == [("revenue_code", "revenue_code_format")]


def test_a_posted_line_has_what_its_claim_needs() -> None:
    room = example(POSTED, 2)
    assert validate(POSTED, room).procedure_code is None  # type: ignore[attr-defined]
    assert errors(POSTED, {**room, "revenue_code": None}) == [("", "rule_revenue_code_required")]
    assert errors(POSTED, {**room, "claim_type": "professional"}) == [("", "rule_procedure_required")]
    old = example(POSTED, 0)
    del old["claim_type"]
    assert validate(POSTED, old).claim_type == "professional"  # type: ignore[attr-defined]


def test_a_coverage_names_its_facility_payer_and_never_its_name_alone() -> None:
    data = example(READY, 1)
    data["coverages"][0] |= {"facility_payer_id": "SAMPLEPARTA", "facility_payer_name": "Medicare Part A"}
    ready = validate(READY, data)
    assert json.loads(ready.model_dump_json())["coverages"][0]["facility_payer_id"] == "SAMPLEPARTA"
    del data["coverages"][0]["facility_payer_id"]
    assert errors(READY, data) == [("coverages[0]", "rule_facility_payer_name_without_id")]
