"""Patient balances, payment application and A/R buckets: pure rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, TypeVar

from services.remits.domain.posting import ZERO, Share

T = TypeVar("T")


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
    wholly_denied: bool = False
    """The latest unreversed posting of this claim at this rank denied the whole claim (CLP02 4, or
    nothing paid, no patient share and a denial CARC): that payer answered, but it pays nothing."""


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
    """DOMAIN.md: the patient owes the PR after the last payer that will pay.

    * The governing rank is the highest coverage rank with an active posting (postings minus
      reversals) that is not a whole-claim denial: a payer that denied the claim outright is not
      "the last payer that will pay", so the patient owes what the payer before it left (a denial
      may be appealed; until a later posting pays, the earlier payer's share stands). When every
      active posting is a whole-claim denial, the highest of them governs (its PR, usually 0).
    * Held while a next payer is pending: the highest rank that answered at all (a denial is an
      answer) was forwarded (CLP02 19/20/21), or a submission names a next payer above it.
    * With nothing active (everything reversed), the share nets to zero at the last rank posted."""
    active = [c for c in claims if c.active_postings > 0]
    if not active:
        if not lines:
            return PatientShareResult(held=False, governing_rank=None, items=[])
        rank = answered = max(ln.rank for ln in lines)  # everything reversed: the share nets to zero
    else:
        answered = max(c.rank for c in active)
        paying = [c for c in active if not c.wholly_denied]
        rank = max(c.rank for c in paying) if paying else answered
    held = any(c.last_status in ("19", "20", "21") for c in active if c.rank == answered) or any(
        c.next_payer_rank is not None and c.next_payer_rank > answered for c in claims
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
