"""Cross-field rules a billing manager relies on; each break names its rule, not values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schemas.registry import REGISTRY, ContractError, validate

Mutation = Callable[[dict[str, Any]], None]


def example(event_type: str, index: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(REGISTRY[event_type].model.model_json_schema()["examples"][index]))
    return data


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        parts = path.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


def _all(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for m in mutations:
            m(data)

    return mutate


PROVIDER: dict[str, Any] = {"npi": "1326132614", "name": {"family": "Ito", "given": "Ken"}}

CASES: list[tuple[str, Mutation, str | None]] = [
    # intake charges
    ("rcm.intake.ChargeSubmitted.v1", _set("idempotency_key", "epic-prod:other"), "rule_idempotency_key_mismatch"),
    ("rcm.intake.ChargeSubmitted.v1", _set("chargemaster_code", "CDM-1"), "rule_code_choice"),
    ("rcm.intake.ChargeSubmitted.v1", _set("procedure_code", None), "rule_code_choice"),
    ("rcm.intake.ChargeSubmitted.v1", _set("amount", "149.99"), "rule_amount_mismatch"),
    ("rcm.intake.ChargeSubmitted.v1", _all(_set("amount", None), _set("unit_price", None)), "rule_price_required"),
    ("rcm.intake.ChargeSubmitted.v1", _set("modifiers", ["25", "25"]), "rule_modifier_duplicate"),
    ("rcm.intake.ChargeSubmitted.v1", _set("modifiers", ["25", "59", "XU", "GP", "QW"]), "too_long"),
    ("rcm.intake.ChargeSubmitted.v1", _set("diagnosis_pointers", [1, 1]), "rule_pointer_duplicate"),
    ("rcm.intake.ChargeSubmitted.v1", _set("diagnosis_pointers", [13]), "less_than_equal"),
    ("rcm.intake.ChargeSubmitted.v1", _set("diagnosis_pointers", []), "too_short"),
    ("rcm.intake.ChargeSubmitted.v1", _set("diagnosis_pointers", ["1"]), "int_type"),
    ("rcm.intake.ChargeSubmitted.v1", _set("service_end_date", "2026-03-01"), "rule_service_dates"),
    ("rcm.intake.ChargeSubmitted.v1", _set("ndc", "00409488801"), "rule_ndc_incomplete"),
    ("rcm.intake.ChargeSubmitted.v1", _set("ndc_unit", "UN"), "rule_ndc_missing"),
    ("rcm.intake.ChargeSubmitted.v1", _set("units", "0"), "quantity_not_positive"),
    (
        "rcm.intake.ChargeSubmitted.v1",
        _all(_set("rendering_provider_npi", "1999999984"), _set("rendering_provider", PROVIDER)),
        "rule_rendering_provider_choice",
    ),
    ("rcm.intake.ChargeSubmitted.v1", _set("ordering_provider", {**PROVIDER, "npi": "1326132613"}), "npi_invalid"),
    (
        "rcm.intake.ChargeCorrected.v1",
        _set("corrects_idempotency_key", "epic-prod:chg-88412-1c"),
        "rule_self_reference",
    ),
    ("rcm.intake.ChargeCorrected.v1", _set("corrects_idempotency_key", "cerner:chg-1"), "rule_cross_system"),
    ("rcm.intake.ChargeVoided.v1", _set("voids_idempotency_key", "epic-prod:chg-88412-2v"), "rule_self_reference"),
    # intake encounters
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.1.rank", 3), "rule_coverage_rank_order"),
    ("rcm.intake.EncounterRegistered.v1", _set("diagnoses", ["J020", "J02.0"]), "rule_diagnosis_duplicate"),
    ("rcm.intake.EncounterRegistered.v1", _set("diagnoses", ["J020"] * 13), "too_long"),
    ("rcm.intake.EncounterRegistered.v1", _set("discharge_date", "2026-03-03"), "rule_admission_required"),
    (
        "rcm.intake.EncounterRegistered.v1",
        _all(_set("admission_date", "2026-03-03"), _set("discharge_date", "2026-03-02")),
        "rule_discharge_before_admission",
    ),
    ("rcm.intake.EncounterRegistered.v1", _set("patient.email", None), "rule_email_required"),
    (
        "rcm.intake.EncounterRegistered.v1",
        _set("coverages.0.relationship_to_subscriber", "01"),
        "rule_subscriber_required",
    ),
    (
        "rcm.intake.EncounterRegistered.v1",
        _set("coverages.0.subscriber", {"name": {"family": "A", "given": "B"}, "birth_date": "1980-01-01", "sex": "M"}),
        "rule_subscriber_forbidden",
    ),
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.0.claim_filing_indicator", "XX"), "literal_error"),
    ("rcm.intake.EncounterRegistered.v1", _set("billing_provider.address.postal_code", "94115"), "zip_plus4_required"),
    ("rcm.intake.EncounterRegistered.v1", _set("patient.sex", "X"), "literal_error"),
    ("rcm.intake.EncounterRegistered.v1", _set("patient.birth_date", "03/02/1984"), "date_parsing"),
    (
        "rcm.intake.EncounterRegistered.v1",
        _set("accident", {"causes": ["auto"], "occurred_on": "2026-02-27"}),
        "rule_accident_state",
    ),
    (
        "rcm.intake.EncounterRegistered.v1",
        _set("accident", {"causes": ["other"], "occurred_on": "2026-02-27", "state": "CA"}),
        "rule_accident_state",
    ),
    (
        "rcm.intake.EncounterRegistered.v1",
        _set("accident", {"causes": ["employment", "employment"], "occurred_on": "2026-02-27"}),
        "rule_accident_cause_duplicate",
    ),
    ("rcm.intake.EncounterRegistered.v1", _set("accident", {"causes": [], "occurred_on": "2026-02-27"}), "too_short"),
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.0.insurance_type_code", "12"), "rule_insurance_type_not_msp"),
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.1.insurance_type_code", "12"), "rule_insurance_type_not_msp"),
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.1.insurance_type_code", "99"), "literal_error"),
    ("rcm.intake.EncounterRegistered.v1", _set("billing_provider.clia_number", "05X0987654"), "clia_format"),
    ("rcm.intake.EncounterRegistered.v1", _set("coverages.0.referral_number", "RF 9"), "reference_number_format"),
    ("rcm.intake.PatientPaymentReceived.v1", _set("amount", "0.00"), "money_not_positive"),
    ("rcm.intake.PatientPaymentReceived.v1", _set("idempotency_key", "portal:x"), "rule_idempotency_key_mismatch"),
    # charges
    ("rcm.charges.EncounterReadyToBill.v1", _set("diagnoses", []), "too_short"),
    ("rcm.charges.EncounterReadyToBill.v1", _set("charge_ids", ["a", "a"]), "rule_charge_duplicate"),
    ("rcm.charges.ChargePosted.v1", _set("amount", "1.00"), "rule_amount_mismatch"),
    ("rcm.charges.ChargePosted.v1", _set("diagnosis_codes", ["J020"]), "rule_pointer_codes"),
    ("rcm.charges.ChargePosted.v1", _set("rendering_provider", PROVIDER), "rule_rendering_provider_npi"),
    ("rcm.charges.ChargeReversed.v1", _set("reason", "corrected"), "rule_replacement"),
    ("rcm.charges.ChargeRejected.v1", _set("reasons", []), "too_short"),
    # claims
    ("rcm.claims.ClaimSubmitted.v1", _set("total_charge", "186.00"), "rule_total_charge"),
    ("rcm.claims.ClaimSubmitted.v1", _set("lines.1.line_number", 3), "rule_line_numbers"),
    (
        "rcm.claims.ClaimSubmitted.v1",
        _set("lines.1.line_control_number", "S01JNQ9A4XK7-1"),
        "rule_line_control_duplicate",
    ),
    ("rcm.claims.ClaimSubmitted.v1", _set("frequency", "7"), "rule_payer_claim_control_number"),
    ("rcm.claims.ClaimSubmitted.v1", _set("lines.0.diagnosis_pointers", [3]), "rule_pointer_range"),
    ("rcm.claims.ClaimSubmitted.v1", _set("next_payer.coverage_rank", 3), None),
    ("rcm.claims.ClaimSubmitted.v1", _set("submission_id", "S" * 21), "submission_id_format"),
    ("rcm.claims.ClaimSubmitted.v1", _set("frequency", "2"), "literal_error"),
    ("rcm.claims.ClaimCreated.v1", _set("origin", "secondary"), "rule_origin_claim"),
    ("rcm.claims.ClaimCreated.v1", _all(_set("origin", "void"), _set("origin_claim_id", "clm_1")), "rule_frequency"),
    ("rcm.claims.ClaimReleased.v1", _set("operator_id", None), "rule_operator_id"),
    ("rcm.claims.ClaimResubmitted.v1", _set("submission_id", "S01JNQ9A4XK7"), "rule_submission_id_reuse"),
    ("rcm.claims.ClaimHeld.v1", _set("edits", []), "too_short"),
    # remittances
    ("rcm.remittances.ClaimPaymentPosted.v1", _set("total_paid", "75.00"), "rule_claim_unbalanced"),
    ("rcm.remittances.ClaimPaymentPosted.v1", _set("lines.0.paid", "57.00"), "rule_line_unbalanced"),
    ("rcm.remittances.ClaimPaymentPosted.v1", _set("patient_share.copay", "30.00"), "rule_patient_share"),
    ("rcm.remittances.ClaimPaymentPosted.v1", _set("lines.0.adjustments.0.group", "CR"), "literal_error"),
    ("rcm.remittances.ClaimDenied.v1", _set("denials.0.line_control_number", None), "rule_line_denial"),
    ("rcm.remittances.UnderpaymentDetected.v1", _set("lines.0.variance", "-6.00"), "rule_variance"),
    ("rcm.remittances.UnderpaymentDetected.v1", _set("tolerance", "10.00"), "rule_within_tolerance"),
    ("rcm.remittances.UnderpaymentDetected.v1", _set("total_expected_allowed", "114.00"), "rule_totals"),
    ("rcm.remittances.ProviderAdjustmentPosted.v1", _set("total_amount", "25.00"), "rule_total"),
    # patient balances
    ("rcm.patient-balances.PatientBalanceCreated.v1", _set("amount_due", "39.00"), "rule_amount_due"),
    (
        "rcm.patient-balances.PatientBalanceCreated.v1",
        _set("items.0.patient_responsibility", "41.00"),
        "rule_share_total",
    ),
    (
        "rcm.patient-balances.PatientBalanceCreated.v1",
        _set("items.1.patient_share.other", "-1.00"),
        "rule_share_negative",
    ),
    ("rcm.patient-balances.PatientBalanceUpdated.v1", _set("revision", 1), "greater_than_equal"),
    ("rcm.patient-balances.PatientPaymentPosted.v1", _set("unapplied_amount", "5.00"), "rule_applied"),
    (
        "rcm.patient-balances.PatientPaymentPosted.v1",
        _all(_set("amount", "45.00"), _set("unapplied_amount", "5.00")),
        "rule_credit",
    ),
    # notifications
    ("rcm.notifications.NotificationFailed.v1", _set("permanent", True), "rule_retry"),
]


@pytest.mark.parametrize(("event_type", "mutate", "expected"), CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_rule(event_type: str, mutate: Mutation, expected: str | None) -> None:
    data = example(event_type)
    mutate(data)
    if expected is None:
        # next_payer coverage_rank 3 after rank 1 is fine: a tertiary can follow a primary.
        validate(event_type, data)
        return
    with pytest.raises(ContractError) as info:
        validate(event_type, data)
    assert expected in {e["type"] for e in info.value.errors}, info.value.errors


def test_valid_examples_pass_unchanged() -> None:
    for event_type in {c[0] for c in CASES}:
        validate(event_type, example(event_type))
