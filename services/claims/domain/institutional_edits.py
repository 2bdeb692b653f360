"""The scrubber's edits of the institutional claim (837I, UB-04): what a payer's front end and the
CMS editors (the I/OCE on outpatient bills, FISS on inpatient ones) reject in the facility data.

`institutional_edits` is pure: the encounter's institutional data, the claim's lines (a summed
inpatient line spans its first to its last day), the claim's frequency and whether the payer
wants present-on-admission indicators. The claims service runs it from one registered edit.

Not checked again here: the charges service refuses the same data before it reaches a claim
(services/charges/domain/institutional.py, and the EncounterDetails contract rules):
* the statement period's order and a through date in the future (ENC_STATEMENT_PERIOD_ORDER,
  ENC_STATEMENT_DATE_FUTURE);
* admission and discharge against the period and each other: admission not after the through
  date, discharge inside the period (ENC_STAY_OUTSIDE_STATEMENT), discharge not before admission
  (contract rule discharge_before_admission), on a same-day stay the discharge hour not before
  the admission hour (ENC_HOURS_ORDER), an hour only with its date (ENC_HOUR_WITHOUT_DATE);
* an inpatient bill's admission date, type and source (ENC_INPATIENT_ADMISSION_MISSING);
* ICD-10-PCS procedures on inpatient bills only (ENC_PCS_NOT_INPATIENT);
* every line's service dates inside the statement period (CHG_SERVICE_OUTSIDE_STATEMENT; an
  encounter change that would leave a posted line outside is refused,
  ENC_POSTED_LINE_OUTSIDE_STATEMENT), so a summed line's span is inside it too;
* positive units and amounts on every line (CHG_UNITS, CHG_AMOUNT).
The revenue-code edit still names a missing code and 0001 (CHG_REVENUE_CODE_MISSING and
_TOTAL upstream): its range check meets them and must say what they are.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from schemas.common import EncounterDetails, InstitutionalDetails, is_inpatient_bill
from services.claims.domain.codesets import DATA
from services.claims.domain.findings import Finding
from services.claims.domain.model import is_room_and_board

REVENUE_CODES = "nubc_revenue_code_categories.csv"
TOTAL_REVENUE_CODE = "0001"
STILL_PATIENT = "30"
"""NUBC patient status 30: still a patient (the bill does not end the stay)."""
INTERIM_FREQUENCIES = frozenset({"2", "3"})
"""Interim - first claim (2) and interim - continuing claim (3): the stay goes on past the
statement period. Interim - last claim (4) ends it with a discharge status."""
CORRECTION_FREQUENCIES = frozenset({"7", "8"})
INPATIENT_PART_B = "2"
"""Type of bill classification 2: an inpatient's Part B ancillary services, never accommodation."""


class InstitutionalLineView(Protocol):
    @property
    def revenue_code(self) -> str | None: ...
    @property
    def procedure_code(self) -> str | None: ...
    @property
    def service_date(self) -> date: ...
    @property
    def service_end_date(self) -> date | None: ...
    @property
    def units(self) -> Decimal: ...
    @property
    def charge(self) -> Decimal: ...


@dataclass(frozen=True)
class RevenueCategory:
    first: str
    last: str
    name: str
    hcpcs_outpatient: bool
    """A line of the category names its service with a HCPCS/CPT code on an outpatient bill."""


@lru_cache(maxsize=1)
def revenue_categories() -> tuple[RevenueCategory, ...]:
    """The shipped table (its comment lines say what it excerpts and how far it goes)."""
    lines = (DATA / REVENUE_CODES).read_text().splitlines()
    rows = list(csv.reader(line for line in lines if line.strip() and not line.startswith("#")))[1:]
    if any(len(row) != 4 for row in rows):
        raise ValueError(f"{REVENUE_CODES}: every row is first,last,category,hcpcs_outpatient (quote a comma)")
    return tuple(RevenueCategory(first, last, name, hcpcs == "Y") for first, last, name, hcpcs in rows)


def revenue_category(code: str) -> RevenueCategory | None:
    return next((c for c in revenue_categories() if c.first <= code <= c.last), None)


def covered_days(data: InstitutionalDetails) -> int:
    """Accommodation days of the statement period: the day of admission counts, the day of
    discharge does not, and a stay that begins and ends on one day counts one. A bill whose
    patient is still there (status 30) ends on a day spent in the bed, which counts."""
    days = (data.statement_through - data.statement_from).days
    if data.patient_status == STILL_PATIENT:
        return days + 1
    return max(days, 1)


