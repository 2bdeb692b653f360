"""Adjudication rules, one behaviour at a time, on hand-built payers and claims."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from edi.x835 import Adjustment, AdjustmentGroup, ClaimStatus
from edi.x837 import Claim
from sandbox.adjudication import (
    ClaimResult,
    SandboxState,
    adjudicate,
    adjudicate_crossover,
    clp06,
    draw,
    front_end,
    issue_claim_number,
)
from sandbox.payers import PayerConfig
from tests.unit.sandbox.support import TODAY, checked, claim, line, payer, render

D = Decimal
CO, PR, OA = AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.PATIENT_RESPONSIBILITY, AdjustmentGroup.OTHER


def run(c: Claim, payers: Mapping[str, PayerConfig], state: SandboxState | None = None, *, seed: int = 42,
        batch: str = "B1") -> ClaimResult:
    state = state if state is not None else SandboxState()
    pccn = issue_claim_number(seed, c, state)
    return adjudicate(c, payers, state, seed=seed, pccn=pccn, today=TODAY, batch=batch)


def adjustments(result: ClaimResult, index: int = -1, line_no: int = 0) -> list[tuple[str, str, Decimal]]:
    payment = result.payments[index]
    return [(a.group.value, a.reason, a.amount) for a in payment.service_lines[line_no].adjustments]


def test_contracted_payment_allows_the_fee_schedule_and_writes_off_the_rest() -> None:
    p = payer()
    result = run(claim(), {"P1": p})
    payment = result.payments[0]
    assert payment.status == ClaimStatus.PROCESSED_AS_PRIMARY
    assert payment.paid == D("100.00")
    assert adjustments(result) == [("CO", "45", D("50.00"))]
    assert payment.service_lines[0].allowed == D("100.00")
    assert payment.service_lines[0].line_control_number == "LN1-99213"
    assert payment.patient_control_number == "C1"
    assert payment.filing_indicator == "12"  # CI has no CLP06 code: commercial is written as 12
    assert checked(render(p, [(claim(), result)]), "835") == []


def test_modifier_rows_and_units_price_the_line() -> None:
    p = payer()
    c = claim("C1", "P1", line("87880", "80.00", modifiers=["QW"], units="2"))
    result = run(c, {"P1": p})
    assert result.payments[0].paid == D("60.00")
    assert result.payments[0].service_lines[0].units_paid == D(2)


def test_below_contract_payer_allows_less_than_the_fee_schedule() -> None:
    p = payer(underpay_percent="8")
    result = run(claim(), {"P1": p})
    assert result.payments[0].service_lines[0].allowed == D("92.00")
    assert result.payments[0].paid == D("92.00")
    assert adjustments(result) == [("CO", "45", D("58.00"))]


def test_allowed_never_exceeds_the_charge() -> None:
    result = run(claim("C1", "P1", line("99213", "60.00")), {"P1": payer()})
    assert result.payments[0].paid == D("60.00")
    assert adjustments(result) == []


def test_deductible_accumulates_per_member_across_claims_and_restarts() -> None:
    p = payer(deductible="150.00")
    state = SandboxState()
    first = run(claim("C1"), {"P1": p}, state)
    assert adjustments(first) == [("CO", "45", D("50.00")), ("PR", "1", D("100.00"))]
    assert first.payments[0].paid == D("0.00")
    assert first.payments[0].patient_responsibility == D("100.00")
    reloaded = SandboxState.from_json(state.to_json())
    second = run(claim("C2", "P1", line("99213", "150.00", service_date="2026-02-11")), {"P1": p}, reloaded)
    assert adjustments(second) == [("CO", "45", D("50.00")), ("PR", "1", D("50.00"))]
    assert second.payments[0].paid == D("50.00")
    third = run(claim("C3", "P1", line("99213", "150.00", service_date="2026-02-12")), {"P1": p}, reloaded)
    assert third.payments[0].paid == D("100.00")
    other_member = run(claim("C4", member="M200"), {"P1": p}, reloaded)
    assert other_member.payments[0].paid == D("0.00")


def test_coinsurance_is_the_patient_share_of_the_allowed_amount() -> None:
    result = run(claim(), {"P1": payer(coinsurance_percent="20")})
    assert adjustments(result) == [("CO", "45", D("50.00")), ("PR", "2", D("20.00"))]
    assert result.payments[0].paid == D("80.00")


def test_copay_applies_once_per_claim_on_copay_codes_only() -> None:
    p = payer(copay="25.00", copay_codes=["99213"], coinsurance_percent="20")
    c = claim("C1", "P1", line("80053", "48.00", n=1), line("99213", "150.00", n=2))
    result = run(c, {"P1": p})
    lab, visit = result.payments[0].service_lines
    assert [(a.group.value, a.reason, a.amount) for a in lab.adjustments] == [
        ("CO", "45", D("28.00")), ("PR", "2", D("4.00"))]
    assert [(a.group.value, a.reason, a.amount) for a in visit.adjustments] == [
        ("CO", "45", D("50.00")), ("PR", "2", D("15.00")), ("PR", "3", D("25.00"))]
    assert visit.paid == D("60.00")
    assert result.payments[0].patient_responsibility == D("44.00")


def test_medicare_style_sequestration_reduces_the_payment_by_two_percent() -> None:
    p = payer(coinsurance_percent="20", sequestration_percent="2")
    result = run(claim(), {"P1": p})
    assert adjustments(result) == [("CO", "45", D("50.00")), ("CO", "253", D("1.60")), ("PR", "2", D("20.00"))]
    assert result.payments[0].paid == D("78.40")


def test_missing_authorization_denies_the_line_co_197() -> None:
    p = payer(auth_required=["72100"])
    c = claim("C1", "P1", line("72100", "125.00", n=1), line("99213", "150.00", n=2))
    result = run(c, {"P1": p})
    assert adjustments(result, line_no=0) == [("CO", "197", D("125.00"))]
    assert result.payments[0].service_lines[0].paid == D("0.00")
    assert result.payments[0].status == ClaimStatus.PROCESSED_AS_PRIMARY
    authorized = run(claim("C2", "P1", line("72100", "125.00"), prior_authorization="AUTH77"), {"P1": p})
    assert authorized.payments[0].paid == D("90.00")


def test_non_covered_codes_deny_co_96_or_pr_96_when_the_patient_pays() -> None:
    c = claim("C1", "P1", line("99396", "260.00"))
    contractual = run(c, {"P1": payer(non_covered=["99396"])})
    assert adjustments(contractual) == [("CO", "96", D("260.00"))]
    assert contractual.payments[0].status == ClaimStatus.DENIED
    patient = run(c, {"P1": payer(non_covered=["99396"], non_covered_patient_pays=True)})
    assert adjustments(patient) == [("PR", "96", D("260.00"))]
    assert patient.payments[0].patient_responsibility == D("260.00")
    unlisted = run(claim("C2", "P1", line("11111", "10.00")), {"P1": payer()})
    assert adjustments(unlisted) == [("CO", "96", D("10.00"))]


def test_duplicate_service_already_paid_is_denied_co_18() -> None:
    p = payer()
    state = SandboxState()
    run(claim("C1"), {"P1": p}, state)
    again = run(claim("C9"), {"P1": p}, state)
    assert adjustments(again) == [("CO", "18", D("150.00"))]
    assert again.payments[0].status == ClaimStatus.DENIED
    other_day = run(claim("C10", "P1", line("99213", "150.00", service_date="2026-02-20")), {"P1": p}, state)
    assert other_day.payments[0].paid == D("100.00")


def _medicare_and_medical() -> dict[str, PayerConfig]:
    medicare = payer("MCR", "Medicare", filing="MB", coinsurance_percent="20", sequestration_percent="2",
                     crossover_to="MCD")
    medical = payer("MCD", "Medi-Cal", filing="MC",
                    schedule={("99213", ""): D("70.00"), ("80053", ""): D("15.00")})
    return {"MCR": medicare, "MCD": medical}


def _crossover_claim(submission_id: str = "X1") -> Claim:
    return claim(submission_id, "MCR", line("99213", "150.00"), claim_filing_indicator="MB", other_payers=[{
        "responsibility": "S", "relationship": "18", "claim_filing_indicator": "MC",
        "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "91234567A",
        "payer": {"name": "Medi-Cal", "id": "MCD"}}])


def test_crossover_forwards_to_the_secondary_which_pays_the_patient_share() -> None:
    payers = _medicare_and_medical()
    state = SandboxState()
    result = run(_crossover_claim(), payers, state)
    primary = result.payments[0]
    assert primary.status == ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED
    assert primary.crossover_carrier is not None and primary.crossover_carrier.id == "MCD"
    assert primary.paid == D("78.40")
    assert result.crossover is not None
    secondary = adjudicate_crossover(result.crossover, payers, state, seed=42, today=TODAY, batch="B1")
    payment = secondary.payments[0]
    assert payment.status == ClaimStatus.PROCESSED_AS_SECONDARY
    assert payment.patient_control_number == "X1"
    assert payment.patient.id == "91234567A"
    # Medi-Cal allows 70.00; Medicare paid 78.40, so nothing is left for Medi-Cal to pay: the
    # prior payer's impact (OA-23) is what Medicare covered, CO-45 the 20.00 share it was left.
    assert payment.paid == D("0.00")
    assert adjustments(secondary) == [("CO", "45", D("20.00")), ("OA", "23", D("130.00"))]
    assert checked(render(payers["MCR"], [(_crossover_claim(), result)]), "835") == []
    assert checked(render(payers["MCD"], [(_crossover_claim(), secondary)]), "835") == []


def test_crossover_secondary_pays_up_to_its_own_allowed_amount() -> None:
    payers = _medicare_and_medical()
    state = SandboxState()
    payers["MCR"] = payer("MCR", "Medicare", filing="MB", deductible="257.00", crossover_to="MCD")
    result = run(_crossover_claim(), payers, state)
    assert result.payments[0].paid == D("0.00")  # all deductible
    assert result.crossover is not None
    secondary = adjudicate_crossover(result.crossover, payers, state, seed=42, today=TODAY, batch="B1")
    assert secondary.payments[0].paid == D("70.00")


def test_no_crossover_without_the_secondary_coverage_on_the_claim() -> None:
    payers = _medicare_and_medical()
    c = claim("X2", "MCR", line("99213", "150.00"), claim_filing_indicator="MB")
    result = run(c, payers)
    assert result.payments[0].status == ClaimStatus.PROCESSED_AS_PRIMARY
    assert result.crossover is None


def test_secondary_claim_pays_from_the_prior_payers_cob_amounts() -> None:
    medical = payer("MCD", "Medi-Cal", filing="MC", schedule={("99213", ""): D("90.00")})
    c = claim("S1", "MCD", line("99213", "150.00"), claim_filing_indicator="MC", payer_responsibility="S",
              other_payers=[{"responsibility": "P", "relationship": "18", "claim_filing_indicator": "BL",
                             "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "ABC123456789",
                             "payer": {"name": "Blue Shield", "id": "94036"}, "paid_amount": "60.00",
                             "adjustments": [{"group": "CO", "reason": "45", "amount": "50.00"},
                                             {"group": "PR", "reason": "2", "amount": "40.00"}]}])
    result = run(c, {"MCD": medical})
    payment = result.payments[0]
    assert payment.status == ClaimStatus.PROCESSED_AS_SECONDARY
    assert payment.paid == D("30.00")  # min(patient share 40, allowed 90 - prior paid 60)
    assert adjustments(result) == [("CO", "45", D("10.00")), ("OA", "23", D("110.00"))]


def test_replacement_reverses_the_original_and_pays_the_correction() -> None:
    p = payer(deductible="50.00")
    state = SandboxState()
    original = run(claim("C1"), {"P1": p}, state)
    pccn = original.payments[0].payer_claim_control_number
    assert original.payments[0].paid == D("50.00")
    replacement = claim("C1", "P1", line("99213", "120.00"), frequency="7", payer_claim_control_number=pccn)
    assert front_end(replacement, {"P1": p}, state).accepted
    result = run(replacement, {"P1": p}, state)
    reversal, corrected = result.payments
    assert reversal.status == ClaimStatus.REVERSAL
    assert reversal.payer_claim_control_number == pccn
    assert (reversal.charge, reversal.paid, reversal.patient_responsibility) == (D("-150.00"), D("-50.00"),
                                                                                D("-50.00"))
    assert [a.amount for a in reversal.service_lines[0].adjustments] == [D("-50.00"), D("-50.00")]
    # The deductible taken by the original is given back and the correction is no duplicate.
    assert corrected.status == ClaimStatus.PROCESSED_AS_PRIMARY
    assert adjustments(result) == [("CO", "45", D("20.00")), ("PR", "1", D("50.00"))]
    assert corrected.paid == D("50.00")
    assert corrected.payer_claim_control_number != pccn
    assert state.claims[pccn]["reversed"]
    assert checked(render(p, [(replacement, result)]), "835") == []


def test_void_only_reverses_and_cannot_be_repeated() -> None:
    p = payer()
    state = SandboxState()
    original = run(claim("C1"), {"P1": p}, state)
    pccn = original.payments[0].payer_claim_control_number
    void = claim("C1", "P1", frequency="8", payer_claim_control_number=pccn)
    result = run(void, {"P1": p}, state)
    assert [pay.status for pay in result.payments] == [ClaimStatus.REVERSAL]
    assert result.payments[0].paid == D("-100.00")
    assert not front_end(void, {"P1": p}, state).accepted
    assert checked(render(p, [(void, result)]), "835") == []  # net negative: PLB FB keeps BPR02 at 0


def test_interest_plb_l6_increases_the_payment() -> None:
    result = run(claim(), {"P1": payer(interest_probability="1", interest_percent="1.5")})
    (plb,) = result.provider_adjustments
    assert (plb.reason, plb.reference, plb.amount) == ("L6", "C1", D("-1.50"))
    assert run(claim(), {"P1": payer(interest_probability="0")}).provider_adjustments == ()


def test_recoupment_plb_wo_recovers_part_of_an_earlier_payment_once() -> None:
    p = payer(recoupment_probability="1", recoupment_percent="25")
    state = SandboxState()
    first = run(claim("C1"), {"P1": p}, state, batch="B1")
    assert first.provider_adjustments == ()  # nothing earlier to recoup
    second = run(claim("C2", "P1", line("99213", "150.00", service_date="2026-02-11")), {"P1": p}, state,
                 batch="B2")
    (plb,) = second.provider_adjustments
    assert (plb.reason, plb.reference, plb.amount) == ("WO", "C1", D("25.00"))
    third = run(claim("C3", "P1", line("99213", "150.00", service_date="2026-02-12")), {"P1": p}, state,
                batch="B3")
    assert [a.reference for a in third.provider_adjustments] == ["C2"]
    assert checked(render(p, [(claim("C2"), second)]), "835") == []


def test_outcomes_are_deterministic_from_the_seed_and_the_claims_own_ids() -> None:
    p = payer(interest_probability="0.5")
    claims = [claim(f"C{i}", "P1", line("99213", "150.00", service_date=f"2026-02-{i + 1:02d}"))
              for i in range(1, 21)]

    def outcome(order: list[Claim], seed: int) -> dict[str, tuple[str, bool]]:
        state = SandboxState()
        out = {}
        for c in order:
            r = run(c, {"P1": p}, state, seed=seed)
            out[c.submission_id] = (r.payments[0].payer_claim_control_number, bool(r.provider_adjustments))
        return out

    forward = outcome(claims, 42)
    assert forward == outcome(list(reversed(claims)), 42)
    assert 0 < sum(has for _, has in forward.values()) < 20
    other = outcome(claims, 7)
    assert {k: v[1] for k, v in other.items()} != {k: v[1] for k, v in forward.items()}
    assert draw(42, "a") == draw(42, "a") != draw(43, "a")


@pytest.mark.parametrize(
    ("changes", "category"),
    [({"payer": {"name": "Nobody", "id": "ZZZ"}}, "A3"), ({"member": "bad-id"}, "A7"), ({"auth": False}, "A6")],
)
def test_front_end_rejections(changes: dict[str, object], category: str) -> None:
    p = payer(reject_if={"missing_prior_auth": ["72100"], "member_id_pattern": "^M[0-9]{3}$"})
    base = claim("C1", "P1", line("72100", "125.00"), member=str(changes.get("member", "M100")),
                 prior_authorization=None if changes.get("auth") is False else "AUTH1")
    if "payer" in changes:
        base = base.model_copy(update={"payer": base.payer.model_copy(update={"id": "ZZZ"})})
    decision = front_end(base, {"P1": p}, SandboxState())
    assert not decision.accepted
    assert decision.status is not None and decision.status.category == category


def test_replacement_of_an_unknown_claim_is_rejected() -> None:
    c = claim("C1", "P1", frequency="7", payer_claim_control_number="26000")
    decision = front_end(c, {"P1": payer()}, SandboxState())
    assert decision.status is not None and decision.status.category == "A7"


def test_claim_numbers_are_unique_and_stable() -> None:
    state = SandboxState()
    first = issue_claim_number(42, claim("C1"), state)
    again = issue_claim_number(42, claim("C1"), state)
    assert first != again and first.startswith("26")
    assert issue_claim_number(42, claim("C1"), SandboxState()) == first


def test_clp06_maps_837_indicators() -> None:
    assert [clp06(x) for x in ("CI", "BL", "MB", "MC", "HM", "09")] == ["12", "12", "MB", "MC", "HM", "ZZ"]


def test_adjustment_groups_write_one_cas_each() -> None:
    result = run(claim(), {"P1": payer(coinsurance_percent="20", sequestration_percent="2", deductible="10")})
    groups = [a.group for a in result.payments[0].service_lines[0].adjustments]
    assert groups == sorted(groups, key=lambda g: g != CO)
    assert Adjustment(PR, "1", D("10.00")) in result.payments[0].service_lines[0].adjustments
    assert OA not in groups


def test_out_of_pocket_maximum_stops_the_patient_share_and_a_reversal_gives_it_back() -> None:
    p = payer(deductible="50.00", coinsurance_percent="20", out_of_pocket_max="60.00")
    state = SandboxState()
    first = run(claim("C1"), {"P1": p}, state)
    assert adjustments(first) == [("CO", "45", D("50.00")), ("PR", "1", D("50.00")), ("PR", "2", D("10.00"))]
    second = run(claim("C2", "P1", line("99213", "150.00", service_date="2026-02-11")), {"P1": p}, state)
    assert adjustments(second) == [("CO", "45", D("50.00"))]
    assert second.payments[0].paid == D("100.00")
    assert state.out_of_pocket["P1|M100"] == D("60.00")
    void = claim("C1", "P1", frequency="8", payer_claim_control_number=first.payments[0].payer_claim_control_number)
    run(void, {"P1": p}, state)
    assert state.out_of_pocket["P1|M100"] == D("0.00")
    assert state.deductible_met["P1|M100"] == D("0.00")


def test_billing_the_secondary_again_after_a_crossover_is_a_duplicate() -> None:
    payers = _medicare_and_medical()
    payers["MCR"] = payer("MCR", "Medicare", filing="MB", deductible="257.00", crossover_to="MCD")
    state = SandboxState()
    result = run(_crossover_claim(), payers, state)
    assert result.crossover is not None
    assert adjudicate_crossover(result.crossover, payers, state, seed=42, today=TODAY,
                                batch="B1").payments[0].paid == D("70.00")
    again = claim("X1B", "MCD", line("99213", "150.00"), member="91234567A", claim_filing_indicator="MC",
                  payer_responsibility="S",
                  other_payers=[{"responsibility": "P", "relationship": "18", "claim_filing_indicator": "MB",
                                 "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "M100",
                                 "payer": {"name": "Medicare", "id": "MCR"}, "paid_amount": "0.00",
                                 "adjustments": [{"group": "PR", "reason": "1", "amount": "100.00"}]}])
    second = run(again, payers, state)
    # The duplicate denial takes the share it was billed; OA-23 the rest (what Medicare covered).
    assert adjustments(second) == [("CO", "18", D("100.00")), ("OA", "23", D("50.00"))]
    assert second.payments[0].status == ClaimStatus.DENIED


def test_draws_follow_the_claims_content_not_its_clm01() -> None:
    p = payer(interest_probability="0.5")
    first = {c: run(claim(c, "P1", line("99213", "150.00", service_date=f"2026-02-{d:02d}")), {"P1": p})
             for d, c in ((1, "A1"), (2, "A2"), (3, "A3"), (4, "A4"), (5, "A5"), (6, "A6"))}
    renamed = {c: run(claim("Z" + c, "P1", line("99213", "150.00", service_date=f"2026-02-{d:02d}")), {"P1": p})
               for d, c in ((1, "A1"), (2, "A2"), (3, "A3"), (4, "A4"), (5, "A5"), (6, "A6"))}
    for c, result in first.items():
        other = renamed[c]
        assert result.payments[0].payer_claim_control_number == other.payments[0].payer_claim_control_number
        assert [a.amount for a in result.provider_adjustments] == [a.amount for a in other.provider_adjustments]


def test_medicare_charges_no_cost_share_on_clinical_lab_codes() -> None:
    medicare = payer("MCR", "Medicare", filing="MB", deductible="257.00", coinsurance_percent="20",
                     cost_share_exempt=["80000-89999", "36415"],
                     schedule={("99213", ""): D("100.00"), ("85025", ""): D("10.00"), ("36415", ""): D("3.00")})
    result = run(claim("L1", "MCR", line("99213", "150.00"), line("85025", "30.00"), line("36415", "12.00")),
                 {"MCR": medicare})
    office, cbc, draw = result.payments[0].service_lines
    assert [(a.group.value, a.reason) for a in office.adjustments] == [("CO", "45"), ("PR", "1")]
    assert (cbc.paid, [(a.group.value, a.reason, a.amount) for a in cbc.adjustments]) == (
        D("10.00"), [("CO", "45", D("20.00"))])
    assert (draw.paid, [(a.group.value, a.reason, a.amount) for a in draw.adjustments]) == (
        D("3.00"), [("CO", "45", D("9.00"))])


def test_the_secondary_denies_what_it_needs_an_authorization_for_while_the_primary_paid() -> None:
    payers = _medicare_and_medical()
    payers["MCD"] = payer("MCD", "Medi-Cal", filing="MC", auth_required=["99213"], schedule={("99213", ""): D("70.00")})
    state = SandboxState()
    result = run(_crossover_claim(), payers, state)
    assert result.crossover is not None and result.payments[0].paid == D("78.40")
    denied = adjudicate_crossover(result.crossover, payers, state, seed=42, today=TODAY, batch="B1")
    assert denied.payments[0].status == ClaimStatus.DENIED
    assert adjustments(denied) == [("CO", "197", D("20.00")), ("OA", "23", D("130.00"))]
