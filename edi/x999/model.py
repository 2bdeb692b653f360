"""The X12 999 (005010X231A1) implementation acknowledgment model.

A 999 answers one functional group: AK1 names it, one AK2..IK5 loop per transaction set says
whether that set was accepted (IK501 A or E) or rejected (M, R, W, X) and why (IK3 segment
errors, IK4 element errors), and AK9 sums up the group. A rejected transaction set rejects
every claim in it.

IK404 (a copy of the bad element) is never part of the model: it may be PHI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

IMPLEMENTATION = "005010X231A1"
FUNCTIONAL_ID = "FA"


class AckCode(StrEnum):
    """IK501."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED_MESSAGE_AUTHENTICATION = "M"
    REJECTED = "R"
    REJECTED_ASSURANCE = "W"
    REJECTED_CONTENT_AFTER_DECRYPTION = "X"

    @property
    def accepted(self) -> bool:
        return self in (AckCode.ACCEPTED, AckCode.ACCEPTED_WITH_ERRORS)


class GroupAckCode(StrEnum):
    """AK901."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED_MESSAGE_AUTHENTICATION = "M"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"
    REJECTED_ASSURANCE = "W"
    REJECTED_CONTENT_AFTER_DECRYPTION = "X"


@dataclass(frozen=True, kw_only=True)
class ElementError:
    """IK4. The bad value itself (IK404) is deliberately not part of the model."""

    position: int  # IK401-1: element position in the segment
    component: int | None = None  # IK401-2
    repetition: int | None = None  # IK401-3
    reference_number: str = ""  # IK402: data element dictionary number
    code: str  # IK403: 1 mandatory missing, 7 invalid code value, I12 pattern mismatch, ...


@dataclass(frozen=True, kw_only=True)
class SegmentError:
    """IK3 with its element errors. ``business_unit`` is the CTX that ties the error to a
    business object, e.g. ("CLM01", patient control number), so one claim can be singled out."""

    segment_id: str  # IK301
    position: int  # IK302: position in the transaction set, ST = 1
    loop_id: str = ""  # IK303
    code: str = ""  # IK304: 3 mandatory segment missing, 8 segment has data element errors, ...
    business_unit: tuple[str, str] | None = None
    element_errors: tuple[ElementError, ...] = ()


@dataclass(frozen=True, kw_only=True)
class TransactionSetAck:
    """One AK2..IK5 loop."""

    set_id: str  # AK201: "837"
    control_number: str  # AK202: the acknowledged ST02
    implementation: str = ""  # AK203
    code: AckCode  # IK501
    syntax_error_codes: tuple[str, ...] = ()  # IK502-IK506
    segment_errors: tuple[SegmentError, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.code.accepted


@dataclass(frozen=True, kw_only=True)
class Ack999:
    """One ST 999: the acknowledgment of one functional group."""

    functional_id: str  # AK101: HC for an 837
    group_control_number: str  # AK102: the acknowledged GS06
    version: str = ""  # AK103: the acknowledged GS08
    transaction_sets: tuple[TransactionSetAck, ...] = ()
    group_code: GroupAckCode  # AK901
    included_count: int  # AK902
    received_count: int  # AK903
    accepted_count: int  # AK904
    group_error_codes: tuple[str, ...] = ()  # AK905-AK909
    control_number: str = field(default="", compare=False)  # ST02 of the 999 itself

    @property
    def accepted_control_numbers(self) -> tuple[str, ...]:
        return tuple(t.control_number for t in self.transaction_sets if t.accepted)

    @property
    def rejected_control_numbers(self) -> tuple[str, ...]:
        return tuple(t.control_number for t in self.transaction_sets if not t.accepted)
