"""Patient estimates against the 835s: what the patient was told before billing (PatientEstimated,
from the payer's 271 and fee schedule) beside what that payer then left to the patient. Pure.

An estimate is for one coverage (its rank and payer): it is compared with the patient
responsibility that payer's standing answers posted for the encounter (every claim family of
the encounter it answered for, e.g. the physician's and the hospital's claims to one payer). Until
that payer has answered every claim it was billed for the encounter, the estimate waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from services.remits.domain.books import EncounterBook
from services.remits.domain.posting import ZERO


@dataclass(frozen=True)
class Estimate:
    """The latest PatientEstimated of an encounter, as remits keeps it."""

    encounter_id: str
    estimate_id: str
    patient_account_id: str
    coverage_rank: int
    payer_id: str
    service_date: date
    patient_estimate: Decimal
    deductible: Decimal
    coinsurance: Decimal
    copay: Decimal
    complete: bool
    estimated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"estimate_id": self.estimate_id, "coverage_rank": self.coverage_rank, "payer_id": self.payer_id,
                "service_date": self.service_date.isoformat(), "patient_estimate": str(self.patient_estimate),
                "deductible": str(self.deductible), "coinsurance": str(self.coinsurance), "copay": str(self.copay),
                "complete": self.complete, "estimated_at": self.estimated_at.isoformat()}


@dataclass(frozen=True)
class Comparison:
    estimate: Estimate
    state: Literal["adjudicated", "waiting"]
    posted: Decimal | None
    """The patient responsibility the estimate's payer posted (None while it waits)."""

    @property
    def difference(self) -> Decimal | None:
        """Posted minus estimated: positive when the patient owes more than they were told."""
        return None if self.posted is None else self.posted - self.estimate.patient_estimate

    def to_json(self) -> dict[str, Any]:
        return {"encounter_id": self.estimate.encounter_id, "patient_account_id": self.estimate.patient_account_id,
                "state": self.state, **self.estimate.to_json(),
                "posted_patient_responsibility": None if self.posted is None else str(self.posted),
                "difference": None if self.difference is None else str(self.difference)}


def posted_by(book: EncounterBook | None, rank: int, payer_id: str) -> Decimal | None:
    """What the payer at that rank left to the patient on the encounter; None until it answered
    every claim family it was billed for."""
    if book is None:
        return None
    mine = [p for f in book.families for p in f.payers if p.rank == rank and p.payer_id == payer_id]
    if not mine or not all(p.answered for p in mine):
        return None
    return sum((p.patient_responsibility for p in mine), ZERO)


def compare(estimate: Estimate, book: EncounterBook | None) -> Comparison:
    posted = posted_by(book, estimate.coverage_rank, estimate.payer_id)
    return Comparison(estimate, "waiting" if posted is None else "adjudicated", posted)


@dataclass(frozen=True)
class Report:
    adjudicated: tuple[Comparison, ...]
    waiting: tuple[Comparison, ...]

    def totals(self) -> dict[str, Any]:
        estimated = sum((c.estimate.patient_estimate for c in self.adjudicated), ZERO)
        posted = sum((c.posted or ZERO for c in self.adjudicated), ZERO)
        return {"adjudicated": len(self.adjudicated), "waiting": len(self.waiting),
                "exact": sum(1 for c in self.adjudicated if c.difference == 0),
                "estimated": str(estimated), "posted": str(posted), "difference": str(posted - estimated)}

    def to_json(self) -> dict[str, Any]:
        return {"adjudicated": [c.to_json() for c in self.adjudicated],
                "waiting": [c.to_json() for c in self.waiting], "totals": self.totals()}


def report(estimates: Iterable[Estimate], books: Mapping[str, EncounterBook]) -> Report:
    """Every estimate compared with its payer's 835s, by encounter id."""
    done = [compare(e, books.get(e.encounter_id)) for e in sorted(estimates, key=lambda e: e.encounter_id)]
    return Report(tuple(c for c in done if c.state == "adjudicated"), tuple(c for c in done if c.state == "waiting"))
