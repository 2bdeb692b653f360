"""The rows of the remits tables the use cases (service/) build and read: typed, one dataclass per
table (or per query that joins), so a use case reads attributes and the store alone knows the SQL.

Money is Decimal, ids str, instants datetime, days date; a jsonb column stays the JSON it holds
(`Json`: what `json.loads` gives back). Rows are frozen: a use case that changes one writes a copy
(`dataclasses.replace`). Report, audit and operator-listing queries keep their asyncpg records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from schemas.common import ClaimStatusCode
from schemas.intake import PaymentMethod
from schemas.remits import InsuranceWriteOffReason
from services.remits.domain.balances import RefundRefusal
from services.remits.domain.posting import (
    ZERO,
    DenialItem,
    ExpectedLine,
    Facility,
    LedgerRow,
    PostedAmounts,
    Share,
)

Json = dict[str, Any]
"""One JSON object of a jsonb column (a submitted line, a balance item, a payment application)."""

PostingOutcome = Literal["posted", "denied", "reversed", "unmatched"]
CreditOrigin = Literal["patient_overpayment", "balance_reduced_after_payment"]


# --------------------------------------------------------------------------- submissions


@dataclass(frozen=True, kw_only=True)
class SubmissionRow:
    """A ClaimSubmitted as remits keeps it (table submissions): what a CLP01 matches."""

    submission_id: str
    claim_id: str
    claim_family_id: str
    encounter_id: str
    patient_account_id: str
    payer_id: str
    payer_name: str
    coverage_rank: int
    frequency: str
    total_charge: Decimal
    lines: tuple[Json, ...]
    """The submitted lines as the event carried them (SubmittedLine in JSON form)."""
    submitted_at: datetime
    next_payer_rank: int | None = None
    next_payer_id: str | None = None
    protection: str | None = None
    """medicaid or qmb: the patient is protected from the payer's cost share."""
    share_of_cost: Decimal | None = None
    traceparent: str | None = None
    """The trace the ClaimSubmitted came in (its encounter's): the 835 posting continues it."""

    def expected_lines(self) -> list[ExpectedLine]:
        """The submitted lines, as the posting rules match the 835's service lines to them."""
        return [ExpectedLine(line_control_number=ln["line_control_number"], charge_id=ln["charge_id"],
                             procedure_code=ln["procedure_code"], service_date=date.fromisoformat(ln["service_date"]),
                             charge=Decimal(ln["charge"]),
                             expected_allowed=(None if ln.get("expected_allowed") is None
                                               else Decimal(ln["expected_allowed"])),
                             description=ln.get("description"), revenue_code=ln.get("revenue_code"),
                             summed_charge_ids=tuple(ln.get("summed_charge_ids") or ()))
                for ln in self.lines]


def json_objects(value: Any) -> tuple[Json, ...]:
    """A jsonb array as the store reads it (decoded by the connection's codec, or still text)."""
    return tuple(json.loads(value) if isinstance(value, str) else value)


# --------------------------------------------------------------------------- files, remittances, postings


@dataclass(frozen=True, kw_only=True)
class RemittanceFileRow:
    """An 835 file as received (table remittance_files)."""

    file_id: str
    sha256: str
    file_name: str
    source: str
    raw: bytes
    status: str
    """posted, quarantined, duplicate or released."""
    reason: str | None
    received_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class RemittanceRow:
    """One 835 transaction set: one payment (or remittance advice) of one payer (table remittances)."""

    remittance_id: str
    file_id: str
    payer_id: str
    payer_name: str
    trace_number: str
    total_payment: Decimal
    plb_total: Decimal
    payment_date: date
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class PostingRow:
    """One CLP as posted (table postings): unmatched (rank 0, no claim ids) or matched to its claim."""

    posting_id: str
    remittance_id: str
    claim_index: int
    reported_submission: str
    """CLP01 as the payer sent it."""
    payer_id: str
    status: ClaimStatusCode
    rank: int
    payer_claim_control: str
    charge: Decimal
    paid: Decimal
    patient_resp: Decimal
    outcome: PostingOutcome
    posted_at: datetime
    claim_id: str | None = None
    claim_family_id: str | None = None
    encounter_id: str | None = None
    patient_account_id: str | None = None
    reverses: str | None = None
    """The posting a CLP02 22 took back."""
    amounts: PostedAmounts = field(default_factory=lambda: PostedAmounts(ZERO, ZERO))
    """What its CAS say, sorted by how each posts (the books read these; zero for an unmatched one).
    Only the adjustments are stored from it: charge and paid are the posting's own (`charge`,
    `paid`), and a posting read back carries those in it."""
    facility: Facility | None = None
    """An institutional claim payment's DRG, MIA and MOA specifics (None: a professional one)."""


