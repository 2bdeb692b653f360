"""The demo summary folds events into counts and money that reconcile, from the contracts' examples."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from cli.lifecycle import Lifecycle, books_summary
from tests.support.testsvc import example


def payload(event_type: str, **overrides: object) -> dict[str, Any]:
    return json.loads(example(event_type, **overrides).model_dump_json())


def test_paid_claim_reconciles_to_its_charge() -> None:
    life = Lifecycle()
    posted = payload("rcm.remittances.ClaimPaymentPosted.v1")
    life.apply("ClaimPaymentPosted", posted)
    assert life.counts["ClaimPaymentPosted"] == 1
    assert life.paid == Decimal(str(posted["total_paid"]))
    # The 835 balances: charge = paid + CO + PR + other, so the summary's buckets add back up.
    assert life.rank(1).accounted == Decimal(str(posted["total_charge"]))


def test_reversal_takes_the_payment_back() -> None:
    life = Lifecycle()
    reversed_ = payload("rcm.remittances.ClaimPaymentReversed.v1")
    life.apply("ClaimPaymentReversed", reversed_)
    assert life.paid == Decimal(str(reversed_["total_paid"])) < 0
    assert life.rank(1).accounted == Decimal(str(reversed_["total_charge"]))


def test_denial_stays_open_and_is_not_a_write_off() -> None:
    life = Lifecycle()
    denied = payload("rcm.remittances.ClaimDenied.v1") | {"denial_scope": "claim"}
    life.apply("ClaimDenied", denied)
    open_co = sum((Decimal(str(d["amount"])) for d in denied["denials"] if d["group"] == "CO"), Decimal(0))
    assert life.rank(1).denied_open == open_co
    assert life.rank(1).accounted == Decimal(str(denied["total_charge"]))


def test_balances_track_the_latest_amount_due_per_balance() -> None:
    life = Lifecycle()
    created = payload("rcm.patient-balances.PatientBalanceCreated.v1")
    life.apply("PatientBalanceCreated", created)
    assert life.open_patient_balances == Decimal(str(created["amount_due"]))
    life.apply("PatientPaymentPosted", payload("rcm.patient-balances.PatientPaymentPosted.v1"))
    assert life.patient_paid > 0


def test_secondary_claims_are_accounted_apart_from_primary_ones() -> None:
    life = Lifecycle()
    submitted = payload("rcm.claims.ClaimSubmitted.v1")
    life.apply("ClaimSubmitted", submitted | {"coverage_rank": 2, "claim_id": "clm_secondary"})
    life.apply("ClaimPaymentPosted", payload("rcm.remittances.ClaimPaymentPosted.v1") | {"claim_id": "clm_secondary"})
    assert life.rank(2).billed == Decimal(str(submitted["total_charge"])) and life.rank(2).paid > 0
    assert 1 not in life.by_rank


def test_a_line_denial_beside_its_payment_is_counted_once() -> None:
    life = Lifecycle()
    posted = payload("rcm.remittances.ClaimPaymentPosted.v1")
    life.apply("ClaimPaymentPosted", posted)
    life.apply("ClaimDenied", payload("rcm.remittances.ClaimDenied.v1") | {"denial_scope": "line"})
    assert life.rank(1).charged_on_835s == Decimal(str(posted["total_charge"]))
    assert life.rank(1).accounted == Decimal(str(posted["total_charge"]))


def test_a_crossover_835_counts_for_the_next_payer_which_the_primary_billed_for_us() -> None:
    life = Lifecycle()
    submitted = payload("rcm.claims.ClaimSubmitted.v1")
    life.apply("ClaimSubmitted", submitted)
    primary = payload("rcm.remittances.ClaimPaymentPosted.v1") | {"claim_status": "19"}
    crossover = primary | {"claim_status": "2", "payer": {"payer_id": "610442", "payer_name": "Medi-Cal"}}
    life.apply("ClaimPaymentPosted", primary)
    life.apply("ClaimPaymentPosted", crossover)
    life.apply("ClaimPaymentPosted", crossover)  # a second crossover 835 for the claim bills nothing more
    charge = Decimal(str(submitted["total_charge"]))
    assert life.rank(1).billed == charge and life.rank(1).charged_on_835s == Decimal(str(primary["total_charge"]))
    assert life.rank(2).billed == charge and life.rank(2).paid == 2 * Decimal(str(crossover["total_paid"]))


def test_billed_tells_apart_what_was_rejected_and_follows_a_replacement() -> None:
    life = Lifecycle()
    submitted = payload("rcm.claims.ClaimSubmitted.v1")
    charge = Decimal(str(submitted["total_charge"]))
    life.apply("ClaimSubmitted", submitted)
    life.apply("ClaimRejected", payload("rcm.claims.ClaimRejected.v1"))
    assert life.rank(1).billed == charge and life.rejected(1) == charge
    life.apply("ClaimSubmitted", submitted | {"submission_id": "S2"})  # fixed, sent again: billed once
    assert life.rank(1).billed == charge and life.rejected(1) == 0
    posted = payload("rcm.remittances.ClaimPaymentPosted.v1")
    life.apply("ClaimPaymentPosted", posted)
    # A replacement for 150.00: the payer reverses the original and pays the replacement.
    replacement = submitted | {"claim_id": "clm_repl", "submission_id": "S3", "frequency": "7",
                               "total_charge": "150.00"}
    life.apply("ClaimSubmitted", replacement)
    life.apply("ClaimPaymentReversed", payload("rcm.remittances.ClaimPaymentReversed.v1"))
    life.apply("ClaimPaymentPosted", posted | {"claim_id": "clm_repl", "total_charge": "150.00"})
    assert life.rank(1).billed == Decimal("150.00") == life.rank(1).charged_on_835s


def _card(state: str, charge: str, payers: list[tuple[int, str, str, str, str]], patient: str, insurance: str,
          protected: str | None = None) -> dict[str, Any]:
    return {"state": state, "charge": charge, "patient_responsibility": patient, "insurance_balance": insurance,
            "patient_paid": "0.00", "patient_writeoffs": "0.00", "patient_balance": patient,
            "payers": [{"rank": r, "paid": p, "contractual": c, "other_adjustments": o, "denied_open": d}
                       for r, p, c, o, d in payers],
            "cost_share_protection": [{"reason": "qmb", "written_off": protected}] if protected else []}


def test_the_books_of_a_run_total_its_cards_and_close_to_the_charge() -> None:
    cards = [_card("closed", "192.00", [(1, "0.00", "92.16", "0.00", "0.00"), (2, "78.72", "21.12", "0.00", "0.00")],
                   "0.00", "0.00"),
             _card("waiting_for_payer", "100.00", [(1, "60.00", "20.00", "0.00", "0.00")], "0.00", "20.00"),
             _card("patient_due", "50.00", [(1, "0.00", "40.00", "0.00", "0.00")], "10.00", "0.00", "5.00")]
    books = books_summary(cards)
    assert books["closes"] and books["charge"] == Decimal("342.00") and books["contractual"] == Decimal("173.28")
    assert books["states"] == {"closed": 1, "patient_due": 1, "waiting_for_payer": 1}
    assert books["by_rank"][2] == {"paid": Decimal("78.72"), "contractual": Decimal("21.12"),
                                   "other_adjustments": Decimal("0.00"), "denied_open": Decimal("0.00")}
    assert books["cost_share_protected"] == Decimal("5.00") and books["insurance_balance"] == Decimal("20.00")
    cards[0]["payers"][0]["contractual"] = "92.17"
    assert not books_summary(cards)["closes"]
