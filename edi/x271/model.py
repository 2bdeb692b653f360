"""The X12 271 (005010X279A1) eligibility response model.

The 271 repeats the 270's HL tree (20 payer, 21 provider, 22 subscriber, 23 dependent). The
patient's level echoes the inquiry's trace number in ``TRN*2``, returns the person as the payer
knows it, the plan dates (``DTP*346``/``347``) and one 2110C/D loop per benefit: ``EB`` (EB01
what: 1 active, 6 inactive, A co-insurance, B co-payment, C deductible, G out of pocket, R other
payer, ...), with its ``DTP`` and ``MSG`` and, for an other payer, an ``LS``/``LE``-wrapped
2120C/D ``NM1`` naming it. ``AAA`` says the payer could not answer and why, at the loop it
names (2100A payer, 2100B provider, 2100C subscriber, 2100D dependent, 2000A request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from edi.x270.model import Person

FUNCTIONAL_ID = "HB"  # the implementation reference is the 270's (edi.x270.IMPLEMENTATION)

ACTIVE_CODES = frozenset({"1", "2", "3", "4", "5"})
INACTIVE_CODES = frozenset({"6", "7", "8"})


@dataclass(frozen=True, kw_only=True)
class BenefitEntity:
    """Loop 2120C/D: who a benefit is about (for EB*R the other payer)."""

    role: str  # NM101: PRP primary payer, SEP secondary payer, TTP tertiary, P5 plan sponsor, PR payer, ...
    entity_type: str = "2"  # NM102: 1 person, 2 organization
    name: str  # NM103
    id_qualifier: str = ""  # NM108: PI payer id, XV CMS plan id, XX NPI, ...
    id: str = ""  # NM109


@dataclass(frozen=True, kw_only=True)
class BenefitDate:
    """A 2110C/D DTP: 292 benefit, 346 plan begin, 348 benefit begin, 472 service, ..."""

    qualifier: str
    start: date
    end: date


@dataclass(frozen=True, kw_only=True)
class BenefitInfo:
    """One EB segment (loop 2110C/D) with its dates, messages and 2120 entity."""

    code: str  # EB01
    coverage_level: str = ""  # EB02: IND, FAM, EMP, ...
    service_types: tuple[str, ...] = ()  # EB03 (repeats)
    insurance_type: str = ""  # EB04: MB Medicare Part B, MC Medicaid, C1 commercial, ...
    plan_description: str = ""  # EB05
    time_period: str = ""  # EB06: 29 remaining, 23 calendar year, 27 visit, ...
    amount: Decimal | None = None  # EB07
    percent: Decimal | None = None  # EB08 as sent: 0.2 is 20 %
    quantity_qualifier: str = ""  # EB09
    quantity: Decimal | None = None  # EB10
    authorization_required: bool | None = None  # EB11 Y/N (U unknown reads as None)
    in_network: bool | None = None  # EB12 Y/N (U unknown, W not applicable read as None)
    procedure_code: str = ""  # EB13-2 (EB13-1 HC): the benefit applies to this procedure only
    dates: tuple[BenefitDate, ...] = ()
    messages: tuple[str, ...] = ()  # MSG01
    benefit_entity: BenefitEntity | None = None


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """One AAA: the payer could not answer (AAA01 N) or answered with a caveat (Y)."""

    loop: str  # 2000A, 2100A, 2100B, 2000C, 2100C, 2110C, 2100D, 2110D
    valid: bool  # AAA01
    reason_code: str  # AAA03: 72 invalid member id, 75 subscriber not found, 42 unable to respond now, ...
    follow_up: str  # AAA04: C correct and resubmit, N do not resubmit, R resubmit original, ...


@dataclass(frozen=True, kw_only=True)
class EligibilityResponse:
    """One patient's answer; ``trace_number`` is the 270's. A request the payer rejected above the
    subscriber level (AAA at 2000A/2100A/2100B with no subscriber returned) reads with an empty
    trace number and subscriber name: match it by the 270's BHT03 in ``reference``."""

    trace_number: str  # TRN02 of the TRN*2 at 2000C/2000D
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    subscriber: Person
    dependent: Person | None = None
    plan_begin: date | None = None  # DTP*346 (or the start of DTP*291/307 RD8)
    plan_end: date | None = None  # DTP*347 (or the end of DTP*291/307 RD8)
    benefits: tuple[BenefitInfo, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    reference: str = field(default="", compare=False)  # BHT03: the 270's BHT03 echoed

    @property
    def patient(self) -> Person:
        return self.dependent or self.subscriber

    @property
    def active(self) -> bool | None:
        """True for an EB01 1-5, False for 6-8, None when the 271 says neither (a rejection)."""
        codes = {b.code for b in self.benefits}
        if codes & ACTIVE_CODES:
            return True
        if codes & INACTIVE_CODES:
            return False
        return None

    @property
    def rejected(self) -> bool:
        return any(not r.valid for r in self.rejections)

    @property
    def other_payers(self) -> tuple[BenefitInfo, ...]:
        return tuple(b for b in self.benefits if b.code == "R")
