"""The books of an encounter across its payers: pure, Decimal, no I/O.

One receivable per claim family (the lines that one claim carries from payer to payer). The
charge is booked once. The first payer is billed the charge and resolves it into payment,
contractual adjustment, other adjustment, open denial and patient responsibility. When another
payer follows (a crossover, CLP02 19/20/21, or a claim sent to the next coverage), the patient
responsibility the earlier payer left moves to that payer's receivable instead of the patient's.
The later payer resolves only what it was billed: its payment, its own patient responsibility
(which replaces the earlier one) and the difference as its own adjustments. What its CAS restate
of the earlier adjudication (CARC 23, or a CO-45 against the full charge) is not posted again.

Everything here is a function of the set of postings, never of their order: a reversal (CLP02 22)
is a posting with negated amounts, so a reversal and its correction, on any payer and in any
order, give the books the corrected 835 alone would give.

Liability by group code: PR is the patient's (and moves to the next payer when there is one); CO
is the provider's, and so are OA/PI by the CARC table (posting.account_for); a Medicaid or QMB
patient owes none of the cost share but a Medi-Cal share of cost (PR-178): the rest is written off
with its reason (`cost_share_protection`).

The ledger holds these books per encounter: `targets` says what each account must hold, and
`delta` the journal that brings what it holds there (append-only: a correction is a new entry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from services.remits.domain.posting import (
    CONTRACTUAL,
    DENIED,
    FORWARDED,
    INSURANCE_RECEIVABLE,
    OTHER_ADJUSTMENT,
    PATIENT_ACCOUNTS,
    PATIENT_OTHER,
    ZERO,
    PostedAmounts,
    Share,
)

GROSS_CHARGES = "gross_charges"
COST_SHARE_PROTECTION = "cost_share_protection"
INSURANCE_WRITEOFF = "insurance_writeoff"
PLB_RECOUPMENT = "plb_recoupment"
LEGACY_CLAIM_CHARGE = "claim_charge"
"""What postings before migration 0006 credited the charge to, once per payer: restated to zero."""
BOOK_ACCOUNTS = (GROSS_CHARGES, INSURANCE_RECEIVABLE, CONTRACTUAL, COST_SHARE_PROTECTION, OTHER_ADJUSTMENT,
                 INSURANCE_WRITEOFF, DENIED, *PATIENT_ACCOUNTS.values(), PATIENT_OTHER, PLB_RECOUPMENT,
                 LEGACY_CLAIM_CHARGE)
"""Every account the books set per encounter (payer cash is a fact of the remittance, never restated)."""
REASONED = frozenset({COST_SHARE_PROTECTION, INSURANCE_WRITEOFF})
"""Accounts whose rows say why (the ledger `code`): the protection or the operator's reason."""
MAX_RANK = 3

ProtectionReason = Literal["medicaid", "qmb"]


@dataclass(frozen=True)
class Answer:
    """One posting of a payer's 835 claim payment to this claim family."""

    rank: int
    payer_id: str
    status: str
    amounts: PostedAmounts
    reversed: bool = False
    """A later CLP02 22 took this posting back."""

    @property
    def reversal(self) -> bool:
        return self.status == "22"

    @property
    def predetermination(self) -> bool:
        """CLP02 25: an estimate, no answer to the claim (its cash, if any, still counts)."""
        return self.status == "25"


@dataclass(frozen=True)
class Protection:
    """The patient may not be billed the cost share: Medicaid coverage, or a QMB indicator."""

    reason: ProtectionReason
    share_of_cost: Decimal | None = None
    """The most the patient owes on this claim as Medi-Cal share of cost (None: none)."""


@dataclass(frozen=True)
class InsuranceWriteOff:
    """An operator wrote off what a payer left open on this family (its denials, then its balance)."""

    rank: int
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class Family:
    family_id: str
    charge: Decimal
    """What the family bills: its latest primary submission's total (zero once voided)."""
    payers: Mapping[int, str]
    """Rank -> payer id, as submitted or named as the next payer."""
    expected_ranks: frozenset[int]
    """Ranks a submission was sent to or named as its next payer."""
    answers: Sequence[Answer] = ()
    recouped: Mapping[int, Decimal] = field(default_factory=dict)
    """PLB recoupments (WO, 72) that named a claim of the family, by the recouping payer's rank."""
    writeoffs: Sequence[InsuranceWriteOff] = ()
    protection: Protection | None = None


