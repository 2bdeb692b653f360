"""Events of the claims service's eligibility checks, on `rcm.eligibility.v1`, keyed by `encounter_id`.

Before an encounter's claims go out, claims asks each coverage's payer (X12 270) whether the
patient is covered on the date of service and reads the answer (X12 271). One
`EligibilityChecked` per coverage and check says what the payer answered (or that it did not
answer in time); `PatientEstimated` is the patient's expected share of the encounter worked
out from those benefits and the payer's fee schedule, before any statement.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from schemas import examples as ex
from schemas.base import Contract, Event, examples, rule
from schemas.common import PayerRef, Text60, Text80, Text200
from schemas.types import Factor, Money, NonNegativeMoney, OpaqueId, PayerId

__all__ = [
    "Benefit",
    "EligibilityChecked",
    "EligibilityOutcome",
    "EligibilityRejection",
    "OtherPayer",
    "PatientEstimated",
]

X12Code = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{1,3}$")]
"""An X12 code value as the 271 sends it (EB01, EB02, EB03, EB04, EB06, AAA03...)."""

EligibilityOutcome = Literal["active", "inactive", "rejected", "no_response"]
"""active / inactive on the date of service (271 EB01 1-5 / 6-8); rejected: the payer could
not answer (AAA); no_response: no 271 within the configured wait (the claim goes out unchecked)."""

CoverageRank = Literal[1, 2, 3]

_IDS = {"encounter_id": ex.ENCOUNTER_ID, "patient_account_id": ex.PATIENT_ACCOUNT_ID}


class Benefit(Contract):
    """One EB segment of the 271 (loops 2110C/2110D), as the payer sent it."""

    code: X12Code
    """EB01: 1 active coverage, 6 inactive, A co-insurance, B co-payment, C deductible,
    G out of pocket (stop loss), R other or additional payer..."""
    description: Text80 | None = None
    """EB01 in words, e.g. "deductible"."""
    coverage_level: X12Code | None = None
    """EB02: IND individual, FAM family, EMP employee only, ESP employee and spouse, CHD children..."""
    service_types: list[X12Code] = Field(default_factory=list, max_length=99)
    """EB03 (repeating): 30 health benefit plan coverage, 98 professional physician visit, 1 medical care..."""
    insurance_type: X12Code | None = None
    """EB04: e.g. MA Medicare Part A, MB Part B, MC Medicaid, PR PPO, HM HMO, 12-47 Medicare secondary types."""
    plan_description: Text60 | None = None
    """EB05."""
    time_period: X12Code | None = None
    """EB06: 23 calendar year, 29 remaining, 27 visit, 22 service year, 32 lifetime..."""
    amount: Money | None = None
    """EB07: a deductible, copay or out-of-pocket amount."""
    percent: Factor | None = None
    """EB08: a co-insurance share as a fraction (0.20 = the patient pays 20%)."""
    authorization_required: bool | None = None
    """EB11 Y/N."""
    in_network: Literal["Y", "N", "W", "U"] | None = None
    """EB12: Y in network, N out of network, W not applicable (both), U unknown."""


class EligibilityRejection(Contract):
    """An AAA segment: the payer could not answer, and why."""

    loop: Literal["2100A", "2100B", "2100C", "2100D", "2000A", "2000B", "2000C", "2000D"]
    """Where the AAA stood: the payer (2100A), the provider (2100B), the subscriber (2100C) or
    the dependent (2100D)."""
    reason_code: X12Code
    """AAA03: e.g. 42 unable to respond now, 72 invalid member id, 73 invalid name, 75
    subscriber not found, 58 invalid date of birth."""
    follow_up: X12Code
    """AAA04: C correct and resubmit, N resubmission not allowed, R resubmit original, W wait 30
    days, X wait 10 days, Y do not resubmit, we will hold your request."""
    description: Text200 | None = None


class OtherPayer(Contract):
    """A payer the 271 names besides the one asked (EB*R with its loop 2120C/2120D)."""

    role: Literal["primary", "secondary", "tertiary", "other"]
    """NM101 of loop 2120: PRP primary, SEP secondary, TTP tertiary; anything else other."""
    payer_name: Text60 | None = None
    payer_id: PayerId | None = None
    insurance_type: X12Code | None = None
    """EB04 of the EB*R: e.g. MC Medicaid, MA/MB Medicare, 12-47 why Medicare is secondary."""
    on_file: bool
    """Whether one of the patient's coverages on file is this payer (by payer id, else by name)."""


