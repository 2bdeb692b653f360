"""Revenue-cycle KPIs, each pinned to a published definition: pure, Decimal, no I/O.

The remits service knows claims only through ClaimSubmitted and 835s (plus its own patient
balances and ledger), so each KPI says what it counts from those facts and how that differs from
the published definition. A KPI whose denominator is zero is "n/a" with the reason, never a
division by zero. Dates are UTC calendar days; a period includes both ends.

| key | published definition it follows |
| --- | --- |
| clean_claim_rate | HFMA MAP Key CL-1 Clean Claim Rate (remits: accepted on first submission) |
| initial_denial_rate (+ by CARC category) | HFMA Claim Integrity Task Force (2020) initial denial rate, claim volume |
| days_in_ar | gross form of HFMA MAP Key Net Days in A/R |
| net_collection_rate | MGMA adjusted (net) collection rate; no HFMA MAP Key |
| first_pass_payment_rate | industry first-pass rate; no HFMA MAP Key |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal("0.00")
RATE = Decimal("0.0001")
DAYS = Decimal("0.1")
AR_WINDOW_DAYS = 90
NOT_ADJUDICATION = frozenset({"22", "25"})  # a reversal is not an adjudication; 25 is a predetermination


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def last_days(end: date, days: int = AR_WINDOW_DAYS) -> Period:
    """The `days` calendar days ending on `end` (the default period, and the A/R charge window)."""
    return Period(end - timedelta(days=days - 1), end)


# --------------------------------------------------------------------------- the book (facts remits has)


@dataclass(frozen=True)
class Submission:
    """One ClaimSubmitted."""

    claim_id: str
    claim_family_id: str
    coverage_rank: int
    frequency: str  # 1 original, 7 replacement, 8 void
    charge: Decimal
    submitted_on: date


@dataclass(frozen=True)
class DenialLine:
    category: str  # from the CARC/RARC table (eligibility, coding, bundling, ...)
    scope: str  # claim or line
    amount: Decimal


@dataclass(frozen=True)
class Adjudication:
    """One matched 835 claim posting (CLP), in posting order."""

    claim_id: str
    status: str  # CLP02
    adjudicated_on: date  # the day it was posted
    paid: Decimal  # CLP04
    patient_resp: Decimal  # CLP05
    denials: tuple[DenialLine, ...] = ()


@dataclass(frozen=True)
class Collections:
    """Ledger movements dated in the period."""

    payer_payments: Decimal = ZERO  # payer cash on claim postings (CLP04; reversals negative); no PLB
    patient_payments: Decimal = ZERO  # patient cash, net of refunds
    contractual: Decimal = ZERO  # contractual write-offs (CO-45, CO-253, ...; reversals negative)


@dataclass(frozen=True)
class Receivables:
    """Gross A/R at the end of the period's last day."""

    insurance: Decimal = ZERO  # claims with no remittance yet (full charge) + open denials
    patient: Decimal = ZERO  # patient balances still due

    @property
    def total(self) -> Decimal:
        return self.insurance + self.patient


@dataclass(frozen=True)
class Book:
    submissions: Sequence[Submission] = ()
    adjudications: Sequence[Adjudication] = ()
    collections: Collections = field(default_factory=Collections)
    receivables: Receivables = field(default_factory=Receivables)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Kpi:
    key: str
    name: str
    definition: str  # the formula, in words, as computed here
    source: str  # the published definition it follows, and how remits differs
    numerator: Decimal
    denominator: Decimal
    unit: str  # ratio or days
    value: Decimal | None
    reason: str | None = None  # why the value is n/a

    def shown(self) -> str:
        if self.value is None:
            return f"n/a ({self.reason})"
        if self.unit == "ratio":
            return f"{(self.value * 100).quantize(Decimal('0.01'))}%"
        return f"{self.value} days"


