"""The patient's expected share of an encounter, from the primary coverage's 271 benefits and
the payer's fee schedule, worked out line by line the way payers apply a plan (and the way the
sandbox's payers do, so an estimate from a sandbox 271 equals that payer's 835 for the visit):

    allowed      = the fee schedule's expected allowed, at most the charge (the charge when
                   the schedule has none: the estimate is then incomplete)
    copay        = the visit copay (EB*B), once per encounter, on the first office visit line
    deductible   = what is left of the deductible (EB*C, remaining), up to allowed - copay
    coinsurance  = the co-insurance share (EB*A) of what is left, rounded half up to cents
    cap          = the out-of-pocket remaining (EB*G, remaining): past it the plan pays in
                   full, and the patient's share gives way coinsurance first, then copay,
                   then deductible

Under Medicare Part B (the active coverage's EB04 MB) clinical laboratory tests and the specimen
collection fee carry no deductible, co-insurance or copay (Medicare Claims Processing Manual,
CMS Pub. 100-04, chapter 16), as the sandbox's Medicare plays it.

Pure: no I/O. Money is Decimal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from schemas.eligibility import Benefit

__all__ = ["OFFICE_VISIT_CODES", "Estimate", "EstimateLine", "PlanShares", "estimate_patient_share", "plan_shares"]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

OFFICE_VISIT_CODES = frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"})
"""Office or other outpatient E/M visits (CPT 99202-99215): the visits a plan's copay is charged
for (the 271's EB*B for a professional office visit); the other lines of the encounter carry
deductible and co-insurance only."""

_NETWORK = frozenset({"Y", "W"})
"""EB12 values that apply to an in-network provider (W: applies either way); absent does too."""
_ACTIVE = frozenset({"1", "2", "3", "4", "5"})
"""EB01 codes of active coverage."""
MEDICARE_PART_B = "MB"
_SPECIMEN_COLLECTION = "36415"
_REMAINING = "29"
_PLAN_COVERAGE = "30"
_LEVELS = ("IND", "FAM")


def _clinical_lab(code: str) -> bool:
    """CPT 80000-89999 (pathology and laboratory) or the venipuncture specimen collection fee."""
    return code == _SPECIMEN_COLLECTION or (len(code) == 5 and code.isdigit() and "80000" <= code <= "89999")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, kw_only=True)
class EstimateLine:
    """One service line to be billed."""

    procedure_code: str
    charge: Decimal
    expected_allowed: Decimal | None
    """The fee schedule's allowed amount for the line (per unit x units); None: no row for it."""


@dataclass(frozen=True, kw_only=True)
class PlanShares:
    """The cost-share terms read from the benefits; None: the 271 did not say."""

    deductible_remaining: Decimal | None
    coinsurance: Decimal | None
    """A fraction: 0.20 = the patient pays 20%."""
    copay: Decimal | None
    out_of_pocket_remaining: Decimal | None

    @property
    def complete(self) -> bool:
        """A deductible and a cost share (co-insurance or copay) were both stated."""
        return self.deductible_remaining is not None and (self.coinsurance is not None or self.copay is not None)


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """The fields of `schemas.eligibility.PatientEstimated` the estimate decides."""

    total_charge: Decimal
    expected_allowed: Decimal
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    patient_estimate: Decimal
    out_of_pocket_remaining: Decimal | None
    complete: bool


def _rank(benefit: Benefit) -> tuple[int, int]:
    """Lower is better: the individual's terms before the family's, then the health benefit
    plan coverage (30) before terms without a service type, before a specific service type."""
    level = _LEVELS.index(benefit.coverage_level) if benefit.coverage_level in _LEVELS else len(_LEVELS)
    if _PLAN_COVERAGE in benefit.service_types:
        service = 0
    elif not benefit.service_types:
        service = 1
    else:
        service = 2
    return level, service


def _pick(benefits: Sequence[Benefit], code: str, value: Callable[[Benefit], Decimal | None],
          *, remaining: bool = False) -> Decimal | None:
    """The best-ranked in-network benefit of an EB01 code that carries a value (the first of
    equals, as the payer listed them)."""
    found = [b for b in benefits
             if b.code == code and (b.in_network is None or b.in_network in _NETWORK)
             and (not remaining or b.time_period == _REMAINING) and value(b) is not None]
    if not found:
        return None
    return value(min(found, key=_rank))


def plan_shares(benefits: Sequence[Benefit]) -> PlanShares:
    """Deductible (EB*C) and out-of-pocket (EB*G) remaining for the period (EB06 29), co-insurance
    (EB*A percent) and copay (EB*B amount), for an in-network provider."""
    return PlanShares(
        deductible_remaining=_pick(benefits, "C", lambda b: b.amount, remaining=True),
        coinsurance=_pick(benefits, "A", lambda b: b.percent),
        copay=_pick(benefits, "B", lambda b: b.amount),
        out_of_pocket_remaining=_pick(benefits, "G", lambda b: b.amount, remaining=True),
    )


def estimate_patient_share(benefits: Sequence[Benefit], lines: Sequence[EstimateLine]) -> Estimate:
    """The patient's expected share of an encounter's lines under the benefits of its primary
    coverage's 271. Incomplete (a floor) when a line has no fee-schedule amount or the 271 lacked a
    deductible or a cost share."""
    if not lines:
        raise ValueError("an estimate needs at least one service line")
    if any(line.charge < ZERO or (line.expected_allowed is not None and line.expected_allowed < ZERO)
           for line in lines):
        raise ValueError("an estimate line's charge and expected allowed must not be negative")
    shares = plan_shares(benefits)
    part_b = any(b.code in _ACTIVE and b.insurance_type == MEDICARE_PART_B for b in benefits)
    copay_left = max(shares.copay or ZERO, ZERO)
    deductible_left = max(shares.deductible_remaining or ZERO, ZERO)
    rate = shares.coinsurance or ZERO
    cap = None if shares.out_of_pocket_remaining is None else max(shares.out_of_pocket_remaining, ZERO)
    total_allowed = total_deductible = total_coinsurance = total_copay = ZERO
    for line in lines:
        allowed = line.charge if line.expected_allowed is None else min(line.charge, line.expected_allowed)
        total_allowed += allowed
        if part_b and _clinical_lab(line.procedure_code):
            continue
        copay = ZERO
        if copay_left > ZERO and line.procedure_code in OFFICE_VISIT_CODES:
            copay = min(copay_left, allowed)
            copay_left -= copay
        deductible = min(deductible_left, allowed - copay)
        coinsurance = _cents((allowed - copay - deductible) * rate)
        if cap is not None:
            excess = max(ZERO, copay + deductible + coinsurance - cap)
            for_coinsurance = min(excess, coinsurance)
            for_copay = min(excess - for_coinsurance, copay)
            coinsurance -= for_coinsurance
            copay -= for_copay
            deductible -= excess - for_coinsurance - for_copay
            cap -= copay + deductible + coinsurance
        deductible_left -= deductible
        total_deductible += deductible
        total_coinsurance += coinsurance
        total_copay += copay
    return Estimate(
        total_charge=sum((line.charge for line in lines), ZERO),
        expected_allowed=total_allowed,
        deductible=total_deductible,
        coinsurance=total_coinsurance,
        copay=total_copay,
        patient_estimate=total_deductible + total_coinsurance + total_copay,
        out_of_pocket_remaining=shares.out_of_pocket_remaining,
        complete=shares.complete and all(line.expected_allowed is not None for line in lines),
    )
