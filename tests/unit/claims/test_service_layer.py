"""The claims use cases against an in-memory store (no Kafka, no Postgres): what each event does to
a claim, which events it emits in which order, what it refuses. The same paths run against the
real broker and database in tests/integration/test_claims_flow.py."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from schemas import claims as ev
from schemas import remits as rm
from schemas.common import PayerRef
from schemas.registry import spec_for_model
from services.claims.domain.claim import Claim
from services.claims.domain.model import ClaimDraft
from services.claims.domain.states import IllegalTransition
from services.claims.service import acknowledgments, adjudication, corrections, follow_up
from services.claims.service.scrubbing import create_claim
from services.claims.service.transitions import Refused, move
from tests.support.testsvc import example
from tests.unit.claims.factory import charge, draft
from tests.unit.claims.fake_store import NOW, FakeClaimsStore

M = TypeVar("M", bound=BaseModel)
EXAMPLE_IDS = {"clm_01JNQ9A4XK": "claim_id", "clf_01JNQ9A4XK": "claim_family_id", "S01JNQ9A4XK7": "submission_id"}
INTERCHANGE = ev.InterchangeControl(interchange_control_number="000000001", group_control_number="1",
                                    transaction_set_control_number="0001", file_name="837P_000000001.x12")


def remit(model: type[M], claim: Claim, **overrides: Any) -> M:
    """The contract's example, about `claim` (its ids, its submission's line control numbers)."""
    text = example(spec_for_model(model).type).model_dump_json()
    for old, field in EXAMPLE_IDS.items():
        text = text.replace(old, str(getattr(claim, field)))
    data = {**json.loads(text), "encounter_id": claim.encounter_id, **overrides}
    return model.model_validate_json(json.dumps(data, default=str))


def clean_draft() -> ClaimDraft:
    """The contracts' example visit (185.00 over two lines, as the example remittance answers it),
    with the modifier that lets the strep test be billed beside the visit (NCCI)."""
    return draft(charge(1, modifiers=["25"], diagnosis_codes=["J020", "R509"]),
                 charge(2, "87880", modifiers=["QW", "59"], amount=Decimal("35.00")))


async def submitted_claim(db: FakeClaimsStore) -> Claim:
    claim = await create_claim(db, clean_draft(), origin="original", family_id="clf_1", revision=1, now=NOW)
    assert claim.state == "ready" and claim.submission_id is not None
    assert await move(db, claim, NOW, partial(claim.submit, INTERCHANGE, None, 30, NOW))
    db.events.clear()
    return claim


async def test_a_new_claim_is_recorded_with_its_history_and_queued() -> None:
    db = FakeClaimsStore()
    claim = await create_claim(db, clean_draft(), origin="original", family_id="clf_1", revision=1, now=NOW)
    stored = db.stored(claim.claim_id)
    assert (stored.state, stored.frequency, stored.total_charge) == ("ready", "1", Decimal("185.00"))
    assert db.event_types() == ["ClaimCreated"]
    assert [(h.trigger, h.from_state, h.to_state) for h in db.entries] == [
        ("create", None, "created"), ("scrub_pass", "created", "ready")]
    assert [s.submission_id for s in db.submissions.values()] == [stored.submission_id]


async def test_payment_bills_the_secondary_with_the_primary_s_adjudication_then_closes() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_payment_posted(db, remit(rm.ClaimPaymentPosted, claim), NOW)
    assert db.event_types() == ["ClaimAdjudicated", "ClaimCreated", "ClaimClosed"]
    paid, created, closed = db.events
    assert isinstance(paid, ev.ClaimAdjudicated) and paid.outcome == "paid" and paid.total_paid == Decimal("74.50")
    assert isinstance(created, ev.ClaimCreated) and created.origin == "secondary"
    assert created.coverage_rank == 2 and created.origin_claim_id == claim.claim_id
    assert isinstance(closed, ev.ClaimClosed) and closed.resolution == "paid_with_patient_balance"
    primary = db.stored(claim.claim_id)
    assert (primary.state, primary.total_paid, primary.payer_claim_control_number) == (
        "closed", Decimal("74.50"), "2026061000123")
    secondary = db.stored(created.claim_id)
    assert (secondary.state, secondary.payer_id, secondary.claim_family_id) == ("ready", "610442", "clf_1")
    assert [p.paid for p in secondary.draft.prior_payers] == [Decimal("74.50")]


async def test_a_crossover_forwards_without_a_claim_of_ours_and_the_second_payment_closes() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_payment_posted(db, remit(rm.ClaimPaymentPosted, claim, claim_status="19"), NOW)
    forwarded = db.events[-1]
    assert isinstance(forwarded, ev.ClaimForwarded)
    assert (forwarded.to_payer_name, forwarded.to_coverage_rank) == ("Medi-Cal", 2)
    assert db.stored(claim.claim_id).state == "forwarded"
    await adjudication.on_payment_posted(db, remit(rm.ClaimPaymentPosted, claim, total_paid="74.50"), NOW)
    assert db.event_types() == ["ClaimForwarded", "ClaimAdjudicated", "ClaimClosed"]
    assert len(db.claims) == 1  # the payer billed the next payer itself
    assert db.stored(claim.claim_id).total_paid == Decimal("149.00")


async def test_a_payment_the_state_does_not_allow_is_refused_and_recorded() -> None:
    db = FakeClaimsStore()
    claim = await create_claim(db, clean_draft(), origin="original", family_id="clf_1", revision=1, now=NOW)
    db.events.clear()
    await adjudication.on_payment_posted(db, remit(rm.ClaimPaymentPosted, claim), NOW)
    assert db.events == []
    assert (db.entries[-1].trigger, db.entries[-1].refused, db.entries[-1].from_state) == ("pay", True, "ready")
    stored = db.stored(claim.claim_id)
    assert (stored.state, stored.total_paid, stored.adjudication) == ("ready", Decimal("0.00"), None)


def test_the_aggregate_changes_nothing_when_the_table_refuses() -> None:
    claim = Claim.create(clean_draft(), claim_id="clm_1", family_id="clf_1", origin="original", origin_claim_id=None,
                         revision=1, payer=PayerRef(payer_id="60054", payer_name="Aetna"), timely_filing_days=365,
                         now=NOW)
    before = (claim.state, claim.total_paid, claim.payer_claim_control_number, len(claim.changes))
    with pytest.raises(IllegalTransition):
        claim.pay(remit(rm.ClaimPaymentPosted, claim), "paid", NOW)
    with pytest.raises(IllegalTransition):
        claim.close("paid_in_full", NOW)
    assert (claim.state, claim.total_paid, claim.payer_claim_control_number, len(claim.changes)) == before


async def test_a_whole_claim_denial_with_a_patient_share_bills_the_next_payer() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_denied(db, remit(rm.ClaimDenied, claim, denial_scope="claim"), NOW)
    assert db.event_types() == ["ClaimAdjudicated", "ClaimCreated"]
    stored = db.stored(claim.claim_id)
    assert stored.state == "denied" and stored.follow_up_on == NOW.date() + timedelta(days=30)


async def test_a_line_denial_is_history_only() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_denied(db, remit(rm.ClaimDenied, claim, denial_scope="line"), NOW)
    assert db.events == [] and db.stored(claim.claim_id).state == "submitted"
    assert db.entries[-1].trigger == "line_denied"


async def test_a_write_off_settles_a_denied_claim_and_stops_its_follow_ups() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_denied(db, remit(rm.ClaimDenied, claim, denial_scope="claim", patient_responsibility="0.00",
                                           patient_share={"deductible": "0.00", "coinsurance": "0.00",
                                                          "copay": "0.00", "other": "0.00"}), NOW)
    await adjudication.on_insurance_written_off(db, remit(rm.InsuranceBalanceWrittenOff, claim), NOW)
    closed = db.events[-1]
    assert isinstance(closed, ev.ClaimClosed) and closed.resolution == "written_off"
    assert (db.stored(claim.claim_id).state, db.stored(claim.claim_id).follow_up_on) == ("closed", None)


async def test_a_rejection_with_a_newer_revision_waiting_goes_again_as_a_new_original() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    first = claim.submission_id
    claim.pending_draft = draft(charge(1))
    await db.save_claim(claim)
    code = ev.AcknowledgmentCode(segment="STC", code="A7:21:85")
    await acknowledgments.reject_claim(db, claim, "277CA", [code], "rejected by the payer", NOW)
    assert db.event_types() == ["ClaimRejected", "ClaimResubmitted"]
    stored = db.stored(claim.claim_id)
    assert stored.state == "ready" and stored.submission_id != first and stored.pending_draft is None
    assert (stored.charge_ids, stored.total_charge) == (["chg_0001"], Decimal("150.00"))


async def test_correcting_a_claim_the_payer_never_adjudicated_is_refused() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    with pytest.raises(Refused, match="never adjudicated"):
        await corrections.correct(db, claim, "wrong code", "op-1", NOW)
    assert db.events == []


async def test_a_replacement_closes_the_original_and_carries_its_payer_claim_number() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    await adjudication.on_payment_posted(db, remit(rm.ClaimPaymentPosted, claim), NOW)
    db.events.clear()
    primary = db.stored(claim.claim_id)
    replacement = await corrections.correct(db, primary, "wrong code", "op-1", NOW)
    assert db.event_types() == ["ClaimCorrected", "ClaimClosed", "ClaimCreated"]
    assert (replacement.frequency, replacement.origin_claim_id) == ("7", claim.claim_id)
    assert db.stored(claim.claim_id).state == "closed"
    with pytest.raises(Refused, match="already replaced"):
        await corrections.correct(db, db.stored(claim.claim_id), "again", "op-1", NOW)


async def test_a_follow_up_is_raised_once_per_period() -> None:
    db = FakeClaimsStore()
    claim = await submitted_claim(db)
    later = NOW.replace(month=5)
    assert await follow_up.follow_up(db, later) == 1
    due = db.events[-1]
    assert isinstance(due, ev.ClaimFollowUpDue) and due.reason == "no_acknowledgment"
    assert db.stored(claim.claim_id).follow_up_on == later.date() + timedelta(days=30)
    assert await follow_up.follow_up(db, later) == 0