@dataclass(frozen=True)
class CategoryDenials:
    category: str
    claims: int  # claims whose first adjudication denied something of this category
    lines: int  # denial rows of this category (a whole-claim denial counts its CARCs)
    amount: Decimal
    rate: Kpi


@dataclass(frozen=True)
class Report:
    period: Period
    kpis: list[Kpi]
    denials_by_category: list[CategoryDenials]


def _ratio(numerator: Decimal, denominator: Decimal, places: Decimal = RATE) -> Decimal:
    return (numerator / denominator).quantize(places)


def _rate(key: str, name: str, definition: str, source: str, numerator: Decimal, denominator: Decimal,
          empty: str) -> Kpi:
    if denominator == 0:
        return Kpi(key, name, definition, source, numerator, denominator, "ratio", None, empty)
    return Kpi(key, name, definition, source, numerator, denominator, "ratio", _ratio(numerator, denominator))


# --------------------------------------------------------------------------- facts -> counts


def first_charges(submissions: Iterable[Submission]) -> dict[str, Submission]:
    """Each claim family's gross charge once: its first submission to the primary payer that is not
    a void (resubmissions, replacements and secondary claims would count the same charge again)."""
    first: dict[str, Submission] = {}
    for s in sorted(submissions, key=lambda s: (s.submitted_on, s.claim_id)):
        if s.coverage_rank == 1 and s.frequency != "8":
            first.setdefault(s.claim_family_id, s)
    return first


def gross_charges(submissions: Iterable[Submission], window: Period) -> Decimal:
    return sum((s.charge for s in first_charges(submissions).values() if s.submitted_on in window), ZERO)


def clean_claims(submissions: Iterable[Submission], period: Period) -> tuple[int, int]:
    """(clean, submitted): claim families first sent to their primary payer in the period, and those
    of them never sent to the primary again as a new original (after a 999/277CA rejection the
    fixed claim goes again as a new original, frequency 1, in the same family)."""
    originals: dict[str, list[date]] = {}
    for s in submissions:
        if s.coverage_rank == 1 and s.frequency == "1":
            originals.setdefault(s.claim_family_id, []).append(s.submitted_on)
    first_in_period = [days for days in originals.values() if min(days) in period]
    return sum(1 for days in first_in_period if len(days) == 1), len(first_in_period)


def first_adjudications(adjudications: Iterable[Adjudication], period: Period) -> list[Adjudication]:
    """Each claim's first adjudication (its first posting that is not a reversal or a
    predetermination), for the claims whose first adjudication falls in the period."""
    first: dict[str, Adjudication] = {}
    for a in adjudications:  # in posting order
        if a.status not in NOT_ADJUDICATION:
            first.setdefault(a.claim_id, a)
    return [a for a in first.values() if a.adjudicated_on in period]


def paid_first_pass(a: Adjudication) -> bool:
    """Paid on first adjudication: nothing denied (claim or line) and the claim was payable (the payer
    paid, or the allowed amount went to the patient, e.g. deductible)."""
    return not a.denials and (a.paid > 0 or a.patient_resp > 0)


# --------------------------------------------------------------------------- the KPIs

CLEAN = ("clean_claim_rate", "Clean claim rate",
         "claim families first submitted to the primary payer in the period and accepted on that first submission"
         " (never resubmitted as a new original after a 999/277CA rejection) / claim families first submitted"
         " in the period",
         "HFMA MAP Key CL-1 Clean Claim Rate (claims passing edits with no manual intervention / claims accepted"
         " into the claim scrubber). Remits counts acceptance on first submission, not scrubber edits: it never"
         " sees edits fixed before the 837, nor a rejection not yet resubmitted.")
DENIAL = ("initial_denial_rate", "Initial denial rate",
          "claims whose first adjudication in the period denied the claim or any line (by CARC category below)"
          " / claims first adjudicated in the period",
          "HFMA Claim Integrity Task Force (2020) initial denial rate by claim volume (its denominator is claims"
          " submitted, averaged over three months; here it is claims adjudicated, which the 835s give).")
