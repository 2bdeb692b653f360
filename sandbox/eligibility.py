"""What the simulated payers answer to a 270: one 271 ``EligibilityResponse`` per inquiry. Pure.

The benefits are the ones the payer's own adjudication (``sandbox.adjudication``) applies, read
from the same ``Behaviour`` and the same ``SandboxState`` totals, so an estimate made from the
271 equals the 835's patient responsibility for a single claim:

    EB*1   active, EB04 insurance type, EB05 plan description          (DTP*346/347 plan dates)
    EB*C   deductible: time period 23 the plan's, 29 what is left (plan - met so far)
    EB*A   co-insurance: EB08 the percent as a fraction (0.2 = 20 %) of what is left after
           copay and deductible
    EB*B   copay per claim (time period 27 visit), one EB per procedure code that carries it
           (EB13 HC:code): the 835 takes it first, once per claim
    EB*G   out of pocket: time period 23 the maximum, 29 what is left (when the plan has one)
    EB*R   another payer (loop 2120C NM1 PRP/SEP/TTP with its PI id), when a rule says so

A rule of ``sandbox.eligibility`` can instead make the member inactive (EB*6, the plan ended
the day before this year's began) or unknown (AAA*N**75*C at 2100C); a payer the sandbox does not play answers
AAA*N**79*C at 2100A.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from edi.x270 import Inquiry
from edi.x271 import BenefitEntity, BenefitInfo, EligibilityResponse, Rejection
from sandbox.adjudication import HUNDRED, ZERO, SandboxState, member_key
from sandbox.payers import PayerConfig

HEALTH_PLAN = ("30",)  # EB03 service type 30: health benefit plan coverage
OFFICE_VISIT = ("98",)  # EB03 service type 98: professional (physician) visit - office


def plan_period(payer: PayerConfig, service_date: date) -> tuple[date, date]:
    terms = payer.behaviour.eligibility
    if terms.plan_begin is not None and terms.plan_end is not None:
        return terms.plan_begin, terms.plan_end
    return date(service_date.year, 1, 1), date(service_date.year, 12, 31)


def cost_sharing(payer: PayerConfig, member_id: str, state: SandboxState) -> tuple[BenefitInfo, ...]:
    """EB*C, EB*A, EB*B and EB*G of an active member, from the plan and what the member has
    already met and spent with the payer."""
    b = payer.behaviour
    level = b.eligibility.coverage_level
    key = member_key(payer.payer_id, member_id)
    met = state.deductible_met.get(key, ZERO)
    spent = state.out_of_pocket.get(key, ZERO)

    def eb(code: str, period: str, amount: Decimal | None = None, percent: Decimal | None = None,
           service_types: tuple[str, ...] = HEALTH_PLAN, procedure: str = "") -> BenefitInfo:
        return BenefitInfo(code=code, coverage_level=level, service_types=service_types, time_period=period,
                           amount=amount, percent=percent, in_network=True, procedure_code=procedure)

    out = [eb("C", "23", b.deductible), eb("C", "29", max(b.deductible - met, ZERO)),
           eb("A", "", percent=b.coinsurance_percent / HUNDRED)]
    if b.copay > ZERO:
        out += [eb("B", "27", b.copay, service_types=OFFICE_VISIT, procedure=code) for code in sorted(b.copay_codes)]
    if b.out_of_pocket_max is not None:
        out += [eb("G", "23", b.out_of_pocket_max), eb("G", "29", max(b.out_of_pocket_max - spent, ZERO))]
    return tuple(out)


def answer_inquiry(inquiry: Inquiry, payers: Mapping[str, PayerConfig], state: SandboxState) -> EligibilityResponse:
    """The payer's 271 answer to one inquiry; the same state gives the same answer."""
    base = EligibilityResponse(
        trace_number=inquiry.trace_number, payer_name=inquiry.payer_name, payer_id=inquiry.payer_id,
        provider_name=inquiry.provider_name, provider_npi=inquiry.provider_npi, subscriber=inquiry.subscriber,
        dependent=inquiry.dependent,
    )
    payer = payers.get(inquiry.payer_id)
    if payer is None:  # 79: invalid participant identification (the payer id)
        return replace(base, rejections=(Rejection(loop="2100A", valid=False, reason_code="79", follow_up="C"),))
    terms = payer.behaviour.eligibility
    member_id = inquiry.subscriber.member_id
    rule = terms.rule_for(member_id)
    if rule is not None and rule.answer == "not_found":  # 75: subscriber/insured not found
        return replace(base, rejections=(Rejection(loop="2100C", valid=False, reason_code="75", follow_up="C"),))
    begin, end = plan_period(payer, inquiry.service_date)
    plan = BenefitInfo(code="1", coverage_level=terms.coverage_level, service_types=HEALTH_PLAN,
                       insurance_type=terms.insurance_type, plan_description=terms.plan_description)
    if rule is not None and rule.answer == "inactive":  # the plan ended before this one began
        ended = begin - timedelta(days=1)
        return replace(base, plan_begin=date(ended.year, 1, 1), plan_end=ended, benefits=(replace(plan, code="6"),))
    benefits = [plan, *cost_sharing(payer, member_id, state)]
    if rule is not None and rule.other_payer is not None:
        other = rule.other_payer
        benefits.append(BenefitInfo(code="R", service_types=HEALTH_PLAN, insurance_type=other.insurance_type,
                                    benefit_entity=BenefitEntity(role=other.role, name=other.name,
                                                                 id_qualifier="PI", id=other.payer_id)))
    return replace(base, plan_begin=begin, plan_end=end, benefits=tuple(benefits))
