"""Patient share after the last payer, payment application, reconciliation, aging buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.remits.domain.balances import (
    ClaimState,
    OpenBalance,
    PostedLine,
    apply_payment,
    bucket,
    patient_share,
    reconcile,
)
from services.remits.domain.posting import Share

D = Decimal


def test_balance_waits_for_the_next_payer_then_uses_its_share() -> None:
    primary = [PostedLine("clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(deductible=D("40.00")))]
    held = patient_share([ClaimState("clm_1", 1, 1, "1", 2)], primary)
    assert held.held
    secondary = [*primary, PostedLine("clm_2", 2, "chg_1", D("150.00"), D("30.00"), Share(coinsurance=D("10.00")))]
    done = patient_share([ClaimState("clm_1", 1, 1, "1", 2), ClaimState("clm_2", 2, 1, "2", None)], secondary)
    assert not done.held and done.total == D("10.00") and done.items[0].insurance_paid == D("88.00")


def test_forwarded_crossover_is_held() -> None:
    lines = [PostedLine("clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(copay=D("40.00")))]
    assert patient_share([ClaimState("clm_1", 1, 1, "19", None)], lines).held


def test_reversal_and_correction_net_out() -> None:
    lines = [PostedLine("clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(copay=D("40.00"))),
             PostedLine("clm_1", 1, "chg_1", D("-150.00"), D("-58.00"), Share(copay=D("-40.00"))),
             PostedLine("clm_1", 1, "chg_1", D("150.00"), D("68.00"), Share(copay=D("30.00")))]
    r = patient_share([ClaimState("clm_1", 1, 1, "1", None)], lines)
    assert r.total == D("30.00") and r.items[0].charge == D("150.00") and r.items[0].adjustments == D("52.00")


def test_payment_goes_to_the_named_balance_then_the_oldest() -> None:
    old = OpenBalance("bal_a", "enc_a", D("20.00"), date(2026, 1, 1))
    new = OpenBalance("bal_b", "enc_b", D("50.00"), date(2026, 2, 1))
    applied, left = apply_payment(D("30.00"), [new, old])
    assert [(b.balance_id, a) for b, a in applied] == [("bal_a", D("20.00")), ("bal_b", D("10.00"))] and left == 0
    applied, left = apply_payment(D("90.00"), [new, old], "enc_b")
    assert [(b.balance_id, a) for b, a in applied] == [("bal_b", D("50.00")), ("bal_a", D("20.00"))]
    assert left == D("20.00")


def test_lowered_balance_reduces_write_off_first_then_credits_the_payment() -> None:
    assert reconcile(D("30.00"), D("40.00"), D("5.00")) == type(reconcile(D("0"), D("0"), D("0")))(
        D("30.00"), D("0.00"), D("10.00"))
    assert reconcile(D("50.00"), D("40.00"), D("5.00")).credit == 0


def test_aging_buckets() -> None:
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 120, 121)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91-120", "91-120", "120+"]


def test_a_reversal_alone_nets_the_share_to_zero() -> None:
    lines = [PostedLine("clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(copay=D("40.00"))),
             PostedLine("clm_1", 1, "chg_1", D("-150.00"), D("-58.00"), Share(copay=D("-40.00")))]
    r = patient_share([ClaimState("clm_1", 1, 0, "1", None)], lines)
    assert not r.held and r.governing_rank == 1 and r.total == 0 and len(r.items) == 1
