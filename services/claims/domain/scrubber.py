"""The scrubber: a rule engine of small edits, each with an id, severity, message and source.

An edit is a function (ScrubInput) -> list[Finding], registered with @edit and the claim types
it judges (professional by default); its docstring names the published rule it applies
(docs/claims.md lists them). `scrub` runs those of the claim's type and returns every finding;
a claim with any error-severity finding is held. An operator may waive an edit of OVERRIDABLE on
one claim (with a reason, audited): its errors become warnings on that claim.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from schemas.claims import MAX_INSTITUTIONAL_LINES, MAX_PROFESSIONAL_LINES
from schemas.common import MEDICAID_FILING, MEDICARE_FILING, ClaimType, is_inpatient_bill
from services.chassis.icd10cm import ICD10_START, SHIPPED, Editions, Status, is_external_cause
from services.claims.domain.codesets import CodeSets, Mue, PtpEdit, shipped
from services.claims.domain.findings import Finding
from services.claims.domain.institutional_edits import institutional_edits
from services.claims.domain.model import ClaimDraft, DraftLine
from services.claims.domain.x837 import needs_clia

# NCCI-associated modifiers that may bypass a PTP edit with modifier indicator 1 (NCCI Policy
# Manual, Chapter I, Section E): anatomic, global surgery and the distinct-service modifiers.
PTP_BYPASS = frozenset(
    ["24", "25", "27", "57", "58", "59", "78", "79", "91", "XE", "XP", "XS", "XU",
     "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
     "LT", "RT", "LC", "LD", "LM", "RC", "RI", "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"]
)  # fmt: skip
# Facility places of service: the facility bills the technical component of a diagnostic test
# (CMS Claims Processing Manual, Chapter 12, Section 20.4; Chapter 26 for the POS codes).
FACILITY_POS = frozenset(["19", "21", "22", "23", "24", "26", "31", "34", "51", "52", "56", "61"])
# Places of service that are a facility, never the billing practice's own office or the patient's
# home: the facility POS above and the nursing facility (32), where a practitioner is paid the
# non-facility rate but still works at the facility's address (CMS POS code set).
AWAY_FROM_PRACTICE_POS = FACILITY_POS | {"32"}
EM_CODES = frozenset([f"992{n:02d}" for n in (*range(2, 6), *range(11, 16))] + [f"9928{n}" for n in range(1, 6)])
MINOR_GLOBAL_DAYS = frozenset(["000", "010"])
OVERRIDABLE = frozenset(["NCCI-PTP", "MUE", "POS-COMPONENT", "EM-MODIFIER-25", "AGE-SEX", "DUPLICATE",
                         "TIMELY-FILING", "NDC-REQUIRED", "FACILITY-REQUIRED", "ELIG-INACTIVE", "ELIG-REJECTED"])
"""Edits that apply payer policy an operator may judge on one claim; the others describe a claim
the payer cannot read or a code that does not exist, and a waiver would only move the rejection."""
TIMELY_FILING_WARNING_DAYS = 14


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
    poa_required: bool = True
    """The payer wants present-on-admission indicators on inpatient bills (the payer master)."""
    payer_claim_control_number: str | None = None
    # Lines already billed to the same payer for the same patient account on other live claims.
    billed_elsewhere: frozenset[LineKey] = frozenset()
    codesets: CodeSets = field(default_factory=shipped)
    diagnoses: Editions = SHIPPED
    waivers: Mapping[str, str] = field(default_factory=dict)
    """Edit id -> the operator's reason, for the edits waived on this claim."""


Edit = Callable[[ScrubInput], list[Finding]]
EDITS: dict[str, Edit] = {}
CLAIM_TYPES: dict[str, frozenset[ClaimType]] = {}
PROFESSIONAL: tuple[ClaimType, ...] = ("professional",)
INSTITUTIONAL: tuple[ClaimType, ...] = ("institutional",)
BOTH: tuple[ClaimType, ...] = ("professional", "institutional")
"""The claim types each edit judges: most edits apply 837P rules (pointers, NCCI, MUE, the
2310C/2420A loops) and judge professional claims only."""


def edit(edit_id: str, claim_types: Collection[ClaimType] = PROFESSIONAL) -> Callable[[Edit], Edit]:
    def register(fn: Edit) -> Edit:
        EDITS[edit_id] = fn
        CLAIM_TYPES[edit_id] = frozenset(claim_types)
        return fn

    return register



