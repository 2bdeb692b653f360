"""Rules of the institutional claim's data (UB-04 / 837I) on an encounter and on its charges.

The contract checks each value's shape (type of bill digits, NUBC codes, ICD-10-PCS characters,
POA indicators); these rules check what lies between values: the statement covers period and
the stay inside it, what only an inpatient bill may carry, codes that must not repeat, and
which claim each charge line goes on. ICD-10-PCS codes are checked for shape only (no PCS
table is shipped); ICD-10-CM codes are judged as the encounter's are, with the edition in force
on the statement's last day (inpatient code sets follow the discharge date).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from schemas.common import is_inpatient_bill
from services.charges.domain.facts import (
    Bills,
    ChargeFacts,
    ClaimType,
    EncounterFacts,
    InstitutionalFacts,
    PostedLineFacts,
)
from services.charges.domain.findings import Finding, Reason, Rejection
from services.charges.domain.rules import (
    ENCOUNTER_DIAGNOSIS,
    check_diagnosis_code,
    check_edition,
    check_npi,
    check_principal_diagnosis,
)
from services.chassis.icd10cm import Editions

_FIELD = "institutional"
TOTAL_REVENUE_CODE = "0001"  # the claim's total line, written by claims, never a charge


def bills_claim(bills: Bills, claim_type: ClaimType) -> bool:
    return bills in (claim_type, "both")


# --------------------------------------------------------------------------- the encounter


def check_institutional(encounter: EncounterFacts, today: date, editions: Editions) -> list[Finding]:
    """The institutional data is there exactly when the encounter bills an institutional claim,
    and holds together."""
    data = encounter.institutional
    if data is None:
        if bills_claim(encounter.bills, "institutional"):
            return [Rejection(Reason.ENC_INSTITUTIONAL_MISSING, _FIELD,
                              "institutional is required when the encounter bills institutional or both")]
        return []
    if not bills_claim(encounter.bills, "institutional"):
        return [Rejection(Reason.ENC_INSTITUTIONAL_NOT_BILLED, _FIELD,
                          "institutional is only allowed when bills is institutional or both")]
    findings = _providers(data)
    findings += _statement(data, today)
    findings += _stay(encounter, data)
    findings += _diagnoses(data, editions)
    findings += _procedures(data)
    findings += _codes(data)
    return findings


def _providers(data: InstitutionalFacts) -> list[Finding]:
    findings: list[Finding] = []
    for npi, field in ((data.billing_npi, "billing_provider"), (data.attending_npi, "attending_provider"),
                       (data.operating_npi, "operating_provider"),
                       (data.other_operating_npi, "other_operating_provider")):
        findings += check_npi(npi, f"{_FIELD}.{field}.npi", Reason.ENC_NPI_CHECK_DIGIT)
    return findings


def _statement(data: InstitutionalFacts, today: date) -> list[Finding]:
    findings: list[Finding] = []
    if data.statement_through < data.statement_from:
        findings.append(Rejection(Reason.ENC_STATEMENT_PERIOD_ORDER, f"{_FIELD}.statement_through",
                                  "statement_through must not be before statement_from"))
    if data.statement_through > today:
        findings.append(Rejection(Reason.ENC_STATEMENT_DATE_FUTURE, f"{_FIELD}.statement_through",
                                  "the statement period must not end in the future"))
    return findings


def _stay(encounter: EncounterFacts, data: InstitutionalFacts) -> list[Finding]:
    """Admission and discharge against the statement period and each other; what an inpatient
    bill must say about the admission (837I DTP*435 and CL1)."""
    findings: list[Finding] = []
    admitted, discharged = encounter.admission_date, encounter.discharge_date
    if admitted is not None and admitted > data.statement_through:
        findings.append(Rejection(Reason.ENC_STAY_OUTSIDE_STATEMENT, "admission_date",
                                  "admission_date must not be after institutional.statement_through"))
    if discharged is not None and not data.statement_from <= discharged <= data.statement_through:
        findings.append(Rejection(Reason.ENC_STAY_OUTSIDE_STATEMENT, "discharge_date",
                                  "discharge_date must fall inside the statement covers period"))
    for hour, day, name in ((data.admission_hour, admitted, "admission"), (data.discharge_hour, discharged,
                                                                           "discharge")):
        if hour is not None and day is None:
            findings.append(Rejection(Reason.ENC_HOUR_WITHOUT_DATE, f"{_FIELD}.{name}_hour",
                                      f"{name}_hour needs the encounter's {name}_date"))
    if (admitted is not None and admitted == discharged and data.admission_hour is not None
            and data.discharge_hour is not None and data.discharge_hour < data.admission_hour):
        findings.append(Rejection(Reason.ENC_HOURS_ORDER, f"{_FIELD}.discharge_hour",
                                  "on a same-day stay discharge_hour must not be before admission_hour"))
    if is_inpatient_bill(data.type_of_bill):
        for value, field in ((admitted, "admission_date"), (data.admission_type, f"{_FIELD}.admission_type"),
                             (data.admission_source, f"{_FIELD}.admission_source")):
            if value is None:
                findings.append(Rejection(Reason.ENC_INPATIENT_ADMISSION_MISSING, field,
                                          "an inpatient type of bill needs the admission date, type and source"))
    return findings


def _diagnoses(data: InstitutionalFacts, editions: Editions) -> list[Finding]:
    choice = editions.for_day(data.statement_through)
    coded: list[tuple[str, str]] = [(data.principal_diagnosis.code, f"{_FIELD}.principal_diagnosis.code")]
    coded += [(d.code, f"{_FIELD}.other_diagnoses[{i}].code") for i, d in enumerate(data.other_diagnoses)]
    findings: list[Finding] = []
    seen: set[str] = set()
    for code, field in coded:
        if code in seen:
            findings.append(Rejection(Reason.ENC_DX_DUPLICATE, field, "diagnosis code repeats an earlier one"))
        seen.add(code)
    coded += [(data.admitting_diagnosis, f"{_FIELD}.admitting_diagnosis")] if data.admitting_diagnosis else []
    coded += [(c, f"{_FIELD}.reason_for_visit[{i}]") for i, c in enumerate(data.reason_for_visit)]
    for code, field in coded:
        findings += check_diagnosis_code(code, field, choice, ENCOUNTER_DIAGNOSIS)
    findings += check_principal_diagnosis([data.principal_diagnosis.code], f"{_FIELD}.principal_diagnosis.code")
    findings += check_edition(choice, f"{_FIELD}.statement_through")
    return findings


def _procedures(data: InstitutionalFacts) -> list[Finding]:
    """ICD-10-PCS procedures belong on inpatient bills only (outpatient facility services are
    coded with CPT/HCPCS on their lines), each dated inside the statement period."""
    dated = [(data.principal_procedure, f"{_FIELD}.principal_procedure")] if data.principal_procedure else []
    dated += [(p, f"{_FIELD}.other_procedures[{i}]") for i, p in enumerate(data.other_procedures)]
    findings: list[Finding] = []
    if dated and not is_inpatient_bill(data.type_of_bill):
        findings.append(Rejection(Reason.ENC_PCS_NOT_INPATIENT, dated[0][1],
                                  "ICD-10-PCS procedures are only reported on an inpatient type of bill"))
    if data.other_procedures and data.principal_procedure is None:
        findings.append(Rejection(Reason.ENC_PCS_PRINCIPAL_MISSING, f"{_FIELD}.principal_procedure",
                                  "other_procedures need a principal_procedure"))
    for procedure, field in dated:
        if not data.statement_from <= procedure.on <= data.statement_through:
            findings.append(Rejection(Reason.ENC_PCS_DATE_OUTSIDE_STATEMENT, f"{field}.performed_on",
                                      "the procedure date must fall inside the statement covers period"))
    return findings


def _codes(data: InstitutionalFacts) -> list[Finding]:
    findings = _repeats(data.condition_codes, f"{_FIELD}.condition_codes[{{}}]")
    findings += _repeats(data.value_codes, f"{_FIELD}.value_codes[{{}}].code")
    for i, span in enumerate(data.occurrence_spans):
        if span.end < span.start:
            findings.append(Rejection(Reason.ENC_SPAN_ORDER, f"{_FIELD}.occurrence_spans[{i}].through_date",
                                      "through_date must not be before from_date"))
    return findings


def _repeats(codes: Sequence[str], field: str) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            findings.append(Rejection(Reason.ENC_NUBC_CODE_DUPLICATE, field.format(i), "code repeats an earlier one"))
        seen.add(code)
    return findings


# --------------------------------------------------------------------------- a charge line


def claim_type_of(charge: ChargeFacts, encounter: EncounterFacts) -> ClaimType | Rejection:
    """The claim the line goes on: its own claim_type, else the encounter's only claim."""
    if charge.claim_type is not None:
        if not bills_claim(encounter.bills, charge.claim_type):
            return Rejection(Reason.CHG_CLAIM_TYPE_NOT_BILLED, "claim_type",
                             "the encounter does not bill this claim type (see its bills)")
        return charge.claim_type
    if encounter.bills == "both":
        return Rejection(Reason.CHG_CLAIM_TYPE_REQUIRED, "claim_type",
                         "claim_type is required when the encounter bills both claims")
    return "institutional" if encounter.bills == "institutional" else "professional"


