"""Example fragments shared by the contract examples: one coherent, fictitious story.

Ana Rivera visits Mission Family Medical Group with a sore throat: an office visit (99213-25)
and a rapid strep test (87880-QW, run under the practice's CLIA waiver certificate). Aetna is
primary, Medi-Cal secondary. The same ids appear in every event so the docs read as one claim's
life. All people and numbers are invented; the NPIs are valid test NPIs.
"""

from __future__ import annotations

from typing import Any

SOURCE_SYSTEM = "epic-prod"
SOURCE_ENCOUNTER_ID = "7f3a9c21-4b6e-4d0a-9e51-2c8d6f0b1a34"
ENCOUNTER_ID = "enc_01JNQ8R6T2"
PATIENT_ACCOUNT_ID = "PA-4821907"
CHARGE_IDS = ["chg_01JNQ8S1A7", "chg_01JNQ8S1B3"]
CLAIM_ID = "clm_01JNQ9A4XK"
CLAIM_FAMILY_ID = "clf_01JNQ9A4XK"
SUBMISSION_ID = "S01JNQ9A4XK7"
LINE_CONTROL_NUMBERS = ["S01JNQ9A4XK7-1", "S01JNQ9A4XK7-2"]
REMITTANCE_ID = "rem_01JPB2C8M4"
FILE_SHA256 = "9f2c4e1d7a3b5c8e0f6d2a4b1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a2b4c6d8e"
BALANCE_ID = "bal_01JPB2D0Q1"
AETNA = {"payer_id": "60054", "payer_name": "Aetna"}
MEDI_CAL = {"payer_id": "610442", "payer_name": "Medi-Cal"}

PATIENT: dict[str, Any] = {
    "name": {"family": "Rivera", "given": "Ana", "middle": "L", "suffix": None},
    "birth_date": "1984-06-12",
    "sex": "F",
    "address": {
        "line1": "1450 Valencia St",
        "line2": "Apt 3",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94110",
    },
    "email": "ana.rivera@example.org",
    "phone": "+14155550142",
    "contact_preference": "email",
    "source_account_number": "HAR100234567",
}

GUARANTOR: dict[str, Any] = {
    "relationship_to_patient": "self",
    "name": {"family": "Rivera", "given": "Ana", "middle": "L", "suffix": None},
    "address": PATIENT["address"],
    "email": "ana.rivera@example.org",
    "phone": "+14155550142",
    "contact_preference": "email",
}

COVERAGES: list[dict[str, Any]] = [
    {
        "rank": 1,
        "payer_id": "60054",
        "payer_name": "Aetna",
        "member_id": "W123456789",
        "group_number": "GRP-0042",
        "relationship_to_subscriber": "18",
        "subscriber": None,
        "claim_filing_indicator": "CI",
        "prior_authorization_numbers": [],
    },
    {
        "rank": 2,
        "payer_id": "610442",
        "payer_name": "Medi-Cal",
        "member_id": "91234567A",
        "group_number": None,
        "relationship_to_subscriber": "18",
        "subscriber": None,
        "claim_filing_indicator": "MC",
        "prior_authorization_numbers": [],
    },
]

BILLING_PROVIDER: dict[str, Any] = {
    "npi": "1234567893",
    "tax_id": "521234567",
    "taxonomy": "207Q00000X",
    "name": "Mission Family Medical Group",
    "address": {
        "line1": "2100 Webster St",
        "line2": None,
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "941151234",
    },
    "clia_number": "05D0987654",
}

RENDERING_PROVIDER: dict[str, Any] = {
    "npi": "1999999984",
    "name": {"family": "Okafor", "given": "Samuel", "middle": None, "suffix": None},
    "taxonomy": "207Q00000X",
}

ENCOUNTER: dict[str, Any] = {
    "source_system": SOURCE_SYSTEM,
    "source_encounter_id": SOURCE_ENCOUNTER_ID,
    "patient": PATIENT,
    "guarantor": GUARANTOR,
    "coverages": COVERAGES,
    "billing_provider": BILLING_PROVIDER,
    "rendering_provider": RENDERING_PROVIDER,
    "referring_provider": None,
    "facility": None,
    "place_of_service": "11",
    "admission_date": None,
    "discharge_date": None,
    "diagnoses": ["J020", "R509"],
}

# A second story, for institutional billing: Ana Rivera is admitted to Mission General Hospital
# with pneumonia for three nights. The hospital bills its facility charges on the institutional
# claim (837I, type of bill 11x) and its employed hospitalist's visits on the professional claim
# (837P), so the encounter bills both.
INPATIENT_SOURCE_ENCOUNTER_ID = "2c9e4b1a-7d35-4f8e-a6c2-9b0d3e5f7a18"
INPATIENT_ENCOUNTER_ID = "enc_01JNR2K7W4"
INPATIENT_CHARGE_IDS = ["chg_01JNR5M2C1", "chg_01JNR5M2C2", "chg_01JNR5M2C3"]

HOSPITAL: dict[str, Any] = {
    "npi": "1123456786",
    "tax_id": "521234567",
    "taxonomy": "282N00000X",
    "name": "Mission General Hospital",
    "address": {
        "line1": "3555 Cesar Chavez St",
        "line2": None,
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "941101234",
    },
    "clia_number": None,
}

INSTITUTIONAL: dict[str, Any] = {
    "type_of_bill": "11",
    "billing_provider": HOSPITAL,
    "statement_from": "2026-03-02",
    "statement_through": "2026-03-05",
    "admission_hour": 14,
    "admission_type": "1",
    "admission_source": "1",
    "discharge_hour": 11,
    "patient_status": "01",
    "attending_provider": {**RENDERING_PROVIDER, "taxonomy": "207R00000X"},
    "operating_provider": None,
    "other_operating_provider": None,
    "principal_diagnosis": {"code": "J189", "present_on_admission": "Y"},
    "admitting_diagnosis": "R509",
    "reason_for_visit": [],
    "other_diagnoses": [
        {"code": "E119", "present_on_admission": "Y"},
        {"code": "I10", "present_on_admission": "Y"},
    ],
    "principal_procedure": {"code": "0BJ08ZZ", "performed_on": "2026-03-03"},
    "other_procedures": [],
    "condition_codes": [],
    "occurrence_codes": [{"code": "11", "occurred_on": "2026-02-28"}],
    "occurrence_spans": [],
    "value_codes": [{"code": "80", "amount": "3.00"}],
}

INPATIENT_ENCOUNTER: dict[str, Any] = {
    **ENCOUNTER,
    "source_encounter_id": INPATIENT_SOURCE_ENCOUNTER_ID,
    "place_of_service": "21",
    "facility": {"name": "Mission General Hospital", "npi": "1123456786", "address": HOSPITAL["address"]},
    "admission_date": "2026-03-02",
    "discharge_date": "2026-03-05",
    "diagnoses": ["J189", "E119", "I10"],
    "bills": "both",
    "institutional": INSTITUTIONAL,
}
