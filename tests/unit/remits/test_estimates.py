"""Patient estimates against the 835s (pure): which payer's patient responsibility an estimate is
compared with, when it waits, and the report's totals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from services.remits.domain.books import Answer, Family, encounter_book
from services.remits.domain.estimates import Estimate, compare, report
from services.remits.domain.posting import PostedAmounts, Share

D = Decimal
AETNA, MEDI_CAL, PART_A = "60054", "610442", "SAMPLEPARTA"


def estimate(encounter: str = "enc_1", total: str = "52.00", payer: str = AETNA, rank: int = 1) -> Estimate:
    return Estimate(encounter, f"est_{encounter}", "PA-1", rank, payer, date(2026, 3, 2), D(total), D(total),
                    D("0.00"), D("0.00"), True, datetime(2026, 3, 3, 9, tzinfo=UTC))


def family(family_id: str, payer: str, charge: str, *answers: tuple[str, str, str], next_payer: str | None = None
           ) -> Family:
    """A family billed to `payer` at rank 1 (and `next_payer` at 2); answers are (status, paid, deductible)."""
    payers = {1: payer} | ({2: next_payer} if next_payer else {})
    return Family(family_id, D(charge), payers, frozenset(payers), tuple(
        Answer(1, payer, status, PostedAmounts(D(charge), D(paid), D(charge) - D(paid) - D(ded), share=Share(D(ded))))
        for status, paid, ded in answers))


def test_compared_with_what_the_estimates_payer_left_to_the_patient() -> None:
    book = encounter_book("enc_1", [family("fam_a", AETNA, "185.00", ("1", "62.50", "52.00")),
                                    family("fam_b", AETNA, "40.00", ("1", "20.00", "5.50"))])
    c = compare(estimate(), book)
    assert (c.state, c.posted, c.difference) == ("adjudicated", D("57.50"), D("5.50"))


def test_it_waits_until_the_payer_answered_every_claim_it_was_billed() -> None:
    book = encounter_book("enc_1", [family("fam_a", AETNA, "185.00", ("1", "62.50", "52.00")),
                                    family("fam_b", AETNA, "40.00")])
    assert compare(estimate(), book).state == "waiting"
    assert compare(estimate(), None).posted is None


def test_another_payers_answer_is_not_the_estimates() -> None:
    # The hospital's claim went to the facility payer (Part A): the estimate was Aetna's.
    book = encounter_book("enc_1", [family("fam_h", PART_A, "900.00", ("1", "500.00", "400.00"))])
    assert compare(estimate(), book).state == "waiting"
    # The primary's own patient responsibility counts even when a secondary takes it over.
    crossed = encounter_book("enc_1", [family("fam_a", AETNA, "185.00", ("19", "62.50", "52.00"),
                                              next_payer=MEDI_CAL)])
    assert compare(estimate(), crossed).posted == D("52.00")


def test_report_totals() -> None:
    books = {"enc_1": encounter_book("enc_1", [family("fam_1", AETNA, "185.00", ("1", "62.50", "52.00"))]),
             "enc_2": encounter_book("enc_2", [family("fam_2", AETNA, "185.00", ("1", "40.00", "74.50"))])}
    done = report([estimate("enc_3", "10.00"), estimate("enc_2", "60.00"), estimate("enc_1")], books)
    assert [c.estimate.encounter_id for c in done.adjudicated] == ["enc_1", "enc_2"]
    assert [c.estimate.encounter_id for c in done.waiting] == ["enc_3"]
    assert done.totals() == {"adjudicated": 2, "waiting": 1, "exact": 1, "estimated": "112.00",
                             "posted": "126.50", "difference": "14.50"}
    assert done.to_json()["waiting"][0]["difference"] is None