DAYS_AR = ("days_in_ar", "Days in A/R",
           "gross A/R at the end of the period (insurance: claims without a remittance at full charge plus open"
           " denials; patient: balances due) / average daily gross charges over the 90 days ending that day",
           "Gross form of HFMA MAP Key Net Days in A/R (net A/R / average daily net patient service revenue);"
           " remits has no net revenue or expected reimbursement per open claim, so gross A/R over gross charges.")
NET = ("net_collection_rate", "Net collection rate",
       "payments in the period (payer claim payments incl. reversals, patient payments net of refunds) / (gross"
       " charges first submitted in the period - contractual adjustments posted in the period)",
       "MGMA adjusted (net) collection rate; no HFMA MAP Key. PLB (interest, recoupments) and cash in"
       " suspense are left out; charges and payments of one period are not the same claims.")
FIRST_PASS = ("first_pass_payment_rate", "First-pass payment rate",
              "claims first adjudicated in the period and paid on that adjudication (no claim or line denial; paid"
              " by the payer or assigned to the patient) / claims first adjudicated in the period",
              "Industry first-pass (resolution) rate; no HFMA MAP Key.")


def compute(book: Book, period: Period) -> Report:
    clean, submitted = clean_claims(book.submissions, period)
    firsts = first_adjudications(book.adjudications, period)
    adjudicated = Decimal(len(firsts))
    denied = Decimal(sum(1 for a in firsts if a.denials))
    paid = Decimal(sum(1 for a in firsts if paid_first_pass(a)))
    no_claims = "no claim first adjudicated in the period"
    window = last_days(period.end)
    charges_90 = gross_charges(book.submissions, window)
    daily = (charges_90 / AR_WINDOW_DAYS).quantize(ZERO)  # to the cent
    ar = book.receivables.total
    if daily == 0:
        why = (f"no gross charges submitted {window.start}..{window.end}" if charges_90 == 0 else
               "average daily gross charges round to 0.00")
        days = Kpi(*DAYS_AR, ar, ZERO, "days", None, why)
    else:
        days = Kpi(*DAYS_AR, ar, daily, "days", _ratio(ar, daily, DAYS))
    charges = gross_charges(book.submissions, period)
    c = book.collections
    collected = c.payer_payments + c.patient_payments
    base = charges - c.contractual
    if base <= 0:
        why = "no gross charges first submitted in the period" if charges == 0 else (
            "charges less contractual adjustments is not positive")
        net = Kpi(*NET, collected, base, "ratio", None, why)
    else:
        net = Kpi(*NET, collected, base, "ratio", _ratio(collected, base))
    kpis = [
        _rate(*CLEAN, Decimal(clean), Decimal(submitted), "no claim family first submitted in the period"),
        _rate(*DENIAL, denied, adjudicated, no_claims),
        days,
        net,
        _rate(*FIRST_PASS, paid, adjudicated, no_claims),
    ]
    return Report(period, kpis, denials_by_category(firsts))


def denials_by_category(firsts: Sequence[Adjudication]) -> list[CategoryDenials]:
    adjudicated = Decimal(len(firsts))
    out: list[CategoryDenials] = []
    for category in sorted({d.category for a in firsts for d in a.denials}):
        claims = sum(1 for a in firsts if any(d.category == category for d in a.denials))
        rows = [d for a in firsts for d in a.denials if d.category == category]
        rate = _rate(f"initial_denial_rate.{category}", f"Initial denial rate: {category}",
                     f"claims whose first adjudication in the period denied something for a {category} reason"
                     " / claims first adjudicated in the period", DENIAL[3], Decimal(claims), adjudicated,
                     "no claim first adjudicated in the period")
        out.append(CategoryDenials(category, claims, len(rows), sum((d.amount for d in rows), ZERO), rate))
    return out
