"""The intake fields behind the payers' 837P loops: accepted, carried to billing, and optional
(a payload written before they existed is still valid and means what it meant)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from schemas import examples as ex
from schemas.charges import ChargePosted, EncounterReadyToBill
from schemas.intake import ChargeSubmitted, EncounterRegistered
from schemas.registry import REGISTRY

ORDERING: dict[str, Any] = {"npi": "1326132614", "name": {"family": "Ito", "given": "Ken"}}
RENDERING: dict[str, Any] = {"npi": "1215121512", "name": {"family": "Nguyen", "given": "Bao"}}


def example(event_type: str, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(REGISTRY[event_type].model.model_json_schema()["examples"][index]))
    return data


def loops_encounter() -> dict[str, Any]:
    medicare = {**ex.COVERAGES[1], "claim_filing_indicator": "MB", "insurance_type_code": "12"}
    return {
        **ex.ENCOUNTER,
        "coverages": [{**ex.COVERAGES[0], "referral_number": "RF-9", "prior_authorization_numbers": ["PA-77"]},
                      medicare],
        "billing_provider": {**ex.BILLING_PROVIDER, "clia_number": "05d0987654"},
        "facility": {"name": "Mission General ER",
                     "address": {"line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA",
                                 "postal_code": "94110"}},
        "place_of_service": "23",
        "accident": {"causes": ["employment", "auto"], "occurred_on": "2026-02-27", "state": "CA"},
    }


def test_encounter_fields_are_accepted_normalized_and_carried_to_ready_to_bill() -> None:
    registered = EncounterRegistered.model_validate_json(json.dumps(loops_encounter()))
    assert registered.billing_provider.clia_number == "05D0987654"
    assert registered.accident is not None and registered.accident.state == "CA"
    assert (registered.coverages[0].referral_number, registered.coverages[1].insurance_type_code) == ("RF-9", "12")
    ready = EncounterReadyToBill.model_validate_json(json.dumps(
        {**json.loads(registered.model_dump_json()), "encounter_id": ex.ENCOUNTER_ID,
         "patient_account_id": ex.PATIENT_ACCOUNT_ID, "revision": 1, "charge_ids": ex.CHARGE_IDS}))
    assert ready.accident == registered.accident and ready.facility == registered.facility


def test_charge_line_providers_are_accepted_and_posted() -> None:
    drug = {**example("rcm.intake.ChargeSubmitted.v1", 2), "rendering_provider": RENDERING,
            "ordering_provider": ORDERING}
    submitted = ChargeSubmitted.model_validate_json(json.dumps(drug))
    assert submitted.rendering_provider is not None and submitted.rendering_provider.npi == "1215121512"
    assert (submitted.ndc, submitted.ndc_quantity, submitted.ndc_unit) == ("00409733801", Decimal(1), "UN")
    posted = ChargePosted.model_validate_json(json.dumps(
        {**example("rcm.charges.ChargePosted.v1"), "rendering_provider_npi": "1215121512",
         "rendering_provider": RENDERING, "ordering_provider": ORDERING}))
    assert posted.ordering_provider is not None and posted.ordering_provider.name.family == "Ito"


def test_payloads_without_the_new_fields_stay_valid_and_mean_none() -> None:
    old_encounter = {k: v for k, v in ex.ENCOUNTER.items() if k != "accident"}
    old_encounter["billing_provider"] = {k: v for k, v in ex.BILLING_PROVIDER.items() if k != "clia_number"}
    old_encounter["coverages"] = [{k: v for k, v in c.items() if k not in {"referral_number", "insurance_type_code"}}
                                  for c in ex.COVERAGES]
    registered = EncounterRegistered.model_validate_json(json.dumps(old_encounter))
    assert registered.accident is None and registered.billing_provider.clia_number is None
    assert [(c.referral_number, c.insurance_type_code) for c in registered.coverages] == [(None, None), (None, None)]
    old_charge = {k: v for k, v in example("rcm.intake.ChargeSubmitted.v1").items()
                  if k not in {"rendering_provider", "ordering_provider"}}
    charge = ChargeSubmitted.model_validate_json(json.dumps(old_charge))
    assert charge.rendering_provider is None and charge.ordering_provider is None
