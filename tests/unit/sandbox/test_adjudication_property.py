"""Whatever the plan and the claim, adjudication balances and keeps the member's totals in bounds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x835 import AdjustmentGroup, check_835
from sandbox.adjudication import SandboxState, adjudicate, build_835, issue_claim_number, payee_of
from tests.unit.sandbox.support import TODAY, claim, line, payer

D = Decimal
cents = st.integers(0, 99_999).map(lambda c: D(c) / 100)
percents = st.integers(0, 30).map(D)
codes = st.sampled_from([("99213", []), ("80053", []), ("87880", ["QW"]), ("72100", []), ("11111", [])])


@st.composite
def claim_lines(draw: st.DrawFn, day: int) -> list[dict[str, object]]:
    chosen = draw(st.lists(codes, min_size=1, max_size=4, unique_by=lambda c: c[0]))
    return [line(code, str(draw(cents)), n=n, modifiers=modifiers, units=str(draw(st.integers(1, 3))),
                 service_date=f"2026-02-{day:02d}")
            for n, (code, modifiers) in enumerate(chosen, start=1)]


@settings(max_examples=60, deadline=None)
@given(underpay=percents, deductible=cents, coinsurance=percents, copay=cents, sequestration=st.integers(0, 3),
       oop=st.none() | cents, first=claim_lines(10), second=claim_lines(11))
def test_adjudication_balances_and_respects_the_plan(
    underpay: Decimal, deductible: Decimal, coinsurance: Decimal, copay: Decimal, sequestration: int,
    oop: Decimal | None, first: list[dict[str, object]], second: list[dict[str, object]],
) -> None:
    behaviour: dict[str, Any] = {
        "underpay_percent": str(underpay), "deductible": str(deductible), "coinsurance_percent": str(coinsurance),
        "copay": str(copay), "copay_codes": ["99213"], "sequestration_percent": str(sequestration),
        "auth_required": ["72100"], "interest_probability": "0.5", "recoupment_probability": "0.5",
    }
    if oop is not None:
        behaviour["out_of_pocket_max"] = str(oop)
    p = payer(**behaviour)
    state = SandboxState()
    results = []
    for n, lines in enumerate((first, second), start=1):
        c = claim(f"C{n}", "P1", *lines)
        pccn = issue_claim_number(42, c, state)
        result = adjudicate(c, {"P1": p}, state, seed=42, pccn=pccn, today=TODAY, batch=f"B{n}")
        results.append(result)
        for s in result.payments[0].service_lines:
            assert s.paid >= 0
            patient = sum((a.amount for a in s.adjustments if a.group == AdjustmentGroup.PATIENT_RESPONSIBILITY),
                          D(0))
            if s.allowed is not None:
                assert s.paid + patient <= s.allowed
    transaction = build_835(p, payee_of(claim()), results, trace_number="T1", today=TODAY)
    assert all(check.ok for check in check_835(transaction))
    assert transaction.total_payment >= 0
    assert state.deductible_met.get("P1|M100", D(0)) <= deductible
    if oop is not None:
        assert state.out_of_pocket.get("P1|M100", D(0)) <= oop