def scrub(item: ScrubInput) -> list[Finding]:
    kind = item.draft.claim_type
    return [_waived(f, item.waivers) for edit_id, run in EDITS.items() if kind in CLAIM_TYPES[edit_id]
            for f in run(item)]


def _waived(finding: Finding, waivers: Mapping[str, str]) -> Finding:
    reason = waivers.get(finding.edit_id)
    if reason is None or finding.severity != "error":
        return finding
    return replace(finding, severity="warning", message=f"waived by an operator ({reason}): {finding.message}")


def holds(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


# --- the edits ------------------------------------------------------------------------------


@edit("REQ-FIELDS", BOTH)
def required_fields(item: ScrubInput) -> list[Finding]:
    """What an 837 cannot be sent without: the coverage, a diagnosis, 1 to 50 lines on an 837P
    (loop 2400 repeats 50) or 999 on an 837I (a stay is never split into claims), positive units,
    no future date, the subscriber when the patient is not the subscriber. Source: ASC X12
    005010X222A1 (837P) and 005010X223A2 (837I) implementation guides."""
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
    if d.claim_type == "professional" and len(d.lines) > MAX_PROFESSIONAL_LINES:
        miss(f"a claim carries at most {MAX_PROFESSIONAL_LINES} service lines")
    if d.claim_type == "institutional" and len(d.lines) > MAX_INSTITUTIONAL_LINES:
        miss(f"{len(d.lines)} lines: an institutional claim (837I) carries at most {MAX_INSTITUTIONAL_LINES} and "
             "a stay is not split; bill it as interim claims (a type of bill frequency 2, 3, 4) or sum more "
             "charges per revenue code")
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
    """At most 12 diagnoses (HI segment), 1 to 4 distinct pointers per line into them (SV107).
    Source: ASC X12 005010X222A1, loop 2300 HI and loop 2400 SV107."""
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


@edit("ICD10-BILLABLE", BOTH)
def icd10_billable(item: ScrubInput) -> list[Finding]:
    """Every diagnosis is a billable (leaf) code of the ICD-10-CM edition in force on the first
    date of service; past every loaded edition the newest judges, and a warning says so.
    Source: HIPAA code sets (45 CFR 162.1002); ICD-10-CM Official Guidelines, Sections I.A and
    I.B.1 (code to the highest specificity)."""
    d = item.draft
    first = d.first_service_date if d.lines else item.today
    if first < ICD10_START:
        return [Finding("ICD10-BILLABLE", "error", "ICD-10-CM is not valid before 2015-10-01", "icd10")]
    choice = item.diagnoses.for_day(first)
    name = choice.edition.name
    out: list[Finding] = []
    for i, code in enumerate(d.diagnoses, start=1):
        status = choice.code_set.status(code)
        if status is Status.UNKNOWN:
            out.append(Finding("ICD10-BILLABLE", "error", f"diagnosis {i} ({code}) is not a code of {name} "
                               f"(date of service {first.isoformat()})", "icd10"))
        elif status is Status.NOT_BILLABLE:
            out.append(Finding("ICD10-BILLABLE", "error", f"diagnosis {i} ({code}) is a category in {name}, not "
                               "billable: code to the highest specificity", "icd10"))
    note = choice.note()
    if note:
        out.append(Finding("ICD10-BILLABLE", "warning", note, "icd10"))
    return out


@edit("DX-EXTERNAL-CAUSE", BOTH)
def external_cause_principal(item: ScrubInput) -> list[Finding]:
    """An external-cause code (V00-Y99) is never the first-listed diagnosis.
    Source: ICD-10-CM Official Guidelines for Coding and Reporting, Section I.C.20 ("External
    cause codes can never be a principal (first-listed) diagnosis")."""
    diagnoses = item.draft.diagnoses
    if not diagnoses or not is_external_cause(diagnoses[0]):
        return []
    return [Finding("DX-EXTERNAL-CAUSE", "error", f"diagnosis 1 ({diagnoses[0]}) is an external-cause code "
                    "(V00-Y99), which can never be first-listed (ICD-10-CM guideline I.C.20): list the injury "
                    "or condition first and the external cause after it", "icd10")]


def _ptp_finding(ptp: PtpEdit, n: int) -> Finding:
    origin = f"NCCI PTP {ptp.quarter}, {ptp.source_file}"
    if ptp.modifier_indicator == "0":
        message = (f"{ptp.column2} is a column-2 code of {ptp.column1} on the same date ({origin}, modifier "
                   "indicator 0): never paid together, no modifier bypasses the edit; remove the line")
    else:
        message = (f"{ptp.column2} is a column-2 code of {ptp.column1} on the same date ({origin}, modifier "
                   "indicator 1): paid only when the services were distinct (another session, site or "
                   "practitioner) and the documentation shows it, with the NCCI-associated modifier that says "
                   "so (59/XE/XS/XP/XU or an anatomic modifier); otherwise remove the line")
    return Finding("NCCI-PTP", "error", message, "ncci-ptp", n)


@edit("NCCI-PTP")
def ncci_ptp(item: ScrubInput) -> list[Finding]:
    """NCCI procedure-to-procedure edits (practitioner), same date of service: the column-2 code
    is denied with the column-1 code. Modifier indicator 0: no bypass; 1: an NCCI-associated
    modifier on the column-2 line bypasses; 9: the edit does not apply. Only edits in force on
    the date (effective date .. before the deletion date). Source: the CMS NCCI PTP quarterly
    practitioner file; NCCI Policy Manual for Medicare Services, Chapter I, Sections D-E."""
    d = item.draft
    out: list[Finding] = []
    for first in d.lines:
        for b, second in enumerate(d.lines, start=1):
            if first is second or first.service_date != second.service_date:
                continue
            for ptp in item.codesets.ptp:
                if (ptp.column1, ptp.column2) != (first.code, second.code):
                    continue
                if not ptp.in_force(first.service_date) or ptp.modifier_indicator == "9":
                    continue
                if ptp.modifier_indicator == "0" or not PTP_BYPASS & set(second.modifiers):
                    out.append(_ptp_finding(ptp, b))
    return out


def _mue_finding(mue: Mue, units: Decimal, line: int) -> Finding:
    origin = f"MUE {mue.quarter}, {mue.source_file}"
    code, value = mue.procedure_code, mue.max_units
    if mue.adjudication_indicator == "1":
        message = (f"{units.normalize()} units of {code} on one line exceed its MUE of {value} ({origin}, MAI 1: "
                   "line edit): report further units on another line with the modifier that makes them distinct "
                   "(e.g. RT/LT, 76, 91, XS) when documented")
    elif mue.adjudication_indicator == "2":
        message = (f"{units.normalize()} units of {code} on one date exceed its MUE of {value} ({origin}, MAI 2: "
                   "date-of-service edit, policy): the limit is absolute, no modifier or appeal pays more; "
                   "correct the units")
    else:
        message = (f"{units.normalize()} units of {code} on one date exceed its MUE of {value} ({origin}, MAI 3: "
                   "date-of-service edit, clinical): units above the MUE are denied and may be paid on appeal "
                   "with documentation of medical necessity")
    return Finding("MUE", "error", message, "mue", line)


@edit("MUE")
def mue_units(item: ScrubInput) -> list[Finding]:
    """Medically Unlikely Edits (practitioner), by MUE adjudication indicator: MAI 1 counts units
    per line; MAI 2 and 3 count units of the code across the claim's lines on one date of service.
    Source: the CMS practitioner MUE quarterly file; NCCI Policy Manual, Chapter I, Section V;
    Medicare Program Integrity Manual, Chapter 3, Section 3.6.3 (MAI)."""
    per_date: dict[tuple[str, date], Decimal] = {}
    last_line: dict[tuple[str, date], int] = {}
    out: list[Finding] = []
    for n, line in enumerate(item.draft.lines, start=1):
        mue = item.codesets.mue.get(line.code)
        if mue is None:
            continue
        if mue.adjudication_indicator == "1":
            if line.units > mue.max_units:
                out.append(_mue_finding(mue, line.units, n))
            continue
        key = (line.code, line.service_date)
        per_date[key] = per_date.get(key, Decimal(0)) + line.units
        last_line[key] = n
    for key, total in per_date.items():
        mue = item.codesets.mue[key[0]]
        if total > mue.max_units:
            out.append(_mue_finding(mue, total, last_line[key]))
    return out


@edit("POS-COMPONENT")
def pos_component(item: ScrubInput) -> list[Finding]:
    """A diagnostic test with professional and technical components (PC/TC indicator 1 in the CMS
    PFS Relative Value File) performed in a facility (POS 19, 21-24, 26, 31, 34, 51, 52, 56, 61)
    is billed by the practitioner with modifier 26 only: the facility bills the technical part.
    A global-test-only code (indicator 4) is billed there as its professional-only code.
    Source: CMS Claims Processing Manual (Pub. 100-04), Chapter 12, Section 20.4."""
    out: list[Finding] = []
    for n, line in enumerate(item.draft.lines, start=1):
        pfs = item.codesets.pfs.get(line.code)
        if pfs is None or line.place_of_service not in FACILITY_POS:
            continue
        pos = line.place_of_service
        if pfs.pctc_indicator == "1" and "26" not in line.modifiers:
            message = (f"{line.code} has professional and technical components (PC/TC indicator 1, "
                       f"{pfs.source}) and was performed in POS {pos}, a facility that bills the technical "
                       "component: bill the interpretation with modifier 26")
            if "TC" in line.modifiers:
                message += " (a practitioner in a facility does not bill TC)"
            out.append(Finding("POS-COMPONENT", "error", message, "pos-component", n))
        elif pfs.pctc_indicator == "4":
            instead = f"bill {pfs.professional_code}, its professional-only code" if pfs.professional_code else (
                "bill its professional-only code")
            out.append(Finding("POS-COMPONENT", "error", f"{line.code} is a global test (PC/TC indicator "
                               f"4, {pfs.source}) and was performed in POS {pos}, a facility that bills the "
                               f"technical part: {instead}; modifier 26 is not valid on it", "pos-component", n))
    return out


def _same_provider(a: DraftLine, b: DraftLine) -> bool:
    return a.rendering_npi is None or b.rendering_npi is None or a.rendering_npi == b.rendering_npi


@edit("EM-MODIFIER-25")
def em_with_minor_procedure(item: ScrubInput) -> list[Finding]:
    """An E/M (99202-99215, 99281-99285) on the same date as a procedure with a 0- or 10-day
    global period (PFS Relative Value File, global days 000/010), same provider, is part of the
    procedure unless significant and separately identifiable, shown by modifier 25 on the E/M.
    Source: CMS Claims Processing Manual, Chapter 12, Section 30.6.6 B and Section 40.1 C;
    NCCI Policy Manual for Medicare Services, Chapter I, Section D and Chapter XI."""
    lines = item.draft.lines
    out: list[Finding] = []
    for n, em in enumerate(lines, start=1):
        if em.code not in EM_CODES or "25" in em.modifiers:
            continue
        for proc in lines:
            pfs = item.codesets.pfs.get(proc.code)
            if (pfs is not None and pfs.global_days in MINOR_GLOBAL_DAYS and proc.service_date == em.service_date
                    and _same_provider(em, proc)):
                out.append(Finding("EM-MODIFIER-25", "error", f"{em.code} is billed with "
                                   f"{proc.code} (a minor procedure, {pfs.global_days}-day global period) "
                                   "on the same date: the visit is part of the procedure unless it was significant "
                                   "and separately identifiable; append 25 to the E/M when the record shows that, "
                                   "otherwise remove the E/M line", "em-procedure", n))
                break
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
    """Diagnoses and procedures that conflict with the patient's sex or age.
    Source: the ICD-10-CM Tabular List's sex- and age-specific categories (maternity, perinatal,
    sex organs) as CMS applies them in its code editors; the age bands of the CPT preventive-visit
    descriptors (99381-99397)."""
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
        ages = _PROC_AGES.get(line.code)
        if ages and not ages[0] <= _age(patient.birth_date, line.service_date) <= ages[1]:
            out.append(
                Finding("AGE-SEX", "error", f"{line.code} is for ages {ages[0]}-{ages[1]}", "age-sex", n)
            )
        sex = _PROC_SEX.get(line.code)
        if sex and patient.sex not in (sex, "U"):
            out.append(
                Finding("AGE-SEX", "error", f"{line.code} conflicts with the patient's sex", "age-sex", n)
            )
    return out


@edit("DUPLICATE")
def duplicate(item: ScrubInput) -> list[Finding]:
    """The same service (code, modifiers, date) already on another live claim to the same payer.
    Source: CMS Claims Processing Manual, Chapter 1, Section 120 (duplicate claims)."""
    if item.frequency != "1":
        return []
    out: list[Finding] = []
    for n, line in enumerate(item.draft.lines, start=1):
        if LineKey(line.code, tuple(line.modifiers), line.service_date) in item.billed_elsewhere:
            out.append(
                Finding(
                    "DUPLICATE",
                    "error",
                    f"{line.code} on {line.service_date} is already billed to this payer on another claim",
                    "duplicate",
                    n,
                )
            )
    return out


@edit("TIMELY-FILING", BOTH)
def timely_filing(item: ScrubInput) -> list[Finding]:
    """The payer's filing limit from the first date of service; a warning in the last 14 days.
    Source: the payer master (the payer's contract); Medicare: 12 months, 42 CFR 424.44."""
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


@edit("CORRECTION-REF", BOTH)
def correction_reference(item: ScrubInput) -> list[Finding]:
    """A replacement (7) or void (8) names the payer's claim number (2300 REF*F8).
    Source: ASC X12 005010X222A1, loop 2300 REF Payer Claim Control Number."""
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


# --- what payers' companion guides look for in the loops of docs/claims.md ---------------------


def _first_line(draft: ClaimDraft, wanted: Callable[[DraftLine], bool]) -> tuple[int, DraftLine] | None:
    """The first line (numbered from 1) that needs a claim-level loop: the finding points at it."""
    return next(((n, line) for n, line in enumerate(draft.lines, start=1) if wanted(line)), None)


def is_drug_code(procedure_code: str) -> bool:
    """A physician-administered drug: HCPCS J codes (drugs administered other than orally,
    chemotherapy) and Q5101-Q5199 (biosimilar biologicals)."""
    code = procedure_code.upper()
    return len(code) == 5 and code[1:].isdigit() and (code[0] == "J" or code.startswith("Q51"))


@edit("NDC-REQUIRED")
def ndc_required(item: ScrubInput) -> list[Finding]:
    """A drug line (J code, Q51xx biosimilar) carries its NDC with quantity and unit (2410 LIN,
    CTP). An error for a Medicaid payer (SBR09 MC): state Medicaid collects rebates by NDC and
    requires it on physician-administered drugs; a warning for the others, whose companion
    guides often ask for it. Source: Deficit Reduction Act of 2005, Section 6002 (42 U.S.C.
    1396r-8(a)(7)); ASC X12 005010X222A1, loop 2410 (required when government regulation or the
    payer requires the NDC)."""
    medicaid = item.draft.coverage.claim_filing_indicator == MEDICAID_FILING
    out: list[Finding] = []
    for n, line in enumerate(item.draft.lines, start=1):
        if not is_drug_code(line.code) or (line.ndc and line.ndc_quantity and line.ndc_unit):
            continue
        if medicaid:
            message = (f"{line.code} is a drug billed to Medicaid without its NDC, quantity and unit "
                       "(2410 LIN/CTP): Medicaid requires the NDC on physician-administered drugs (DRA 2005 "
                       "section 6002); send ndc, ndc_quantity and ndc_unit on the charge")
        else:
            message = (f"{line.code} is a drug line without its NDC, quantity and unit (2410 LIN/CTP): "
                       "many payers' companion guides require it; send ndc, ndc_quantity and ndc_unit on the charge")
        out.append(Finding("NDC-REQUIRED", "error" if medicaid else "warning", message, "payer-rule", n))
    return out


@edit("CLIA-REQUIRED")
def clia_required(item: ScrubInput) -> list[Finding]:
    """A laboratory test (CPT 80000-89999, or modifier QW) needs the CLIA certificate number of the
    billing site (2300 REF*X4); Medicare returns a lab claim without one as unprocessable (CARC
    B7/MA120 when the certificate does not cover the test). Source: 42 CFR Part 493; CMS Claims
    Processing Manual (Pub. 100-04), Chapter 16, Section 70.10; ASC X12 005010X222A1, 2300 REF
    (CLIA number), required for CLIA-covered laboratory services."""
    lab = _first_line(item.draft, lambda line: needs_clia(line.code, line.modifiers))
    if lab is None or item.draft.encounter.billing_provider.clia_number:
        return []
    n, line = lab
    return [Finding("CLIA-REQUIRED", "error", f"{line.code} is a laboratory test and the billing provider "
                    "has no CLIA number (REF*X4): send billing_provider.clia_number, the certificate of the lab "
                    "that performed it", "payer-rule", n)]


@edit("FACILITY-REQUIRED")
def facility_required(item: ScrubInput) -> list[Finding]:
    """Care given in a facility (POS 19, 21-24, 26, 31, 32, 34, 51, 52, 56, 61) names where
    (2310C service facility location). An encounter whose facility is at the billing provider's
    address needs no 2310C (the writer leaves it out): no finding then.
    Source: ASC X12 005010X222A1, loop 2310C (required when the location of service differs
    from the billing provider's address); CMS Claims Processing Manual, Chapter 26, Section 10.7
    (item 32 of the CMS-1500)."""
    away = _first_line(item.draft, lambda line: line.place_of_service in AWAY_FROM_PRACTICE_POS)
    if away is None or item.draft.encounter.facility is not None:
        return []
    n, line = away
    return [Finding("FACILITY-REQUIRED", "error", f"place of service {line.place_of_service} is a facility and the "
                    "encounter names none (2310C): send the encounter's facility (name, NPI, address)",
                    "required-fields", n)]


@edit("MSP-TYPE", BOTH)
def msp_insurance_type(item: ScrubInput) -> list[Finding]:
    """A claim to Medicare as secondary or tertiary payer (Medicare Secondary Payer) says why
    Medicare is not primary: the insurance type code (2000B SBR05, e.g. 12 working aged, 43
    disabled with a large group health plan, 14 no-fault). Medicare returns the claim without it.
    Source: ASC X12 005010X222A1, 2000B SBR05 (required when the destination payer is Medicare
    and Medicare is not the primary payer); CMS Medicare Secondary Payer Manual (Pub. 100-05),
    Chapter 5."""
    coverage = item.draft.coverage
    if (item.draft.coverage_rank == 1 or coverage.claim_filing_indicator not in MEDICARE_FILING
            or coverage.insurance_type_code is not None):
        return []
    return [Finding("MSP-TYPE", "error", f"Medicare is billed as payer {item.draft.coverage_rank} without the "
                    "insurance type code (SBR05) saying why it is not primary: send the coverage's "
                    "insurance_type_code (12, 13, 14, 15, 16, 41, 42, 43 or 47)", "required-fields")]


@edit("RENDERING-NAME")
def rendering_name(item: ScrubInput) -> list[Finding]:
    """A line rendered by another practitioner than the claim's names them (2420A NM1*82 needs a
    name); without one the line goes under the claim's rendering provider. A warning: the claim
    is readable, but the payer credits the wrong practitioner.
    Source: ASC X12 005010X222A1, loop 2420A (required when the line's rendering provider
    differs from the claim's, 2310B), NM103 required."""
    claim_provider = item.draft.encounter.rendering_provider
    claim_npi = claim_provider.npi if claim_provider else None
    return [Finding("RENDERING-NAME", "warning", f"line {n} was rendered by another practitioner than the claim's "
                    "and no name is known for that NPI: send rendering_provider (npi, name) on the charge, or list "
                    "the practitioner on the encounter", "required-fields", n)
            for n, line in enumerate(item.draft.lines, start=1)
            if line.rendering_npi and line.rendering_npi != claim_npi and line.rendering_provider is None]


@edit("INSTITUTIONAL", INSTITUTIONAL)
def institutional(item: ScrubInput) -> list[Finding]:
    """The institutional claim's own edits (type of bill vs patient status, HCPCS on outpatient
    revenue codes, POA on inpatient bills, room-and-board days, the total line): they live in
    domain/institutional_edits.py. POA is required on an inpatient bill when the payer master says
    the payer wants it (`poa_required`). Source: NUBC UB-04 Data Specifications; ASC X12
    005010X223A2."""
    details = item.draft.encounter.institutional
    inpatient = details is not None and is_inpatient_bill(details.type_of_bill)
    return institutional_edits(item.draft.encounter, item.draft.lines, frequency=item.frequency,
                               poa_required=item.poa_required and inpatient)