def check_line_for_claim(
    claim_type: ClaimType, procedure_code: str | None, revenue_code: str | None, charge: ChargeFacts,
    encounter: EncounterFacts,
) -> list[Finding]:
    """A professional line needs a procedure code; an institutional one a revenue code (not the
    total line's) and service dates inside the statement covers period."""
    if claim_type == "professional":
        if procedure_code is None:
            return [Rejection(Reason.CHG_PROCEDURE_REQUIRED, "procedure_code",
                              "a professional line needs a procedure code (or a chargemaster item that has one)")]
        return []
    findings: list[Finding] = []
    if revenue_code is None:
        findings.append(Rejection(Reason.CHG_REVENUE_CODE_MISSING, "revenue_code",
                                  "an institutional line needs a revenue code (or a chargemaster item that has one)"))
    elif revenue_code == TOTAL_REVENUE_CODE:
        findings.append(Rejection(Reason.CHG_REVENUE_CODE_TOTAL, "revenue_code",
                                  "revenue code 0001 is the claim's total line, not a charge"))
    data = encounter.institutional
    if data is not None:
        for day, field in ((charge.service_date, "service_date"), (charge.service_end_date, "service_end_date")):
            if day is not None and not data.statement_from <= day <= data.statement_through:
                findings.append(Rejection(Reason.CHG_SERVICE_OUTSIDE_STATEMENT, field,
                                          "an institutional line's service dates must fall inside the encounter's "
                                          "statement covers period"))
    return findings


