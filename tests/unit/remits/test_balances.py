"""Balance lines after the last payer, payment application, reconciliation, aging buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.remits.domain import books
from services.remits.domain.balances import (
    OpenBalance,
    PostedLine,
    WrittenOff,
    apply_payment,
    bucket,
    fit,
    items_for,
    reconcile,
    write_offs_given_back,
)
from services.remits.domain.posting import PostedAmounts, Share

D = Decimal


def _book(*answers: books.Answer, charge: str = "150.00", expected: tuple[int, ...] = (1,),
          protection: books.Protection | None = None) -> books.EncounterBook:
    family = books.Family("fam_1", D(charge), {1: "P1", 2: "P2"}, frozenset(expected), answers,
                          protection=protection)
    return books.encounter_book("enc_1", [family])


def _answer(rank: int, status: str, paid: str, share: Share, charge: str = "150.00") -> books.Answer:
    return books.Answer(rank, f"P{rank}", status, PostedAmounts(D(charge), D(paid), share=share,
                                                                contractual=D(charge) - D(paid) - share.total()))


PRIMARY = PostedLine("fam_1", "clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(deductible=D("40.00")))
SECONDARY = PostedLine("fam_1", "clm_1", 2, "chg_1", D("150.00"), D("30.00"), Share(coinsurance=D("10.00")))


def test_balance_lines_wait_for_the_next_payer_then_show_its_share() -> None:
    first = _answer(1, "1", "58.00", Share(deductible=D("40.00")))
    assert items_for(_book(first, expected=(1, 2)), [PRIMARY], {"chg_1": D("150.00")}) == []
    done = _book(first, _answer(2, "2", "30.00", Share(coinsurance=D("10.00"))), expected=(1, 2))
    items = items_for(done, [PRIMARY, SECONDARY], {"chg_1": D("150.00")})
    assert [(i.claim_id, i.patient_responsibility, i.insurance_paid, i.share.coinsurance) for i in items] == [
        ("clm_1", D("10.00"), D("88.00"), D("10.00"))]


def test_reversal_and_correction_net_out() -> None:
    lines = [PRIMARY, PostedLine("fam_1", "clm_1", 1, "chg_1", D("-150.00"), D("-58.00"),
                                 Share(deductible=D("-40.00"))),
             PostedLine("fam_1", "clm_1", 1, "chg_1", D("150.00"), D("68.00"), Share(copay=D("30.00")))]
    book = _book(_answer(1, "1", "68.00", Share(copay=D("30.00"))))
    item, = items_for(book, lines, {"chg_1": D("150.00")})
    assert (item.share, item.charge, item.adjustments) == (Share(copay=D("30.00")), D("150.00"), D("52.00"))


def test_protected_lines_are_cut_to_what_the_patient_owes() -> None:
    lines = [PRIMARY, PostedLine("fam_1", "clm_1", 1, "chg_2", D("50.00"), D("0.00"),
                                 Share(deductible=D("10.00"), other=D("20.00")))]
    share = Share(deductible=D("50.00"), other=D("20.00"))
    book = _book(_answer(1, "1", "58.00", share, charge="200.00"), charge="200.00",
                 protection=books.Protection("qmb"))
    assert items_for(book, lines, {"chg_1": D("150.00"), "chg_2": D("50.00")}) == []
    soc = _book(books.Answer(1, "P1", "1", PostedAmounts(D("200.00"), D("58.00"), contractual=D("72.00"),
                                                         share=share, share_of_cost=D("20.00"))),
                charge="200.00", protection=books.Protection("medicaid", D("15.00")))
    items = items_for(soc, lines, {"chg_1": D("150.00"), "chg_2": D("50.00")})
    assert [(i.charge_id, i.share) for i in items] == [("chg_1", Share()), ("chg_2", Share(other=D("15.00")))]


def test_fit_cuts_from_the_last_value_and_puts_a_shortfall_on_the_first() -> None:
    assert fit([D("5.00"), D("7.00")], D("9.00")) == [D("5.00"), D("4.00")]
    assert fit([D("5.00"), D("7.00")], D("14.00")) == [D("7.00"), D("7.00")]
    assert fit([D("-1.00"), D("3.00")], D("3.00")) == [D("0.00"), D("3.00")]


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