def institutional_edits(encounter: EncounterDetails, lines: Sequence[InstitutionalLineView], *,
                        frequency: str, poa_required: bool) -> list[Finding]:
    """Every finding on the institutional claim; line numbers count from 1 in `lines` order."""
    data = encounter.institutional
    if data is None:
        return [_error("INST-DATA-MISSING", "the encounter bills an institutional claim without its institutional "
                       "data (type of bill, statement period, patient status, attending provider, principal "
                       "diagnosis): send the encounter's institutional details")]
    findings = _status(encounter, data, frequency)
    findings += _admission(encounter, data)
    findings += _present_on_admission(data, poa_required)
    findings += _revenue_codes(data, lines)
    findings += _room_and_board(data, lines)
    return findings


def _error(edit_id: str, message: str, line: int | None = None) -> Finding:
    return Finding(edit_id, "error", message, "institutional", line)


def _bill(data: InstitutionalDetails, frequency: str) -> str:
    return f"type of bill 0{data.type_of_bill}{frequency}"


def _status(encounter: EncounterDetails, data: InstitutionalDetails, frequency: str) -> list[Finding]:
    """Patient status against the bill's frequency: 30 (still a patient) says the stay goes on,
    as interim bills (2, 3) do; an admit-through-discharge bill (1) and the last interim bill (4)
    end it. A replacement or void (7, 8) follows the bill it replaces: 30 only while the stay
    has no discharge date. Source: NUBC UB-04 Data Specifications, FL4 frequency codes and FL17
    patient discharge status; CMS Claims Processing Manual (Pub. 100-04), Chapter 25 (Form
    CMS-1450: FL4 type of bill, FL17 patient discharge status)."""
    bill = _bill(data, frequency)
    still = data.patient_status == STILL_PATIENT
    out: list[Finding] = []
    if still and frequency in {"1", "4"}:
        out.append(_error("INST-STATUS-FREQUENCY", f"patient status 30 (still a patient) on {bill}, a bill that ends "
                          "the stay: send the discharge status, or bill the period as an interim claim"))
    elif still and frequency in CORRECTION_FREQUENCIES and encounter.discharge_date is not None:
        out.append(_error("INST-STATUS-FREQUENCY", f"patient status 30 (still a patient) on {bill} while the stay "
                          "has a discharge date: send the discharge status"))
    elif not still and frequency in INTERIM_FREQUENCIES:
        out.append(_error("INST-STATUS-FREQUENCY", f"patient status {data.patient_status} (discharged) on {bill}, an "
                          "interim bill of a stay that goes on: interim bills carry status 30 (still a patient)"))
    if not still and is_inpatient_bill(data.type_of_bill) and encounter.discharge_date is None:
        out.append(_error("INST-DISCHARGE-DATE", f"patient status {data.patient_status} discharges the patient and "
                          f"the encounter has no discharge_date ({bill} is inpatient): send the discharge date, or "
                          "status 30 while the patient is still there"))
    return out


def _admission(encounter: EncounterDetails, data: InstitutionalDetails) -> list[Finding]:
    """On an inpatient bill the admission is not after the statement period begins: the period
    covers days of the stay. Source: NUBC UB-04 Data Specifications, FL6 (statement covers
    period) and FL12 (admission date); 005010X223A2 2300 DTP*435 and DTP*434."""
    admitted = encounter.admission_date
    if not is_inpatient_bill(data.type_of_bill) or admitted is None or admitted <= data.statement_from:
        return []
    return [_error("INST-ADMISSION-DATE", "admission_date is after institutional.statement_from on an inpatient "
                   f"bill (type of bill 0{data.type_of_bill}x): the statement period begins on or after the day of "
                   "admission")]


