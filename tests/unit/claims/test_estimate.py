"""The patient estimate: exact cents for each rule, and equal to what the sandbox's payers put in
their 835 (PR-1/2/3) for the same plan, member totals and lines, so the two cannot drift."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x835 import AdjustmentGroup
from sandbox.adjudication import SandboxState, adjudicate, issue_claim_number
from schemas.eligibility import Benefit
from services.claims.domain.estimate import (
    OFFICE_VISIT_CODES,
    Estimate,
    EstimateLine,
    estimate_patient_share,
    plan_shares,
)
from tests.unit.sandbox.support import SCHEDULE, TODAY, claim, line, payer

D = Decimal


def plan(deductible: str | None = "500.00", coinsurance: str | None = "0.20", copay: str | None = "25.00",
         oop: str | None = None, insurance_type: str = "PR", **extra: Any) -> list[Benefit]:
    """The benefits a 271 sends for an in-network individual: EB*C and EB*G remaining (29), EB*A, EB*B."""
    out = [Benefit(code="1", coverage_level="IND", service_types=["30"], insurance_type=insurance_type)]
    if deductible is not None:
        out.append(Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="29",
                           amount=D(deductible), in_network="Y", **extra))
    if coinsurance is not None:
        out.append(Benefit(code="A", coverage_level="IND", service_types=["30"], percent=D(coinsurance),
                           in_network="Y"))
    if copay is not None:
        out.append(Benefit(code="B", coverage_level="IND", service_types=["98"], amount=D(copay), in_network="Y"))
    if oop is not None:
        out.append(Benefit(code="G", coverage_level="IND", service_types=["30"], time_period="29",
                           amount=D(oop), in_network="Y"))
    return out


def visit(code: str = "99213", charge: str = "150.00", allowed: str | None = "100.00") -> EstimateLine:
    return EstimateLine(procedure_code=code, charge=D(charge), expected_allowed=None if allowed is None else D(allowed))


def shares(estimate: Estimate) -> tuple[str, str, str, str]:
    return (str(estimate.deductible), str(estimate.coinsurance), str(estimate.copay), str(estimate.patient_estimate))


@pytest.mark.parametrize(("benefits", "lines", "expected"), [
    # deductible not met: the copay first, the rest of the allowed amount goes to the deductible
    (plan("500.00"), [visit()], ("75.00", "0.00", "25.00", "100.00")),
    # partly met: 40 left of it, co-insurance on the 35 after copay and deductible
    (plan("40.00"), [visit()], ("40.00", "7.00", "25.00", "72.00")),
    # fully met: co-insurance on everything after the copay
    (plan("0.00"), [visit()], ("0.00", "15.00", "25.00", "40.00")),
    # a line that is not an office visit carries no copay
    (plan("0.00"), [visit("80053", "45.00", "20.00")], ("0.00", "4.00", "0.00", "4.00")),
    # the copay once per encounter, on the first office visit; the deductible runs across lines
    (plan("110.00"), [visit("80053", "45.00", "20.00"), visit("99213"), visit("99214", "200.00", "140.00")],
     ("110.00", "25.00", "25.00", "160.00")),
    # co-insurance rounds half up to the cent: 12.45 x 10% = 1.245 -> 1.25
    (plan("0.00", "0.10", None), [visit("80053", "30.00", "12.45")], ("0.00", "1.25", "0.00", "1.25")),
    # the allowed amount never exceeds the charge
    (plan("0.00", "0.20", None), [visit("99213", "80.00", "100.00")], ("0.00", "16.00", "0.00", "16.00")),
    # a copay larger than the allowed amount takes only the allowed amount
    (plan("0.00", "0.20", "25.00"), [visit("99211", "30.00", "18.00")], ("0.00", "0.00", "18.00", "18.00")),
])
def test_estimate_table(benefits: list[Benefit], lines: list[EstimateLine], expected: tuple[str, ...]) -> None:
    estimate = estimate_patient_share(benefits, lines)
    assert shares(estimate) == expected
    assert estimate.complete is True


def test_estimate_totals_and_the_out_of_pocket_remaining_it_read() -> None:
    estimate = estimate_patient_share(plan("40.00", oop="2400.00"),
                                      [visit(), visit("80053", "45.00", "20.00")])
    assert estimate == Estimate(total_charge=D("195.00"), expected_allowed=D("120.00"), deductible=D("40.00"),
                                coinsurance=D("11.00"), copay=D("25.00"), patient_estimate=D("76.00"),
                                out_of_pocket_remaining=D("2400.00"), complete=True)


@pytest.mark.parametrize(("oop", "expected"), [
    ("1000.00", ("75.00", "0.00", "25.00", "100.00")),  # well below the cap
    ("30.00", ("0.00", "5.00", "25.00", "30.00")),    # co-insurance gives way first...
    ("20.00", ("0.00", "0.00", "20.00", "20.00")),    # ...then the copay
    ("0.00", ("0.00", "0.00", "0.00", "0.00")),       # the maximum reached: the plan pays all
])
def test_out_of_pocket_remaining_caps_the_share(oop: str, expected: tuple[str, ...]) -> None:
    deductible = "0.00" if oop in {"30.00", "20.00"} else "500.00"
    assert shares(estimate_patient_share(plan(deductible, oop=oop), [visit()])) == expected


def test_the_deductible_gives_way_last_and_the_cap_runs_across_lines() -> None:
    estimate = estimate_patient_share(plan("500.00", oop="90.00"), [visit(), visit("99214", "200.00", "140.00")])
    # line 1: copay 25 + deductible 75 = 100 > 90: the copay drops 10 -> 15 + 75; nothing left for line 2
    assert shares(estimate) == ("75.00", "0.00", "15.00", "90.00")
    assert estimate.out_of_pocket_remaining == D("90.00")


def test_a_line_without_a_fee_schedule_amount_uses_the_charge_and_is_incomplete() -> None:
    estimate = estimate_patient_share(plan("0.00", copay=None), [visit(), visit("99999", "60.00", None)])
    assert estimate.expected_allowed == D("160.00")
    assert shares(estimate) == ("0.00", "32.00", "0.00", "32.00")
    assert estimate.complete is False


@pytest.mark.parametrize(("benefits", "expected"), [
    (plan(None), ("0.00", "15.00", "25.00", "40.00")),  # no deductible stated: a floor
    (plan("50.00", None, None), ("50.00", "0.00", "0.00", "50.00")),  # no co-insurance nor copay
])
def test_missing_benefits_make_the_estimate_a_floor(benefits: list[Benefit], expected: tuple[str, ...]) -> None:
    estimate = estimate_patient_share(benefits, [visit()])
    assert shares(estimate) == expected
    assert estimate.complete is False


def test_a_copay_alone_is_a_complete_cost_share() -> None:
    estimate = estimate_patient_share(plan("0.00", None, "30.00"), [visit()])
    assert shares(estimate) == ("0.00", "0.00", "30.00", "30.00")
    assert estimate.complete is True


def test_which_benefits_count() -> None:
    benefits = [
        # the calendar-year total, not what remains
        Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="23", amount=D("1500.00")),
        # out of network
        Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="29", amount=D("900.00"),
                in_network="N"),
        # the family's, after the individual's
        Benefit(code="C", coverage_level="FAM", service_types=["30"], time_period="29", amount=D("2000.00")),
        Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="29", amount=D("350.00"),
                in_network="W"),
        # a specific service type, after the plan's health benefit coverage (30)
        Benefit(code="A", coverage_level="IND", service_types=["98"], percent=D("0.30")),
        Benefit(code="A", coverage_level="IND", service_types=["30"], percent=D("0.20"), in_network="Y"),
        # only the family's out-of-pocket remaining is sent: it counts
        Benefit(code="G", coverage_level="FAM", service_types=["30"], time_period="29", amount=D("4100.00")),
        # the only copay is for office visits (98): it counts
        Benefit(code="B", coverage_level="IND", service_types=["98"], amount=D("25.00"), in_network="Y"),
    ]
    terms = plan_shares(benefits)
    assert (terms.deductible_remaining, terms.coinsurance, terms.copay, terms.out_of_pocket_remaining) == (
        D("350.00"), D("0.20"), D("25.00"), D("4100.00"))


def test_medicare_part_b_lab_tests_carry_no_cost_share() -> None:
    lines = [visit("99213", "150.00", "90.00"), visit("80053", "60.00", "20.00"), visit("36415", "10.00", "3.00")]
    medicare = estimate_patient_share(plan("50.00", "0.20", None, insurance_type="MB"), lines)
    assert shares(medicare) == ("50.00", "8.00", "0.00", "58.00")
    assert medicare.expected_allowed == D("113.00")
    # The same lines under a commercial plan: the lab tests share the deductible and co-insurance.
    assert shares(estimate_patient_share(plan("50.00", "0.20", None), lines)) == ("50.00", "12.60", "0.00", "62.60")


def test_bad_lines_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one service line"):
        estimate_patient_share(plan(), [])
    with pytest.raises(ValueError, match="must not be negative"):
        estimate_patient_share(plan(), [visit("99213", "-10.00")])


# --- the same numbers as the sandbox's 835 --------------------------------------------------------

MEMBER = "P1|M100"


def sandbox_pr(deductible: Decimal, met: Decimal, percent: Decimal, copay: Decimal, oop: Decimal | None,
               spent: Decimal, lines: Sequence[tuple[str, str, int]], medicare: bool = False,
               ) -> tuple[str, str, str, str]:
    """PR-1, PR-2, PR-3 and CLP05 of the sandbox payer's 835 for one claim of these lines (a Medicare
    plan: the sample Medicare's lab codes exempt from cost sharing)."""
    behaviour: dict[str, Any] = {"deductible": str(deductible), "coinsurance_percent": str(percent),
                                 "copay": str(copay), "copay_codes": sorted(OFFICE_VISIT_CODES)}
    if medicare:
        behaviour["cost_share_exempt"] = ["80000-89999", "36415"]
    if oop is not None:
        behaviour["out_of_pocket_max"] = str(oop)
    p = payer(**behaviour)
    state = SandboxState(deductible_met={MEMBER: met}, out_of_pocket={MEMBER: spent})
    c = claim("C1", "P1", *(line(code, charge, n=n, units=str(units))
                            for n, (code, charge, units) in enumerate(lines, start=1)))
    result = adjudicate(c, {"P1": p}, state, seed=7, pccn=issue_claim_number(7, c, state), today=TODAY, batch="B1")
    payment = result.payments[0]
    by_reason = {reason: sum((a.amount for s in payment.service_lines for a in s.adjustments
                              if a.group == AdjustmentGroup.PATIENT_RESPONSIBILITY and a.reason == reason), D("0.00"))
                 for reason in ("1", "2", "3")}
    patient = payment.patient_responsibility or D("0.00")
    return str(by_reason["1"]), str(by_reason["2"]), str(by_reason["3"]), str(patient)


