"""Which balances a patient payment (or an open credit) pays, in which order, and how much each:
the statement's balance first, then the named encounter's, then the oldest; references of another
account are ignored; credits are used oldest first; a refund never drives a credit below zero."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.remits.domain.balances import (
    KnownReference,
    OpenBalance,
    OpenCredit,
    apply_payment,
    check_refund,
    credits_to_apply,
    resolve_encounter,
    resolve_statement,
)

D = Decimal
OLD = OpenBalance("bal_old", "enc_old", D("20.00"), date(2026, 1, 1))
MID = OpenBalance("bal_mid", "enc_mid", D("35.00"), date(2026, 2, 1))
NEW = OpenBalance("bal_new", "enc_new", D("50.00"), date(2026, 3, 1))


def plan(applied: list[tuple[OpenBalance, Decimal]]) -> list[tuple[str, Decimal]]:
    return [(b.balance_id, take) for b, take in applied]


def test_the_statement_balance_is_paid_first_then_the_oldest() -> None:
    applied, left = apply_payment(D("60.00"), [OLD, NEW, MID], balance_id="bal_new")
    assert plan(applied) == [("bal_new", D("50.00")), ("bal_old", D("10.00"))] and left == 0


def test_the_statement_beats_the_named_encounter_which_beats_the_oldest() -> None:
    applied, left = apply_payment(D("200.00"), [OLD, NEW, MID], "enc_mid", balance_id="bal_new")
    assert plan(applied) == [("bal_new", D("50.00")), ("bal_mid", D("35.00")), ("bal_old", D("20.00"))]
    assert left == D("95.00")


def test_a_partial_payment_of_a_statement_stays_on_that_balance() -> None:
    applied, left = apply_payment(D("12.34"), [OLD, NEW], balance_id="bal_new")
    assert plan(applied) == [("bal_new", D("12.34"))] and left == 0


def test_a_statement_whose_balance_is_no_longer_open_falls_through_to_the_oldest() -> None:
    applied, left = apply_payment(D("30.00"), [MID, OLD], balance_id="bal_paid_off")
    assert plan(applied) == [("bal_old", D("20.00")), ("bal_mid", D("10.00"))] and left == 0


def test_same_day_balances_are_ordered_by_id_and_zero_balances_skipped() -> None:
    a = OpenBalance("bal_a", "enc_a", D("10.00"), date(2026, 1, 1))
    b = OpenBalance("bal_b", "enc_b", D("10.00"), date(2026, 1, 1))
    zero = OpenBalance("bal_0", "enc_0", D("0.00"), date(2025, 1, 1))
    applied, left = apply_payment(D("15.00"), [b, zero, a])
    assert plan(applied) == [("bal_a", D("10.00")), ("bal_b", D("5.00"))] and left == 0


def test_statement_references_are_followed_only_for_the_same_account() -> None:
    assert resolve_statement("PA-1", KnownReference("bal_1", "PA-1")) == ("bal_1", None)
    assert resolve_statement("PA-1", KnownReference("bal_2", "PA-2")) == (None, "statement_of_another_account")
    assert resolve_statement("PA-1", None) == (None, "unknown_statement")
    assert resolve_statement("PA-1", KnownReference("bal_gone", None)) == (None, "unknown_statement")


def test_encounter_references_are_followed_only_for_the_same_account() -> None:
    assert resolve_encounter("PA-1", "enc_1", "PA-1") == ("enc_1", None)
    assert resolve_encounter("PA-1", "enc_2", "PA-2") == (None, "encounter_of_another_account")
    assert resolve_encounter("PA-1", "enc_3", None) == (None, "unknown_encounter")


def test_an_ignored_reference_pays_as_if_there_were_none() -> None:
    target, why = resolve_statement("PA-1", KnownReference("bal_theirs", "PA-2"))
    assert why == "statement_of_another_account"
    assert apply_payment(D("25.00"), [NEW, OLD], balance_id=target) == apply_payment(D("25.00"), [NEW, OLD])


def test_credits_pay_a_new_balance_oldest_first_and_no_more_than_it_owes() -> None:
    t1, t2 = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
    older, newer = OpenCredit("crd_b", D("15.00"), t1), OpenCredit("crd_a", D("30.00"), t2)
    spent = OpenCredit("crd_0", D("0.00"), datetime(2026, 3, 1, tzinfo=UTC))
    assert [(c.credit_balance_id, t) for c, t in credits_to_apply(D("40.00"), [newer, spent, older])] == [
        ("crd_b", D("15.00")), ("crd_a", D("25.00"))]
    assert [(c.credit_balance_id, t) for c, t in credits_to_apply(D("10.00"), [newer, older])] == [
        ("crd_b", D("10.00"))]
    assert credits_to_apply(D("0.00"), [older]) == []
    same_time = [OpenCredit("crd_2", D("5.00"), t1), OpenCredit("crd_1", D("5.00"), t1)]
    assert [c.credit_balance_id for c, _ in credits_to_apply(D("7.00"), same_time)] == ["crd_1", "crd_2"]


def test_a_refund_never_exceeds_what_remains_of_its_own_accounts_credit() -> None:
    assert check_refund("PA-1", "PA-1", D("15.00"), D("15.00")) is None
    assert check_refund("PA-1", "PA-1", D("0.00"), D("0.01")) == "exceeds_remaining"
    assert check_refund("PA-1", "PA-1", D("10.00"), D("10.01")) == "exceeds_remaining"
    assert check_refund("PA-1", "PA-2", D("50.00"), D("5.00")) == "credit_of_another_account"
    assert check_refund("PA-1", None, D("0.00"), D("5.00")) == "unknown_credit"


cents = st.integers(0, 20_000).map(lambda c: D(c) / 100)
balances = st.lists(st.tuples(cents, st.integers(1, 28)), min_size=0, max_size=5).map(
    lambda xs: [OpenBalance(f"bal_{i}", f"enc_{i}", due, date(2026, 1, day)) for i, (due, day) in enumerate(xs)])


@settings(max_examples=60, deadline=None)
@given(amount=cents.map(lambda c: c + D("0.01")), open_=balances, pick=st.integers(0, 6), enc=st.integers(0, 6))
def test_every_cent_lands_once_and_the_references_come_first(amount: Decimal, open_: list[OpenBalance], pick: int,
                                                              enc: int) -> None:
    applied, left = apply_payment(amount, open_, f"enc_{enc}", balance_id=f"bal_{pick}")
    assert sum((t for _, t in applied), D(0)) + left == amount and left >= 0
    assert all(D(0) < t <= b.amount_due for b, t in applied)
    assert len({b.balance_id for b, _ in applied}) == len(applied)
    assert left == 0 or all(b.amount_due == t for b, t in applied)  # a credit only when everything is paid
    assert left == max(D(0), amount - sum((b.amount_due for b in open_), D(0)))
    preferred = [b for b in open_ if b.amount_due > 0 and b.balance_id == f"bal_{pick}"]
    if preferred:
        assert applied[0][0] == preferred[0]
    rest = [b for b, _ in applied if b.balance_id != f"bal_{pick}" and b.encounter_id != f"enc_{enc}"]
    assert rest == sorted(rest, key=lambda b: (b.created_on, b.balance_id))
