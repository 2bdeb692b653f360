"""Account cards: one per encounter, what a billing manager reads of its books. Pure.

A card holds when charge = what every payer paid, adjusted (contractual, other) and left denied +
the patient's responsibility + what the payers still owe, with no figure negative and none above
the charge (`problems`). Contractual includes the cost share written off for a Medicaid or QMB
patient; other adjustments include operator write-offs of insurance balances.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from services.remits.domain.books import COST_SHARE_PROTECTION, GROSS_CHARGES, INSURANCE_WRITEOFF, EncounterBook
from services.remits.domain.estimates import Comparison, Estimate, compare
from services.remits.domain.posting import (
    CONTRACTUAL,
    DENIED,
    INSURANCE_RECEIVABLE,
    OTHER_ADJUSTMENT,
    PATIENT_ACCOUNTS,
    PATIENT_OTHER,
    PAYER_CASH,
    ZERO,
    Facility,
)

PATIENT_LEDGER_ACCOUNTS = frozenset({*PATIENT_ACCOUNTS.values(), PATIENT_OTHER})

State = Literal["open", "waiting_for_payer", "patient_due", "closed"]


@dataclass(frozen=True)
class ClaimRef:
    """A claim sent for the encounter: which payer, at which rank, under which CLM01."""

    claim_id: str
    payer_id: str
    rank: int
    patient_control_number: str


@dataclass(frozen=True)
class FacilityRef:
    """What a payer's standing answer to an institutional claim said besides its money."""

    claim_id: str
    rank: int
    status: str
    facility: Facility


@dataclass(frozen=True)
class PayerLine:
    payer_id: str | None
    rank: int
    paid: Decimal
    contractual: Decimal
    other_adjustments: Decimal
    denied_open: Decimal
    patient_responsibility: Decimal
    """What this payer left to the patient (a later payer may have taken it over)."""


@dataclass(frozen=True)
class Card:
    encounter_id: str
    patient_account_id: str
    state: State
    charge: Decimal
    claims: tuple[ClaimRef, ...]
    payers: tuple[PayerLine, ...]
    patient_responsibility: Decimal
    patient_paid: Decimal
    patient_writeoffs: Decimal
    insurance_balance: Decimal
    patient_balance: Decimal
    protection: tuple[tuple[str, Decimal], ...] = ()
    """Cost share written off for a Medicaid or QMB patient, by reason (inside contractual)."""
    facility: tuple[FacilityRef, ...] = ()
    """The institutional specifics of the payers' answers (DRG, MIA, MOA), in posting order."""
    estimate: Comparison | None = None
    """The patient's estimate before billing beside what its payer left to the patient."""

    def to_json(self) -> dict[str, Any]:
        """Money as strings with two places."""
        return {
            "encounter_id": self.encounter_id, "patient_account_id": self.patient_account_id, "state": self.state,
            "charge": str(self.charge),
            "claims": [{"claim_id": c.claim_id, "payer_id": c.payer_id, "rank": c.rank,
                        "patient_control_number": c.patient_control_number} for c in self.claims],
            "payers": [{"payer_id": p.payer_id, "rank": p.rank, "paid": str(p.paid), "contractual": str(p.contractual),
                        "other_adjustments": str(p.other_adjustments), "denied_open": str(p.denied_open),
                        "patient_responsibility": str(p.patient_responsibility)} for p in self.payers],
            "patient_responsibility": str(self.patient_responsibility), "patient_paid": str(self.patient_paid),
            "patient_writeoffs": str(self.patient_writeoffs), "insurance_balance": str(self.insurance_balance),
            "patient_balance": str(self.patient_balance),
            "cost_share_protection": [{"reason": r, "written_off": str(a)} for r, a in self.protection],
            "facility": [{"claim_id": f.claim_id, "rank": f.rank, "claim_status": f.status, **f.facility.to_json()}
                         for f in self.facility],
            "estimate": None if self.estimate is None else self.estimate.to_json(),
        }


def state_of(book: EncounterBook, patient_balance: Decimal) -> State:
    """waiting_for_payer: a payer has yet to answer for what it was billed; open: the provider has
    insurance work (an open denial, a recoupment that reopened a claim, a payer that paid more or
    said less than it was billed); patient_due: only the patient owes; closed: nobody owes anything."""
    payers = [p for f in book.families for p in f.payers]
    if any(not p.answered and p.open > 0 for p in payers):
        return "waiting_for_payer"
    if any(p.denied_open > 0 or (p.answered and p.open != 0) for p in payers):
        return "open"
    return "patient_due" if patient_balance > 0 else "closed"


