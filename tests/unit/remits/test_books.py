"""The books across payers (domain/books.py): one receivable per claim family, each payer resolving
only what it was billed, hand-computed cases and a property over generated multi-payer answers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.remits.domain import books as b
from services.remits.domain import posting as p
from services.remits.domain.posting import PostedAmounts, Share
from tests.unit.remits.builders import adj, claim, line

D = Decimal
ZERO = D("0.00")
MEDICARE, MEDI_CAL, AETNA, TERTIARY = "01182", "610442", "60054", "TRI01"


def family(charge: str, *answers: b.Answer, payers: dict[int, str] | None = None, expected: tuple[int, ...] = (1,),
           **kw: object) -> b.Family:
    return b.Family("fam_1", D(charge), payers or {1: MEDICARE, 2: MEDI_CAL}, frozenset(expected), answers,
                    **kw)  # type: ignore[arg-type]


def answer(rank: int, payer: str, status: str, c: object, reversed_: bool = False) -> b.Answer:
    return b.Answer(rank, payer, status, p.amounts_of(c), reversed_)  # type: ignore[arg-type]


def card_closes(book: b.FamilyBook) -> bool:
    return book.charge == sum((x.resolved for x in book.payers), ZERO) + book.patient.total() + book.insurance_balance


# The crossover of issue 13: a 192.00 claim, Medicare pays nothing (CO-45 92.16, PR-1 99.84) and
# forwards it to Medi-Cal, which pays 78.72 with its CO-45 against the full charge (113.28).
MEDICARE_19 = claim("sub_1", "19", "192.00", "0.00",
                    line("192.00", "0.00", adj("CO", "45", "92.16"), adj("PR", "1", "99.84"), lcn="L1"))
MEDI_CAL_2 = claim("sub_1", "2", "192.00", "78.72", line("192.00", "78.72", adj("CO", "45", "113.28"), lcn="L1"))


def test_crossover_books_the_charge_once_and_the_patient_owes_nothing() -> None:
    book = b.family_book(family("192.00", answer(1, MEDICARE, "19", MEDICARE_19), answer(2, MEDI_CAL, "2", MEDI_CAL_2)))
    medicare, medi_cal = book.payers
    assert (medicare.paid, medicare.contractual, medicare.patient_responsibility, medicare.open) == (
        ZERO, D("92.16"), D("99.84"), ZERO)
    assert (medi_cal.billed, medi_cal.paid, medi_cal.contractual, medi_cal.open) == (
        D("99.84"), D("78.72"), D("21.12"), ZERO)
    assert medicare.contractual + medi_cal.contractual == D("113.28")
    assert book.patient.total() == ZERO and book.governing_rank == 2 and book.insurance_balance == ZERO
    assert card_closes(book)


def test_crossover_waits_for_the_next_payer_with_the_patient_share_as_its_receivable() -> None:
    book = b.family_book(family("192.00", answer(1, MEDICARE, "19", MEDICARE_19)))
    assert book.patient.total() == ZERO and book.governing_rank is None
    assert [(x.rank, x.payer_id, x.open) for x in book.payers] == [(1, MEDICARE, ZERO), (2, MEDI_CAL, D("99.84"))]
    assert card_closes(book)


def test_prior_payer_carc_23_is_not_posted_again() -> None:
    """The later payer shows the prior payer's impact as OA-23 on what the primary covered."""
    medi_cal = claim("sub_1", "2", "192.00", "78.72",
                     line("192.00", "78.72", adj("OA", "23", "92.16"), adj("CO", "45", "21.12"), lcn="L1"))
    book = b.family_book(family("192.00", answer(1, MEDICARE, "19", MEDICARE_19), answer(2, MEDI_CAL, "2", medi_cal)))
    assert [x.contractual for x in book.payers] == [D("92.16"), D("21.12")]
    assert sum((x.other_adjustments for x in book.payers), ZERO) == ZERO and card_closes(book)


def test_secondary_patient_responsibility_replaces_the_primary_one() -> None:
    primary = claim("sub_1", "1", "100.00", "64.00", line("100.00", "64.00", adj("CO", "45", "20.00"),
                                                          adj("PR", "2", "16.00"), lcn="L1"))
    secondary = claim("sub_2", "2", "100.00", "10.00", line("100.00", "10.00", adj("OA", "23", "64.00"),
                                                            adj("CO", "45", "20.00"), adj("PR", "3", "6.00"),
                                                            lcn="L1"))
    f = family("100.00", answer(1, AETNA, "1", primary), answer(2, MEDI_CAL, "2", secondary),
               payers={1: AETNA, 2: MEDI_CAL}, expected=(1, 2))
    book = b.family_book(f)
    assert book.patient == Share(copay=D("6.00")) and book.governing_rank == 2
    assert [(x.billed, x.paid, x.contractual, x.patient_responsibility) for x in book.payers] == [
        (D("100.00"), D("64.00"), D("20.00"), D("16.00")), (D("16.00"), D("10.00"), ZERO, D("6.00"))]
    assert card_closes(book)


