"""Patient balances (the statement lines), payment application and A/R buckets: pure rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, TypeVar

from services.remits.domain.books import EncounterBook
from services.remits.domain.posting import ZERO, Share

T = TypeVar("T")


@dataclass(frozen=True)
class PostedLine:
    """One stored per-line posting effect (reversals carry negated amounts)."""

    family_id: str
    claim_id: str
    rank: int
    charge_id: str
    charge: Decimal
    paid: Decimal
    share: Share


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


def fit(values: Sequence[Decimal], total: Decimal) -> list[Decimal]:
    """Non-negative values made to sum to `total`: cut from the last one back, or the shortfall
    added to the first (claim-level amounts that no line carried)."""
    out = [max(v, ZERO) for v in values]
    over = sum(out, ZERO) - total
    for i in reversed(range(len(out))):
        if over <= 0:
            break
        cut = min(out[i], over)
        out[i] -= cut
        over -= cut
    if over < 0 and out:
        out[0] -= over
    return out


def items_for(book: EncounterBook, lines: Sequence[PostedLine], billed: Mapping[str, Decimal]) -> list[Item]:
    """The statement's lines: per charge of each family the patient owes something on, the billed
    charge, what every payer paid on it, and the share of the payer whose responsibility the patient
    owes (the family's share by kind, after the books' caps and protections, spread over its lines)."""
    items: list[Item] = []
    for family in book.families:
        if family.governing_rank is None or family.patient.total() <= 0:
            continue
        mine = [ln for ln in lines if ln.family_id == family.family_id]
        paid: dict[str, Decimal] = {}
        shares: dict[str, Share] = {}
        claims: dict[str, str] = {}
        for ln in mine:
            paid[ln.charge_id] = paid.get(ln.charge_id, ZERO) + ln.paid
            if ln.rank == family.governing_rank:
                claims.setdefault(ln.charge_id, ln.claim_id)
                shares[ln.charge_id] = shares.get(ln.charge_id, Share()) + ln.share
        charge_ids = sorted(shares)
        if not charge_ids:
            continue
        kinds = ("deductible", "coinsurance", "copay", "other")
        fitted = {k: fit([getattr(shares[c], k) for c in charge_ids], getattr(family.patient, k)) for k in kinds}
        for n, charge_id in enumerate(charge_ids):
            share = Share(*(fitted[k][n] for k in kinds))
            items.append(Item(charge_id, claims[charge_id], billed.get(charge_id, ZERO), paid.get(charge_id, ZERO),
                              share))
    return items


@dataclass(frozen=True)
class OpenBalance:
    balance_id: str
    encounter_id: str
    amount_due: Decimal
    created_on: date


def allocate(amount: Decimal, items: Sequence[T], capacity: Callable[[T], Decimal]) -> tuple[
        list[tuple[T, Decimal]], Decimal]:
    """Spread `amount` over `items` in the order given, each up to its capacity: what each takes,
    and what is left over."""
    out: list[tuple[T, Decimal]] = []
    left = amount
    for item in items:
        if left <= 0:
            break
        room = capacity(item)
        if room <= 0:
            continue
        take = min(left, room)
        out.append((item, take))
        left -= take
    return out, left


def apply_payment(
    amount: Decimal, balances: Sequence[OpenBalance], encounter_id: str | None = None, *,
    balance_id: str | None = None,
) -> tuple[list[tuple[OpenBalance, Decimal]], Decimal]:
    """A payment goes to the balance its statement names (`balance_id`), then to the balance of the
    encounter it names, then to the oldest open balances (created first, then by id); what is left
    over is unapplied (a credit balance). `balances` must be the payer's own account's balances:
    a reference is only an order of preference among them, never a way to reach another account."""

    def rank(b: OpenBalance) -> int:
        if balance_id is not None and b.balance_id == balance_id:
            return 0
        if encounter_id is not None and b.encounter_id == encounter_id:
            return 1
        return 2

    ordered = sorted(balances, key=lambda b: (rank(b), b.created_on, b.balance_id))
    return allocate(amount, ordered, lambda b: b.amount_due)


@dataclass(frozen=True)
class KnownReference:
    """What remits knows about a payment's reference: the balance a statement was about (or the
    balance of a named encounter) and that balance's patient account (None: balance unknown)."""

    balance_id: str
    patient_account_id: str | None


IgnoredReason = Literal["unknown_statement", "statement_of_another_account", "unknown_encounter",
                        "encounter_of_another_account"]


