"""What a DFT^P03 does not carry, agreed per interface at onboarding (deploy/local/hl7.yaml):
the billing provider, the facility and the defaults the mapping falls back on."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from schemas.common import BillingProvider, ClaimFilingIndicator, ContactPreference, Facility
from schemas.errors import safe_errors

__all__ = [
    "ACCOUNT_NUMBER_FALLBACKS",
    "CLAIM_FILING_INDICATORS",
    "AccountNumberFallback",
    "Hl7Defaults",
    "defaults_from_mapping",
]

AccountNumberFallback = Literal["pid3", "visit_number", "none"]
ACCOUNT_NUMBER_FALLBACKS: dict[str, AccountNumberFallback] = {f: f for f in get_args(AccountNumberFallback)}

CLAIM_FILING_INDICATORS = frozenset(get_args(ClaimFilingIndicator))
_CONTACT_PREFERENCES: dict[str, ContactPreference] = {p: p for p in get_args(ContactPreference)}


@dataclass(frozen=True)
class Hl7Defaults:
    """What a DFT^P03 does not carry, agreed per interface at onboarding."""

    billing_provider: Mapping[str, Any]
    """BillingProvider in JSON form."""
    facility: Mapping[str, Any] | None = None
    source_system: str | None = None
    """Overrides MSH-3 (lowercased) as the source system when set."""
    place_of_service: str = "11"
    """When PV1-2 (patient class) is not E, I or O."""
    claim_filing_indicator: str = "CI"
    """When IN1-15 (plan type) is not an X12 SBR09 code."""
    contact_preference: ContactPreference = "email"
    """email: email when the person has one, else mail; mail or none: always that."""
    timezone: str = "America/Los_Angeles"
    """For HL7 date/times sent without a UTC offset."""
    account_number_fallback: AccountNumberFallback = "pid3"
    """Where the patient account number is when PID-18 (optional in HL7 v2.5.1) is empty:
    pid3 the first PID-3 identifier, visit_number PV1-19, none: PID-18 is required."""

    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)


def defaults_from_mapping(raw: Mapping[str, Any]) -> Hl7Defaults:
    """Check a parsed hl7.yaml; raises ValueError naming the setting (never a PHI source)."""
    known = {
        "billing_provider",
        "facility",
        "source_system",
        "place_of_service",
        "claim_filing_indicator",
        "contact_preference",
        "timezone",
        "account_number_fallback",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"hl7 defaults: unknown settings {unknown}")
    try:
        provider = BillingProvider.model_validate_json(json.dumps(raw.get("billing_provider")))
        facility_raw = raw.get("facility")
        facility = None if facility_raw is None else Facility.model_validate_json(json.dumps(facility_raw))
    except ValidationError as exc:
        raise ValueError(f"hl7 defaults: {safe_errors(exc)}") from None
    out = Hl7Defaults(
        billing_provider=provider.model_dump(mode="json"),
        facility=None if facility is None else facility.model_dump(mode="json"),
    )
    source_system = raw.get("source_system")
    if source_system is not None and not (
        isinstance(source_system, str) and re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", source_system)
    ):
        raise ValueError("hl7 defaults: source_system must be 1 to 32 letters, digits, '_', '.' or '-'")
    pos = str(raw.get("place_of_service", out.place_of_service))
    if not re.match(r"^[0-9]{2}$", pos):
        raise ValueError("hl7 defaults: place_of_service must be 2 digits")
    cfi = str(raw.get("claim_filing_indicator", out.claim_filing_indicator))
    if cfi not in CLAIM_FILING_INDICATORS:
        raise ValueError("hl7 defaults: claim_filing_indicator must be an X12 SBR09 code")
    pref = _CONTACT_PREFERENCES.get(str(raw.get("contact_preference", out.contact_preference)))
    if pref is None:
        raise ValueError("hl7 defaults: contact_preference must be email, mail or none")
    tz = str(raw.get("timezone", out.timezone))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("hl7 defaults: timezone must be an IANA zone name") from None
    fallback = ACCOUNT_NUMBER_FALLBACKS.get(str(raw.get("account_number_fallback", out.account_number_fallback)))
    if fallback is None:
        raise ValueError("hl7 defaults: account_number_fallback must be pid3, visit_number or none")
    return replace(
        out,
        account_number_fallback=fallback,
        source_system=source_system,
        place_of_service=pos,
        claim_filing_indicator=cfi,
        contact_preference=pref,
        timezone=tz,
    )