def estimate_from_271(deductible: Decimal, met: Decimal, percent: Decimal, copay: Decimal, oop: Decimal | None,
                      spent: Decimal, lines: Sequence[tuple[str, str, int]], medicare: bool = False,
                      ) -> tuple[str, str, str, str]:
    """The estimate from what a 271 says of the same plan and member, and the fee schedule."""
    benefits = plan(str(deductible - met), str(percent / 100), str(copay),
                    None if oop is None else str(oop - spent), insurance_type="MB" if medicare else "PR")
    estimate = estimate_patient_share(benefits, [
        EstimateLine(procedure_code=code, charge=D(charge), expected_allowed=SCHEDULE[(code, "")] * units)
        for code, charge, units in lines])
    return shares(estimate)


CASES = [
    # deductible, met, coinsurance %, copay, out-of-pocket maximum, spent, lines (code, charge, units)
    (D("500.00"), D("0.00"), D("20"), D("25.00"), D("3000.00"), D("0.00"), [("99213", "150.00", 1)]),
    (D("500.00"), D("460.00"), D("20"), D("25.00"), D("3000.00"), D("460.00"), [("99213", "150.00", 1)]),
    (D("250.00"), D("250.00"), D("10"), D("20.00"), None, D("900.00"),
     [("99213", "150.00", 1), ("80053", "33.33", 2)]),
    (D("257.00"), D("100.00"), D("20"), D("0.00"), None, D("0.00"), [("80053", "75.00", 3), ("99396", "210.00", 1)]),
    (D("500.00"), D("0.00"), D("20"), D("25.00"), D("3000.00"), D("2950.00"),
     [("99213", "150.00", 1), ("99396", "210.00", 1)]),
]