def test_tertiary_resolves_what_the_secondary_left() -> None:
    primary = claim("s1", "1", "200.00", "120.00", line("200.00", "120.00", adj("CO", "45", "50.00"),
                                                        adj("PR", "1", "30.00"), lcn="L1"))
    secondary = claim("s2", "2", "200.00", "20.00", line("200.00", "20.00", adj("OA", "23", "170.00"),
                                                         adj("PR", "2", "10.00"), lcn="L1"))
    tertiary = claim("s3", "3", "200.00", "8.00", line("200.00", "8.00", adj("CO", "45", "192.00"), lcn="L1"))
    f = family("200.00", answer(1, AETNA, "1", primary), answer(2, MEDI_CAL, "2", secondary),
               answer(3, TERTIARY, "3", tertiary), payers={1: AETNA, 2: MEDI_CAL, 3: TERTIARY}, expected=(1, 2, 3))
    book = b.family_book(f)
    assert [(x.billed, x.paid, x.contractual) for x in book.payers] == [
        (D("200.00"), D("120.00"), D("50.00")), (D("30.00"), D("20.00"), ZERO), (D("10.00"), D("8.00"), D("2.00"))]
    assert book.patient.total() == ZERO and card_closes(book)


def test_secondary_co_denial_stays_open_with_the_secondary_and_the_patient_owes_nothing() -> None:
    denial = claim("sub_1", "4", "192.00", "0.00", line("192.00", "0.00", adj("CO", "197", "192.00"), lcn="L1"))
    book = b.family_book(family("192.00", answer(1, MEDICARE, "19", MEDICARE_19), answer(2, MEDI_CAL, "4", denial)))
    assert book.payers[1].denied_open == D("99.84") and book.patient.total() == ZERO and card_closes(book)


def test_operator_write_off_takes_the_open_denial() -> None:
    denial = claim("sub_1", "4", "192.00", "0.00", line("192.00", "0.00", adj("CO", "197", "192.00"), lcn="L1"))
    f = family("192.00", answer(1, MEDICARE, "19", MEDICARE_19), answer(2, MEDI_CAL, "4", denial),
               writeoffs=(b.InsuranceWriteOff(2, D("120.00"), "no_authorization"),))
    medi_cal = b.family_book(f).payers[1]
    assert (medi_cal.denied_open, medi_cal.other_adjustments) == (ZERO, D("99.84"))
    assert medi_cal.written_off == (("no_authorization", D("99.84")),)


def test_qmb_patient_is_never_billed_the_medicare_cost_share() -> None:
    f = family("192.00", answer(1, MEDICARE, "1", claim("sub_1", "1", "192.00", "0.00", *MEDICARE_19.service_lines)),
               protection=b.Protection("qmb"))
    book = b.family_book(f)
    assert book.patient.total() == ZERO and book.protection == "qmb"
    assert book.payers[0].contractual == D("192.00") and book.payers[0].protected == D("99.84") and card_closes(book)


def test_medicaid_share_of_cost_stays_with_the_patient_up_to_the_claims_amount() -> None:
    medi_cal = claim("sub_1", "1", "150.00", "40.00", line("150.00", "40.00", adj("CO", "45", "50.00"),
                                                           adj("PR", "178", "45.00"), adj("PR", "2", "15.00"),
                                                           lcn="L1"))
    f = family("150.00", answer(1, MEDI_CAL, "1", medi_cal), payers={1: MEDI_CAL},
               protection=b.Protection("medicaid", D("30.00")))
    book = b.family_book(f)
    assert book.patient == Share(other=D("30.00")) and book.payers[0].protected == D("30.00") and card_closes(book)


def test_primary_reversal_after_the_secondary_paid_reopens_the_primary_then_the_correction_closes_it() -> None:
    first = answer(1, MEDICARE, "19", MEDICARE_19, reversed_=True)
    back = b.Answer(1, MEDICARE, "22", p.amounts_of(MEDICARE_19).negated())
    paid = answer(2, MEDI_CAL, "2", MEDI_CAL_2)
    interim = b.family_book(family("192.00", first, paid, back))
    assert interim.insurance_balance == D("192.00") - D("78.72") and interim.patient.total() == ZERO
    assert card_closes(interim)
    corrected = claim("sub_1", "19", "192.00", "0.00",
                      line("192.00", "0.00", adj("CO", "45", "112.00"), adj("PR", "1", "80.00"), lcn="L1"))
    final = b.family_book(family("192.00", paid, back, answer(1, MEDICARE, "19", corrected), first))
    assert [x.contractual for x in final.payers] == [D("112.00"), D("1.28")] and final.insurance_balance == ZERO
    alone = b.family_book(family("192.00", answer(1, MEDICARE, "19", corrected), paid))
    assert final.payers == alone.payers and final.patient == alone.patient


