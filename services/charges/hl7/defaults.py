"""What a DFT^P03 does not carry, agreed per interface at onboarding (deploy/local/hl7.yaml):
the billing provider, the facility, the claims the interface bills and the defaults the mapping
falls back on. One file serves one interface, or several listed under `interfaces` (each by its
MSH-3 sending application and optionally MSH-4 sending facility, inheriting the top-level
settings); a sender no interface lists is then refused."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from schemas.common import BillingProvider, Bills, ClaimFilingIndicator, ContactPreference, Facility
from schemas.errors import safe_errors

__all__ = [
    "ACCOUNT_NUMBER_FALLBACKS",
    "BILLS",
    "CLAIM_FILING_INDICATORS",
    "AccountNumberFallback",
    "Hl7Defaults",
    "defaults_from_mapping",
]

AccountNumberFallback = Literal["pid3", "visit_number", "none"]
ACCOUNT_NUMBER_FALLBACKS: dict[str, AccountNumberFallback] = {f: f for f in get_args(AccountNumberFallback)}

CLAIM_FILING_INDICATORS = frozenset(get_args(ClaimFilingIndicator))
_CONTACT_PREFERENCES: dict[str, ContactPreference] = {p: p for p in get_args(ContactPreference)}
BILLS: dict[str, Bills] = {b: b for b in get_args(Bills)}


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
    bills: Bills = "professional"
    """The claims the interface's encounters bill: professional, institutional (a hospital's
    facility feed) or both (facility charges and the professional fees of employed physicians)."""
    type_of_bill: str | None = None
    """The institutional type of bill (2 digits, e.g. 13); None: from PV1-2 (I -> 11, else 13)."""
    institutional_billing_provider: Mapping[str, Any] | None = None
    """BillingProvider in JSON form: the facility billing the institutional claim when it is not
    billing_provider."""
    sending_application: str | None = None
    """MSH-3 of the messages this interface takes (set on the entries of `interfaces`)."""
    sending_facility: str | None = None
    """MSH-4 as well, when one application serves several facilities; None: any."""
    interfaces: tuple[Hl7Defaults, ...] = ()
    """The interfaces of a file that lists them; empty: these settings take every sender."""

    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def for_sender(self, application: str, facility: str) -> Hl7Defaults | None:
        """The interface of a message's MSH-3/MSH-4 (case-insensitive); None when the file lists
        interfaces and none is this sender's."""
        if not self.interfaces:
            return self
        for interface in self.interfaces:
            if (interface.sending_application or "").upper() == application.upper() and (
                interface.sending_facility is None or interface.sending_facility.upper() == facility.upper()
            ):
                return interface
        return None


_INTERFACE_KEYS = frozenset({"sending_application", "sending_facility"})


def defaults_from_mapping(raw: Mapping[str, Any]) -> Hl7Defaults:
    """Check a parsed hl7.yaml; raises ValueError naming the setting (never a PHI source)."""
    listed = raw.get("interfaces")
    shared = {k: v for k, v in raw.items() if k != "interfaces"}
    if _INTERFACE_KEYS & set(shared):
        raise ValueError("hl7 defaults: sending_application and sending_facility belong on the entries of interfaces")
    if listed is None:
        return _interface(shared)
    if not isinstance(listed, list) or not listed or not all(isinstance(i, Mapping) for i in listed):
        raise ValueError("hl7 defaults: interfaces must be a non-empty list of settings")
    interfaces = []
    for number, entry in enumerate(listed, start=1):
        if "interfaces" in entry:
            raise ValueError(f"hl7 defaults: interfaces[{number}] cannot list interfaces")
        interface = _interface({**shared, **entry})
        if interface.sending_application is None:
            raise ValueError(f"hl7 defaults: interfaces[{number}] needs sending_application (MSH-3)")
        interfaces.append(interface)
    senders = [(i.sending_application or "").upper() + "^" + (i.sending_facility or "").upper() for i in interfaces]
    if len(set(senders)) != len(senders):
        raise ValueError("hl7 defaults: two interfaces have the same sending_application and sending_facility")
    return replace(_interface(shared), interfaces=tuple(interfaces))


def _interface(raw: Mapping[str, Any]) -> Hl7Defaults:
    known = {
        "billing_provider",
        "facility",
        "source_system",
        "place_of_service",
        "claim_filing_indicator",
        "contact_preference",
        "timezone",
        "account_number_fallback",
        "bills",
        "type_of_bill",
        "institutional_billing_provider",
        *_INTERFACE_KEYS,
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"hl7 defaults: unknown settings {unknown}")
    try:
        provider = BillingProvider.model_validate_json(json.dumps(raw.get("billing_provider")))
        facility_raw = raw.get("facility")
        facility = None if facility_raw is None else Facility.model_validate_json(json.dumps(facility_raw))
        institutional_raw = raw.get("institutional_billing_provider")
        institutional = (
            None if institutional_raw is None else BillingProvider.model_validate_json(json.dumps(institutional_raw))
        )
    except ValidationError as exc:
        raise ValueError(f"hl7 defaults: {safe_errors(exc)}") from None
    out = Hl7Defaults(
        billing_provider=provider.model_dump(mode="json"),
        facility=None if facility is None else facility.model_dump(mode="json"),
        institutional_billing_provider=None if institutional is None else institutional.model_dump(mode="json"),
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
    bills = BILLS.get(str(raw.get("bills", out.bills)))
    if bills is None:
        raise ValueError("hl7 defaults: bills must be professional, institutional or both")
    type_of_bill = raw.get("type_of_bill")
    if type_of_bill is not None and not re.match(r"^[1-8][1-9]$", str(type_of_bill)):
        raise ValueError("hl7 defaults: type_of_bill must be 2 digits (facility type 1-8, classification 1-9)")
    senders = [raw.get(key) for key in sorted(_INTERFACE_KEYS)]
    if any(s is not None and not (isinstance(s, str) and re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", s))
           for s in senders):
        raise ValueError("hl7 defaults: sending_application and sending_facility must be ids (letters, digits, _.-)")
    return replace(
        out,
        bills=bills,
        type_of_bill=None if type_of_bill is None else str(type_of_bill),
        sending_application=raw.get("sending_application"),
        sending_facility=raw.get("sending_facility"),
        account_number_fallback=fallback,
        source_system=source_system,
        place_of_service=pos,
        claim_filing_indicator=cfi,
        contact_preference=pref,
        timezone=tz,
    )
