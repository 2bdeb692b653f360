"""What a 277 claim status answer means for a claim (domain/claim_status.py): the decision table
per STC category code, the next dates, and the bounds on automatic 276s."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from edi.x277 import outcome_of_category as outcome_of
from services.claims.domain.claim_status import (
    StatusAnswer,
    StatusLine,
    StatusPolicy,
    decide,
    deciding_status,
    may_ask,
)

TODAY = date(2026, 4, 20)
POLICY = StatusPolicy(recheck_days=14, resubmit_wait_days=7, max_asks=3, min_interval_days=7)


def answer(*codes: str) -> StatusAnswer:
    return StatusAnswer("csr_1", "S1", "PCN1", tuple(
        StatusLine(c.split(":")[0], c.split(":")[1], paid_amount=Decimal("141.20") if c.startswith("F1") else None)
        for c in codes))


@pytest.mark.parametrize(("category", "outcome"), [
    ("F1", "finalized_paid"), ("F2", "finalized_denied"), ("F0", "finalized_other"), ("F3", "finalized_other"),
    ("F3F", "finalized_other"), ("F4", "finalized_other"),
    ("P0", "pending"), ("P1", "pending"), ("P2", "pending"), ("P3", "pending"), ("P4", "pending"), ("P5", "pending"),
    ("A0", "pending"), ("A1", "pending"), ("A2", "pending"), ("A5", "pending"),
    ("E0", "pending"), ("E1", "pending"), ("E2", "pending"), ("E4", "pending"),
    ("A3", "rejected"), ("A6", "rejected"), ("A7", "rejected"), ("A8", "rejected"), ("E3", "rejected"),
    ("R0", "rejected"), ("R4", "rejected"), ("R16", "rejected"),
    ("A4", "not_found"), ("D0", "not_found"),
    ("ZZ", "pending"), (" f1 ", "finalized_paid"),
])
def test_each_category_code_has_its_outcome(category: str, outcome: str) -> None:
    assert outcome_of(category) == outcome


@pytest.mark.parametrize(("codes", "outcome", "action", "next_on", "work_item"), [
    (("F1:65",), "finalized_paid", "era_missing", None, "era_missing"),
    (("F2:88",), "finalized_denied", "era_missing", None, "era_missing"),
    (("F4:20",), "finalized_other", "era_missing", None, "era_missing"),
    (("P1:20",), "pending", "follow_up_scheduled", date(2026, 5, 4), None),
    (("A2:20",), "pending", "follow_up_scheduled", date(2026, 5, 4), None),
    (("A7:21",), "rejected", "none", None, "status_rejected"),
    (("R4:252",), "rejected", "none", None, "status_rejected"),
    (("A4:35",), "not_found", "resubmit_scheduled", date(2026, 4, 27), None),
    (("D0:35",), "not_found", "resubmit_scheduled", date(2026, 4, 27), None),
])
def test_an_answer_about_a_claim_with_no_835(codes: tuple[str, ...], outcome: str, action: str,
                                              next_on: date | None, work_item: str | None) -> None:
    d = decide(answer(*codes), awaiting_835=True, asks_left=True, today=TODAY, policy=POLICY)
    assert (d.outcome, d.action, d.next_check_on, d.work_item) == (outcome, action, next_on, work_item)
    assert f"{d.status.category_code}:{d.status.status_code}" == codes[0]


@pytest.mark.parametrize("codes", [("F1:65",), ("A4:35",), ("P1:20",), ("A7:21",)])
def test_an_answer_after_the_835_or_about_an_older_submission_is_history_only(codes: tuple[str, ...]) -> None:
    d = decide(answer(*codes), awaiting_835=False, asks_left=True, today=TODAY, policy=POLICY)
    assert (d.action, d.next_check_on, d.work_item) == ("none", None, None)


def test_a_pending_answer_is_not_asked_again_once_the_asks_are_spent() -> None:
    d = decide(answer("P1:20"), awaiting_835=True, asks_left=False, today=TODAY, policy=POLICY)
    assert (d.outcome, d.action, d.next_check_on) == ("pending", "none", None)
    found = decide(answer("A4:35"), awaiting_835=True, asks_left=False, today=TODAY, policy=POLICY)
    assert found.action == "resubmit_scheduled"  # a resubmission is not an ask


def test_the_strongest_stc_decides() -> None:
    assert deciding_status(answer("P1:20", "F1:65").statuses).category_code == "F1"
    assert deciding_status(answer("P1:20", "A7:21").statuses).category_code == "A7"
    # A contradicting "not found" never resubmits a claim another STC says is in process.
    assert deciding_status(answer("A4:35", "P1:20").statuses).category_code == "P1"
    assert deciding_status(answer("P1:20", "P3:15").statuses).category_code == "P1"
    with pytest.raises(ValueError, match="at least one STC"):
        deciding_status(())


def test_era_missing_keeps_the_payment_the_277_reports() -> None:
    d = decide(answer("F1:65"), awaiting_835=True, asks_left=True, today=TODAY, policy=POLICY)
    assert d.status.paid_amount == Decimal("141.20")


@pytest.mark.parametrize(("asks", "last", "allowed"), [
    (0, None, True),
    (2, date(2026, 4, 13), True),   # exactly the minimum interval
    (2, date(2026, 4, 14), False),  # six days ago
    (3, date(2026, 1, 1), False),   # the submission's asks are spent
])
def test_automatic_asks_are_bounded(asks: int, last: date | None, allowed: bool) -> None:
    assert may_ask(asks, last, TODAY, POLICY) is allowed
