"""Patient balances, payment application and A/R buckets: pure rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.remits.domain.posting import ZERO, Share


@dataclass(frozen=True)
class PostedLine:
    """One stored per-line posting effect (reversals carry negated amounts)."""

    claim_id: str
    rank: int
    charge_id: str
    charge: Decimal
    paid: Decimal
    share: Share


@dataclass(frozen=True)
class ClaimState:
    claim_id: str
    rank: int
    active_postings: int
    """Postings minus reversals at this rank for this claim."""
    last_status: str
    next_payer_rank: int | None


@dataclass(frozen=True)
class Item:
    charge_id: str
    claim_id: str
    charge: Decimal
    insurance_paid: Decimal
    share: Share

    @property
    def patient_responsibility(self) -> Decimal:
        return self.share.total()

    @property
    def adjustments(self) -> Decimal:
        return self.charge - self.insurance_paid - self.patient_responsibility


@dataclass(frozen=True)
class PatientShareResult:
    held: bool
    governing_rank: int | None
    items: list[Item]

    @property
    def total(self) -> Decimal:
        return sum((i.patient_responsibility for i in self.items), ZERO)


def _clamp(share: Share) -> Share:
    return Share(max(share.deductible, ZERO), max(share.coinsurance, ZERO), max(share.copay, ZERO),
                 max(share.other, ZERO))


def patient_share(claims: Sequence[ClaimState], lines: Sequence[PostedLine]) -> PatientShareResult:
    """The patient owes the PR of the last payer that paid (the highest coverage rank with an
    active posting); held while a next payer is pending (CLP02 19/20/21, or a next payer on the
    submission that has not remitted yet)."""
    active = [c for c in claims if c.active_postings > 0]
    if not active:
        if not lines:
            return PatientShareResult(held=False, governing_rank=None, items=[])
        rank = max(ln.rank for ln in lines)  # everything reversed: the share nets to zero
    else:
        rank = max(c.rank for c in active)
    governing = [c for c in active if c.rank == rank]
    held = any(c.last_status in ("19", "20", "21") for c in governing) or any(
        c.next_payer_rank is not None and c.next_payer_rank > rank for c in claims
    )
    claim_of: dict[str, str] = {}
    charge: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    shares: dict[str, Share] = {}
    for ln in lines:
        paid[ln.charge_id] = paid.get(ln.charge_id, ZERO) + ln.paid
        if ln.rank == rank:
            claim_of.setdefault(ln.charge_id, ln.claim_id)
            charge[ln.charge_id] = charge.get(ln.charge_id, ZERO) + ln.charge
            shares[ln.charge_id] = shares.get(ln.charge_id, Share()) + ln.share
    items = [
        Item(cid, claim_of[cid], max(charge[cid], ZERO), paid.get(cid, ZERO), _clamp(shares[cid]))
        for cid in sorted(claim_of)
    ]
    return PatientShareResult(held=held, governing_rank=rank, items=items)


@dataclass(frozen=True)
class OpenBalance:
    balance_id: str
    encounter_id: str
    amount_due: Decimal
    created_on: date


def apply_payment(
    amount: Decimal, balances: Sequence[OpenBalance], encounter_id: str | None = None
) -> tuple[list[tuple[OpenBalance, Decimal]], Decimal]:
    """A payment goes to the balance its reference names, then to the oldest open balances;
    what is left over is unapplied (a credit balance)."""
    ordered = sorted(balances, key=lambda b: (b.encounter_id != encounter_id, b.created_on, b.balance_id))
    left = amount
    out: list[tuple[OpenBalance, Decimal]] = []
    for b in ordered:
        if left <= 0:
            break
        if b.amount_due <= 0:
            continue
        take = min(left, b.amount_due)
        out.append((b, take))
        left -= take
    return out, left


@dataclass(frozen=True)
class Reconciled:
    patient_paid: Decimal
    written_off: Decimal
    credit: Decimal


def reconcile(total: Decimal, patient_paid: Decimal, written_off: Decimal) -> Reconciled:
    """When a later remittance lowers a balance below what was paid and written off, the write-off
    shrinks first, then the excess payment becomes a credit (amount_due never goes negative)."""
    excess = patient_paid + written_off - total
    if excess <= 0:
        return Reconciled(patient_paid, written_off, ZERO)
    wo_back = min(written_off, excess)
    excess -= wo_back
    return Reconciled(patient_paid - excess, written_off - wo_back, excess)


BUCKETS = ("0-30", "31-60", "61-90", "91-120", "120+")


def bucket(days: int) -> str:
    if days <= 30:
        return "0-30"
    if days <= 60:
        return "31-60"
    if days <= 90:
        return "61-90"
    if days <= 120:
        return "91-120"
    return "120+"


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator == 0 else (numerator / denominator).quantize(Decimal("0.0001"))