@dataclass(frozen=True, kw_only=True)
class PostingLineRow:
    """What a matched posting did to one submitted line (table posting_lines)."""

    posting_id: str
    claim_id: str
    encounter_id: str
    rank: int
    charge_id: str
    line_control: str
    charge: Decimal
    paid: Decimal
    share: Share


@dataclass(frozen=True)
class Journal:
    """One balanced journal of the append-only ledger (table ledger_entries, one row per LedgerRow):
    its rows, when, and the ids it is about (remittance_id, posting_id, claim_id, encounter_id,
    balance_id, payer_id, patient_account_id)."""

    journal_id: str
    kind: str
    rows: tuple[LedgerRow, ...]
    at: datetime
    refs: Mapping[str, str | None]


@dataclass(frozen=True, kw_only=True)
class DenialRow:
    """One denial a posting opened (table denials)."""

    posting_id: str
    claim_id: str
    payer_id: str
    scope: str
    item: DenialItem
    opened_at: datetime


@dataclass(frozen=True, kw_only=True)
class SuspenseRow:
    """A claim payment put in suspense on arrival (a new row of table unmatched)."""

    remittance_id: str
    reported_submission: str
    reason: Literal["not_our_claim", "unknown_submission_id"]
    st_control: str
    claim_index: int
    segment_number: int
    total_paid: Decimal
    total_charge: Decimal
    posting_id: str
    detected_at: datetime


@dataclass(frozen=True, kw_only=True)
class UnmatchedRow:
    """A claim payment held in suspense (table unmatched), with its remittance's file, payer and
    trace number: where to read it again once its submission is known."""

    id: int
    remittance_id: str
    reported_submission: str
    st_control: str
    claim_index: int
    segment_number: int
    posting_id: str
    """Its unmatched posting (whose suspense journal a re-post reverses)."""
    file_id: str
    payer_id: str
    payer_name: str
    trace_number: str


@dataclass(frozen=True, kw_only=True)
class ClaimKeys:
    """A claim remits saw (submitted, or posted): its id, its family and its encounter."""

    claim_id: str
    claim_family_id: str
    encounter_id: str


@dataclass(frozen=True, kw_only=True)
class RecoupmentRow:
    """A PLB recoupment (WO, 72) that took back part of what a payer paid on a claim (table recoupments)."""

    remittance_id: str
    reference: str
    claim_id: str
    claim_family_id: str
    encounter_id: str
    payer_id: str
    payer_rank: int
    amount: Decimal
    recouped_at: datetime


@dataclass(frozen=True, kw_only=True)
class InsuranceWriteoffRow:
    """What an operator wrote off of what a payer left open on a claim (table insurance_writeoffs)."""

    writeoff_id: str
    claim_id: str
    claim_family_id: str
    encounter_id: str
    payer_id: str
    payer_rank: int
    amount: Decimal
    reason: InsuranceWriteOffReason
    operator_id: str
    written_at: datetime
    note: str | None = None


# --------------------------------------------------------------------------- patient money


@dataclass(frozen=True, kw_only=True)
class BalanceRow:
    """A patient balance: one per encounter (table balances)."""

    balance_id: str
    encounter_id: str
    patient_account_id: str
    claim_ids: tuple[str, ...]
    items: tuple[Json, ...]
    """The statement lines (BalanceItem in JSON form)."""
    total: Decimal
    """The patient's responsibility."""
    patient_paid: Decimal
    written_off: Decimal
    due_date: date
    revision: int
    """1 when created; each update adds one (the store counts it)."""
    created_at: datetime
    updated_at: datetime

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.patient_paid - self.written_off


@dataclass(frozen=True, kw_only=True)
class PaymentRow:
    """A patient payment as posted (table payments; the reference it named is set apart)."""

    payment_id: str
    idempotency_key: str
    patient_account_id: str
    amount: Decimal
    method: PaymentMethod
    received_on: date
    applications: tuple[Json, ...]
    """PaymentApplication in JSON form, one per balance it paid."""
    unapplied: Decimal
    credit_balance_id: str | None
    posted_at: datetime


@dataclass(frozen=True, kw_only=True)
class CreditRow:
    """A patient's credit balance (table credits): to apply to their balances or refund."""

    credit_balance_id: str
    patient_account_id: str
    amount: Decimal
    remaining: Decimal
    origin: CreditOrigin
    created_at: datetime
    payment_id: str | None = None
    balance_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundRejectionRow:
    """A PatientRefundIssued refused, and why (table refund_rejections)."""

    idempotency_key: str
    credit_balance_id: str
    patient_account_id: str
    amount: Decimal
    remaining: Decimal | None
    """What the credit had left (None: the credit is unknown)."""
    reason: RefundRefusal
    rejected_at: datetime