@pytest.mark.parametrize(("deductible", "met", "percent", "copay", "oop", "spent", "lines"), CASES)
def test_the_estimate_equals_the_sandbox_835(deductible: Decimal, met: Decimal, percent: Decimal, copay: Decimal,
                                            oop: Decimal | None, spent: Decimal,
                                            lines: list[tuple[str, str, int]]) -> None:
    expected = sandbox_pr(deductible, met, percent, copay, oop, spent, lines)
    assert estimate_from_271(deductible, met, percent, copay, oop, spent, lines) == expected


def test_the_estimate_equals_the_sandbox_medicare_835_with_lab_tests() -> None:
    lines = [("99213", "150.00", 1), ("80053", "75.00", 2)]
    expected = sandbox_pr(D("257.00"), D("200.00"), D("20"), D("0.00"), None, D("0.00"), lines, medicare=True)
    assert expected == ("57.00", "8.60", "0.00", "65.60")
    assert estimate_from_271(D("257.00"), D("200.00"), D("20"), D("0.00"), None, D("0.00"), lines,
                             medicare=True) == expected


def test_the_sandbox_comparison_sees_real_amounts() -> None:
    # The second case by hand: 40 of the deductible left, copay 25, 20% of 35.
    assert sandbox_pr(*CASES[1][:6], CASES[1][6]) == ("40.00", "7.00", "25.00", "72.00")


cents = st.integers(0, 99_999).map(lambda c: D(c) / 100)
charges = st.integers(1, 99_999).map(lambda c: str(D(c) / 100))
lines_drawn = st.lists(st.tuples(st.sampled_from(["99213", "80053", "99396"]), charges, st.integers(1, 3)),
                       min_size=1, max_size=4, unique_by=lambda t: t[0])


@settings(max_examples=80, deadline=None)
@given(deductible=cents, met_share=st.integers(0, 100), percent=st.integers(0, 50).map(D), copay=cents,
       oop=st.none() | cents, spent_share=st.integers(0, 100), lines=lines_drawn, medicare=st.booleans())
def test_the_estimate_equals_the_sandbox_835_whatever_the_plan(
    deductible: Decimal, met_share: int, percent: Decimal, copay: Decimal, oop: Decimal | None, spent_share: int,
    lines: list[tuple[str, str, int]], medicare: bool,
) -> None:
    met = (deductible * met_share / 100).quantize(D("0.01"))
    spent = D("0.00") if oop is None else (oop * spent_share / 100).quantize(D("0.01"))
    assert estimate_from_271(deductible, met, percent, copay, oop, spent, lines, medicare) == sandbox_pr(
        deductible, met, percent, copay, oop, spent, lines, medicare)
