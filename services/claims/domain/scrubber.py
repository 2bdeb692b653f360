"""The scrubber: a rule engine of small edits, each with an id, severity, message and source.

An edit is a function (ScrubInput) -> list[Finding], registered with @edit. `scrub` runs them
all and returns every finding; a claim with any error-severity finding is held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import simple_icd_10_cm as icd

from services.claims.domain.codesets import CodeSets, shipped
from services.claims.domain.model import ClaimDraft

Severity = Literal["error", "warning"]
Source = Literal[
    "required-fields", "diagnosis-pointer", "icd10", "ncci-ptp", "mue", "age-sex",
    "duplicate", "timely-filing", "correction-reference", "payer-rule",
]  # fmt: skip

# NCCI-associated modifiers that may bypass a PTP edit with modifier indicator 1.
PTP_BYPASS = frozenset(
    [
        "24",
        "25",
        "27",
        "57",
        "58",
        "59",
        "78",
        "79",
        "91",
        "XE",
        "XP",
        "XS",
        "XU",
        "E1",
        "E2",
        "E3",
        "E4",
        "FA",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "LT",
        "RT",
        "LC",
        "LD",
        "LM",
        "RC",
        "RI",
        "TA",
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
        "T6",
        "T7",
        "T8",
        "T9",
    ]
)
ICD10_START = date(2015, 10, 1)
TIMELY_FILING_WARNING_DAYS = 14


@dataclass(frozen=True)
class Finding:
    edit_id: str
    severity: Severity
    message: str
    source: Source
    line_number: int | None = None


@dataclass(frozen=True)
class LineKey:
    """What makes two lines the same service for the duplicate edit."""

    procedure_code: str
    modifiers: tuple[str, ...]
    service_date: date


@dataclass(frozen=True)
class ScrubInput:
    draft: ClaimDraft
    today: date
    timely_filing_days: int
    frequency: str = "1"
    payer_claim_control_number: str | None = None
    # Lines already billed to the same payer for the same patient account on other live claims.
    billed_elsewhere: frozenset[LineKey] = frozenset()
    codesets: CodeSets = field(default_factory=shipped)


Edit = Callable[[ScrubInput], list[Finding]]
EDITS: dict[str, Edit] = {}


def edit(edit_id: str) -> Callable[[Edit], Edit]:
    def register(fn: Edit) -> Edit:
        EDITS[edit_id] = fn
        return fn

    return register


def scrub(item: ScrubInput) -> list[Finding]:
    return [finding for run in EDITS.values() for finding in run(item)]


def holds(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


# --- the edits ------------------------------------------------------------------------------


@edit("REQ-FIELDS")
def required_fields(item: ScrubInput) -> list[Finding]:
    d = item.draft
    out: list[Finding] = []

    def miss(message: str, line: int | None = None) -> None:
        out.append(Finding("REQ-FIELDS", "error", message, "required-fields", line))

    if d.coverage_rank > len(d.encounter.coverages):
        miss("the claim's coverage is not on the encounter")
        return out
    if not d.diagnoses:
        miss("the claim has no diagnosis")
    if not d.lines:
        miss("the claim has no service line")
    if len(d.lines) > 50:
        miss("a claim carries at most 50 service lines")
    for n, line in enumerate(d.lines, start=1):
        if line.service_date > item.today:
            miss("the date of service is in the future", n)
        if line.units <= 0:
            miss("units must be positive", n)
    if d.coverage.relationship_to_subscriber != "18" and d.coverage.subscriber is None:
        miss("the subscriber is required when the patient is not the subscriber")
    return out


@edit("DX-POINTER")
def diagnosis_pointers(item: ScrubInput) -> list[Finding]:
    d = item.draft
    out: list[Finding] = []
    if len(d.diagnoses) > 12:
        out.append(
            Finding(
                "DX-POINTER", "error", f"{len(d.diagnoses)} diagnoses; an 837P carries at most 12", "diagnosis-pointer"
            )
        )
    for n, line in enumerate(d.lines, start=1):
        pointers = line.diagnosis_pointers
        if not 1 <= len(pointers) <= 4:
            out.append(Finding("DX-POINTER", "error", "a line needs 1 to 4 diagnosis pointers", "diagnosis-pointer", n))
        elif len(set(pointers)) != len(pointers) or any(not 1 <= p <= min(len(d.diagnoses), 12) for p in pointers):
            out.append(
                Finding(
                    "DX-POINTER",
                    "error",
                    "diagnosis pointers must be distinct and point into the claim's diagnoses",
                    "diagnosis-pointer",
                    n,
                )
            )
    return out


@edit("ICD10-BILLABLE")
def icd10_billable(item: ScrubInput) -> list[Finding]:
    d = item.draft
    out: list[Finding] = []
    first = d.first_service_date if d.lines else item.today
    for i, code in enumerate(d.diagnoses, start=1):
        if first < ICD10_START:
            out.append(
                Finding("ICD10-BILLABLE", "error", f"diagnosis {i}: ICD-10-CM is not valid before 2015-10-01", "icd10")
            )
        elif not icd.is_valid_item(code):
            out.append(Finding("ICD10-BILLABLE", "error", f"diagnosis {i} ({code}) is not an ICD-10-CM code", "icd10"))
        elif not icd.is_leaf(code):
            out.append(
                Finding(
                    "ICD10-BILLABLE",
                    "error",
                    f"diagnosis {i} ({code}) is a category, not billable: code to the highest specificity",
                    "icd10",
                )
            )
    return out


@edit("NCCI-PTP")
def ncci_ptp(item: ScrubInput) -> list[Finding]:
    d = item.draft
    out: list[Finding] = []
    for a, first in enumerate(d.lines, start=1):
        for b, second in enumerate(d.lines, start=1):
            if a == b or first.service_date != second.service_date:
                continue
            for ptp in item.codesets.ptp:
                if (ptp.column1, ptp.column2) != (first.procedure_code, second.procedure_code):
                    continue
                if not ptp.in_force(first.service_date) or ptp.modifier_indicator == "9":
                    continue
                if ptp.modifier_indicator == "0":
                    out.append(
                        Finding(
                            "NCCI-PTP",
                            "error",
                            f"{second.procedure_code} is a component of "
                            f"{first.procedure_code} on the same date and never paid with it "
                            "(modifier indicator 0)",
                            "ncci-ptp",
                            b,
                        )
                    )
                elif not PTP_BYPASS & set(second.modifiers):
                    out.append(
                        Finding(
                            "NCCI-PTP",
                            "error",
                            f"{second.procedure_code} is bundled into "
                            f"{first.procedure_code} without a modifier that allows both; append "
                            "59, XU or another NCCI-associated modifier if documented",
                            "ncci-ptp",
                            b,
                        )
                    )
    return out


@edit("MUE")
def mue_units(item: ScrubInput) -> list[Finding]:
    units: dict[tuple[str, date], Decimal] = {}
    last_line: dict[tuple[str, date], int] = {}
    for n, line in enumerate(item.draft.lines, start=1):
        key = (line.procedure_code, line.service_date)
        units[key] = units.get(key, Decimal(0)) + line.units
        last_line[key] = n
    out: list[Finding] = []
    for key, total in units.items():
        limit = item.codesets.mue.get(key[0])
        if limit is not None and total > limit.max_units:
            out.append(
                Finding(
                    "MUE",
                    "error",
                    f"{total.normalize()} units of {key[0]} on one date exceed the MUE of {limit.max_units}",
                    "mue",
                    last_line[key],
                )
            )
    return out


# (code prefix or exact procedure code, sex allowed or None, min age, max age) - age in years at service
_DX_RULES: tuple[tuple[str, str | None, int, int], ...] = (
    ("O", "F", 9, 64),  # pregnancy, childbirth and the puerperium
    ("Z3A", "F", 9, 64),  # weeks of gestation
    ("C53", "F", 0, 150),  # cervix
    ("N70", "F", 0, 150),  # female pelvic organs
    ("C61", "M", 0, 150),  # prostate
    ("N40", "M", 0, 150),
    ("N41", "M", 0, 150),
    ("C62", "M", 0, 150),  # testis
    ("P", None, 0, 0),  # perinatal conditions: newborns (coded through the first 28 days)
)
_PROC_AGES: dict[str, tuple[int, int]] = {
    "99381": (0, 0),
    "99382": (1, 4),
    "99383": (5, 11),
    "99384": (12, 17),
    "99385": (18, 39),
    "99386": (40, 64),
    "99387": (65, 150),
    "99391": (0, 0),
    "99392": (1, 4),
    "99393": (5, 11),
    "99394": (12, 17),
    "99395": (18, 39),
    "99396": (40, 64),
    "99397": (65, 150),
}
_PROC_SEX: dict[str, str] = {"G0101": "F", "Q0091": "F", "G0102": "M", "G0103": "M", "76805": "F", "55700": "M"}


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@edit("AGE-SEX")
def age_sex(item: ScrubInput) -> list[Finding]:
    d = item.draft
    patient = d.encounter.patient
    if not d.lines:
        return []
    age = _age(patient.birth_date, d.first_service_date)
    out: list[Finding] = []
    for i, code in enumerate(d.diagnoses, start=1):
        for prefix, sex, lo, hi in _DX_RULES:
            if code.startswith(prefix):
                if sex is not None and patient.sex not in (sex, "U"):
                    out.append(
                        Finding(
                            "AGE-SEX", "error", f"diagnosis {i} ({code}) conflicts with the patient's sex", "age-sex"
                        )
                    )
                elif not lo <= age <= hi:
                    out.append(
                        Finding(
                            "AGE-SEX", "error", f"diagnosis {i} ({code}) conflicts with the patient's age", "age-sex"
                        )
                    )
                break
    for n, line in enumerate(d.lines, start=1):
        ages = _PROC_AGES.get(line.procedure_code)
        if ages and not ages[0] <= _age(patient.birth_date, line.service_date) <= ages[1]:
            out.append(
                Finding("AGE-SEX", "error", f"{line.procedure_code} is for ages {ages[0]}-{ages[1]}", "age-sex", n)
            )
        sex = _PROC_SEX.get(line.procedure_code)
        if sex and patient.sex not in (sex, "U"):
            out.append(
                Finding("AGE-SEX", "error", f"{line.procedure_code} conflicts with the patient's sex", "age-sex", n)
            )
    return out


@edit("DUPLICATE")
def duplicate(item: ScrubInput) -> list[Finding]:
    if item.frequency != "1":
        return []
    out: list[Finding] = []
    for n, line in enumerate(item.draft.lines, start=1):
        if LineKey(line.procedure_code, tuple(line.modifiers), line.service_date) in item.billed_elsewhere:
            out.append(
                Finding(
                    "DUPLICATE",
                    "error",
                    f"{line.procedure_code} on {line.service_date} is already billed to this payer on another claim",
                    "duplicate",
                    n,
                )
            )
    return out


@edit("TIMELY-FILING")
def timely_filing(item: ScrubInput) -> list[Finding]:
    if not item.draft.lines:
        return []
    deadline = item.draft.first_service_date + timedelta(days=item.timely_filing_days)
    if item.today > deadline:
        return [
            Finding(
                "TIMELY-FILING",
                "error",
                f"the payer's timely-filing limit ({item.timely_filing_days} days) passed on {deadline}",
                "timely-filing",
            )
        ]
    if item.today > deadline - timedelta(days=TIMELY_FILING_WARNING_DAYS):
        return [Finding("TIMELY-FILING", "warning", f"the timely-filing limit runs out on {deadline}", "timely-filing")]
    return []


@edit("CORRECTION-REF")
def correction_reference(item: ScrubInput) -> list[Finding]:
    if item.frequency in {"7", "8"} and not item.payer_claim_control_number:
        return [
            Finding(
                "CORRECTION-REF",
                "error",
                "a replacement or void needs the payer claim control number of the adjudicated claim (REF*F8)",
                "correction-reference",
            )
        ]
    return []
