"""Hand-built 837P claims shared by the edi tests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from edi.x837 import ClaimBatch

BILLING: dict[str, Any] = {
    "name": "Sunrise Family Clinic",
    "npi": "1234567893",
    "taxonomy": "207Q00000X",
    "tax_id": "123456789",
    "address": {"line1": "100 Main St", "line2": "Suite 2", "city": "Springfield", "state": "IL", "zip": "62701-1234"},
}
SUBSCRIBER: dict[str, Any] = {
    "last_name": "Doe",
    "first_name": "Jane",
    "member_id": "W123456789",
    "group_number": "GRP100",
    "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
    "birth_date": "1980-02-03",
    "gender": "F",
}
PAYER: dict[str, Any] = {"name": "Acme Health", "id": "ACME01"}


def line(code: str = "99213", charge: str = "150.00", **extra: Any) -> dict[str, Any]:
    return {
        "procedure_code": code,
        "charge": charge,
        "diagnosis_pointers": [1],
        "service_date": "2025-01-15",
        "line_control_number": f"L{code}",
        **extra,
    }


def claim(submission_id: str = "C0001", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "submission_id": submission_id,
        "billing_provider": BILLING,
        "subscriber": SUBSCRIBER,
        "payer": PAYER,
        "claim_filing_indicator": "CI",
        "place_of_service": "11",
        "diagnoses": ["J02.0", "R50.9"],
        "lines": [line(), line("87880", "35.50", modifiers=["QW"], diagnosis_pointers=[1, 2])],
    }
    data.update(extra)
    return data


def batch(*claims: dict[str, Any], **extra: Any) -> ClaimBatch:
    data: dict[str, Any] = {
        "sender_id": "REVCYCLE",
        "receiver_id": "CLEARHOUSE",
        "interchange_control_number": 17,
        "group_control_number": 42,
        "created": datetime(2025, 1, 20, 9, 30),
        "reference": "BATCH0001",
        "submitter": {
            "name": "Revcycle Billing",
            "id": "SUB123",
            "contact_name": "Billing Desk",
            "phone": "5551234567",
        },
        "receiver": {"name": "Clearing House", "id": "CH999"},
        "claims": list(claims) or [claim()],
    }
    data.update(extra)
    return ClaimBatch.model_validate(data)


DEPENDENT: dict[str, Any] = {
    "last_name": "Doe",
    "first_name": "Timmy",
    "relationship": "19",
    "address": {"line1": "12 Elm St", "city": "Springfield", "state": "IL", "zip": "62704"},
    "birth_date": date(2015, 6, 1).isoformat(),
    "gender": "M",
}

SECONDARY: dict[str, Any] = {
    "payer_responsibility": "S",
    "other_payers": [
        {
            "responsibility": "P",
            "relationship": "18",
            "claim_filing_indicator": "MB",
            "subscriber": {"last_name": "Doe", "first_name": "Jane"},
            "member_id": "1EG4TE5MK73",
            "payer": {"name": "Medicare Part B", "id": "MCR01"},
            "paid_amount": "100.00",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "50.50"},
                {"group": "PR", "reason": "2", "amount": "35.00"},
            ],
        }
    ],
}

AMOUNT = Decimal
