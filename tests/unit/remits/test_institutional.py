"""Institutional (facility) 835s: claim-level-only adjudication allocated over the lines, NU and
SVC04 line matching, MIA/MOA/DRG specifics, and no false underpayment on revenue-code lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from edi.x835 import ClaimPayment, InpatientAdjudication, OutpatientAdjudication, Procedure, ServiceLine
from schemas.claims import ClaimSubmitted
from services.remits.domain import posting as p
from services.remits.service.suspense import submission_row
from tests.support.testsvc import example
from tests.unit.remits.builders import adj, claim

D = Decimal


def fac(lcn: str, charge: str, revenue: str, procedure: str | None = None, *summed: str) -> p.ExpectedLine:
    return p.ExpectedLine(line_control_number=lcn, charge_id=f"chg_{lcn}", procedure_code=procedure,
                          service_date=date(2026, 3, 2), charge=D(charge), revenue_code=revenue,
                          summed_charge_ids=summed)


# An inpatient stay: room and board (three days summed on one 0120 line), pharmacy and lab.
STAY = [fac("L1", "3000.00", "0120", None, "chg_day2", "chg_day3"), fac("L2", "457.33", "0250"),
        fac("L3", "842.67", "0300", "80053")]


def drg_claim(status: str = "1") -> ClaimPayment:
    """DRG 194 paid 3611.37: CO-45 688.63, PR-1 500.00, PR-2 622.27, paid 2489.10, no SVC lines."""
    return replace(claim("S1", status, "4300.00", "2489.10",
                         adjustments=(adj("CO", "45", "688.63"), adj("PR", "1", "500.00"), adj("PR", "2", "622.27"))),
                   drg_code="194", drg_weight=D("0.8851"),
                   inpatient=InpatientAdjudication(covered_days=D("3"), remark_codes=("MA01",),
                                                   values=((2, D("0")), (4, D("3611.37")))))


@pytest.mark.parametrize(("amount", "weights", "parts"), [
    ("1.00", ["1", "1", "1"], ["0.34", "0.33", "0.33"]),
    ("0.05", ["1", "1"], ["0.03", "0.02"]),  # a tie: the earlier line takes the cent
    ("-1.00", ["1", "1", "1"], ["-0.34", "-0.33", "-0.33"]),  # a reversal splits as its opposite
    ("0.10", ["0", "0", "0"], ["0.04", "0.03", "0.03"]),  # no charge to weigh by: even
    ("2489.10", ["3000.00", "457.33", "842.67"], ["1736.58", "264.73", "487.79"]),
    ("688.63", ["3000.00", "457.33", "842.67"], ["480.44", "73.24", "134.95"]),
    ("0.00", ["3000.00", "457.33"], ["0.00", "0.00"]),
])
def test_prorate_is_exact_to_the_cent_by_largest_remainder(amount: str, weights: list[str], parts: list[str]) -> None:
    got = p.prorate(D(amount), [D(w) for w in weights])
    assert got == [D(x) for x in parts]
    assert sum(got, D("0")) == D(amount)


def test_a_claim_paid_without_lines_is_allocated_per_cas_and_each_line_balances() -> None:
    allocation = p.allocate_claim_level(drg_claim(), STAY)
    assert [(a.line.line_control_number, a.charge, a.paid) for a in allocation] == [
        ("L1", D("3000.00"), D("1736.58")), ("L2", D("457.33"), D("264.73")), ("L3", D("842.67"), D("487.79"))]
    assert [[(x.group.value, x.reason, x.amount) for x in a.adjustments] for a in allocation] == [
        [("CO", "45", D("480.44")), ("PR", "1", D("348.84")), ("PR", "2", D("434.14"))],
        [("CO", "45", D("73.24")), ("PR", "1", D("53.18")), ("PR", "2", D("66.18"))],
        [("CO", "45", D("134.95")), ("PR", "1", D("97.98")), ("PR", "2", D("121.95"))],
    ]
    for a in allocation:  # here every line balances too: charge = paid + its CAS parts
        assert a.paid + sum((x.amount for x in a.adjustments), D("0")) == a.charge


def test_line_effects_of_a_claim_level_payment_add_up_to_the_claim() -> None:
    effects = p.line_effects(drg_claim(), STAY)
    assert [(e.charge_id, e.charge, e.paid, e.share) for e in effects] == [
        ("chg_L1", D("3000.00"), D("1736.58"), p.Share(deductible=D("348.84"), coinsurance=D("434.14"))),
        ("chg_L2", D("457.33"), D("264.73"), p.Share(deductible=D("53.18"), coinsurance=D("66.18"))),
        ("chg_L3", D("842.67"), D("487.79"), p.Share(deductible=D("97.98"), coinsurance=D("121.95"))),
    ]
    assert sum((e.paid for e in effects), D("0")) == D("2489.10")
    assert sum((e.share.total() for e in effects), D("0")) == D("1122.27")


def test_repeated_cas_of_one_group_and_reason_are_summed_before_the_split() -> None:
    c = claim("S1", "1", "100.00", "60.00", adjustments=(adj("CO", "45", "20.00"), adj("CO", "45", "0.01"),
                                                          adj("OA", "23", "19.99")))
    allocation = p.allocate_claim_level(c, [fac("A", "50.00", "0250"), fac("B", "50.00", "0258")])
    assert [[(x.group.value, x.reason, x.amount) for x in a.adjustments] for a in allocation] == [
        [("CO", "45", D("10.01")), ("OA", "23", D("10.00"))], [("CO", "45", D("10.00")), ("OA", "23", D("9.99"))]]
    assert [a.paid for a in allocation] == [D("30.00"), D("30.00")]


def test_a_zero_paid_claim_level_denial_is_a_whole_claim_denial() -> None:
    c = claim("S1", "4", "4300.00", "0.00", adjustments=(adj("CO", "50", "4300.00"),))
    scope, items = p.denials(c, STAY)
    assert scope == "claim"
    assert [(i.line_control_number, i.reason_code, i.amount) for i in items] == [(None, "50", D("4300.00"))]
    effects = p.line_effects(c, STAY)
    assert [(e.charge_id, e.charge, e.paid, e.share.total()) for e in effects] == [
        ("chg_L1", D("3000.00"), D("0.00"), D("0.00")), ("chg_L2", D("457.33"), D("0.00"), D("0.00")),
        ("chg_L3", D("842.67"), D("0.00"), D("0.00"))]
    assert p.allowed_variance(c, STAY, 1).lines == []


def test_a_partial_claim_level_denial_without_lines_is_told_per_line() -> None:
    c = claim("S1", "1", "4300.00", "3440.00", adjustments=(adj("CO", "45", "430.00"), adj("CO", "50", "430.00")))
    scope, items = p.denials(c, STAY)
    assert scope == "line"
    assert [(i.line_control_number, i.group, i.reason_code, i.amount, i.category) for i in items] == [
        ("L1", "CO", "50", D("300.00"), "medical_necessity"), ("L2", "CO", "50", D("45.73"), "medical_necessity"),
        ("L3", "CO", "50", D("84.27"), "medical_necessity")]
    assert sum((i.amount for i in items), D("0")) == D("430.00")


def test_institutional_lines_have_no_contract_so_no_variance() -> None:
    assert p.allowed_variance(drg_claim(), STAY, 1).lines == []
    c = claim("S1", "1", "457.33", "100.00", ServiceLine(
        procedure=Procedure(qualifier="NU", code="0250"), charge=D("457.33"), paid=D("100.00"),
        adjustments=(adj("CO", "45", "357.33"),)))
    assert p.allowed_variance(c, STAY, 1).kind(D("1.00")) is None


def nu(code: str, charge: str) -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier="NU", code=code), charge=D(charge), paid=D("0"),
                       adjustments=(adj("CO", "45", charge),))


def hc(code: str, revenue: str, charge: str) -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier="HC", code=code), revenue_code=revenue, charge=D(charge),
                       paid=D("0"), adjustments=(adj("CO", "45", charge),))


OUTPATIENT = [fac("O1", "200.00", "0300", "80053"), fac("O2", "50.00", "0300"), fac("O3", "75.00", "0450", "99283"),
              fac("O4", "20.00", "0250")]


def test_nu_and_svc04_lines_match_by_their_codes_each_line_once() -> None:
    lines = [nu("0300", "50.00"), hc("80053", "0300", "200.00"), nu("0250", "20.00"), hc("99283", "0450", "75.00")]
    got = p.match_lines(lines, OUTPATIENT)
    # NU:0300 takes the 0300 line billed without HCPCS, though the HCPCS one comes first
    assert [m.line_control_number if m else None for m in got] == ["O2", "O1", "O4", "O3"]


def test_ref_6r_wins_and_an_unknown_code_is_no_match() -> None:
    echoed = replace(nu("0300", "200.00"), line_control_number="O1")
    got = p.match_lines([echoed, nu("0300", "50.00"), nu("0999", "1.00")], OUTPATIENT)
    assert [m.line_control_number if m else None for m in got] == ["O1", "O2", None]


def test_an_hc_line_without_svc04_still_matches_by_position_when_counts_agree() -> None:
    lines = [ServiceLine(procedure=Procedure(qualifier="HC", code="80053"), charge=D("200.00"), paid=D("0"),
                         adjustments=(adj("CO", "45", "200.00"),)), nu("0300", "50.00")]
    got = p.match_lines(lines, OUTPATIENT[:2])
    assert [m.line_control_number if m else None for m in got] == ["O1", "O2"]


def test_facility_specifics_of_mia_moa_and_drg() -> None:
    inpatient = p.facility_of(replace(drg_claim(), inpatient=InpatientAdjudication(
        covered_days=D("3"), remark_codes=("MA01",), values=((2, D("250")), (4, D("3361.37"))))))
    assert inpatient == p.Facility(drg_code="194", drg_weight=D("0.8851"), covered_days=D("3"),
                                   drg_amount=D("3361.37"), outlier_amount=D("250.00"), remark_codes=("MA01",))
    assert p.Facility.from_json(inpatient.to_json()) == inpatient
    outpatient = p.facility_of(replace(claim("S2", "1", "345.00", "276.00"), outpatient=OutpatientAdjudication(
        reimbursement_rate=D("0.8"), hcpcs_payable=D("220"), remark_codes=("MA130",))))
    assert outpatient == p.Facility(reimbursement_rate=D("0.8"), hcpcs_payable=D("220.00"), remark_codes=("MA130",))
    assert p.facility_of(claim("S3", "1", "10.00", "10.00")) is None


def test_a_reversal_of_a_claim_level_payment_allocates_to_the_exact_negation() -> None:
    taken_back = claim("S1", "22", "-4300.00", "-2489.10", adjustments=(
        adj("CO", "45", "-688.63"), adj("PR", "1", "-500.00"), adj("PR", "2", "-622.27")))
    forward = p.line_effects(drg_claim(), STAY)
    back = p.line_effects(taken_back, STAY)
    assert [(e.charge, e.paid, e.share) for e in back] == [(-e.charge, -e.paid, e.share.negated()) for e in forward]


def test_an_institutional_submission_keeps_revenue_codes_and_summed_charges() -> None:
    submitted = example("rcm.claims.ClaimSubmitted.v1", claim_type="institutional", type_of_bill="11",
                        total_charge="3000.00", lines=[{
                            "line_number": 1, "line_control_number": "S1-1", "charge_id": "chg_day1",
                            "summed_charge_ids": ["chg_day2", "chg_day3"], "procedure_code": None, "modifiers": [],
                            "description": "Room and board", "revenue_code": "0120", "service_date": "2026-03-02",
                            "service_end_date": "2026-03-04", "units": "3", "charge": "3000.00",
                            "diagnosis_pointers": [], "expected_allowed": None}])
    assert isinstance(submitted, ClaimSubmitted)
    row = submission_row(submitted)
    assert row.expected_lines() == [p.ExpectedLine(
        line_control_number="S1-1", charge_id="chg_day1", procedure_code=None, service_date=date(2026, 3, 2),
        charge=D("3000.00"), description="Room and board", revenue_code="0120",
        summed_charge_ids=("chg_day2", "chg_day3"))]