def card(book: EncounterBook, account: str, claims: tuple[ClaimRef, ...], patient_paid: Decimal,
         patient_writeoffs: Decimal, facility: tuple[FacilityRef, ...] = (), estimate: Estimate | None = None) -> Card:
    patient = book.patient.total()
    due = patient - patient_paid - patient_writeoffs
    protection: dict[str, Decimal] = {}
    for f in book.families:
        protected = sum((p.protected for p in f.payers), ZERO)
        if f.protection is not None and protected:
            protection[f.protection] = protection.get(f.protection, ZERO) + protected
    return Card(
        book.encounter_id, account, state_of(book, due), book.charge, claims,
        tuple(PayerLine(p.payer_id, p.rank, p.paid, p.contractual, p.other_adjustments, p.denied_open,
                        p.patient_responsibility) for p in book.payers()),
        patient, patient_paid, patient_writeoffs, book.insurance_balance, due, tuple(sorted(protection.items())),
        facility, None if estimate is None else compare(estimate, book))


def problems(c: Card) -> list[str]:
    """Why a card does not hold (empty: it does)."""
    resolved = sum((p.paid + p.contractual + p.other_adjustments + p.denied_open for p in c.payers), ZERO)
    out: list[str] = []
    if c.charge != resolved + c.patient_responsibility + c.insurance_balance:
        out.append(f"charge {c.charge} != paid, adjusted and denied {resolved} + patient {c.patient_responsibility}"
                   f" + insurance balance {c.insurance_balance}")
    figures = {f"payer {p.rank} {name}": value for p in c.payers
               for name, value in (("paid", p.paid), ("contractual", p.contractual),
                                   ("other adjustments", p.other_adjustments), ("denied", p.denied_open),
                                   ("patient responsibility", p.patient_responsibility))}
    figures |= {"patient responsibility": c.patient_responsibility, "patient paid": c.patient_paid,
                "patient write-offs": c.patient_writeoffs, "insurance balance": c.insurance_balance,
                "patient balance": c.patient_balance}
    out += [f"{name} {value} is negative" for name, value in figures.items() if value < 0]
    out += [f"{name} {value} is above the charge {c.charge}" for name, value in figures.items() if value > c.charge]
    return out


def figures(c: Card) -> dict[str, Decimal]:
    """What the ledger must hold for a card, by figure (per payer rank where the card has one)."""
    out = {"charge": c.charge, "patient responsibility": c.patient_responsibility,
           "insurance balance": c.insurance_balance}
    for p in c.payers:
        for figure, amount in (("paid", p.paid), ("contractual", p.contractual),
                               ("other adjustments", p.other_adjustments), ("denied", p.denied_open)):
            key = f"payer {p.rank} {figure}"
            out[key] = out.get(key, ZERO) + amount
    return {k: v for k, v in out.items() if v != 0}


_FIGURE = {PAYER_CASH: "paid", CONTRACTUAL: "contractual", COST_SHARE_PROTECTION: "contractual",
           OTHER_ADJUSTMENT: "other adjustments", INSURANCE_WRITEOFF: "other adjustments", DENIED: "denied"}


def held_figures(held: Mapping[tuple[str, int | None], Decimal]) -> dict[str, Decimal]:
    """The same figures as an encounter's ledger holds them ((account, payer rank) -> amount);
    anything else (the legacy claim_charge, a recoupment not restated) shows as a figure of its own
    that must be zero."""
    out: dict[str, Decimal] = {}

    def add(key: str, amount: Decimal) -> None:
        out[key] = out.get(key, ZERO) + amount

    for (account, rank), amount in held.items():
        if account == GROSS_CHARGES:
            add("charge", -amount)
        elif account in PATIENT_LEDGER_ACCOUNTS:
            add("patient responsibility", amount)
        elif account == INSURANCE_RECEIVABLE:
            add("insurance balance", amount)
        elif account in _FIGURE and rank is not None:
            add(f"payer {rank} {_FIGURE[account]}", amount)
        else:
            add(f"{account} (rank {rank}, should be zero)", amount)
    return {k: v for k, v in out.items() if v != 0}
