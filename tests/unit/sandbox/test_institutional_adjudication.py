"""Institutional (837I) adjudication: inpatient DRG case rate and per diem with outlier (claim-level
CAS and MIA, no SVC), outpatient percent of charges (SVC HC/NU lines, MOA), front-end rules,
secondary claims and reversals, each with exact amounts and every 835 pyx12-clean and balanced."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from edi.x835 import ClaimPayment, ClaimStatus
from edi.x837 import Claim
from edi.x837i import Claim as InstitutionalClaim
from sandbox.adjudication import ClaimResult, SandboxState, adjudicate, front_end, issue_claim_number
from sandbox.institutional import drg_table, group
from sandbox.payers import PayerConfig
from tests.unit.sandbox.support import TODAY, checked, claim, institutional_claim, line, payer, render, rev_line

D = Decimal
DRG_PAYER = payer(deductible="500.00", coinsurance_percent="20",
                  institutional={"drg_base_rate": "7200.00", "outpatient_percent": "65"})


def run(c: InstitutionalClaim | Claim, payers: Mapping[str, PayerConfig],
        state: SandboxState | None = None) -> ClaimResult:
    state = state if state is not None else SandboxState()
    return adjudicate(c, payers, state, seed=42, pccn=issue_claim_number(42, c, state), today=TODAY, batch="B1")


def segments(p: PayerConfig, c: InstitutionalClaim, result: ClaimResult) -> list[str]:
    """The claim loops (CLP to the end of the last claim) of the 835, which must be clean."""
    text = render(p, [(c, result)])
    assert checked(text, "835") == []
    body = text.split("~")
    return body[next(i for i, s in enumerate(body) if s.startswith("CLP")):-4]


def cas(payment: ClaimPayment) -> list[tuple[str, str, Decimal]]:
    return [(a.group.value, a.reason, a.amount) for a in payment.adjustments]


def stay(*lines: dict[str, Any], **extra: Any) -> InstitutionalClaim:
    """Three days from 2026-02-07, 12000.00 of charges, principal diagnosis J18.9 (pneumonia)."""
    return institutional_claim("H1", "P1", *(lines or (
        rev_line("0120", "6000.00", 1, units="3", unit_code="DA", service_date="2026-02-07",
                 service_date_end="2026-02-09"),
        rev_line("0250", "2500.00", 2), rev_line("0300", "3500.00", 3))), **extra)


def test_inpatient_drg_case_rate_is_answered_at_claim_level_with_mia() -> None:
    c = stay()
    result = run(c, {"P1": DRG_PAYER})
    payment = result.payments[0]
    # J18 -> MS-DRG 194, weight 0.88: 7200.00 x 0.88 = 6336.00 allowed of 12000.00.
    assert (payment.drg_code, payment.drg_weight) == ("194", D("0.8800"))
    assert cas(payment) == [("CO", "45", D("5664.00")), ("PR", "1", D("500.00")), ("PR", "2", D("1167.20"))]
    assert payment.paid == D("4668.80")  # 6336.00 - 500.00 - 20% x 5836.00
    assert payment.patient_responsibility == D("1667.20")
    assert payment.service_lines == ()
    out = segments(DRG_PAYER, c, result)
    pccn = payment.payer_claim_control_number
    assert out == [
        f"CLP*H1*1*12000*4668.8*1667.2*12*{pccn}*11*1**194*0.88",
        "CAS*CO*45*5664",
        "CAS*PR*1*500**2*1167.2",
        "NM1*QC*1*Rivera*Ana****MI*M100",
        "MIA*3***6336*N1",  # covered days, DRG amount, appeal-rights remark
        "DTM*232*20260207",
        "DTM*233*20260210",
        "DTM*050*20260302",
    ]


def test_inpatient_per_diem_with_outlier_and_a_deductible_partly_met() -> None:
    p = payer(deductible="250.00", coinsurance_percent="10",
              institutional={"per_diem": "2400.00", "outlier_threshold": "25000.00", "outlier_percent": "60"})
    state = SandboxState(deductible_met={"P1|M100": D("100.00")})
    c = stay(rev_line("0120", "10000.00", 1, units="5", unit_code="DA", service_date="2026-02-05",
                      service_date_end="2026-02-09"),
             rev_line("0250", "15000.00", 2), rev_line("0360", "20000.00", 3), statement_from="2026-02-05")
    result = run(c, {"P1": p}, state)
    payment = result.payments[0]
    # 5 days x 2400.00 = 12000.00; outlier 60% x (45000.00 - 12000.00 - 25000.00) = 4800.00.
    assert cas(payment) == [("CO", "45", D("28200.00")), ("PR", "1", D("150.00")), ("PR", "2", D("1665.00"))]
    assert payment.paid == D("14985.00")  # 16800.00 - 150.00 - 10% x 16650.00
    assert payment.drg_code == "" and payment.drg_weight is None
    assert state.deductible_met["P1|M100"] == D("250.00")
    assert state.out_of_pocket["P1|M100"] == D("1815.00")
    out = segments(p, c, result)
    assert out[0] == f"CLP*H1*1*45000*14985*1815*12*{payment.payer_claim_control_number}*11*1"
    assert "MIA*5*4800***N1" in out  # covered days, outlier amount (MIA02)


def test_outpatient_is_paid_per_line_at_a_percent_of_charges() -> None:
    c = institutional_claim("O1", "P1", rev_line("0450", "850.00", 1, "99284", modifiers=["25"]),
                            rev_line("0320", "310.00", 2, "73610"), rev_line("0250", "40.00", 3, units="2"),
                            type_of_bill="13")
    result = run(c, {"P1": DRG_PAYER})
    payment = result.payments[0]
    assert payment.paid == D("224.00") and payment.patient_responsibility == D("556.00")
    assert payment.adjustments == ()
    out = segments(DRG_PAYER, c, result)
    assert out == [
        f"CLP*O1*1*1200*224*556*12*{payment.payer_claim_control_number}*13*1",
        "NM1*QC*1*Rivera*Ana****MI*M100",
        "MOA*0.65**N1",
        "DTM*232*20260210", "DTM*233*20260210", "DTM*050*20260302",
        # 65% of 850.00 = 552.50: the deductible takes 500.00, coinsurance 20% of 52.50.
        "SVC*HC:99284:25*850*42*0450", "DTM*472*20260210", "CAS*CO*45*297.5", "CAS*PR*1*500**2*10.5",
        "REF*6R*LN1-0450", "AMT*B6*552.5",
        "SVC*HC:73610*310*161.2*0320", "DTM*472*20260210", "CAS*CO*45*108.5", "CAS*PR*2*40.3",
        "REF*6R*LN2-0320", "AMT*B6*201.5",
        # No HCPCS: the revenue code is the service (NU), units paid 2.
        "SVC*NU:0250*40*20.8**2", "DTM*472*20260210", "CAS*CO*45*14", "CAS*PR*2*5.2",
        "REF*6R*LN3-0250", "AMT*B6*26",
    ]


def test_the_drg_sample_table_groups_by_the_longest_prefix_with_a_fallback() -> None:
    assert (group("J18.9").code, group("J189").code) == ("194", "194")
    assert (group("I50.23").code, group("I50.23").weight) == ("292", D("0.8900"))
    fallback = group("Z99.89")
    assert (fallback.code, fallback.weight) == ("951", D("0.8700"))
    assert drg_table()[-1].prefix == "*" and len(drg_table()) == 16


def test_medicare_filing_gets_ma01_and_an_inpatient_claim_without_a_method_is_denied() -> None:
    p = payer(filing="MB", institutional={"outpatient_percent": "45"})
    c = stay(claim_filing_indicator="MB")
    result = run(c, {"P1": p})
    payment = result.payments[0]
    assert payment.status == ClaimStatus.DENIED and payment.paid == D("0.00")
    assert cas(payment) == [("CO", "96", D("12000.00"))]
    out = segments(p, c, result)
    assert out[0].startswith("CLP*H1*4*12000*0*0*MB*") and "MIA*3****MA01" in out


def test_the_front_end_rules_apply_to_institutional_claims() -> None:
    p = payer(reject_if={"missing_prior_auth": ["73610"], "member_id_pattern": "^W[0-9]{9}$"},
              institutional={"outpatient_percent": "65"})
    xray = rev_line("0320", "310.00", 1, "73610")
    bad_member = front_end(institutional_claim("O1", "P1", xray, type_of_bill="13"), {"P1": p}, SandboxState())
    assert (bad_member.accepted, bad_member.status and bad_member.status.category) == (False, "A7")
    no_auth = front_end(institutional_claim("O1", "P1", xray, type_of_bill="13", member="W123456789"), {"P1": p},
                        SandboxState())
    assert (no_auth.accepted, no_auth.message) == (False, "PRIOR AUTHORIZATION REQUIRED")
    authorized = institutional_claim("O1", "P1", xray, type_of_bill="13", member="W123456789",
                                     prior_authorization="AUTH77")
    assert front_end(authorized, {"P1": p}, SandboxState()).accepted


PRIOR: dict[str, Any] = {
    "responsibility": "P", "relationship": "18", "claim_filing_indicator": "CI",
    "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "W123456789",
    "payer": {"name": "Aetna", "id": "60054"}, "adjudication_date": "2026-02-20",
}


def test_a_secondary_outpatient_claim_pays_the_share_left_per_line() -> None:
    p = payer(institutional={"outpatient_percent": "90"})
    prior = {**PRIOR, "paid_amount": "600.00", "adjustments": [
        {"group": "CO", "reason": "45", "amount": "360.00"}, {"group": "PR", "reason": "2", "amount": "200.00"}]}
    c = institutional_claim("O2", "P1", rev_line("0450", "850.00", 1, "99284"), rev_line("0320", "310.00", 2, "73610"),
                            type_of_bill="13", payer_responsibility="S", other_payers=[prior])
    result = run(c, {"P1": p})
    payment = result.payments[0]
    assert payment.status == ClaimStatus.PROCESSED_AS_SECONDARY
    # Line 1 got the prior 600.00 and the 200.00 share: pays min(200.00, 90% x 850.00 - 600.00) = 165.00.
    assert [(s.paid, [(a.group.value, a.reason, a.amount) for a in s.adjustments]) for s in payment.service_lines] == [
        (D("165.00"), [("CO", "45", D("35.00")), ("OA", "23", D("650.00"))]),
        (D("0.00"), [("OA", "23", D("310.00"))]),
    ]
    assert payment.paid == D("165.00")
    segments(p, c, result)


def test_a_secondary_inpatient_claim_pays_the_share_left_at_claim_level() -> None:
    p = payer(institutional={"per_diem": "2500.00"})
    prior = {**PRIOR, "paid_amount": "6000.00", "adjustments": [
        {"group": "CO", "reason": "45", "amount": "4500.00"}, {"group": "PR", "reason": "1", "amount": "1500.00"}]}
    c = stay(payer_responsibility="S", other_payers=[prior])
    result = run(c, {"P1": p})
    payment = result.payments[0]
    # 3 days x 2500.00 = 7500.00 allowed, less the prior 6000.00: the whole 1500.00 share is paid.
    assert payment.status == ClaimStatus.PROCESSED_AS_SECONDARY
    assert cas(payment) == [("OA", "23", D("10500.00"))]
    assert payment.paid == D("1500.00") and payment.service_lines == ()
    segments(p, c, result)


def test_a_replacement_reverses_an_inpatient_payment_with_its_mia_and_drg() -> None:
    state = SandboxState()
    original = run(stay(), {"P1": DRG_PAYER}, state)
    pccn = original.payments[0].payer_claim_control_number
    state = SandboxState.from_json(state.to_json())  # the original comes back from the state file
    replacement = stay(frequency="7", payer_claim_control_number=pccn)
    assert front_end(replacement, {"P1": DRG_PAYER}, state).accepted
    result = run(replacement, {"P1": DRG_PAYER}, state)
    reversal, corrected = result.payments
    assert reversal.status == ClaimStatus.REVERSAL and reversal.paid == D("-4668.80")
    assert (reversal.drg_code, reversal.facility_code) == ("194", "11")
    assert reversal.inpatient is not None and reversal.inpatient.values == ((4, D("-6336.00")),)
    assert corrected.paid == D("4668.80")  # the deductible the original used was given back
    out = segments(DRG_PAYER, replacement, result)
    assert out[0] == f"CLP*H1*22*-12000*-4668.8*-1667.2*12*{pccn}*11*1**194*0.88"
    assert "MIA*3***-6336*N1" in out


@pytest.mark.parametrize(("raw", "named"), [
    ({"per_diem": "x"}, "institutional.per_diem"),
    ({"case_rate": "1"}, "case_rate"),
    ({"outpatient_percent": "120"}, "outpatient_percent"),
    ({"outlier_percent": "50"}, "outlier_threshold"),
    ({"per_diem": "-1"}, "per_diem"),
])
def test_bad_institutional_terms_are_refused(raw: dict[str, str], named: str) -> None:
    from sandbox.payers import PayerConfigError, parse_behaviour

    with pytest.raises(PayerConfigError, match=named):
        parse_behaviour({"institutional": raw})


def test_the_local_payers_price_institutional_claims() -> None:
    from sandbox.payers import InstitutionalTerms, load_payers

    terms = {k: p.behaviour.institutional for k, p in load_payers().items()}
    assert terms == {
        "60054": InstitutionalTerms(drg_base_rate=D("7200.00"), outlier_threshold=D("40000.00"),
                                    outlier_percent=D("80"), outpatient_percent=D("65")),
        "94036": InstitutionalTerms(per_diem=D("2400.00"), outlier_threshold=D("25000.00"), outlier_percent=D("60"),
                                    outpatient_percent=D("55")),
        "01182": InstitutionalTerms(outpatient_percent=D("45")),
        "610442": InstitutionalTerms(per_diem=D("1800.00"), outpatient_percent=D("40")),
        "SAMPLEPARTA": InstitutionalTerms(drg_base_rate=D("6800.00"), outpatient_percent=D("45")),
    }


def test_the_same_stay_billed_again_is_denied_co18_but_revenue_code_lines_are_no_duplicates() -> None:
    state = SandboxState()
    assert run(stay(), {"P1": DRG_PAYER}, state).payments[0].paid == D("4668.80")
    again = run(institutional_claim("H2", "P1", *stay().model_dump()["lines"]), {"P1": DRG_PAYER}, state)
    assert again.payments[0].status == ClaimStatus.DENIED
    assert cas(again.payments[0]) == [("CO", "18", D("12000.00"))]
    pharmacy = institutional_claim("O3", "P1", rev_line("0250", "40.00", 1), rev_line("0250", "60.00", 2),
                                   type_of_bill="13")
    paid = run(pharmacy, {"P1": DRG_PAYER}, state).payments[0]
    assert [s.paid for s in paid.service_lines] == [D("20.80"), D("31.20")]  # 65%, 20% coinsurance


def test_the_facility_line_and_the_physician_line_of_one_visit_are_no_duplicates() -> None:
    """An emergency visit bills 99284 twice on one day: the hospital's 0450 line on the 837I and the
    physician's on the 837P. Each is paid; only the same kind of claim billed again is CO-18."""
    both = payer(schedule={("99284", ""): D("338.00")}, institutional={"outpatient_percent": "65"})
    state = SandboxState()
    physician = run(claim("C1", "P1", line("99284", "650.00")), {"P1": both}, state).payments[0]
    assert (physician.paid, physician.status) == (D("338.00"), ClaimStatus.PROCESSED_AS_PRIMARY)
    facility = run(institutional_claim("O1", "P1", type_of_bill="13"), {"P1": both}, state).payments[0]
    assert [s.paid for s in facility.service_lines] == [D("552.50")]  # 65% of 850.00, not CO-18
    again = run(claim("C2", "P1", line("99284", "650.00")), {"P1": both}, state).payments[0]
    assert [(a.group.value, a.reason) for s in again.service_lines for a in s.adjustments] == [("CO", "18")]


