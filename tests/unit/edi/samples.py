"""Hand-built 837P claims shared by the edi tests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from edi.x837 import ClaimBatch
from edi.x837i import ClaimBatch as InstitutionalBatch

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


# --- 837I (institutional) -----------------------------------------------------------------------

ATTENDING: dict[str, Any] = {
    "last_name": "Grey", "first_name": "Meredith", "npi": "1999999984", "taxonomy": "207R00000X"
}
OPERATING: dict[str, Any] = {"last_name": "Shepherd", "first_name": "Derek", "npi": "1123456786"}


def room_line(days: int = 3, **extra: Any) -> dict[str, Any]:
    """Semi-private room and board: units are days (DA)."""
    return {"revenue_code": "0120", "charge": f"{900 * days}.00", "units": str(days), "unit_code": "DA",
            "service_date": "2025-01-10", "service_date_end": "2025-01-12", "line_control_number": "R0120", **extra}


def _hospital_claim(submission_id: str) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "billing_provider": {**BILLING, "name": "Springfield General Hospital", "taxonomy": "282N00000X"},
        "subscriber": SUBSCRIBER,
        "payer": PAYER,
        "claim_filing_indicator": "CI",
    }


def inpatient_claim(submission_id: str = "I0001", **extra: Any) -> dict[str, Any]:
    """A three-day stay: type of bill 0111, admitted from the emergency room, discharged home."""
    data: dict[str, Any] = {
        **_hospital_claim(submission_id),
        "type_of_bill": "11",
        "statement_from": "2025-01-10",
        "statement_through": "2025-01-12",
        "admission_date": "2025-01-10",
        "admission_hour": "0830",
        "discharge_hour": "1415",
        "admission_type": "1",
        "admission_source": "7",
        "patient_status": "01",
        "medical_record_number": "MRN-4471",
        "principal_diagnosis": {"code": "J18.9", "present_on_admission": "Y"},
        "admitting_diagnosis": "R06.02",
        "drg": "194",
        "other_diagnoses": [
            {"code": "E11.9", "present_on_admission": "Y"},
            {"code": "I10", "present_on_admission": "Y"},
            {"code": "N39.0", "present_on_admission": "N"},
        ],
        "principal_procedure": {"code": "5A09357", "performed_on": "2025-01-10"},
        "occurrence_codes": [{"code": "11", "occurred_on": "2025-01-08"}],
        "value_codes": [{"code": "80", "amount": "2"}],
        "condition_codes": ["39"],
        "attending_provider": ATTENDING,
        "operating_provider": OPERATING,
        "lines": [
            room_line(),
            {"revenue_code": "0250", "charge": "412.40", "units": "14", "service_date": "2025-01-11"},
            {"revenue_code": "0300", "charge": "265.00", "units": "5", "service_date": "2025-01-10",
             "non_covered_charge": "40.00"},
        ],
    }
    data.update(extra)
    return data


def outpatient_claim(submission_id: str = "O0001", **extra: Any) -> dict[str, Any]:
    """An emergency-room visit, type of bill 0131: revenue codes with the HCPCS the payer requires."""
    data: dict[str, Any] = {
        **_hospital_claim(submission_id),
        "type_of_bill": "13",
        "statement_from": "2025-01-15",
        "statement_through": "2025-01-15",
        "patient_status": "01",
        "principal_diagnosis": {"code": "S93.401A"},
        "reason_for_visit": ["M25.571"],
        "attending_provider": ATTENDING,
        "lines": [
            {"revenue_code": "0450", "procedure_code": "99284", "modifiers": ["25"], "charge": "850.00", "units": "1",
             "service_date": "2025-01-15", "line_control_number": "ER1"},
            {"revenue_code": "0320", "procedure_code": "73610", "charge": "310.00", "units": "1",
             "service_date": "2025-01-15", "line_control_number": "ER2"},
        ],
    }
    data.update(extra)
    return data


def institutional_batch(*claims: dict[str, Any], **extra: Any) -> InstitutionalBatch:
    doc = batch().model_dump(mode="json", exclude={"claims"})
    return InstitutionalBatch.model_validate({**doc, "claims": list(claims) or [inpatient_claim()], **extra})
