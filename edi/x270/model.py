"""The X12 270 (005010X279A1) eligibility inquiry model.

The hierarchy is HL 20 information source (the payer, ``NM1*PR``) -> 21 information receiver
(the provider asking, ``NM1*1P`` with its NPI) -> 22 subscriber (``NM1*IL``, member id) -> 23
dependent (``NM1*03``) when the patient is not the subscriber. The patient's level carries the
``TRN*1`` trace number the 271 echoes, the service date (``DTP*291``) and one ``EQ`` per service
type asked about (30 = health benefit plan coverage).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

IMPLEMENTATION = "005010X279A1"
FUNCTIONAL_ID = "HS"

Gender = Literal["M", "F", "U"]


@dataclass(frozen=True)
class Person:
    """A subscriber or dependent as a 270 asks about it or a 271 returns it (2100C/2100D)."""

    last_name: str  # NM103
    first_name: str = ""  # NM104
    member_id: str = ""  # NM109 (MI); a dependent has none in 5010
    birth_date: date | None = None  # DMG02
    gender: Gender | None = None  # DMG03
    group_number: str | None = None  # REF*6P
    relationship: str | None = None  # INS02 of a dependent: 01 spouse, 19 child, 34 other adult, G8 other


@dataclass(frozen=True, kw_only=True)
class Inquiry:
    """One patient's eligibility question to one payer; ``trace_number`` is ours and comes back
    in the 271's ``TRN*2``."""

    trace_number: str  # TRN02 of 2000C (or 2000D when there is a dependent)
    payer_name: str
    payer_id: str  # NM109 (PI) of 2100A
    provider_name: str
    provider_npi: str  # NM109 (XX) of 2100B
    subscriber: Person
    dependent: Person | None = None
    service_date: date
    service_end_date: date | None = None
    service_types: tuple[str, ...] = ("30",)  # EQ01 service type codes

    @property
    def patient(self) -> Person:
        return self.dependent or self.subscriber


def trace_originator(provider_npi: str) -> str:
    """TRN03: '9' (a user-assigned originator id) and nine characters of the provider's NPI."""
    return "9" + provider_npi[:9]