def test_the_sample_part_a_payer_takes_its_deductible_once_and_sequesters_two_percent() -> None:
    from sandbox.payers import load_payers

    part_a = load_payers()["SAMPLEPARTA"]
    lines = stay().model_dump()["lines"]
    c = institutional_claim("H1", "SAMPLEPARTA", *lines, member="1EG4TE5MK73", claim_filing_indicator="MA")
    state = SandboxState()
    payment = run(c, {"SAMPLEPARTA": part_a}, state).payments[0]
    # MS-DRG 194 (0.88) x 6800.00 = 5984.00 allowed; the Part A deductible, no coinsurance; 2% of
    # the 4308.00 left is sequestered.
    assert cas(payment) == [("CO", "45", D("6016.00")), ("CO", "253", D("86.16")), ("PR", "1", D("1676.00"))]
    assert (payment.paid, payment.patient_responsibility) == (D("4221.84"), D("1676.00"))
    # Another stay of the same benefit period: the deductible is met; allowed is the charge (below
    # the case amount).
    later = institutional_claim("H2", "SAMPLEPARTA", rev_line("0300", "3500.00", 1, service_date="2026-02-09"),
                                member="1EG4TE5MK73", claim_filing_indicator="MA", statement_from="2026-02-08")
    again = run(later, {"SAMPLEPARTA": part_a}, state).payments[0]
    assert cas(again) == [("CO", "253", D("70.00"))]
    assert (again.paid, again.patient_responsibility) == (D("3430.00"), D("0.00"))
