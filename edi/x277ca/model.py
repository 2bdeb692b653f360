"""The X12 277CA (005010X214) claim acknowledgment model.

The hierarchy is HL 20 information source (payer or clearinghouse) -> 21 information
receiver (the submitter) -> 19 billing provider -> PT patient, and under each patient one
2200D loop per claim: ``TRN*2*<CLM01>``, one or more ``STC*category:status:entity``, optional
``REF*1K`` payer claim control number and ``REF*D9`` clearinghouse trace, ``DTP*472``.

A claim is accepted when its status categories are A1 (received) or A2 (accepted into
adjudication); A3, A6, A7 and A8 reject it (fix and resubmit as a new original); A4 means the
payer cannot find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from edi.composites import Procedure, StatusCode
from edi.issues import X12Issue

IMPLEMENTATION = "005010X214"
FUNCTIONAL_ID = "HN"

ACCEPTED_CATEGORIES = frozenset({"A1", "A2"})
REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})
NOT_FOUND_CATEGORIES = frozenset({"A4"})

Outcome = Literal["accepted", "rejected", "not_found", "other"]


ACCEPTED_STATUS = StatusCode("A2", "20", "PR")
"""A2:20 accepted for processing: the status of a claim the payer took into adjudication."""


@dataclass(frozen=True, kw_only=True)
class StatusInfo:
    """One STC segment."""

    code: StatusCode  # STC01
    effective_date: date | None = None  # STC02 (not used at the billing provider level)
    action_code: str = ""  # STC03: WQ accepted, U rejected
    amount: Decimal | None = None  # STC04: total submitted charges of the unit
    additional: tuple[StatusCode, ...] = ()  # STC10, STC11
    message: str = ""  # STC12 free-form text (claim and line levels)

    @property
    def codes(self) -> tuple[StatusCode, ...]:
        return (self.code, *self.additional)


def outcome_of(statuses: Sequence[StatusInfo]) -> Outcome:
    """Any rejecting category wins over acceptance: one STC saying A7 rejects the claim."""
    categories = {c.category for s in statuses for c in s.codes}
    if categories & REJECTED_CATEGORIES:
        return "rejected"
    if categories & NOT_FOUND_CATEGORIES:
        return "not_found"
    if categories & ACCEPTED_CATEGORIES:
        return "accepted"
    return "other"


@dataclass(frozen=True, kw_only=True)
class LineStatus:
    """Loop 2220D: the status of one service line."""

    procedure: Procedure
    charge: Decimal  # SVC02
    revenue_code: str = ""  # SVC04
    units: Decimal | None = None  # SVC07
    status: StatusInfo
    line_control_number: str = ""  # REF*FJ
    prescription_number: str = ""  # REF*XZ
    service_from: date | None = None  # DTP*472
    service_to: date | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimAck:
    """Loop 2200D: the acknowledgment of one claim."""

    patient_control_number: str  # TRN02 = 837 CLM01
    statuses: tuple[StatusInfo, ...]
    payer_claim_control_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    bill_type: str = ""  # REF*BLT
    service_from: date  # DTP*472
    service_to: date
    lines: tuple[LineStatus, ...] = ()
    position: int | None = field(default=None, compare=False)  # TRN segment

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.statuses)

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"

    @property
    def rejected(self) -> bool:
        return self.outcome == "rejected"

    @property
    def primary_status(self) -> StatusCode:
        return self.statuses[0].code

    @property
    def charge(self) -> Decimal | None:
        return self.statuses[0].amount


@dataclass(frozen=True, kw_only=True)
class PatientLevel:
    """Loop 2000D/2100D."""

    last_name: str
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = "MI"  # MI member id, II standard unique health id
    id: str
    claims: tuple[ClaimAck, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Totals:
    """QTY/AMT of accepted and rejected claims at the receiver and provider levels."""

    accepted_quantity: Decimal | None = None
    rejected_quantity: Decimal | None = None
    accepted_amount: Decimal | None = None
    rejected_amount: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderLevel:
    """Loop 2000C: billing provider, with provider-level statuses (e.g. not enrolled)."""

    name: str  # NM103
    first_name: str = ""
    entity_type: str = "2"
    id_qualifier: str = "XX"  # XX NPI, FI tax id, SV service provider number
    id: str
    trace_number: str  # 2200C TRN02
    statuses: tuple[StatusInfo, ...]
    secondary_id: tuple[str, str] | None = None  # REF qualifier, value
    totals: Totals = Totals()
    patients: tuple[PatientLevel, ...] = ()

    @property
    def accepted(self) -> bool:
        return outcome_of(self.statuses) == "accepted"


@dataclass(frozen=True, kw_only=True)
class ReceiverLevel:
    """Loop 2000B: the information receiver (our submitter id) and batch-level statuses."""

    name: str
    first_name: str = ""
    entity_type: str = "2"
    id: str  # NM109 (qualifier 46, electronic transmitter id)
    batch_trace: str  # TRN*2 TRN02: the batch the 277CA answers
    statuses: tuple[StatusInfo, ...]
    totals: Totals = Totals()
    providers: tuple[ProviderLevel, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SourceLevel:
    """Loop 2000A: the information source (payer or clearinghouse)."""

    entity: str = "PR"  # PR payer, AY clearinghouse
    name: str
    id_qualifier: str = "PI"  # 46, FI, PI, XV
    id: str
    trace_number: str  # 2200A TRN02
    receipt_date: date  # DTP*050
    process_date: date  # DTP*009
    receiver: ReceiverLevel


@dataclass(frozen=True, kw_only=True)
class ClaimAckTransaction:
    """One ST 277 (005010X214)."""

    reference: str  # BHT03
    created: datetime  # BHT04 + BHT05
    sources: tuple[SourceLevel, ...]
    control_number: str = field(default="", compare=False)
    findings: tuple[X12Issue, ...] = field(default=(), compare=False)  # read anyway, reported

    @property
    def claims(self) -> tuple[ClaimAck, ...]:
        return tuple(
            c for s in self.sources for p in s.receiver.providers for pt in p.patients for c in pt.claims
        )

    @property
    def providers(self) -> tuple[ProviderLevel, ...]:
        return tuple(p for s in self.sources for p in s.receiver.providers)


@dataclass(frozen=True, kw_only=True)
class Ack277CA:
    """A whole 277CA file."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    transactions: tuple[ClaimAckTransaction, ...]

    @property
    def claims(self) -> tuple[ClaimAck, ...]:
        return tuple(c for t in self.transactions for c in t.claims)

    @property
    def findings(self) -> tuple[X12Issue, ...]:
        return tuple(f for t in self.transactions for f in t.findings)