@dataclass(frozen=True)
class PayerBook:
    rank: int
    payer_id: str | None
    billed: Decimal
    paid: Decimal
    contractual: Decimal
    other_adjustments: Decimal
    denied_open: Decimal
    patient_responsibility: Decimal
    """What this payer left to the patient (which a later payer may take over)."""
    open: Decimal
    """Still owed by this payer (negative: it paid more than it was billed)."""
    answered: bool
    recouped: Decimal = ZERO
    """What PLB recoupments took back of this payer's payment (part of paid, reopened in open)."""
    written_off: tuple[tuple[str, Decimal], ...] = ()
    """Operator write-offs by reason (part of other_adjustments)."""
    protected: Decimal = ZERO
    """Cost share written off for a Medicaid or QMB patient (part of contractual)."""

    @property
    def resolved(self) -> Decimal:
        return self.paid + self.contractual + self.other_adjustments + self.denied_open


@dataclass(frozen=True)
class FamilyBook:
    family_id: str
    charge: Decimal
    payers: tuple[PayerBook, ...]
    patient: Share
    """What the patient owes from insurance, by kind (zero while a payer still has to answer for it)."""
    governing_rank: int | None
    """The payer whose patient responsibility the patient owes (None: none yet)."""
    protection: ProtectionReason | None = None

    @property
    def insurance_balance(self) -> Decimal:
        return sum((p.open for p in self.payers), ZERO)


def trim(share: Share, most: Decimal) -> Share:
    """The share cut down to at most `most` in all: the deductible first, then coinsurance, copay
    and other (so a share of cost, kept in other, is cut last)."""
    over = share.total() - max(most, ZERO)
    if over <= 0:
        return share
    out: list[Decimal] = []
    for part in (share.deductible, share.coinsurance, share.copay, share.other):
        cut = min(part, over)
        out.append(part - cut)
        over -= cut
    return Share(*out)


def _clamp(share: Share) -> Share:
    return Share(max(share.deductible, ZERO), max(share.coinsurance, ZERO), max(share.copay, ZERO),
                 max(share.other, ZERO))


