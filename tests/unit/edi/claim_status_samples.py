"""Sample 276 inquiries and 277 responses shared by the codec, checks, CLI and sandbox tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from edi.x276 import Person, StatusInquiry
from edi.x277 import Status, StatusResponse
from sandbox.claim_status import respond

D = Decimal

JANE = Person(last_name="DOE", first_name="JANE", member_id="W123456789", birth_date=date(1980, 4, 2), gender="F")
JOHN = Person(last_name="DOE", first_name="JOHN", member_id="W123456789", birth_date=date(1978, 1, 30), gender="M")
KID = Person(last_name="DOE", first_name="TIMMY", birth_date=date(2015, 6, 1), gender="M")

INQUIRY = StatusInquiry(
    trace_number="T0001", payer_name="ACME HEALTH", payer_id="ACME01", provider_name="SUNRISE CLINIC",
    provider_npi="1234567893", subscriber=JANE, patient_control_number="C0001", payer_claim_control_number="PCC1",
    total_charge=D("185.50"), service_date=date(2025, 1, 15), receiver_name="REVCYCLE", receiver_id="SUB123",
)
INQUIRIES = [
    INQUIRY,
    replace(INQUIRY, trace_number="T0002", patient_control_number="C0002", payer_claim_control_number=None,
            type_of_bill="131", total_charge=D(900), service_date=date(2025, 1, 10),
            service_end_date=date(2025, 1, 12)),
    replace(INQUIRY, trace_number="T0003", subscriber=JOHN, dependent=KID, patient_control_number="C0003",
            payer_claim_control_number=None, total_charge=D(75)),
    replace(INQUIRY, trace_number="T0004", payer_name="BLUE PLAN", payer_id="BLUE02", patient_control_number="C0004",
            payer_claim_control_number=None, total_charge=D("0.5")),
]


def response(inquiry: StatusInquiry, status: Status) -> StatusResponse:
    return respond(inquiry, status, inquiry.payer_claim_control_number)


# No entity code: the X212 list for STC01-3 has no PR (pyx12 refuses it); QC is the patient.
PAID = Status(category_code="F1", status_code="65", effective_date=date(2025, 2, 3),
              total_charge=D("185.50"), paid_amount=D("120.25"), adjudication_date=date(2025, 1, 30),
              payment_date=date(2025, 2, 3), check_number="EFT0001")
PENDING = Status(category_code="P1", status_code="20", entity_code="QC", effective_date=date(2025, 2, 3),
                 total_charge=D(900))
NOT_FOUND = Status(category_code="A4", status_code="35", effective_date=date(2025, 2, 3),
                   total_charge=D(75), paid_amount=D(0))
RESPONSES = [
    response(INQUIRIES[0], PAID),
    response(INQUIRIES[1], PENDING),
    response(INQUIRIES[2], NOT_FOUND),
    response(INQUIRIES[3], replace(PAID, category_code="F2", status_code="88", total_charge=D("0.5"),
                                   paid_amount=D(0), check_number=None, payment_date=None)),
]
