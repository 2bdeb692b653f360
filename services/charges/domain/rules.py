"""One small function per validation rule. Each returns its findings (empty when satisfied).

Rules take plain values plus the field path to report, so the encounter and the charge use
the same rule with their own reason codes and fields. No rule raises on odd input: a
Decimal that is NaN, a negative pointer or a lowercase code is a finding, not an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from schemas.types import npi_is_valid
from services.charges.domain.codes import (
    ProcedureKind,
    is_modifier_shape,
    is_place_of_service_shape,
    looks_like_cpt,
    procedure_kind,
)
from services.charges.domain.findings import Finding, Reason, Rejection, Warning
from services.charges.domain.money import MAX_UNITS, extended_amount, has_cents_precision, is_positive_amount
from services.charges.domain.reference import ReferenceData
from services.chassis.icd10cm import Choice, Editions, Status, is_external_cause

MAX_MODIFIERS = 4
MAX_DIAGNOSES = 12  # 837P HI segments carry at most 12 diagnosis codes
MAX_POINTERS = 4  # SV107 carries at most 4 diagnosis code pointers


# --------------------------------------------------------------------------- providers and places


def check_npi(npi: str | None, field: str, reason: Reason) -> list[Finding]:
    if npi is None or npi_is_valid(npi):
        return []
    return [Rejection(reason, field, "NPI must be 10 digits starting with 1 or 2 with a valid check digit")]


def check_place_of_service(code: str | None, field: str, reason: Reason, known: frozenset[str]) -> list[Finding]:
    if code is None or (is_place_of_service_shape(code) and code in known):
        return []
    return [Rejection(reason, field, "place of service must be a 2-digit CMS place of service code")]


# --------------------------------------------------------------------------- diagnoses


@dataclass(frozen=True, slots=True)
class DiagnosisReasons:
    """The reason codes one scope (encounter or charge) reports diagnosis findings with."""

    unknown: Reason
    not_billable: Reason


ENCOUNTER_DIAGNOSIS = DiagnosisReasons(Reason.ENC_DX_INVALID, Reason.ENC_DX_NOT_BILLABLE)
CHARGE_DIAGNOSIS = DiagnosisReasons(Reason.CHG_ICD_UNKNOWN, Reason.CHG_ICD_NOT_BILLABLE)


def check_diagnosis_list(diagnoses: Sequence[str]) -> list[Finding]:
    if not diagnoses:
        return [Rejection(Reason.ENC_NO_DIAGNOSIS, "diagnoses", "at least one diagnosis code is required")]
    findings: list[Finding] = []
    if len(diagnoses) > MAX_DIAGNOSES:
        findings.append(Rejection(Reason.ENC_DX_TOO_MANY, "diagnoses", "at most 12 diagnosis codes fit on a claim"))
    seen: set[str] = set()
    for i, code in enumerate(diagnoses):
        if code in seen:
            findings.append(
                Rejection(Reason.ENC_DX_DUPLICATE, f"diagnoses[{i}]", "diagnosis code repeats an earlier one")
            )
        seen.add(code)
    return findings


def check_edition(choice: Choice, field: str) -> list[Finding]:
    """Say so when the edition that judged the date is not the one in force on it (the date is
    past every loaded edition, or before them): the verdicts stand, the warning travels with
    the posted charge."""
    note = choice.note()
    if note is None:
        return []
    reason = Reason.ICD10_EDITION_STALE if choice.relation == "stale" else Reason.ICD10_EDITION_EARLIER
    return [Warning(reason, field, note)]


def check_diagnosis_code(code: str, field: str, choice: Choice, reasons: DiagnosisReasons) -> list[Finding]:
    """Billable (a leaf) in the ICD-10-CM edition that judges the date (ICD-10-CM Official
    Guidelines I.B.1: code to the highest specificity). The field points at the code and the
    message names the edition; neither the code nor the date is echoed (a diagnosis and a date
    of service are patient data, and rejections travel to alerts and webhooks)."""
    status = choice.code_set.status(code)
    if status is Status.BILLABLE:
        return []
    name = choice.edition.name
    if status is Status.NOT_BILLABLE:
        return [Rejection(reasons.not_billable, field, "diagnosis is a category with more specific codes below it "
                          f"in {name} (the edition used for its date of service), not billable: code to the "
                          "highest specificity")]
    return [Rejection(reasons.unknown, field, f"diagnosis is not an ICD-10-CM code in {name} (the edition used for "
                      "its date of service; codes are sent uppercase, without the dot)")]


def check_principal_diagnosis(diagnoses: Sequence[str], field: str = "diagnoses[0]") -> list[Finding]:
    """ICD-10-CM Official Guidelines, Section I.C.20: an external-cause code (V00-Y99) can never be
    the principal (first-listed) diagnosis."""
    if not diagnoses or not is_external_cause(diagnoses[0]):
        return []
    return [Rejection(Reason.ENC_DX_EXTERNAL_CAUSE_FIRST, field, "the first diagnosis is an "
                      "external-cause code (V00-Y99), which can never be first-listed (ICD-10-CM guideline I.C.20): "
                      "list the injury or condition first")]


def check_diagnosis_pointers(pointers: Sequence[int], diagnosis_count: int) -> list[Finding]:
    findings: list[Finding] = []
    if not 1 <= len(pointers) <= MAX_POINTERS:
        findings.append(
            Rejection(Reason.CHG_DX_POINTER_COUNT, "diagnosis_pointers", "a charge needs 1 to 4 diagnosis pointers")
        )
    seen: set[int] = set()
    for i, pointer in enumerate(pointers):
        field = f"diagnosis_pointers[{i}]"
        if not 1 <= pointer <= diagnosis_count:
            message = (
                f"pointer must be between 1 and {diagnosis_count}, the number of diagnoses on the encounter"
                if diagnosis_count
                else "the encounter has no diagnoses to point to"
            )
            findings.append(Rejection(Reason.CHG_DX_POINTER_RANGE, field, message))
        elif pointer in seen:
            findings.append(Rejection(Reason.CHG_DX_POINTER_DUPLICATE, field, "pointer repeats an earlier one"))
        seen.add(pointer)
    return findings


def check_pointed_diagnoses(
    pointers: Sequence[int], diagnoses: Sequence[str], day: date, editions: Editions
) -> list[Finding]:
    """The diagnoses a charge points to must be billable in the edition of its date of service."""
    choice = editions.for_day(day)
    findings: list[Finding] = []
    checked: set[int] = set()
    for i, pointer in enumerate(pointers):
        if 1 <= pointer <= len(diagnoses) and pointer not in checked:
            checked.add(pointer)
            field = f"diagnosis_pointers[{i}]"
            findings += check_diagnosis_code(diagnoses[pointer - 1], field, choice, CHARGE_DIAGNOSIS)
    if checked:
        findings += check_edition(choice, "service_date")
    return findings


# --------------------------------------------------------------------------- coverage and dates


def check_coverages(ranks: Sequence[int]) -> list[Finding]:
    if not ranks:
        return [Rejection(Reason.ENC_COVERAGE_MISSING, "coverages", "at least one coverage is required to bill")]
    if list(ranks) != list(range(1, len(ranks) + 1)):
        return [
            Rejection(Reason.ENC_COVERAGE_RANK, "coverages", "coverages must be ranked 1, 2, 3 in order, without gaps")
        ]
    return []


def check_admission_date(admission: date | None, today: date) -> list[Finding]:
    if admission is None or admission <= today:
        return []
    return [Rejection(Reason.ENC_ADMISSION_DATE_FUTURE, "admission_date", "admission date must not be in the future")]


def check_service_dates(start: date, end: date | None, today: date) -> list[Finding]:
    findings: list[Finding] = []
    if start > today:
        findings.append(
            Rejection(Reason.CHG_SERVICE_DATE_FUTURE, "service_date", "service date must not be in the future")
        )
    if end is not None:
        if end > today:
            findings.append(
                Rejection(
                    Reason.CHG_SERVICE_DATE_FUTURE, "service_end_date", "service end date must not be in the future"
                )
            )
        if end < start:
            findings.append(
                Rejection(
                    Reason.CHG_SERVICE_DATE_ORDER,
                    "service_end_date",
                    "service end date must not be before service date",
                )
            )
    return findings


# --------------------------------------------------------------------------- procedure and modifiers


def check_procedure_code(code: str, field: str, day: date | None, reference: ReferenceData | None) -> list[Finding]:
    """CPT or HCPCS Level II shape, then (with reference data) membership and effective dates."""
    kind = procedure_kind(code)
    if kind is None:
        if looks_like_cpt(code):
            return [Rejection(Reason.CHG_CPT_SHAPE, field, "CPT code must be 5 digits, or 4 digits and F, T, U or M")]
        return [Rejection(Reason.CHG_HCPCS_SHAPE, field, "HCPCS Level II code must be a letter A-V and 4 digits")]
    if reference is None:
        return []
    if kind is ProcedureKind.CPT:
        if reference.cpt_codes is not None and code not in reference.cpt_codes:
            return [Rejection(Reason.CHG_CPT_UNKNOWN, field, "CPT code is not on the configured CPT list")]
        return []
    entry = reference.hcpcs.get(code)
    if entry is None:
        return [
            Rejection(
                Reason.CHG_HCPCS_UNKNOWN,
                field,
                f"HCPCS Level II code is not on the loaded list ({reference.hcpcs_source})",
            )
        ]
    if day is not None and not entry.in_effect_on(day):
        return [Rejection(Reason.CHG_HCPCS_NOT_EFFECTIVE, field, "HCPCS code is not in effect on the date of service")]
    return []


def check_modifiers(modifiers: Sequence[str], known: frozenset[str] | None, field: str = "modifiers") -> list[Finding]:
    """Up to 4, each 2 letters or digits and (when a list is given) a known modifier, no repeats."""
    findings: list[Finding] = []
    if len(modifiers) > MAX_MODIFIERS:
        findings.append(Rejection(Reason.CHG_MODIFIER_COUNT, field, "a line carries at most 4 modifiers"))
    seen: set[str] = set()
    for i, modifier in enumerate(modifiers):
        if not is_modifier_shape(modifier) or (known is not None and modifier not in known):
            findings.append(
                Rejection(
                    Reason.CHG_MODIFIER_INVALID,
                    f"{field}[{i}]",
                    "modifier is not a 2-character code on the modifier list",
                )
            )
        elif modifier in seen:
            findings.append(
                Rejection(Reason.CHG_MODIFIER_DUPLICATE, f"{field}[{i}]", "modifier repeats an earlier one")
            )
        seen.add(modifier)
    return findings


# --------------------------------------------------------------------------- units and money


def units_are_valid(units: Decimal) -> bool:
    return units.is_finite() and Decimal(0) < units <= MAX_UNITS and units == units.quantize(Decimal("0.001"))


def check_units(units: Decimal) -> list[Finding]:
    if units_are_valid(units):
        return []
    return [
        Rejection(Reason.CHG_UNITS, "units", "units must be greater than zero, at most 9999999.999, 3 decimals at most")
    ]


def check_money(value: Decimal | None, field: str) -> list[Finding]:
    """Greater than zero and whole cents. The field name is part of the message, never the value."""
    if value is None:
        return []
    if not is_positive_amount(value):
        return [Rejection(Reason.CHG_AMOUNT, field, f"{field} must be greater than zero and at most 9999999999.99")]
    if not has_cents_precision(value):
        return [Rejection(Reason.CHG_AMOUNT_PRECISION, field, f"{field} must have at most two decimal places")]
    return []


def check_amount_agreement(units: Decimal, unit_price: Decimal, amount: Decimal) -> list[Finding]:
    """Both given: amount must be units x unit price, half-up to the cent. Call only with values
    that passed check_units and check_money (the product is then exact and bounded)."""
    if extended_amount(units, unit_price) == amount:
        return []
    return [
        Rejection(
            Reason.CHG_AMOUNT_MISMATCH, "amount", "amount must equal unit_price x units, rounded half-up to the cent"
        )
    ]