def _present_on_admission(data: InstitutionalDetails, poa_required: bool) -> list[Finding]:
    """The payer wants a present-on-admission indicator on every diagnosis of an inpatient
    bill: Y, N, U, W, or 1 (exempt). Source: ICD-10-CM Official Guidelines, Appendix I (Present on
    Admission Reporting Guidelines); Deficit Reduction Act of 2005, Section 5001(c) (POA on
    Medicare inpatient claims); 005010X223A2 2300 HI ABK/ABF, HI0x-9."""
    if not poa_required or not is_inpatient_bill(data.type_of_bill):
        return []
    coded = [("principal diagnosis", data.principal_diagnosis)]
    coded += [(f"other diagnosis {i}", d) for i, d in enumerate(data.other_diagnoses, start=1)]
    return [_error("INST-POA-REQUIRED", f"{name} ({diagnosis.code}) has no present-on-admission indicator and the "
                   "payer requires one on inpatient bills: send Y, N, U, W, or 1 for a code exempt from POA reporting")
            for name, diagnosis in coded if diagnosis.present_on_admission is None]


def _revenue_codes(data: InstitutionalDetails, lines: Sequence[InstitutionalLineView]) -> list[Finding]:
    """Each line's revenue code is a NUBC code of a billable category, never the total line
    0001 (the writer computes the claim's total, CLM02); on an outpatient bill the categories
    the I/OCE edits name the service with a HCPCS/CPT code, and accommodation belongs to
    inpatient bills. Source: NUBC UB-04 Data Specifications, FL42 and FL44; CMS Integrated
    Outpatient Code Editor (I/OCE) specifications, edit "revenue center requires HCPCS";
    CMS Claims Processing Manual, Chapter 4, Section 20.5 (HCPCS on outpatient bills)."""
    outpatient = not is_inpatient_bill(data.type_of_bill)
    out: list[Finding] = []
    for n, line in enumerate(lines, start=1):
        code = line.revenue_code
        category = revenue_category(code) if code else None
        if code == TOTAL_REVENUE_CODE:
            out.append(_error("INST-TOTAL-LINE", "revenue code 0001 is the claim's total line, written from the "
                              "lines' charges, never a billed line: bill the service under its own revenue code", n))
        elif code is None or category is None:
            shown = f"revenue code {code}" if code else "no revenue code"
            out.append(_error("INST-REVENUE-CODE", f"{shown} on the line: an institutional line needs a NUBC revenue "
                              "code of a billable category (UB-04 FL42, 837I SV201)", n))
        elif outpatient and category.hcpcs_outpatient and line.procedure_code is None:
            out.append(_error("INST-HCPCS-REQUIRED", f"revenue code {code} ({category.name}) needs a HCPCS/CPT code "
                              f"on an outpatient bill (type of bill 0{data.type_of_bill}x): send the procedure code "
                              "on the charge, or map it in the chargemaster", n))
        elif outpatient and is_room_and_board(code):
            out.append(_error("INST-ROOM-OUTPATIENT", f"revenue code {code} ({category.name}) is accommodation, "
                              f"billed on inpatient bills only (type of bill 0{data.type_of_bill}x is outpatient): "
                              "bill observation under 0762 with its HCPCS, or bill the stay as inpatient", n))
    return out


def _room_and_board(data: InstitutionalDetails, lines: Sequence[InstitutionalLineView]) -> list[Finding]:
    """An inpatient bill's accommodation units (days) are at most the days the statement period
    covers; a stay with no accommodation line is unusual (a warning) except on a Part B
    inpatient bill (12x), which carries ancillaries only. Source: NUBC UB-04 Data
    Specifications, FL46 (service units: days for accommodation) and FL39-41 value code 80;
    Medicare Benefit Policy Manual (Pub. 100-02), Chapter 3, Section 20.1 (counting inpatient
    days); CMS Claims Processing Manual, Chapter 4, Section 240 (12x)."""
    if not is_inpatient_bill(data.type_of_bill):
        return []
    rooms = [line for line in lines if is_room_and_board(line.revenue_code)]
    if not rooms:
        if data.type_of_bill[1] == INPATIENT_PART_B:
            return []
        return [Finding("INST-NO-ROOM", "warning", f"an inpatient bill (type of bill 0{data.type_of_bill}x) with no "
                        "accommodation line (revenue codes 0100-0219): inpatient stays bill their days of room and "
                        "board; check the chargemaster mapping of the room charges", "institutional")]
    billed = sum((line.units for line in rooms), Decimal(0))
    days = covered_days(data)
    if billed <= days:
        return []
    return [_error("INST-ROOM-DAYS", f"accommodation lines (revenue codes 0100-0219) bill {billed.normalize()} days "
                   f"and the statement period covers {days} (the day of admission counts, the day of discharge does "
                   "not): correct the room-and-board units")]
