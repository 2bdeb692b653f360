"""The sandbox payers' 271 answers: benefits from the plan and the member's totals (so a 271
estimate equals the 835), the eligibility rules of payers.yaml, and answer_270 for whole files."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from edi.validate import validate
from edi.x12 import EnvelopeParams
from edi.x270 import Inquiry, Person, render_270
from edi.x271 import BenefitEntity, BenefitInfo, Rejection, read_271
from edi.x835 import AdjustmentGroup
from edi.x999 import AckCode, read_999
from sandbox.adjudication import SandboxState, adjudicate, issue_claim_number, member_key
from sandbox.clearinghouse_loop import answer_270, answer_file
from sandbox.eligibility import answer_inquiry
from sandbox.payers import PayerConfigError, load_payers, parse_behaviour
from tests.unit.sandbox.support import NOW, TODAY, claim, line, payer

D = Decimal
PAYERS = load_payers()
NPI = "1234567893"
PLAN: dict[str, Any] = {
        "deductible": "500.00", "coinsurance_percent": "20", "copay": "25.00", "copay_codes": ["99213", "99214"],
        "out_of_pocket_max": "3000.00",
        "eligibility": {"insurance_type": "PR", "plan_description": "GOLD PPO"}}


def ask(member_id: str = "M100", payer_id: str = "P1", **kw: object) -> Inquiry:
    fields: dict[str, object] = {
        "trace_number": "ENC-1", "payer_name": "Test Payer", "payer_id": payer_id, "provider_name": "Clinic",
        "provider_npi": NPI, "subscriber": Person("RIVERA", "ANA", member_id, date(1970, 5, 6), "F"),
        "service_date": date(2026, 2, 10)}
    return Inquiry(**{**fields, **kw})  # type: ignore[arg-type]


def eb(code: str, period: str = "", amount: str | None = None, percent: str | None = None,
       types: tuple[str, ...] = ("30",), procedure: str = "") -> BenefitInfo:
    return BenefitInfo(code=code, coverage_level="IND", service_types=types, time_period=period,
                       amount=None if amount is None else D(amount), percent=None if percent is None else D(percent),
                       in_network=True, procedure_code=procedure)


def test_active_member_gets_the_plan_less_what_the_state_has_met() -> None:
    state = SandboxState(deductible_met={member_key("P1", "M100"): D("470.00")},
                         out_of_pocket={member_key("P1", "M100"): D("612.40")})
    r = answer_inquiry(ask(), {"P1": payer(**PLAN)}, state)
    assert (r.trace_number, r.plan_begin, r.plan_end, r.rejections) == (
        "ENC-1", date(2026, 1, 1), date(2026, 12, 31), ())
    assert r.benefits == (
        BenefitInfo(code="1", coverage_level="IND", service_types=("30",), insurance_type="PR",
                    plan_description="GOLD PPO"),
        eb("C", "23", "500.00"), eb("C", "29", "30.00"), eb("A", percent="0.2"),
        eb("B", "27", "25.00", types=("98",), procedure="99213"),
        eb("B", "27", "25.00", types=("98",), procedure="99214"),
        eb("G", "23", "3000.00"), eb("G", "29", "2387.60"),
    )
    assert r.active is True


def test_an_estimate_from_the_271_equals_the_835_patient_responsibility() -> None:
    """copay first, then what is left of the deductible, then coinsurance on the rest: 25 + 30 +
    20 % of (100 - 25 - 30) = 64.00, as the 835 says."""
    p = payer(**PLAN)
    state = SandboxState(deductible_met={member_key("P1", "M100"): D("470.00")})
    benefits = {(b.code, b.time_period, b.procedure_code): b for b in answer_inquiry(ask(), {"P1": p}, state).benefits}
    allowed = D("100.00")  # the fee schedule of 99213
    copay = benefits[("B", "27", "99213")].amount
    deductible = benefits[("C", "29", "")].amount
    percent = benefits[("A", "", "")].percent
    assert copay is not None and deductible is not None and percent is not None
    remaining = min(deductible, allowed - copay)
    estimate = copay + remaining + ((allowed - copay - remaining) * percent).quantize(D("0.01"))
    assert estimate == D("64.00")
    c = claim("C1", "P1", line("99213", "150.00"))
    result = adjudicate(c, {"P1": p}, state, seed=42, pccn=issue_claim_number(42, c, state), today=TODAY,
                        batch="B1")
    payment = result.payments[0]
    assert payment.patient_responsibility == estimate
    assert sorted((a.reason, a.amount) for a in payment.service_lines[0].adjustments
                  if a.group == AdjustmentGroup.PATIENT_RESPONSIBILITY) == [
        ("1", D("30.00")), ("2", D("9.00")), ("3", D("25.00"))]
    # The next 271 sees the deductible met.
    again = answer_inquiry(ask(), {"P1": p}, state)
    assert eb("C", "29", "0.00") in again.benefits and eb("G", "29", "2936.00") in again.benefits


def test_sample_payer_rules_inactive_not_found_and_other_payer() -> None:
    state = SandboxState()
    inactive = answer_inquiry(ask("W123450000", "60054"), PAYERS, state)
    assert inactive.active is False
    assert (inactive.plan_begin, inactive.plan_end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert [b.code for b in inactive.benefits] == ["6"]
    missing = answer_inquiry(ask("ABC123459999", "94036"), PAYERS, state)
    assert missing.rejections == (Rejection(loop="2100C", valid=False, reason_code="75", follow_up="C"),)
    assert missing.benefits == () and missing.active is None
    other = answer_inquiry(ask("W123450001", "60054"), PAYERS, state)
    assert other.active is True
    assert other.other_payers == (BenefitInfo(
        code="R", service_types=("30",), insurance_type="MB",
        benefit_entity=BenefitEntity(role="PRP", name="Medicare Part B (Noridian JF)", id_qualifier="PI",
                                     id="01182")),)
    unknown = answer_inquiry(ask(payer_id="NOPE"), PAYERS, state)
    assert unknown.rejections == (Rejection(loop="2100A", valid=False, reason_code="79", follow_up="C"),)


def test_medicare_part_b_answers_its_deductible_and_no_copay() -> None:
    r = answer_inquiry(ask("1EG4TE5MK73", "01182"), PAYERS, SandboxState())
    assert [(b.code, b.time_period, b.amount, b.percent) for b in r.benefits] == [
        ("1", "", None, None), ("C", "23", D("257.00"), None), ("C", "29", D("257.00"), None),
        ("A", "", None, D("0.2"))]
    assert r.benefits[0].insurance_type == "MB"


def envelope(icn: int = 7) -> EnvelopeParams:
    return EnvelopeParams(sender_id="REVCYCLE", receiver_id="SANDBOXCH", interchange_control_number=icn,
                          group_control_number=icn, created=datetime(2026, 3, 2, 8, 0))


def test_answer_file_answers_a_270_with_a_271_in_inbound_eligibility() -> None:
    text = render_270([ask("W123456789", "60054", trace_number="E1"),
                       ask("W123450000", "60054", trace_number="E2")], envelope())
    answer = answer_file(text, "000000007", PAYERS, SandboxState(), seed=42, now=NOW)
    [out] = answer.acks
    assert (out.folder, out.name, answer.remits) == ("inbound/eligibility", "000000007.271", [])
    responses = read_271(out.text)
    assert [(r.trace_number, r.active) for r in responses] == [("E1", True), ("E2", False)]
    assert responses[0].reference == "000000007"
    assert out.text.split("~")[1].startswith("GS*HB*SANDBOXCH*REVCYCLE*")
    assert validate(text) == [] and validate(out.text) == []  # the 005010X279A1 structural checks


def test_a_270_that_does_not_read_gets_a_999_rejection() -> None:
    text = render_270(ask(), envelope()).replace("EQ*30~", "").replace("SE*13*", "SE*12*")
    answer = answer_270(text, "000000007", PAYERS, SandboxState(), now=NOW)
    [out] = answer.acks
    assert (out.folder, out.name) == ("inbound/acks", "000000007.999")
    [ack] = read_999(out.text).transaction_sets
    assert (ack.set_id, ack.code) == ("270", AckCode.REJECTED)
    assert [(e.segment_id, e.position) for e in ack.segment_errors] == [("HL", 7)]


def test_an_envelope_that_does_not_read_gets_a_999_too() -> None:
    text = render_270(ask(), envelope()).replace("SE*13*0001", "SE*13*0002")
    [out] = answer_270(text, "x", PAYERS, SandboxState(), now=NOW).acks
    assert out.name == "x.999"
    [ack] = read_999(out.text).transaction_sets
    assert (ack.set_id, ack.code, ack.syntax_error_codes) == ("270", AckCode.REJECTED, ("3",))


@pytest.mark.parametrize(("raw", "error"), [
    ({"rules": [{"member_id_pattern": "0$", "answer": "gone"}]}, "needs member_id_pattern and answer"),
    ({"rules": [{"member_id_pattern": "0$", "answer": "other_payer"}]}, "other_payer goes with answer other_payer"),
    ({"rules": [{"member_id_pattern": "(", "answer": "inactive"}]}, "is not a regular expression"),
    ({"plan_begin": "2026-01-01"}, "plan_begin and plan_end go together"),
    ({"plan_begin": "2026-13-01", "plan_end": "2026-12-31"}, "plan_begin is not an ISO date"),
    ({"colour": "red"}, "unknown sandbox.eligibility keys"),
])
def test_eligibility_config_errors_are_specific(raw: dict[str, object], error: str) -> None:
    with pytest.raises(PayerConfigError, match=error):
        parse_behaviour({"eligibility": raw})


def test_configured_plan_dates_win() -> None:
    p = payer(eligibility={"plan_begin": "2025-07-01", "plan_end": "2026-06-30", "coverage_level": "FAM",
                           "rules": [{"member_id_pattern": "^X", "answer": "inactive"}]})
    r = answer_inquiry(ask(), {"P1": p}, SandboxState())
    assert (r.plan_begin, r.plan_end, r.benefits[0].coverage_level) == (date(2025, 7, 1), date(2026, 6, 30), "FAM")
    gone = answer_inquiry(ask("X1"), {"P1": p}, SandboxState())
    assert (gone.plan_begin, gone.plan_end) == (date(2025, 1, 1), date(2025, 6, 30))
