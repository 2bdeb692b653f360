"""Eligibility in the claims service's use cases (service/eligibility.py over the in-memory store)
and its X12 mapping (domain/x270.py): checks per coverage, the 270 written from them, a 271 read
into the decision, the cache, the hold of a claim whose coverage is inactive, the estimate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from edi.envelope import EnvelopeParams
from edi.x270 import Person, read_270
from edi.x271 import BenefitEntity, BenefitInfo, EligibilityResponse, Rejection, render_271
from schemas import examples as ex
from schemas.charges import EncounterReadyToBill
from schemas.common import PersonName, Subscriber
from schemas.eligibility import Benefit, EligibilityChecked, EligibilityRejection, OtherPayer, PatientEstimated
from services.claims.domain import x270
from services.claims.domain.eligibility import Answer, decide
from services.claims.service import eligibility
from services.claims.service.assembly import assemble_encounter
from services.claims.settings import claims_settings
from services.claims.store import EncounterRow
from tests.support.testsvc import example
from tests.unit.claims.factory import DOS, charge
from tests.unit.claims.fake_store import FakeClaimsStore

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
POLICY = eligibility.Policy(enabled=True, freshness_h=24, wait_s=300)
ENC = "enc_elig1"
ACTIVE_PLAN = (Benefit(code="1", coverage_level="IND", service_types=["30"], insurance_type="PR"),
               Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="29",
                       amount=Decimal("50.00"), in_network="Y"),
               Benefit(code="A", coverage_level="IND", service_types=["30"], percent=Decimal("0.2"), in_network="Y"))


@pytest.fixture(autouse=True)
def checks_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's switch on (the test session turns it off for in-process runtimes)."""
    monkeypatch.setenv("RCM_CLAIMS_ELIGIBILITY_CHECKS", "true")
    claims_settings.cache_clear()
    yield
    claims_settings.cache_clear()


def stored(db: FakeClaimsStore) -> EncounterRow:
    """The example encounter (Aetna, then Medi-Cal) with a 99213 and an 87880 posted on DOS."""
    lines = [charge(1), charge(2, "87880", modifiers=["QW"], amount=Decimal("35.00"))]
    db.charges = {c.charge_id: c for c in lines}
    ready = example("rcm.charges.EncounterReadyToBill.v1", encounter_id=ENC, patient_account_id=ex.PATIENT_ACCOUNT_ID,
                    revision=1, charge_ids=[c.charge_id for c in lines])
    assert isinstance(ready, EncounterReadyToBill)
    row = db.encounters[ENC] = EncounterRow(ENC, ex.PATIENT_ACCOUNT_ID, 1, ready, NOW, 0)
    return row


async def test_one_check_per_coverage_for_the_first_date_of_service() -> None:
    db = FakeClaimsStore()
    checks = await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW)
    assert [(c.coverage_rank, c.payer_id, c.member_id, c.service_date, c.state) for c in checks] == [
        (1, "60054", "W123456789", DOS, "pending"), (2, "610442", "91234567A", DOS, "pending")]
    assert all(c.trace_number == c.check_id for c in checks)
    assert db.events == []
    off = await eligibility.request_checks(db, stored(db), "ready_to_bill", replace(POLICY, enabled=False), NOW)
    assert off == []
    db.payers["610442"] = replace(db.payers["610442"], eligibility=False)
    again = await eligibility.request_checks(db, stored(db), "on_demand", POLICY, NOW)
    assert [c.payer_id for c in again] == ["60054"]


async def test_a_dependent_patient_is_asked_about_under_the_subscriber_from_the_stored_json() -> None:
    db = FakeClaimsStore()
    row = stored(db)
    coverages = list(row.ready.coverages)
    coverages[0] = coverages[0].model_copy(update={"relationship_to_subscriber": "19", "subscriber": Subscriber(
        name=PersonName(family="Rivera", given="Luis"), birth_date=date(1979, 12, 8), sex="M")})
    db.encounters[ENC] = replace(row, ready=row.ready.model_copy(update={"coverages": coverages}))
    check = (await eligibility.request_checks(db, db.encounters[ENC], "ready_to_bill", POLICY, NOW))[0]
    stored_json = json.loads(json.dumps(check.inquiry))  # as the database gives it back: dates are strings
    inquiry = x270.inquiry(stored_json, 1, check.trace_number, check.payer_id, check.payer_name, DOS)
    assert (inquiry.subscriber.first_name, inquiry.subscriber.birth_date, inquiry.subscriber.member_id) == (
        "Luis", date(1979, 12, 8), "W123456789")
    assert inquiry.dependent is not None and (inquiry.dependent.first_name, inquiry.dependent.relationship) == (
        "Ana", "19")
    assert x270.problems(x270.render([inquiry], 43, NOW)) == []


