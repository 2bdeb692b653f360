"""The balance lines and events remits builds without validation (service/patient_payments.py:
every value is its own, already valid) are the ones validation would build: the same JSON, byte
for byte, and every value passes its contract. Over the books of test_balances' cases (a share
waiting for the next payer then taken over, a reversal and correction netting out, a protected
share cut, two charges) and amounts that net to a negative zero."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel

from services.remits.domain import books
from services.remits.domain.balances import PostedLine
from services.remits.domain.posting import ExpectedLine, PostedAmounts, Share
from services.remits.rows import BalanceRow
from services.remits.service import patient_payments

D = Decimal
AT = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
EXPECTED = {"chg_1": ExpectedLine("L1", "chg_1", "99213", date(2026, 3, 2), D("150.00"), D("98.00"), "Office visit"),
            "chg_2": ExpectedLine("L2", "chg_2", "87880", date(2026, 3, 2), D("50.00"), None, None)}


def _book(*answers: books.Answer, charge: str = "150.00", expected: tuple[int, ...] = (1,),
          protection: books.Protection | None = None) -> books.EncounterBook:
    family = books.Family("fam_1", D(charge), {1: "P1", 2: "P2"}, frozenset(expected), answers,
                          protection=protection)
    return books.encounter_book("enc_1", [family])


def _answer(rank: int, paid: str, share: Share, charge: str = "150.00") -> books.Answer:
    return books.Answer(rank, f"P{rank}", str(rank), PostedAmounts(
        D(charge), D(paid), share=share, contractual=D(charge) - D(paid) - share.total()))


PRIMARY = PostedLine("fam_1", "clm_1", 1, "chg_1", D("150.00"), D("58.00"), Share(deductible=D("40.00")))
CASES = [
    (_book(_answer(1, "58.00", Share(deductible=D("40.00"))), _answer(2, "30.00", Share(coinsurance=D("10.00"))),
           expected=(1, 2)),
     [PRIMARY, PostedLine("fam_1", "clm_1", 2, "chg_1", D("150.00"), D("30.00"), Share(coinsurance=D("10.00")))]),
    (_book(_answer(1, "68.00", Share(copay=D("30.00")))),
     [PRIMARY, PostedLine("fam_1", "clm_1", 1, "chg_1", D("-150.00"), D("-58.00"), Share(deductible=D("-40.00"))),
      PostedLine("fam_1", "clm_1", 1, "chg_1", D("150.00"), D("68.00"), Share(copay=D("30.00")))]),
    (_book(books.Answer(1, "P1", "1", PostedAmounts(D("200.00"), D("58.00"), contractual=D("72.00"), share=Share(
        deductible=D("50.00"), other=D("20.00")), share_of_cost=D("20.00"))), charge="200.00",
        protection=books.Protection("medicaid", D("15.00"))),
     [PRIMARY, PostedLine("fam_1", "clm_1", 1, "chg_2", D("50.00"), D("0.00"),
                          Share(deductible=D("10.00"), other=D("20.00")))]),
    (_book(_answer(1, "110.00", Share(copay=D("40.00")), charge="200.00"), charge="200.00"),
     [PostedLine("fam_1", "clm_1", 1, "chg_1", D("150.00"), D("60.00"), Share(copay=D("40.00"))),
      PostedLine("fam_1", "clm_1", 1, "chg_2", D("50.00"), D("50.00"), Share(copay=D("-0.00")))]),
]


def same_as_validated(model: BaseModel) -> None:
    validated = type(model).model_validate(model.model_dump())
    assert validated.model_dump_json() == model.model_dump_json()


@pytest.mark.parametrize(("book", "lines"), CASES)
def test_balance_lines_and_events_are_what_validation_builds(book: books.EncounterBook,
                                                              lines: list[PostedLine]) -> None:
    items, claim_ids = patient_payments._balance_lines(book, EXPECTED, lines, AT)
    assert items and claim_ids == ["clm_1"]
    for item in items:
        same_as_validated(item)
    total = sum((i.patient_responsibility for i in items), D("0.00"))
    row = BalanceRow(balance_id="bal_1", encounter_id="enc_1", patient_account_id="PA-1", claim_ids=tuple(claim_ids),
                     items=(), total=total, patient_paid=total - total - D("0.00"), written_off=D("-0.00"),
                     due_date=date(2026, 5, 8), revision=1, created_at=AT, updated_at=AT)
    writes = patient_payments._BalanceWrites([])
    writes.create(row, items, AT)
    writes.update(row, items, D("-0.00"), "remittance", AT)
    for event, *_ in writes.events:
        same_as_validated(event)