def _keep(total: Decimal, contractual: Decimal, other: Decimal, denied: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The payer's own adjustments out of what its CAS say: what exceeds `total` restates the
    earlier payers (a CO-45 against the full charge) and is dropped, contractual first, then other,
    so the payer's own denial is kept."""
    parts = [max(contractual, ZERO), max(other, ZERO), max(denied, ZERO)]
    excess = sum(parts, ZERO) - max(total, ZERO)
    for i, part in enumerate(parts):
        if excess <= 0:
            break
        cut = min(part, excess)
        parts[i] = part - cut
        excess -= cut
    return parts[0], parts[1], parts[2]


def _rank_answers(answers: Sequence[Answer], rank: int) -> tuple[PostedAmounts, bool, bool, str | None]:
    """The sum of a rank's postings, whether the payer's answer stands (postings minus reversals),
    whether a standing answer forwarded the claim, and the payer that answered."""
    mine = [a for a in answers if a.rank == rank]
    total = PostedAmounts(ZERO, ZERO)
    for a in mine:
        total = total + a.amounts
    counted = [a for a in mine if not a.predetermination]
    standing = [a for a in counted if not a.reversal and not a.reversed]
    answered = sum(-1 if a.reversal else 1 for a in counted) > 0 and bool(standing)
    forwarded = any(a.status in FORWARDED for a in standing)
    return total, answered, forwarded, (mine[-1].payer_id if mine else None)


def family_book(f: Family) -> FamilyBook:
    """The family's books: each payer in coverage order, the patient's share, the open balances."""
    answered_ranks = {a.rank for a in f.answers}
    billed = f.charge
    books: list[PayerBook] = []
    patient = Share()
    patient_soc = ZERO
    governing: int | None = None
    rank = 1
    while rank <= MAX_RANK and (rank == 1 or billed != 0 or rank in answered_ranks
                                or any(r >= rank for r in answered_ranks)):
        total, answered, forwarded, answer_payer = _rank_answers(f.answers, rank)
        recouped = f.recouped.get(rank, ZERO)
        paid = total.paid - recouped
        payer_id = f.payers.get(rank) or answer_payer
        if not answered:
            books.append(PayerBook(rank, payer_id, billed, paid, ZERO, ZERO, ZERO, ZERO, billed - paid, False,
                                   recouped))
            billed = ZERO  # a payer that has not answered passes nothing on
            rank += 1
            continue
        share = trim(_clamp(total.share), billed - paid)
        own = billed - paid - share.total()
        contractual, other, denied = _keep(own, total.contractual, total.other, total.denied)
        books.append(PayerBook(rank, payer_id, billed, paid, contractual, other, denied, share.total(),
                               own - contractual - other - denied, True, recouped))
        follows = rank < MAX_RANK and (forwarded or rank + 1 in f.expected_ranks or rank + 1 in answered_ranks)
        if follows:
            billed = share.total()
        else:  # the patient's (a payer answering after it was billed nothing passes nothing on either)
            patient, governing, billed = patient + share, rank, ZERO
            patient_soc += min(max(total.share_of_cost, ZERO), share.other)
        rank += 1
    books = _write_offs(books, f.writeoffs)
    reason: ProtectionReason | None = None
    if governing is not None and f.protection is not None and patient.total() > 0:
        reason = f.protection.reason
        keep = min(patient_soc, f.protection.share_of_cost or ZERO)
        protected = patient.total() - keep
        patient = trim(patient, keep)
        at = governing - 1
        books[at] = replace(books[at], contractual=books[at].contractual + protected, protected=protected)
    return FamilyBook(f.family_id, f.charge, tuple(books), patient, governing, reason)


def _write_offs(books: list[PayerBook], writeoffs: Iterable[InsuranceWriteOff]) -> list[PayerBook]:
    """Operator write-offs take a payer's open denials, then what it still owes; never more (what
    exceeds it, for example after the payer paid on appeal, is given back by the books)."""
    out = list(books)
    for wo in writeoffs:
        i = next((n for n, b in enumerate(out) if b.rank == wo.rank), None)
        if i is None or wo.amount <= 0:
            continue
        b = out[i]
        from_denied = min(wo.amount, b.denied_open)
        from_open = min(wo.amount - from_denied, max(b.open, ZERO))
        take = from_denied + from_open
        if take <= 0:
            continue
        reasons = dict(b.written_off)
        reasons[wo.reason] = reasons.get(wo.reason, ZERO) + take
        out[i] = replace(b, denied_open=b.denied_open - from_denied, open=b.open - from_open,
                         other_adjustments=b.other_adjustments + take, written_off=tuple(sorted(reasons.items())))
    return out


# --------------------------------------------------------------------------- the encounter


@dataclass(frozen=True)
class EncounterBook:
    encounter_id: str
    families: tuple[FamilyBook, ...]

    @property
    def charge(self) -> Decimal:
        return sum((f.charge for f in self.families), ZERO)

    @property
    def patient(self) -> Share:
        out = Share()
        for f in self.families:
            out = out + f.patient
        return out

    @property
    def insurance_balance(self) -> Decimal:
        return sum((f.insurance_balance for f in self.families), ZERO)

    def payers(self) -> list[PayerBook]:
        """One entry per payer (rank, payer id): its figures summed over the families."""
        merged: dict[tuple[int, str | None], PayerBook] = {}
        for f in self.families:
            for p in f.payers:
                key = (p.rank, p.payer_id)
                seen = merged.get(key)
                if seen is None:
                    merged[key] = p
                    continue
                reasons = dict(seen.written_off)
                for r, amount in p.written_off:
                    reasons[r] = reasons.get(r, ZERO) + amount
                merged[key] = PayerBook(
                    p.rank, p.payer_id, seen.billed + p.billed, seen.paid + p.paid, seen.contractual + p.contractual,
                    seen.other_adjustments + p.other_adjustments, seen.denied_open + p.denied_open,
                    seen.patient_responsibility + p.patient_responsibility, seen.open + p.open,
                    seen.answered or p.answered, seen.recouped + p.recouped, tuple(sorted(reasons.items())),
                    seen.protected + p.protected)
        return [merged[k] for k in sorted(merged, key=lambda k: (k[0], k[1] or ""))]


def encounter_book(encounter_id: str, families: Iterable[Family]) -> EncounterBook:
    return EncounterBook(encounter_id, tuple(family_book(f) for f in sorted(families, key=lambda f: f.family_id)))


# --------------------------------------------------------------------------- the ledger


@dataclass(frozen=True, order=True)
class BookKey:
    account: str
    rank: int | None = None
    payer_id: str | None = None
    reason: str = ""


def targets(book: EncounterBook) -> dict[BookKey, Decimal]:
    """What each book account of the encounter must hold (non-zero entries only). With the payer
    cash the remittances posted, they sum to zero: charge = paid + adjustments + denials + patient
    responsibility + what the payers still owe."""
    out: dict[BookKey, Decimal] = {}

    def add(key: BookKey, amount: Decimal) -> None:
        if amount != 0:
            out[key] = out.get(key, ZERO) + amount

    add(BookKey(GROSS_CHARGES), -book.charge)
    for p in book.payers():
        add(BookKey(INSURANCE_RECEIVABLE, p.rank, p.payer_id), p.open)
        add(BookKey(CONTRACTUAL, p.rank, p.payer_id), p.contractual - p.protected)
        add(BookKey(DENIED, p.rank, p.payer_id), p.denied_open)
        written = sum((amount for _, amount in p.written_off), ZERO)
        add(BookKey(OTHER_ADJUSTMENT, p.rank, p.payer_id), p.other_adjustments - written)
        for reason, amount in p.written_off:
            add(BookKey(INSURANCE_WRITEOFF, p.rank, p.payer_id, reason), amount)
    for f in book.families:
        for p in f.payers:
            if p.protected and f.protection is not None:
                add(BookKey(COST_SHARE_PROTECTION, p.rank, p.payer_id, f.protection), p.protected)
    share = book.patient
    for kind, account in (("deductible", PATIENT_ACCOUNTS["1"]), ("coinsurance", PATIENT_ACCOUNTS["2"]),
                          ("copay", PATIENT_ACCOUNTS["3"]), ("other", PATIENT_OTHER)):
        add(BookKey(account), getattr(share, kind))
    return {k: v for k, v in out.items() if v != 0}


def delta(target: Mapping[BookKey, Decimal], held: Mapping[BookKey, Decimal]) -> list[tuple[BookKey, Decimal]]:
    """The entries that move what the ledger holds to the target, in a stable order."""
    keys = sorted(set(target) | set(held))
    moves = [(k, target.get(k, ZERO) - held.get(k, ZERO)) for k in keys]
    return [(k, amount) for k, amount in moves if amount != 0]


# --------------------------------------------------------------------------- from the service's records


@dataclass(frozen=True)
class Submitted:
    """A ClaimSubmitted as remits keeps it."""

    submission_id: str
    claim_id: str
    family_id: str
    payer_id: str
    rank: int
    frequency: str
    total_charge: Decimal
    submitted_at: datetime
    next_payer_rank: int | None = None
    next_payer_id: str | None = None
    protection: ProtectionReason | None = None
    share_of_cost: Decimal | None = None


@dataclass(frozen=True)
class Posted:
    """A matched posting as remits keeps it."""

    family_id: str
    answer: Answer


def families(submitted: Iterable[Submitted], posted: Iterable[Posted], recouped: Iterable[tuple[str, int, Decimal]],
             writeoffs: Iterable[tuple[str, InsuranceWriteOff]]) -> list[Family]:
    """The claim families of one encounter. A family bills its latest primary submission's charge
    (an original, its resubmission after a rejection, or its replacement; nothing once voided);
    its payers are the ones submitted to or named as the next payer, in coverage order.
    `recouped` is (family id, rank, amount); `writeoffs` is (family id, write-off)."""
    subs: dict[str, list[Submitted]] = {}
    for s in submitted:
        subs.setdefault(s.family_id, []).append(s)
    answers: dict[str, list[Answer]] = {}
    for p in posted:
        answers.setdefault(p.family_id, []).append(p.answer)
    recoups: dict[str, dict[int, Decimal]] = {}
    for family_id, rank, amount in recouped:
        by_rank = recoups.setdefault(family_id, {})
        by_rank[rank] = by_rank.get(rank, ZERO) + amount
    written: dict[str, list[InsuranceWriteOff]] = {}
    for family_id, wo in writeoffs:
        written.setdefault(family_id, []).append(wo)
    out: list[Family] = []
    for family_id in sorted(set(subs) | set(answers)):
        mine = sorted(subs.get(family_id, []), key=lambda s: (s.submitted_at, s.submission_id))
        primary = [s for s in mine if s.rank == 1]
        charge = ZERO if not primary or primary[-1].frequency == "8" else primary[-1].total_charge
        payers: dict[int, str] = {}
        for s in mine:  # the latest submission to a rank names its payer; a next payer only fills a gap
            if s.next_payer_rank is not None and s.next_payer_id is not None:
                payers.setdefault(s.next_payer_rank, s.next_payer_id)
        for s in mine:
            payers[s.rank] = s.payer_id
        expected = frozenset({s.rank for s in mine} | {s.next_payer_rank for s in mine if s.next_payer_rank})
        protection = next((Protection(s.protection, s.share_of_cost) for s in reversed(mine)
                           if s.protection is not None), None)
        out.append(Family(family_id, charge, payers, expected, tuple(answers.get(family_id, [])),
                          recoups.get(family_id, {}), tuple(written.get(family_id, [])), protection))
    return out