async def test_a_check_that_cannot_make_an_inquiry_times_out_alone_and_the_others_go() -> None:
    db = FakeClaimsStore()
    first, second = await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW)
    # A stored subject this code cannot read (no patient), beside a good one.
    db.checks[first.check_id] = replace(first, inquiry={k: v for k, v in first.inquiry.items() if k != "patient"})
    name = await eligibility.send_pending(db, NOW)
    assert name == "000000001.270" and list(db.interchange_files) == [name]
    assert [(c.check_id, c.state, c.outcome) for c in sorted(db.checks.values(), key=lambda c: c.coverage_rank)] == [
        (first.check_id, "timed_out", "no_response"), (second.check_id, "sent", None)]


async def test_the_270_asks_about_the_subscriber_on_the_date_and_reads_back() -> None:
    db = FakeClaimsStore()
    check = (await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW))[0]
    inquiry = x270.inquiry(check.inquiry, check.coverage_rank, check.trace_number, check.payer_id, check.payer_name,
                           check.service_date)
    text = x270.render([inquiry], 42, NOW)
    segments = text.split("~")
    assert "NM1*PR*2*Aetna*****PI*60054" in segments
    assert "NM1*1P*2*Mission Family Medical Group*****XX*1234567893" in segments
    assert f"TRN*1*{check.check_id}*9123456789" in segments
    assert "NM1*IL*1*Rivera*Ana****MI*W123456789" in segments
    assert "DMG*D8*19840612*F" in segments
    assert "DTP*291*D8*20260302" in segments
    assert "EQ*30" in segments
    assert x270.file_name(42) == "000000042.270"
    assert x270.problems(text) == []
    without_trace = text.replace(f"TRN*1*{check.check_id}*9123456789~", "").replace("SE*14*", "SE*13*")
    assert x270.problems(without_trace) != []
    read = read_270(text)
    assert [(i.trace_number, i.subscriber.member_id, i.service_date, i.dependent) for i in read] == [
        (check.check_id, "W123456789", DOS, None)]


def test_a_271_is_read_into_the_decision_with_its_benefits_as_sent() -> None:
    response = EligibilityResponse(
        trace_number="elg_1", payer_name="Aetna", payer_id="60054", provider_name="Mission",
        provider_npi="1234567893", subscriber=Person(last_name="Rivera", first_name="Ana", member_id="W123456789"),
        plan_begin=date(2026, 1, 1), plan_end=date(2026, 12, 31),
        benefits=(BenefitInfo(code="1", coverage_level="IND", service_types=("30",), insurance_type="PR"),
                  BenefitInfo(code="C", coverage_level="IND", service_types=("30",), time_period="29",
                              amount=Decimal("50.00"), in_network=True),
                  BenefitInfo(code="R", insurance_type="MC", benefit_entity=BenefitEntity(
                      role="SEP", name="MEDI-CAL", id_qualifier="PI", id="610442"))))
    text = render_271([response], EnvelopeParams("RCMCLEARINGHSE", "REVCYCLE", 7, 7, NOW))
    [answer] = x270.answers(text)
    assert answer.trace_number == "elg_1"
    d = decide(answer, DOS, [("60054", "Aetna"), ("610442", "Medi-Cal")])
    assert d.outcome == "active"
    assert d.benefits == (
        Benefit(code="1", description="active coverage", coverage_level="IND", service_types=["30"],
                insurance_type="PR"),
        Benefit(code="C", description="deductible", coverage_level="IND", service_types=["30"], time_period="29",
                amount=Decimal("50.00"), in_network="Y"),
        Benefit(code="R", description="other or additional payor", insurance_type="MC"))
    assert d.other_payers == (OtherPayer(role="secondary", payer_name="MEDI-CAL", payer_id="610442",
                                         insurance_type="MC", on_file=True),)


def test_an_aaa_of_a_271_reads_as_a_rejection_of_its_person() -> None:
    response = EligibilityResponse(
        trace_number="elg_2", payer_name="Aetna", payer_id="60054", provider_name="Mission",
        provider_npi="1234567893", subscriber=Person(last_name="Rivera", first_name="Ana", member_id="W1"),
        rejections=(Rejection(loop="2100C", valid=False, reason_code="72", follow_up="C"),))
    [answer] = x270.answers(render_271([response], EnvelopeParams("RCMCLEARINGHSE", "REVCYCLE", 8, 8, NOW)))
    assert answer.rejections == (EligibilityRejection(loop="2100C", reason_code="72", follow_up="C",
                                                      description="invalid/missing subscriber/insured id"),)
    assert decide(answer, DOS, []).outcome == "rejected"


