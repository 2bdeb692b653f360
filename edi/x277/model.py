"""The X12 277 claim status response model (005010X212; the 277CA acknowledgment, X214, is
``edi.x277ca``).

Same party hierarchy as the 276 (``edi.claimstatus``); each 2200D/E loop answers one inquiry:
``TRN*2`` echoes the 276's trace number, one or more ``STC`` say where the claim is
(``category:status:entity``, the date, the charge, what was paid and when, the check number),
``REF*1K`` the payer's claim number, ``REF*EJ`` our patient control number (837 CLM01).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from edi.claimstatus import Person
from edi.composites import StatusCode

IMPLEMENTATION = "005010X212"
FUNCTIONAL_ID = "HN"

Outcome = Literal["finalized_paid", "finalized_denied", "finalized_other", "pending", "rejected", "not_found"]


@dataclass(frozen=True, kw_only=True)
class Status:
    """One claim level STC."""

    category_code: str  # STC01-1 (507): F1 paid, F2 denied, P1 pending, A4 not found, ...
    status_code: str  # STC01-2 (508): 65 paid, 20 accepted for processing, ...
    entity_code: str | None = None  # STC01-3 (98)
    effective_date: date  # STC02
    total_charge: Decimal  # STC04
    paid_amount: Decimal | None = None  # STC05
    adjudication_date: date | None = None  # STC06
    payment_date: date | None = None  # STC08: check issue or EFT effective date
    check_number: str | None = None  # STC09
    additional: tuple[StatusCode, ...] = ()  # STC10, STC11

    @property
    def outcome(self) -> Outcome:
        return outcome_of_category(self.category_code)


def outcome_of_category(category: str) -> Outcome:
    """F1 paid, F2 denied, F0/F3/F4 other finalized; P0-P5 and the acknowledgment categories
    A0-A2 and A5 pending; A3/A6/A7/A8 and the R (request for information) categories rejected;
    A4 and the E (error) and D (data search unsuccessful) categories: the payer has no record."""
    if category == "F1":
        return "finalized_paid"
    if category == "F2":
        return "finalized_denied"
    if category.startswith("F"):
        return "finalized_other"
    if category in {"A3", "A6", "A7", "A8"} or category.startswith("R"):
        return "rejected"
    if category == "A4" or category[:1] in {"E", "D"}:
        return "not_found"
    return "pending"


@dataclass(frozen=True, kw_only=True)
class StatusResponse:
    """One claim status tracking loop (2200D/E) with its parties."""

    trace_number: str  # TRN02: the 276's trace number
    payer_name: str
    payer_id: str
    receiver_name: str
    receiver_id: str
    provider_name: str
    provider_npi: str
    subscriber: Person
    dependent: Person | None = None
    patient_control_number: str  # REF*EJ; "" when the payer left it out
    payer_claim_control_number: str | None = None  # REF*1K
    type_of_bill: str | None = None  # REF*BLT
    service_date: date | None = None  # DTP*472
    service_end_date: date | None = None
    statuses: tuple[Status, ...]

    @property
    def primary(self) -> Status:
        return self.statuses[0]

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.statuses)


_RANK: tuple[Outcome, ...] = ("finalized_paid", "finalized_denied", "finalized_other", "rejected", "not_found",
                              "pending")


def outcome_of(statuses: Sequence[Status]) -> Outcome:
    """A finalized STC wins over the others (a payer may add a pending line about a related
    adjustment), then a rejection, then not found; pending only when nothing else is said."""
    return min((s.outcome for s in statuses), key=_RANK.index)
