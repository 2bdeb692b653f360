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


_FINALIZED: dict[str, Outcome] = {"F1": "finalized_paid", "F2": "finalized_denied"}
_REJECTED = frozenset({"A3", "A6", "A7", "A8", "E3"})
_NOT_FOUND = frozenset({"A4", "D0"})
OUTCOME_RANK: dict[Outcome, int] = {
    "finalized_paid": 0, "finalized_denied": 0, "finalized_other": 0, "rejected": 1, "pending": 2, "not_found": 3}
"""Which STC decides when a 277 sends several: finalized, then rejected, then pending, then not
found (a contradicting "not found" must never resubmit a claim another STC says is in process)."""


def outcome_of_category(category: str) -> Outcome:
    """STC01-1 (health care claim status category, external code list 507) -> outcome: F1 paid,
    F2 denied, F0/F3/F4 other finalized; A3/A6/A7/A8 returned or rejected, R* requests for
    information and E3 (correction required) rejected; A4 not found and D0 (data search
    unsuccessful) not found; P0-P5, A0/A1/A2/A5 and E0/E1/E2/E4 (the payer cannot answer now)
    pending, as is any code not known (asked again: it never resubmits or closes anything)."""
    code = category.strip().upper()
    if code in _FINALIZED:
        return _FINALIZED[code]
    if code.startswith("F"):
        return "finalized_other"
    if code in _REJECTED or code.startswith("R"):
        return "rejected"
    if code in _NOT_FOUND:
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


def outcome_of(statuses: Sequence[Status]) -> Outcome:
    """The outcome of the STC that decides (``OUTCOME_RANK``; the first of equals)."""
    return min((s.outcome for s in statuses), key=OUTCOME_RANK.__getitem__)