async def test_an_active_primary_answer_emits_the_event_and_the_estimate_then_is_reused() -> None:
    db = FakeClaimsStore()
    first = (await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW))[0]
    await eligibility.answer(db, first, decide(Answer(first.trace_number, date(2026, 1, 1), None, ACTIVE_PLAN),
                                               DOS, []), "271", NOW)
    checked, estimated = db.events
    assert isinstance(checked, EligibilityChecked) and isinstance(estimated, PatientEstimated)
    assert (checked.check_id, checked.source, checked.outcome, checked.trigger, checked.coverage_level,
            checked.benefits) == (first.check_id, "271", "active", "ready_to_bill", "IND", list(ACTIVE_PLAN))
    # 99213: allowed 108.00, the 50.00 deductible, 20% of 58.00; 87880: 20% of 16.50.
    assert (estimated.check_id, estimated.total_charge, estimated.expected_allowed, estimated.deductible,
            estimated.coinsurance, estimated.copay, estimated.patient_estimate, estimated.complete) == (
        first.check_id, Decimal("185.00"), Decimal("124.50"), Decimal("50.00"), Decimal("14.90"), Decimal("0.00"),
        Decimal("64.90"), True)
    db.events.clear()
    later = await eligibility.request_checks(db, stored(db), "on_demand", POLICY, NOW + timedelta(hours=23))
    assert [(c.payer_id, db.checks[c.check_id].state, db.checks[c.check_id].source) for c in later] == [
        ("60054", "answered", "cache"), ("610442", "pending", None)]
    cached = db.events[0]
    assert isinstance(cached, EligibilityChecked)
    assert (cached.source, cached.outcome, cached.trigger, cached.benefits) == (
        "cache", "active", "on_demand", list(ACTIVE_PLAN))
    stale = await eligibility.request_checks(db, stored(db), "on_demand", POLICY, NOW + timedelta(hours=25))
    assert db.checks[stale[0].check_id].state == "pending"


async def test_an_inactive_answer_holds_the_claim_waiting_for_it() -> None:
    db = FakeClaimsStore()
    first = (await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW))[0]
    await assemble_encounter(db, ENC, NOW)
    [claim] = db.claims.values()
    assert claim.state == "ready"
    assert await eligibility.waiting_claims(db, [claim]) == {claim.claim_id}
    inactive = decide(Answer(first.trace_number, benefits=(Benefit(code="6", service_types=["30"]),)), DOS, [])
    await eligibility.answer(db, first, inactive, "271", NOW)
    held = db.stored(claim.claim_id)
    assert held.state == "held"
    assert [(e.edit_id, e.source) for e in held.edits if e.severity == "error"] == [("ELIG-INACTIVE", "eligibility")]
    assert db.event_types()[-2:] == ["EligibilityChecked", "ClaimHeld"]
    assert [s for s in db.submissions.values() if s.claim_id == claim.claim_id and s.status == "pending"] == []
    assert await eligibility.waiting_claims(db, [held]) == set()


async def test_the_sandbox_answers_our_270_and_we_read_its_271() -> None:
    """Both sides of the exchange as they ship: the 270 claims writes, the sandbox's Aetna answer
    (deploy/local/payers.yaml), read back into an active decision for the trace we sent."""
    from sandbox.adjudication import SandboxState
    from sandbox.clearinghouse_loop import answer_270
    from sandbox.payers import load_payers

    db = FakeClaimsStore()
    [primary, _] = await eligibility.request_checks(db, stored(db), "ready_to_bill", POLICY, NOW)
    inquiry = x270.inquiry(primary.inquiry, 1, primary.trace_number, primary.payer_id, primary.payer_name, DOS)
    answered = answer_270(x270.render([inquiry], 77, NOW), "000000077", load_payers(), SandboxState(), seed=42, now=NOW)
    [reply] = [f for f in answered.acks if f.folder == "inbound/eligibility"]
    [item] = x270.answers(reply.text)
    assert (item.trace_number, item.reference) == (primary.trace_number, "000000077")
    decision = decide(item, DOS, [("60054", "Aetna"), ("610442", "Medi-Cal")])
    assert decision.outcome == "active"
    assert [(b.code, b.time_period, b.amount, b.percent) for b in decision.benefits if b.code != "B"] == [
        ("1", None, None, None), ("C", "23", Decimal("500.00"), None), ("C", "29", Decimal("500.00"), None),
        ("A", None, None, Decimal("0.2")), ("G", "23", Decimal("3000.00"), None), ("G", "29", Decimal("3000.00"), None)]
    assert {(b.code, b.time_period, b.amount) for b in decision.benefits if b.code == "B"} == {
        ("B", "27", Decimal("25.00"))}
    await eligibility.answer(db, primary, decision, "271", NOW)
    [estimate] = [e for e in db.events if isinstance(e, PatientEstimated)]
    # 99213 (allowed 108.00): the 25.00 copay, then 83.00 of the 500.00 deductible; 87880 (16.50): deductible.
    assert (estimate.copay, estimate.deductible, estimate.coinsurance, estimate.patient_estimate,
            estimate.out_of_pocket_remaining) == (Decimal("25.00"), Decimal("99.50"), Decimal("0.00"),
                                                  Decimal("124.50"), Decimal("3000.00"))
