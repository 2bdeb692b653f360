"""Charges domain: pure validation, chargemaster and pricing rules (no broker, database or I/O).

Handlers map intake events into ``EncounterFacts`` / ``ChargeFacts`` and call
``validate_encounter`` and ``assess_charge`` (or ``validate_charge``); rejections carry stable
reason codes and messages that never echo submitted values.
"""

from services.charges.domain.chargemaster import (
    Chargemaster,
    ChargemasterItem,
    ChargemasterParseResult,
    ResolvedCode,
    parse_chargemaster_csv,
    resolve_charge_code,
)
from services.charges.domain.facts import ChargeFacts, EncounterFacts
from services.charges.domain.findings import LineError, Reason, Rejection, ValidationResult, Warning
from services.charges.domain.hcpcs_file import HcpcsRelease, parse_hcpcs_release
from services.charges.domain.money import extended_amount
from services.charges.domain.reference import HcpcsCode, ReferenceData, ReferenceFileError, shipped_reference
from services.charges.domain.validation import (
    ChargeAssessment,
    PricedLine,
    assess_charge,
    validate_charge,
    validate_encounter,
)

__all__ = [
    "ChargeAssessment",
    "ChargeFacts",
    "Chargemaster",
    "ChargemasterItem",
    "ChargemasterParseResult",
    "EncounterFacts",
    "HcpcsCode",
    "HcpcsRelease",
    "LineError",
    "PricedLine",
    "Reason",
    "ReferenceData",
    "ReferenceFileError",
    "Rejection",
    "ResolvedCode",
    "ValidationResult",
    "Warning",
    "assess_charge",
    "extended_amount",
    "parse_chargemaster_csv",
    "parse_hcpcs_release",
    "resolve_charge_code",
    "shipped_reference",
    "validate_charge",
    "validate_encounter",
]
