"""KPI formulas on a hand-computed book (10 claims, known denials, known days) and on empty books."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.remits.domain.kpis import (
    Adjudication,
    Book,
    Collections,
    DenialLine,
    Kpi,
    Period,
    Receivables,
    Submission,
    clean_claims,
    compute,
    first_adjudications,
    gross_charges,
    last_days,
)

D = Decimal
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))


def sub(n: int, day: date, charge: str = "200.00", *, frequency: str = "1", rank: int = 1,
        claim: str | None = None) -> Submission:
    return Submission(claim or f"C{n}", f"F{n}", rank, frequency, D(charge), day)


def adj(n: int | str, day: date, paid: str, *denials: DenialLine, status: str = "1", pr: str = "0.00") -> Adjudication:
    return Adjudication(n if isinstance(n, str) else f"C{n}", status, day, D(paid), D(pr), denials)


def denial(category: str, amount: str, scope: str = "claim") -> DenialLine:
    return DenialLine(category, scope, D(amount))


# The book. Families F1-F8 first submitted in April at 200.00 (1,600.00); F9, F10 in March at
# 150.00 (300.00); F11 in January, outside the 90 days ending April 30 (2026-01-31..04-30).
# F3 and F5 were rejected and sent again as new originals; F4 was replaced after adjudication
# (frequency 7) and F2 has a secondary claim: neither counts a charge twice nor makes F4 unclean.
SUBMISSIONS = [
    *(sub(n, date(2026, 4, n)) for n in range(1, 9)),
    sub(3, date(2026, 4, 6), claim="C3"), sub(5, date(2026, 4, 9), claim="C5"),
    sub(4, date(2026, 4, 20), frequency="7"), sub(2, date(2026, 4, 21), "200.00", rank=2, claim="C2S"),
    sub(9, date(2026, 3, 10), "150.00"), sub(10, date(2026, 3, 12), "150.00"),
    sub(11, date(2026, 1, 15), "500.00"),
]
# In posting order. C9's first adjudication was in March (out of the period, whatever follows);
# C6 had a predetermination (25) first; C8 is not adjudicated yet.
ADJUDICATIONS = [
    adj(9, date(2026, 3, 20), "100.00"),
    adj(10, date(2026, 4, 2), "100.00"),
    adj(9, date(2026, 4, 5), "-100.00", status="22"),
    adj(9, date(2026, 4, 5), "90.00"),
    adj(1, date(2026, 4, 10), "120.00"),
    adj(2, date(2026, 4, 10), "100.00", status="19"),
    adj(3, date(2026, 4, 12), "0.00", denial("eligibility", "200.00")),
    adj(4, date(2026, 4, 12), "80.00", denial("bundling", "35.00", "line")),
    adj(5, date(2026, 4, 15), "0.00", pr="130.00"),  # deductible only: not a denial, paid first pass
    adj(6, date(2026, 4, 15), "0.00", status="25"),
    adj(7, date(2026, 4, 18), "0.00", denial("eligibility", "100.00"), denial("coding", "100.00")),
    adj(6, date(2026, 4, 25), "90.00"),
    adj(4, date(2026, 4, 26), "35.00"),  # after appeal: still a first-pass denial
]
BOOK = Book(SUBMISSIONS, ADJUDICATIONS, Collections(D("880.00"), D("110.00"), D("500.00")),
            Receivables(D("600.00"), D("233.30")))


def by_key(kpis: list[Kpi]) -> dict[str, Kpi]:
    return {k.key: k for k in kpis}


def test_the_hand_computed_book() -> None:
    report = compute(BOOK, APRIL)
    k = by_key(report.kpis)
    # 8 families first sent in April, F3 and F5 sent again: 6 / 8.
    assert (k["clean_claim_rate"].numerator, k["clean_claim_rate"].denominator) == (D(6), D(8))
    assert k["clean_claim_rate"].value == D("0.7500")
    # First adjudicated in April: C10, C1, C2, C3, C4, C5, C6 (its 25 does not count), C7 = 8.
    # Denied on that first pass: C3, C4 (a line), C7 = 3.
    assert (k["initial_denial_rate"].numerator, k["initial_denial_rate"].denominator) == (D(3), D(8))
    assert k["initial_denial_rate"].value == D("0.3750")
    # Paid first pass: C10, C1, C2 (forwarded), C5 (all to the deductible), C6 = 5.
    assert (k["first_pass_payment_rate"].numerator, k["first_pass_payment_rate"].value) == (D(5), D("0.6250"))
    # Gross charges in the 90 days ending April 30: 1,600 + 300 = 1,900; per day 21.11;
    # A/R 600.00 + 233.30 = 833.30; 833.30 / 21.11 = 39.47... days.
    days = k["days_in_ar"]
    assert (days.numerator, days.denominator, days.value, days.unit) == (D("833.30"), D("21.11"), D("39.5"), "days")
    # (880 + 110) / (1,600 - 500) = 0.9.
    net = k["net_collection_rate"]
    assert (net.numerator, net.denominator, net.value) == (D("990.00"), D("1100.00"), D("0.9000"))
    assert [(c.category, c.claims, c.lines, c.amount, c.rate.value) for c in report.denials_by_category] == [
        ("bundling", 1, 1, D("35.00"), D("0.1250")),
        ("coding", 1, 1, D("100.00"), D("0.1250")),
        ("eligibility", 2, 2, D("300.00"), D("0.2500")),
    ]
    assert all(kpi.definition and kpi.source and kpi.reason is None for kpi in report.kpis)
    assert k["initial_denial_rate"].shown() == "37.50%" and days.shown() == "39.5 days"


def test_the_pieces() -> None:
    assert gross_charges(SUBMISSIONS, last_days(APRIL.end)) == D("1900.00")
    assert gross_charges(SUBMISSIONS, APRIL) == D("1600.00")
    assert last_days(date(2026, 4, 30)) == Period(date(2026, 1, 31), date(2026, 4, 30))
    assert last_days(date(2026, 4, 30)).days == 90 and APRIL.days == 30
    assert clean_claims(SUBMISSIONS, Period(date(2026, 3, 1), date(2026, 3, 31))) == (2, 2)
    assert [a.claim_id for a in first_adjudications(ADJUDICATIONS, Period(date(2026, 3, 1), date(2026, 3, 31)))] == [
        "C9"]
    with pytest.raises(ValueError):
        Period(date(2026, 4, 2), date(2026, 4, 1))


def test_an_empty_book_is_all_n_a_with_reasons() -> None:
    report = compute(Book(), APRIL)
    assert report.denials_by_category == []
    k = by_key(report.kpis)
    assert all(kpi.value is None and kpi.reason for kpi in report.kpis)
    assert k["clean_claim_rate"].reason == "no claim family first submitted in the period"
    assert k["initial_denial_rate"].reason == k["first_pass_payment_rate"].reason == (
        "no claim first adjudicated in the period")
    assert k["days_in_ar"].reason == "no gross charges submitted 2026-01-31..2026-04-30"
    assert k["net_collection_rate"].reason == "no gross charges first submitted in the period"
    assert k["days_in_ar"].shown().startswith("n/a (")


def test_charges_wholly_written_off_and_tiny_charges() -> None:
    book = Book([sub(1, date(2026, 4, 1), "0.40")], collections=Collections(contractual=D("0.40")),
                receivables=Receivables(D("0.40")))
    k = by_key(compute(book, APRIL).kpis)
    assert k["net_collection_rate"].reason == "charges less contractual adjustments is not positive"
    assert k["days_in_ar"].reason == "average daily gross charges round to 0.00"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 60), st.sampled_from(["1", "7", "8"])), max_size=12),
       st.lists(st.tuples(st.integers(1, 6), st.integers(0, 60), st.sampled_from(["1", "4", "19", "22", "25"]),
                          st.booleans()), max_size=12))
def test_rates_stay_between_zero_and_one(subs: list[tuple[int, int, str]],
                                         adjs: list[tuple[int, int, str, bool]]) -> None:
    start = date(2026, 3, 1)
    book = Book([sub(n, start + timedelta(days=d), frequency=f) for n, d, f in subs],
                [adj(n, start + timedelta(days=d), "10.00", *((denial("coding", "5.00"),) if denied else ()),
                     status=s) for n, d, s, denied in adjs])
    report = compute(book, Period(date(2026, 3, 15), date(2026, 4, 15)))
    for kpi in report.kpis + [c.rate for c in report.denials_by_category]:
        if kpi.unit == "ratio" and kpi.key != "net_collection_rate":
            assert 0 <= kpi.numerator <= kpi.denominator
            assert kpi.value is None or D(0) <= kpi.value <= D(1)