class EligibilityChecked(Event):
    """The answer to one coverage's eligibility check (one 270/271 exchange, or a cached answer
    still fresh for that coverage and date)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "check_id": "elg_01JNQ8T3M5",
                "coverage_rank": 1,
                "payer": ex.AETNA,
                "service_date": "2026-03-02",
                "trigger": "ready_to_bill",
                "source": "271",
                "outcome": "active",
                "plan_begin": "2026-01-01",
                "plan_end": "2026-12-31",
                "coverage_level": "IND",
                "benefits": [
                    {"code": "1", "description": "active coverage", "coverage_level": "IND",
                     "service_types": ["30"], "insurance_type": "PR"},
                    {"code": "C", "description": "deductible", "coverage_level": "IND", "service_types": ["30"],
                     "time_period": "29", "amount": "350.00", "in_network": "Y"},
                    {"code": "A", "description": "co-insurance", "coverage_level": "IND", "service_types": ["30"],
                     "percent": "0.2", "in_network": "Y"},
                ],
                "rejections": [],
                "other_payers": [],
                "checked_at": "2026-03-03T09:00:00Z",
            }
        )
    )

    check_id: OpaqueId
    encounter_id: OpaqueId
    patient_account_id: OpaqueId
    coverage_rank: CoverageRank
    payer: PayerRef
    service_date: date
    """The date asked about (the encounter's first date of service)."""
    trigger: Literal["ready_to_bill", "on_demand"]
    source: Literal["271", "cache", "timeout"]
    """271: a new answer; cache: an earlier answer for this coverage and date, still fresh;
    timeout: no 271 within the wait (outcome no_response)."""
    outcome: EligibilityOutcome
    plan_begin: date | None = None
    """DTP*346 (or 291) of the subscriber or dependent loop."""
    plan_end: date | None = None
    """DTP*347 (or 291's range end)."""
    coverage_level: X12Code | None = None
    """EB02 of the active-coverage benefit."""
    benefits: list[Benefit] = Field(default_factory=list, max_length=500)
    rejections: list[EligibilityRejection] = Field(default_factory=list, max_length=20)
    other_payers: list[OtherPayer] = Field(default_factory=list, max_length=10)
    checked_at: AwareDatetime

    @model_validator(mode="after")
    def _outcome_matches(self) -> Self:
        if self.outcome == "rejected" and not self.rejections:
            raise rule("rejected_without_reason", "a rejected outcome needs at least one entry in rejections")
        if (self.source == "timeout") != (self.outcome == "no_response"):
            raise rule("timeout_outcome", "source timeout and outcome no_response go together")
        if self.plan_begin and self.plan_end and self.plan_end < self.plan_begin:
            raise rule("plan_dates", "plan_end must not be before plan_begin")
        return self


class PatientEstimated(Event):
    """The patient's expected share of an encounter, from the primary coverage's benefits (271)
    and the payer's fee schedule: deductible remaining first, then co-insurance or copay, capped
    by the out-of-pocket remaining. Compared with the 835's patient responsibility when it comes."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "estimate_id": "est_01JNQ8T4P2",
                "check_id": "elg_01JNQ8T3M5",
                "coverage_rank": 1,
                "payer": ex.AETNA,
                "service_date": "2026-03-02",
                "total_charge": "250.00",
                "expected_allowed": "180.00",
                "deductible": "100.00",
                "coinsurance": "16.00",
                "copay": "0.00",
                "patient_estimate": "116.00",
                "out_of_pocket_remaining": "2400.00",
                "complete": True,
                "estimated_at": "2026-03-03T09:00:01Z",
            }
        )
    )

    estimate_id: OpaqueId
    encounter_id: OpaqueId
    patient_account_id: OpaqueId
    check_id: OpaqueId
    """The EligibilityChecked whose benefits the estimate used."""
    coverage_rank: CoverageRank
    payer: PayerRef
    service_date: date
    total_charge: NonNegativeMoney
    expected_allowed: NonNegativeMoney
    """The fee schedule's allowed amounts for the encounter's lines (billed charge where none)."""
    deductible: NonNegativeMoney
    """The part of the allowed amount that meets the deductible remaining (after the cap)."""
    coinsurance: NonNegativeMoney
    copay: NonNegativeMoney
    patient_estimate: NonNegativeMoney
    """deductible + coinsurance + copay."""
    out_of_pocket_remaining: NonNegativeMoney | None = None
    """EB*G remaining (time period 29) when the payer sent it; the estimate never exceeds it."""
    complete: bool
    """False when a line had no fee-schedule amount or the benefits lacked a deductible or cost
    share: the estimate is then a floor, and notifications says so."""
    estimated_at: AwareDatetime

    @model_validator(mode="after")
    def _parts_add_up(self) -> Self:
        if self.deductible + self.coinsurance + self.copay != self.patient_estimate:
            raise rule("estimate_sum", "patient_estimate must equal deductible + coinsurance + copay")
        if self.out_of_pocket_remaining is not None and self.patient_estimate > self.out_of_pocket_remaining:
            raise rule("estimate_cap", "patient_estimate must not exceed out_of_pocket_remaining")
        return self