def test_a_predetermination_is_no_answer() -> None:
    estimate = b.Answer(1, AETNA, "25", PostedAmounts(ZERO, ZERO))
    book = b.family_book(family("100.00", estimate, payers={1: AETNA}))
    assert not book.payers[0].answered and book.insurance_balance == D("100.00") and book.governing_rank is None


def test_recoupment_reopens_what_the_payer_took_back() -> None:
    primary = claim("s1", "1", "100.00", "80.00", line("100.00", "80.00", adj("CO", "45", "20.00"), lcn="L1"))
    book = b.family_book(family("100.00", answer(1, AETNA, "1", primary), payers={1: AETNA},
                                recouped={1: D("25.00")}))
    assert (book.payers[0].paid, book.payers[0].open) == (D("55.00"), D("25.00")) and card_closes(book)


def test_ledger_targets_balance_against_the_payer_cash() -> None:
    book = b.encounter_book("enc_1", [family("192.00", answer(1, MEDICARE, "19", MEDICARE_19),
                                             answer(2, MEDI_CAL, "2", MEDI_CAL_2))])
    t = b.targets(book)
    assert sum(t.values(), ZERO) == -D("78.72")
    assert t[b.BookKey(p.CONTRACTUAL, 2, MEDI_CAL)] == D("21.12") and t[b.BookKey(b.GROSS_CHARGES)] == -D("192.00")
    moves = b.delta(t, {b.BookKey(b.LEGACY_CLAIM_CHARGE, None, MEDICARE): D("-192.00")})
    assert dict(moves)[b.BookKey(b.LEGACY_CLAIM_CHARGE, None, MEDICARE)] == D("192.00")


def test_families_bill_the_latest_primary_submission_and_nothing_once_voided() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first = b.Submitted("s1", "c1", "f1", AETNA, 1, "1", D("100.00"), at, 2, MEDI_CAL)
    replaced = b.Submitted("s2", "c2", "f1", AETNA, 1, "7", D("120.00"), at.replace(day=2))
    fam, = b.families([first, replaced], [], [], [])
    assert fam.charge == D("120.00") and fam.payers == {1: AETNA, 2: MEDI_CAL} and fam.expected_ranks == {1, 2}
    void = b.Submitted("s3", "c3", "f1", AETNA, 1, "8", D("120.00"), at.replace(day=3))
    assert b.families([first, replaced, void], [], [], [])[0].charge == ZERO


cents = st.integers(0, 20_000).map(lambda n: (D(n) / 100).quantize(D("0.01")))


@st.composite
def amounts(draw: st.DrawFn) -> PostedAmounts:
    paid, contractual, denied, other, prior, ded, coins, copay, oth = (draw(cents) for _ in range(9))
    share = Share(ded, coins, copay, oth)
    charge = paid + contractual + denied + other + prior + share.total()
    return PostedAmounts(charge, paid, contractual, denied, other, prior, share, draw(st.sampled_from([ZERO, oth])))


@st.composite
def answers(draw: st.DrawFn) -> list[b.Answer]:
    out: list[b.Answer] = []
    for _ in range(draw(st.integers(0, 5))):
        rank = draw(st.integers(1, 3))
        a = b.Answer(rank, f"P{rank}", draw(st.sampled_from(["1", "2", "3", "4", "19", "20"])), draw(amounts()))
        out.append(a)
        if draw(st.booleans()):
            out[-1] = b.Answer(a.rank, a.payer_id, a.status, a.amounts, reversed=True)
            out.append(b.Answer(a.rank, a.payer_id, "22", a.amounts.negated()))
    return out


@settings(max_examples=300, deadline=None)
@given(charge=cents, given_answers=answers(), expected=st.sets(st.integers(1, 3), min_size=1),
       recouped=cents, writeoff=cents, order=st.randoms(use_true_random=False),
       protection=st.sampled_from([None, b.Protection("qmb"), b.Protection("medicaid", D("25.00"))]))
def test_every_family_book_closes_to_its_charge_in_any_order(
        charge: Decimal, given_answers: list[b.Answer], expected: set[int], recouped: Decimal, writeoff: Decimal,
        order: object, protection: b.Protection | None) -> None:
    f = b.Family("f", charge, {1: "P1", 2: "P2", 3: "P3"}, frozenset(expected), tuple(given_answers),
                 {1: recouped}, (b.InsuranceWriteOff(2, writeoff, "other"),), protection)
    book = b.family_book(f)
    assert card_closes(book)
    for x in book.payers:
        assert min(x.contractual, x.other_adjustments, x.denied_open, x.patient_responsibility) >= 0
    assert min(book.patient.deductible, book.patient.coinsurance, book.patient.copay, book.patient.other) >= 0
    shuffled = list(given_answers)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    assert b.family_book(b.Family("f", charge, f.payers, f.expected_ranks, tuple(shuffled), f.recouped,
                                  f.writeoffs, protection)) == book
    assert sum(b.targets(b.EncounterBook("e", (book,))).values(), ZERO) == -sum((x.paid for x in book.payers), ZERO)