def dated_past_statement(charge: ChargeFacts, encounter: EncounterFacts, rejections: Sequence[Rejection]) -> bool:
    """Is the line refused only for service dates after statement_through, none before
    statement_from? An interim feed widens the period forward as the stay goes on, so such a
    line may fit once the encounter's next update arrives; one dated before the period never will."""
    data = encounter.institutional
    if data is None or not rejections or any(r.code != Reason.CHG_SERVICE_OUTSIDE_STATEMENT for r in rejections):
        return False
    return all(data.statement_from <= day for day in (charge.service_date, charge.service_end_date) if day is not None)


def check_posted_lines(encounter: EncounterFacts, lines: Sequence[PostedLineFacts]) -> list[Finding]:
    """A change of the encounter keeps its posted lines billable: each still goes on a claim the
    encounter bills, and each institutional one still lies inside the statement period (void or
    correct the lines first, then change the encounter)."""
    findings: list[Finding] = []
    if any(not bills_claim(encounter.bills, line.claim_type) for line in lines):
        findings.append(Rejection(Reason.ENC_POSTED_LINE_UNBILLED, "bills",
                                  "posted charges go on a claim the encounter would no longer bill: void or correct "
                                  "them first"))
    data = encounter.institutional
    if data is not None:
        days = [d for line in lines if line.claim_type == "institutional"
                for d in (line.service_date, line.service_end_date) if d is not None]
        if days and min(days) < data.statement_from:
            findings.append(Rejection(Reason.ENC_POSTED_LINE_OUTSIDE_STATEMENT, f"{_FIELD}.statement_from",
                                      "a posted institutional charge is dated before the statement period"))
        if days and max(days) > data.statement_through:
            findings.append(Rejection(Reason.ENC_POSTED_LINE_OUTSIDE_STATEMENT, f"{_FIELD}.statement_through",
                                      "a posted institutional charge is dated after the statement period"))
    return findings
