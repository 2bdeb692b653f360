"""Builders for the sandbox tests: 837P and 837I claims (edi.x837, edi.x837i models), payers with
one behaviour at a time, and the pyx12 + balancing check every written file goes through."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from edi.validate import pyx12_validate
from edi.x835 import check_835, read_835
from edi.x837 import Claim, ClaimBatch
from edi.x837i import Claim as InstitutionalClaim
from edi.x837i import ClaimBatch as InstitutionalBatch
from sandbox.adjudication import AnyClaim, ClaimResult, build_835, payee_of
from sandbox.payers import Behaviour, PayerConfig, parse_behaviour
from schemas.common import is_inpatient_bill

D = Decimal
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 0)
# Files the sandbox produced that went through pyx12 (by kind), and how many were clean.
PYX12_FILES: Counter[str] = Counter()
PYX12_CLEAN: Counter[str] = Counter()

BILLING: dict[str, Any] = {
    "name": "Revcycle Community Clinic", "npi": "1234567893", "taxonomy": "207Q00000X", "tax_id": "123456789",
    "address": {"line1": "100 Main St", "city": "Oakland", "state": "CA", "zip": "946121234"},
}
ADDRESS: dict[str, Any] = {"line1": "12 Elm St", "city": "Oakland", "state": "CA", "zip": "94607"}
SCHEDULE = {("99213", ""): D("100.00"), ("80053", ""): D("20.00"), ("87880", "QW"): D("30.00"),
            ("72100", ""): D("90.00"), ("99396", ""): D("150.00")}


def payer(payer_id: str = "P1", name: str = "Test Payer", schedule: dict[tuple[str, str], Decimal] | None = None,
          filing: str = "CI", **behaviour: Any) -> PayerConfig:
    return PayerConfig(payer_id=payer_id, name=name, claim_filing_indicator=filing,
                       fee_schedule=SCHEDULE if schedule is None else schedule,
                       behaviour=parse_behaviour(behaviour) if behaviour else Behaviour())


def line(code: str = "99213", charge: str = "150.00", n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"procedure_code": code, "charge": charge, "diagnosis_pointers": [1],
            "service_date": "2026-02-10", "line_control_number": f"LN{n}-{code}", **extra}


def claim(submission_id: str = "C1", payer_id: str = "P1", *lines: dict[str, Any], member: str = "M100",
          **extra: Any) -> Claim:
    data: dict[str, Any] = {
        "submission_id": submission_id, "billing_provider": BILLING,
        "subscriber": {"last_name": "Rivera", "first_name": "Ana", "member_id": member, "address": ADDRESS,
                       "birth_date": "1970-05-06", "gender": "F"},
        "payer": {"name": "Test Payer", "id": payer_id}, "claim_filing_indicator": "CI",
        "place_of_service": "11", "diagnoses": ["J02.0"], "lines": list(lines) or [line()],
    }
    data.update(extra)
    return Claim.model_validate(data)


HOSPITAL: dict[str, Any] = {**BILLING, "name": "Revcycle Community Hospital", "taxonomy": "282N00000X"}


def rev_line(revenue: str, charge: str, n: int, code: str | None = None, **extra: Any) -> dict[str, Any]:
    """An 837I line: a revenue code, with a HCPCS code when given."""
    return {"revenue_code": revenue, "procedure_code": code, "charge": charge, "units": "1",
            "service_date": "2026-02-10", "line_control_number": f"LN{n}-{revenue}", **extra}


def institutional_claim(submission_id: str = "H1", payer_id: str = "P1", *lines: dict[str, Any],
                        member: str = "M100", type_of_bill: str = "11", statement_from: str = "2026-02-07",
                        **extra: Any) -> InstitutionalClaim:
    """An 837I claim: a stay from ``statement_from`` to 2026-02-10 (inpatient types of bill, admitted
    from the emergency room) or a visit on 2026-02-10 (the others)."""
    inpatient = is_inpatient_bill(type_of_bill)
    data: dict[str, Any] = {
        "submission_id": submission_id, "billing_provider": HOSPITAL,
        "subscriber": {"last_name": "Rivera", "first_name": "Ana", "member_id": member, "address": ADDRESS,
                       "birth_date": "1970-05-06", "gender": "F"},
        "payer": {"name": "Test Payer", "id": payer_id}, "claim_filing_indicator": "CI",
        "type_of_bill": type_of_bill, "statement_from": statement_from if inpatient else "2026-02-10",
        "statement_through": "2026-02-10", "patient_status": "01",
        "principal_diagnosis": {"code": "J18.9", "present_on_admission": "Y"} if inpatient else {"code": "S93.401A"},
        "attending_provider": {"last_name": "Grey", "first_name": "Meredith", "npi": "1999999984",
                               "taxonomy": "207R00000X"},
        "lines": list(lines) or [rev_line("0450", "850.00", 1, "99284")],
    }
    if inpatient:
        data.update(admission_date=statement_from, admission_hour="0830", admission_type="1", admission_source="7")
    data.update(extra)
    return InstitutionalClaim.model_validate(data)


def institutional_batch(*claims: InstitutionalClaim, icn: int = 101) -> InstitutionalBatch:
    doc = batch(claim(), icn=icn).model_dump(mode="json", exclude={"claims"})
    return InstitutionalBatch.model_validate({**doc, "claims": [c.model_dump() for c in claims]})


def batch(*claims: Claim, icn: int = 101) -> ClaimBatch:
    return ClaimBatch.model_validate({
        "sender_id": "REVCYCLE", "receiver_id": "SANDBOXCH", "interchange_control_number": icn,
        "group_control_number": icn, "created": NOW, "reference": f"B{icn}",
        "submitter": {"name": "Revcycle Billing", "id": "REVCYCLE", "contact_name": "Desk", "phone": "5105550100"},
        "receiver": {"name": "Sandbox Clearinghouse", "id": "SANDBOXCH"},
        "claims": [c.model_dump() for c in claims],
    })


def checked(text: str, kind: str) -> list[str]:
    """pyx12 issues of a file the sandbox wrote, plus every failing 835 balancing check."""
    issues = [str(i) for i in pyx12_validate(text)]
    if kind == "835":
        for transaction in read_835(text).transactions:
            issues += [c.message for c in check_835(transaction) if not c.ok]
    PYX12_FILES[kind] += 1
    if not issues:
        PYX12_CLEAN[kind] += 1
    return issues


def render(p: PayerConfig, results: Sequence[tuple[AnyClaim, ClaimResult]]) -> str:
    from edi.x12 import EnvelopeParams
    from edi.x835 import write_835

    transaction = build_835(p, payee_of(results[0][0]), [r for _, r in results], trace_number="T1", today=TODAY)
    params = EnvelopeParams(sender_id=p.payer_id, receiver_id="REVCYCLE", interchange_control_number=7,
                            group_control_number=7, created=NOW)
    return write_835([transaction], params)
