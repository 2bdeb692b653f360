"""Patient share after the last payer, payment application, reconciliation, aging buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.remits.domain.balances import (
    ClaimState,
    OpenBalance,
    PostedLine,
    WrittenOff,
    apply_payment,
    bucket,
    patient_share,
    reconcile,
    write_offs_given_back,
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
        D("30.00"), D("0.00"), D("10.00"), D("5.00"))
    assert reconcile(D("50.00"), D("40.00"), D("5.00")).credit == 0


def test_aging_buckets() -> None:
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 120, 121)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91-120", "91-120", "120+"]


def test_a_reversal_alone_nets_the_share_to_zero() -> None:
    lines = [PostedLine("clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(copay=D("40.00"))),
             PostedLine("clm_1", 1, "chg_1", D("-150.00"), D("-58.00"), Share(copay=D("-40.00")))]
    r = patient_share([ClaimState("clm_1", 1, 0, "1", None)], lines)
    assert not r.held and r.governing_rank == 1 and r.total == 0 and len(r.items) == 1


# --------------------------------------------------------------------------- a payer that denies is not the last payer

PRIMARY_DEDUCTIBLE = PostedLine("clm_1", 1, "chg_1", D("100.00"), D("60.00"), Share(deductible=D("30.00")))
SECONDARY_DENIED = PostedLine("clm_1b", 2, "chg_1", D("100.00"), D("0.00"), Share())


def test_a_secondary_claim_denied_bills_the_primary_share() -> None:
    """DOMAIN.md: the patient owes the PR after the last payer *that will pay*."""
    r = patient_share([ClaimState("clm_1", 1, 1, "1", 2), ClaimState("clm_1b", 2, 1, "4", None, wholly_denied=True)],
                      [PRIMARY_DEDUCTIBLE, SECONDARY_DENIED])
    assert not r.held and r.governing_rank == 1 and r.total == D("30.00")
    assert [(i.claim_id, i.insurance_paid) for i in r.items] == [("clm_1", D("60.00"))]


def test_a_crossover_denied_by_the_secondary_is_no_longer_held() -> None:
    """CLP02 19 at rank 1 holds the balance until the secondary answers; its denial (posted at rank
    2 under the same claim) is an answer: the primary's share is billed."""
    denied = PostedLine("clm_1", 2, "chg_1", D("100.00"), D("0.00"), Share())
    claims = [ClaimState("clm_1", 1, 1, "19", 2), ClaimState("clm_1", 2, 1, "4", 2, wholly_denied=True)]
    r = patient_share(claims, [PRIMARY_DEDUCTIBLE, denied])
    assert not r.held and r.governing_rank == 1 and r.total == D("30.00")
    assert patient_share(claims[:1], [PRIMARY_DEDUCTIBLE]).held  # before the secondary answered


def test_a_denied_secondary_still_holds_for_a_tertiary_that_has_not_answered() -> None:
    claims = [ClaimState("clm_1", 1, 1, "1", 2), ClaimState("clm_1b", 2, 1, "4", 3, wholly_denied=True)]
    assert patient_share(claims, [PRIMARY_DEDUCTIBLE, SECONDARY_DENIED]).held


def test_a_secondary_that_pays_after_its_denial_governs_again() -> None:
    """An appeal won: the secondary's later CLP02 2 (no reversal of a 0.00 denial) is its latest posting."""
    paid = PostedLine("clm_1b", 2, "chg_1", D("100.00"), D("20.00"), Share(coinsurance=D("10.00")))
    r = patient_share([ClaimState("clm_1", 1, 1, "1", 2), ClaimState("clm_1b", 2, 2, "2", None)],
                      [PRIMARY_DEDUCTIBLE, SECONDARY_DENIED, paid])
    assert not r.held and r.governing_rank == 2 and r.total == D("10.00")


def test_when_every_payer_denied_the_highest_denial_governs() -> None:
    """A primary that denied the claim outright (PR, if any, such as PR-96 non-covered, still owed)."""
    denied = PostedLine("clm_1", 1, "chg_1", D("100.00"), D("0.00"), Share(other=D("25.00")))
    r = patient_share([ClaimState("clm_1", 1, 1, "4", None, wholly_denied=True)], [denied])
    assert not r.held and r.governing_rank == 1 and r.total == D("25.00")


def test_a_reversed_secondary_denial_no_longer_counts() -> None:
    claims = [ClaimState("clm_1", 1, 1, "1", 2), ClaimState("clm_1b", 2, 0, "4", None, wholly_denied=True)]
    r = patient_share(claims, [PRIMARY_DEDUCTIBLE, SECONDARY_DENIED, SECONDARY_DENIED])
    assert r.held and r.governing_rank == 1  # the secondary is pending again


# --------------------------------------------------------------------------- write-offs given back


def test_a_lowered_balance_gives_the_write_off_back_before_any_payment() -> None:
    r = reconcile(D("10.00"), D("0.00"), D("20.00"))
    assert (r.patient_paid, r.written_off, r.credit, r.written_off_back) == (D("0.00"), D("10.00"), D("0.00"),
                                                                            D("10.00"))
    r = reconcile(D("10.00"), D("15.00"), D("5.00"))  # the whole write-off back, then 5.00 of the payment
    assert (r.patient_paid, r.written_off, r.credit, r.written_off_back) == (D("10.00"), D("0.00"), D("5.00"),
                                                                            D("5.00"))
    assert reconcile(D("30.00"), D("10.00"), D("20.00")).written_off_back == 0  # not lowered below: nothing


def test_write_offs_given_back_most_recent_reason_first() -> None:
    t = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
    written = [WrittenOff("charity", D("20.00"), t), WrittenOff("small_balance", D("5.00"), t + timedelta(hours=1)),
               WrittenOff("bad_debt", D("0.00"), t + timedelta(hours=2))]
    assert write_offs_given_back(D("12.00"), written) == [("small_balance", D("5.00")), ("charity", D("7.00"))]
    assert write_offs_given_back(D("3.00"), written) == [("small_balance", D("3.00"))]
    assert write_offs_given_back(D("0.00"), written) == []
    assert write_offs_given_back(D("40.00"), written) == [("small_balance", D("5.00")), ("charity", D("20.00"))]


@given(total=st.integers(0, 10_000), paid=st.integers(0, 10_000), off=st.integers(0, 10_000))
@settings(max_examples=50)
def test_reconcile_never_leaves_a_negative_balance_and_keeps_every_cent(total: int, paid: int, off: int) -> None:
    c = Decimal("0.01")
    t, p_, w = D(total) * c, D(paid) * c, D(off) * c
    r = reconcile(t, p_, w)
    assert r.patient_paid >= 0 and r.written_off >= 0 and r.credit >= 0 and r.written_off_back >= 0
    assert t - r.patient_paid - r.written_off >= 0
    assert r.patient_paid + r.credit == p_ and r.written_off + r.written_off_back == w
    assert r.credit == 0 or r.written_off == 0  # a payment goes back only once no write-off is left
