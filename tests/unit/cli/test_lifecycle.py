"""The demo summary folds events into counts and money that reconcile, from the contracts' examples."""

from __future__ import annotations

import json
from decimal import Decimal

from cli.lifecycle import Lifecycle
from tests.support.testsvc import example


def payload(event_type: str, **overrides: object) -> dict[str, object]:
    return json.loads(example(event_type, **overrides).model_dump_json())


def test_paid_claim_reconciles_to_its_charge() -> None:
    life = Lifecycle()
    posted = payload("rcm.remittances.ClaimPaymentPosted.v1")
    life.apply("ClaimPaymentPosted", posted)
    assert life.counts["ClaimPaymentPosted"] == 1
    assert life.paid == Decimal(str(posted["total_paid"]))
    # The 835 balances: charge = paid + CO + PR + other, so the summary's buckets add back up.
    assert life.adjudicated == Decimal(str(posted["total_charge"]))


def test_reversal_takes_the_payment_back() -> None:
    life = Lifecycle()
    reversed_ = payload("rcm.remittances.ClaimPaymentReversed.v1")
    life.apply("ClaimPaymentReversed", reversed_)
    assert life.paid == Decimal(str(reversed_["total_paid"])) < 0
    assert life.adjudicated == Decimal(str(reversed_["total_charge"]))


def test_denial_stays_open_and_is_not_a_write_off() -> None:
    life = Lifecycle()
    denied = payload("rcm.remittances.ClaimDenied.v1")
    life.apply("ClaimDenied", denied)
    open_co = sum(Decimal(str(d["amount"])) for d in denied["denials"] if d["group"] == "CO")
    assert life.denied_open == open_co
    assert life.adjudicated == Decimal(str(denied["total_charge"]))


def test_balances_track_the_latest_amount_due_per_balance() -> None:
    life = Lifecycle()
    created = payload("rcm.patient-balances.PatientBalanceCreated.v1")
    life.apply("PatientBalanceCreated", created)
    assert life.open_patient_balances == Decimal(str(created["amount_due"]))
    life.apply("PatientPaymentPosted", payload("rcm.patient-balances.PatientPaymentPosted.v1"))
    assert life.patient_paid > 0