def resolve_statement(patient_account_id: str, known: KnownReference | None) -> tuple[str | None,
                                                                                      IgnoredReason | None]:
    """The balance a payment's statement id targets, or why the reference is ignored (the payment
    is then applied as if it named nothing: money is never lost nor sent to another account)."""
    if known is None or known.patient_account_id is None:
        return None, "unknown_statement"
    if known.patient_account_id != patient_account_id:
        return None, "statement_of_another_account"
    return known.balance_id, None


def resolve_encounter(patient_account_id: str, encounter_id: str, owner: str | None) -> tuple[
        str | None, IgnoredReason | None]:
    """The encounter a payment names, kept only when its balance belongs to the payer's account."""
    if owner is None:
        return None, "unknown_encounter"
    if owner != patient_account_id:
        return None, "encounter_of_another_account"
    return encounter_id, None


@dataclass(frozen=True)
class OpenCredit:
    credit_balance_id: str
    remaining: Decimal
    created_at: datetime


def credits_to_apply(due: Decimal, credits: Sequence[OpenCredit]) -> list[tuple[OpenCredit, Decimal]]:
    """Which open credits pay a new or grown balance, and how much each: the oldest credit first
    (created first, then by id), each up to what remains of it, never more than `due` in all."""
    ordered = sorted(credits, key=lambda c: (c.created_at, c.credit_balance_id))
    return allocate(due, ordered, lambda c: c.remaining)[0]


RefundRefusal = Literal["unknown_credit", "credit_of_another_account", "exceeds_remaining"]


def check_refund(patient_account_id: str, credit_account: str | None, remaining: Decimal,
                 amount: Decimal) -> RefundRefusal | None:
    """Why a refund cannot draw on a credit (None: it can). A credit is never drawn below zero."""
    if credit_account is None:
        return "unknown_credit"
    if credit_account != patient_account_id:
        return "credit_of_another_account"
    if amount > remaining:
        return "exceeds_remaining"
    return None


@dataclass(frozen=True)
class Reconciled:
    patient_paid: Decimal
    written_off: Decimal
    credit: Decimal
    written_off_back: Decimal = ZERO
    """How much of the write-offs is given back (a reversing write-off journal of that amount)."""


def reconcile(total: Decimal, patient_paid: Decimal, written_off: Decimal) -> Reconciled:
    """When a later remittance lowers a balance below what was paid and written off, the excess is
    undone in this order (amount_due never goes negative):

    1. the write-offs shrink first: they are the hospital's own concession against a debt that no
       longer exists, so no patient money goes back while the hospital still forgives part of the
       same balance (a reversing journal; `written_off_back`);
    2. then the excess patient payment becomes a credit (CreditBalanceCreated, origin
       balance_reduced_after_payment), to refund or apply to another balance."""
    excess = patient_paid + written_off - total
    if excess <= 0:
        return Reconciled(patient_paid, written_off, ZERO)
    wo_back = min(written_off, excess)
    excess -= wo_back
    return Reconciled(patient_paid - excess, written_off - wo_back, excess, wo_back)


@dataclass(frozen=True)
class WrittenOff:
    """What a balance still has written off under one reason (the ledger's net expense for it), and
    when that reason last wrote something off."""

    reason: str
    amount: Decimal
    last_written_at: datetime


def write_offs_given_back(amount: Decimal, written: Sequence[WrittenOff]) -> list[tuple[str, Decimal]]:
    """Which write-offs a lowered balance gives back, and how much of each: the most recent reason
    first (then by reason name), each up to what it still has written off, `amount` in all (never
    more than is written off: the rest is the caller's to explain)."""
    ordered = sorted(written, key=lambda w: (-w.last_written_at.timestamp(), w.reason))
    return [(w.reason, take) for w, take in allocate(amount, ordered, lambda w: w.amount)[0]]


@dataclass(frozen=True)
class Movement:
    """One ledger entry of a receivable, for aging: whose it is (key), how much, when."""

    key: tuple[str, ...]
    amount: Decimal
    at: datetime


def open_since(movements: Iterable[Movement]) -> dict[tuple[str, ...], tuple[Decimal, datetime]]:
    """Per receivable (movements in time order): its balance and since when it has been open, the
    time it last rose above zero (a receivable that grows while open keeps its age). Only those
    still above zero."""
    running: dict[tuple[str, ...], tuple[Decimal, datetime]] = {}
    for m in movements:
        balance, since = running.get(m.key, (ZERO, m.at))
        new = balance + m.amount
        running[m.key] = (new, m.at if balance <= 0 < new else since)
    return {k: v for k, v in running.items() if v[0] > 0}


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
