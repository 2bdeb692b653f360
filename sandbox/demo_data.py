"""Synthetic, deterministic intake traffic that looks like a clinic's month.

``generate(n, seed, today=...)`` returns, per encounter, an EncounterRegistered, its
ChargeSubmitted events and an EncounterClosed listing every charge id (schemas.intake contracts,
validated with schemas.registry). The same seed and day always give the same events.

What makes it look like a month of a real clinic:

* every date of service is one of the 30 days before ``today``;
* the patient fits the payer (Medicare 65 and older, children on Medi-Cal or as dependents on a
  parent's commercial plan) and the visit fits the patient: preventive codes by age band, Medicare
  annual wellness visits, obstetric and gynecologic services for women, prostate services for
  men, pediatric vaccines for children, diagnoses that go with the procedures (billable
  ICD-10-CM codes, an external cause only as a secondary diagnosis of an injury);
* coders' habits: modifier 26 on imaging read in the emergency department (a facility), modifier
  25 on an E/M billed with a minor procedure or an injection, 59 on the column-2 line of an NCCI
  pair that allows it (97530 with 97140, and the pairs of the NCCI sample the claims service
  ships), no pair that is never paid together, units within the MUEs, an NDC with quantity and
  unit on each drug line, prior authorization numbers on the coverages of payers that require
  them for the codes billed;
* hospital encounters (``hospital_share``; ``rcm demo --hospital-share``, 0 for none): emergency
  department visits (type of bill 13: the ED level 0450, a blood count, a chest x-ray) and stays
  of 2 to 4 days (11: room and board 0120 per day, pharmacy 0250, lab 0300), each billing the
  hospital's facility claim and the physician's professional claim (bills both), with admission
  type and source, patient status 01, the attending physician, diagnoses present on admission
  and an ICD-10-PCS procedure on some stays; no deliberate errors yet;
* the 837P details payers ask for: a hospital emergency department as the service facility
  (2310C), the accident of an injury (CLM11, DTP*439), referring providers (2310A) with the
  referral number on commercial plans (REF*9F), the laboratory's CLIA number (REF*X4) and the
  physician who ordered a test (2420E), a line rendered by someone else than the claim's
  rendering provider (2420A).

About ``error_rate`` of the encounters (5% by default) carry one deliberate error of a named
kind (``ERRORS``), each chosen to be caught by a specific charges rule, scrubber edit or payer
rejection; ``rcm demo`` counts where each was caught and calls anything else unexpected.

Payers are the payers.yaml ids with their filing indicators and the member id formats the
sandbox accepts; some patients have a secondary coverage (Medicare patients with Medi-Cal cross
over), and most of those, with a few Medicare-only patients, are Qualified Medicare
Beneficiaries. Codes and prices come from deploy/local/chargemaster.csv. All names, ids and
numbers are invented.
"""

from __future__ import annotations

import csv
import dataclasses
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from sandbox.payers import PayerConfig, load_payers
from schemas import registry
from services.claims.domain import codesets

REPO = Path(__file__).resolve().parents[1]
CHARGEMASTER = REPO / "deploy" / "local" / "chargemaster.csv"
SOURCE_SYSTEM = "demo-ehr"
DAYS = 30  # dates of service fall in the 30 days before today
DEFAULT_ERROR_RATE = 0.05
DEFAULT_HOSPITAL_SHARE = 0.12
"""The share of hospital encounters `rcm demo` makes (--hospital-share)."""

ENCOUNTER_REGISTERED = "rcm.intake.EncounterRegistered.v1"
CHARGE_SUBMITTED = "rcm.intake.ChargeSubmitted.v1"
ENCOUNTER_CLOSED = "rcm.intake.EncounterClosed.v1"

DemoError = Literal[
    "non_billable_icd", "pointer_out_of_range", "future_service_date", "ncci_bundled_pair",
    "units_over_mue", "age_sex_mismatch", "member_id_without_check_letter", "missing_prior_authorization",
    "inactive_coverage",
]  # fmt: skip

# --------------------------------------------------------------------------- providers and places

BILLING_PROVIDER: dict[str, Any] = {
    "npi": "1234567893", "tax_id": "521234567", "taxonomy": "207Q00000X", "name": "Revcycle Community Clinic",
    "address": {"line1": "2100 Webster St", "line2": None, "city": "Oakland", "state": "CA",
                "postal_code": "946121234"},
    "clia_number": "05D2093517",  # the clinic laboratory's (invented) CLIA certificate
}


def _provider(npi: str, family: str, given: str, taxonomy: str) -> dict[str, Any]:
    return {"npi": npi, "name": {"family": family, "given": given, "middle": None, "suffix": None},
            "taxonomy": taxonomy}


FAMILY = (_provider("1999999984", "Okafor", "Samuel", "207Q00000X"),
          _provider("1123456786", "Lindqvist", "Maja", "207R00000X"))
NURSE_PRACTITIONER = _provider("1245678903", "Reyes", "Carmen", "363LF0000X")
ORTHOPEDIST = _provider("1346798014", "Brandt", "Felix", "207X00000X")
THERAPISTS = (_provider("1456789027", "Moreno", "Lucia", "225100000X"),
              _provider("1567890136", "Haas", "Jonah", "225100000X"))
EMERGENCY_PHYSICIAN = _provider("1678901244", "Osei", "Kwame", "207P00000X")
OBSTETRICIAN = _provider("1789012352", "Varga", "Eszter", "207V00000X")
# Physicians outside the clinic who send patients to it (orthopedics, therapy, the lab).
REFERRERS = (_provider("1890123460", "Delgado", "Ruth", "207Q00000X"),
             _provider("1901234579", "Whitfield", "Arthur", "207R00000X"))
EMERGENCY_DEPARTMENT: dict[str, Any] = {
    "name": "Alameda Bay Hospital Emergency Department", "npi": "1122334455",
    "address": {"line1": "900 Harbor Way", "line2": None, "city": "Alameda", "state": "CA", "postal_code": "94501"},
}
FACILITY_PLACES = frozenset({"19", "21", "22", "23"})

# --------------------------------------------------------------------------- coding rules the clinic follows

# Read by a physician where the equipment is the facility's: billed with modifier 26.
PROFESSIONAL_COMPONENT = frozenset({"71045", "71046", "71047", "71048", "72100", "73030", "73562", "73610",
                                    "70450", "74177", "76700"})
# Minor procedures (global 000/010) and injections: an E/M the same day is separate only with 25.
MINOR_PROCEDURES = frozenset({"11102", "17000", "17110", "20610", "12001", "10060", "69210", "96372"})
EVALUATION_AND_MANAGEMENT = frozenset({*(f"992{n:02d}" for n in range(2, 16)), *(f"9928{n}" for n in range(1, 6))})
# NCCI pairs (column 1, column 2, modifier indicator 1) the clinic bills together only with 59 on the
# column-2 line when the services were distinct: these, and those of the NCCI edits the claims
# service ships (the coder reads the same CMS file the scrubber does).
NCCI_WITH_MODIFIER = frozenset({("97530", "97140")})
# (NDC in 5-4-2 form, NDC quantity, unit) of the vial each drug line comes from.
NDC = {"J1885": ("00409-3795-01", "2", "ML"), "J3301": ("00003-0293-05", "1", "ML"),
       "J1030": ("00009-3073-01", "1", "ML"), "J0696": ("00409-7338-01", "1", "UN")}
# Preventive medicine codes by age band: (first age, last age, new patient, established patient).
PREVENTIVE = ((0, 0, "99381", "99391"), (1, 4, "99382", "99392"), (5, 11, "99383", "99393"),
              (12, 17, "99384", "99394"), (18, 39, "99385", "99395"), (40, 64, "99386", "99396"),
              (65, 200, "99387", "99397"))

# --------------------------------------------------------------------------- payers and people


@dataclass(frozen=True)
class PayerPlan:
    payer_id: str
    payer_name: str
    filing: str
    weight: int


PLANS = (
    PayerPlan("60054", "Aetna", "CI", 4),
    PayerPlan("94036", "Blue Shield of California", "BL", 3),
    PayerPlan("01182", "Medicare Part B (Noridian JF)", "MB", 3),
    PayerPlan("610442", "Medi-Cal", "MC", 2),
)
AETNA, MEDICARE, MEDI_CAL = PLANS[0], PLANS[2], PLANS[3]
# The Part A contractor (a SAMPLE payer of payers.yaml) that Medicare's hospital claims go to.
MEDICARE_PART_A = PayerPlan("SAMPLEPARTA", "Medicare Part A (SAMPLE MAC)", "MA", 0)

FIRST = {"F": ("Ana", "Mei", "Grace", "Priya", "Aisha", "Sofia", "Lena", "Nora", "Elena", "Yuki"),
         "M": ("Luis", "Omar", "Diego", "Tomas", "Ken", "Marcus", "Hugo", "Ravi", "Jamal", "Paul")}
LAST = ("Rivera", "Chen", "Nguyen", "Haddad", "Okafor", "Garcia", "Patel", "Novak", "Kim", "Silva", "Brooks",
        "Tanaka", "Ibrahim", "Larsen", "Moreau", "Singh", "Romero", "Walsh", "Adeyemi", "Costa")
STREETS = ("Valencia St", "Telegraph Ave", "Mission St", "Broadway", "College Ave", "Shattuck Ave", "Market St")
CITIES = (("Oakland", "94607"), ("San Francisco", "94110"), ("Berkeley", "94704"), ("Alameda", "94501"))
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


@dataclass(frozen=True)
class Person:
    given: str
    family: str
    sex: str
    birth_date: date

    def age_on(self, day: date) -> int:
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def _born(rng: random.Random, age: int, on: date) -> date:
    """A birth date that makes the person exactly ``age`` on ``on``."""
    try:
        anniversary = on.replace(year=on.year - age)
    except ValueError:  # 29 February
        anniversary = on.replace(year=on.year - age, day=28)
    return anniversary - timedelta(days=rng.randint(0, 364))


def _person(rng: random.Random, age: int, on: date, sex: str | None = None, family: str | None = None) -> Person:
    sex = sex or rng.choice("FM")
    return Person(rng.choice(FIRST[sex]), family or rng.choice(LAST), sex, _born(rng, age, on))


# --------------------------------------------------------------------------- the visit being coded


@dataclass
class Line:
    code: str
    diagnoses: tuple[str, ...]  # the encounter diagnoses this line points to, most relevant first
    units: int = 1
    modifiers: tuple[str, ...] = ()  # besides the chargemaster item's own (QW, GP)
    rendering: dict[str, Any] | None = None  # only when someone else than the claim's rendering provider did it


@dataclass
class Visit:
    """One encounter as the coder sees it before it is turned into intake events."""

    specialty: str
    place_of_service: str
    rendering: dict[str, Any]
    lines: list[Line]
    referring: dict[str, Any] | None = None
    facility: dict[str, Any] | None = None
    accident: Literal["auto", "other"] | None = None  # an injury's accident (837P CLM11 AA or OA)

    @property
    def diagnoses(self) -> list[str]:
        return list(dict.fromkeys(code for line in self.lines for code in line.diagnoses))


@dataclass(frozen=True)
class Patient:
    person: Person
    plan: PayerPlan
    parent: Person | None  # the subscriber when a child is covered on a parent's commercial plan

    def age_on(self, day: date) -> int:
        return self.person.age_on(day)


VisitBuilder = Callable[[random.Random, Patient, date], Visit]


def _em(rng: random.Random, established: tuple[str, ...], new: tuple[str, ...]) -> str:
    return rng.choice(new) if rng.random() < 0.2 else rng.choice(established)


# A sick visit treats one or two problems: (diagnoses, tests and treatments as (code, units)).
PROBLEMS: tuple[tuple[tuple[str, ...], tuple[tuple[str, int], ...]], ...] = (
    (("J069", "R051"), ()),
    (("J020", "R509"), (("87880", 1),)),
    (("I10", "E785"), (("36415", 1), ("80053", 1), ("80061", 1))),
    (("E119",), (("36415", 1), ("83036", 1))),
    (("N390", "R3915"), (("81002", 1),)),
    (("K219",), ()),
    (("F411",), ()),
    (("E039",), (("36415", 1), ("84443", 1))),
    (("D649",), (("36415", 1), ("85025", 1))),
    (("H6123",), (("69210", 1),)),
    (("L570",), (("17000", 1),)),
    (("L821",), (("11102", 1),)),
    (("L0291",), (("10060", 1),)),
    (("M5450", "M62830"), (("96372", 1), ("J1885", 2))),
    (("J189", "R0602"), (("71046", 1), ("94760", 1), ("96372", 1), ("J0696", 4))),
    (("J45909",), (("94640", 1), ("94760", 1))),
    (("R0789",), (("93000", 1),)),
)


def _sick_visit(rng: random.Random, patient: Patient, day: date) -> Visit:
    problems = rng.sample(PROBLEMS, k=1 if rng.random() < 0.7 else 2)
    visit_dx = tuple(dict.fromkeys(code for dx, _ in problems for code in dx))[:4]
    em = _em(rng, ("99212", "99213", "99214"), ("99203", "99204"))
    lines = [Line(em, visit_dx)]
    for dx, tests in problems:
        lines += [Line(code, dx[:1], units) for code, units in tests]
    doctor = rng.choice(FAMILY)
    if rng.random() < 0.25 and len(lines) > 1:  # the nurse practitioner did the procedure
        lines[1].rendering = NURSE_PRACTITIONER
    return Visit("family medicine", "11", doctor, _deduplicated(lines))


def _deduplicated(lines: list[Line]) -> list[Line]:
    """One line per code: two problems that both need a blood draw get one draw."""
    seen: dict[str, Line] = {}
    for line in lines:
        if line.code in seen:
            first = seen[line.code]
            first.diagnoses = tuple(dict.fromkeys(first.diagnoses + line.diagnoses))[:4]
        else:
            seen[line.code] = line
    return list(seen.values())


def preventive_code(age: int, *, new: bool) -> str:
    for low, high, new_code, established in PREVENTIVE:
        if low <= age <= high:
            return new_code if new else established
    raise ValueError("age out of range")


def _vaccines(age: int) -> tuple[str, ...]:
    if age < 1:
        return ("90700",)
    if age < 2:
        return ("90707", "90716")
    if 4 <= age <= 6:
        return ("90700", "90707")
    if 11 <= age <= 12:
        return ("90715",)
    return ()


def _preventive(rng: random.Random, patient: Patient, day: date) -> Visit:
    age = patient.age_on(day)
    new = rng.random() < 0.2
    if patient.plan is MEDICARE:  # Medicare pays annual wellness visits, not routine physicals
        lines = [Line("G0438" if new else "G0439", ("Z0000",))]
        if rng.random() < 0.6:
            lines += [Line("90686", ("Z23",)), Line("G0008", ("Z23",))]
        return Visit("preventive", "11", rng.choice(FAMILY), lines)
    if age < 18:
        lines = [Line(preventive_code(age, new=new), ("Z00129",))]
        vaccines = list(_vaccines(age)) + (["90686"] if rng.random() < 0.5 else [])
        lines += [Line(code, ("Z23",)) for code in vaccines]
        if vaccines:
            lines.append(Line("90460", ("Z23",), units=len(vaccines)))
        return Visit("preventive", "11", rng.choice(FAMILY), lines)
    findings = rng.random() < 0.3
    lines = [Line(preventive_code(age, new=new), ("Z0001", "E785") if findings else ("Z0000",))]
    if findings:
        lines += [Line("36415", ("E785",)), Line("80061", ("E785",))]
    if rng.random() < 0.5:
        lines += [Line("90686", ("Z23",)), Line("90471", ("Z23",))]
    return Visit("preventive", "11", rng.choice(FAMILY), lines)


def _womens_health(rng: random.Random, patient: Patient, day: date) -> Visit:
    if patient.plan is MEDICARE:
        lines = [Line("G0101", ("Z124",)), Line("Q0091", ("Z124",))]
        return Visit("women's health", "11", OBSTETRICIAN, lines)
    age = patient.age_on(day)
    if age <= 40 and rng.random() < 0.5:
        first_trimester = rng.random() < 0.5
        dx = ("Z3481", "Z3A10") if first_trimester else ("Z3482", "Z3A20")
        lines = [Line("99213", dx), Line("76801" if first_trimester else "76805", dx), Line("81002", dx[:1])]
        return Visit("women's health", "11", OBSTETRICIAN, lines)
    return Visit("women's health", "11", OBSTETRICIAN, [Line(preventive_code(age, new=False), ("Z01419",))])


def _mens_health(rng: random.Random, patient: Patient, day: date) -> Visit:
    lines = [Line(rng.choice(("99213", "99214")), ("N401", "R351")), Line("36415", ("N401",))]
    lines.append(Line("G0103", ("Z125",)) if patient.plan is MEDICARE else Line("84153", ("N401",)))
    return Visit("men's health", "11", rng.choice(FAMILY), lines)


# Emergency department presentations: (diagnoses, E/M, imaging read, procedure, related cause).
EMERGENCIES: tuple[tuple[tuple[str, ...], str, str | None, str | None, Literal["auto", "other"] | None], ...] = (
    (("S93401A", "W010XXA"), "99283", "73610", None, "other"),
    (("S61411A", "W25XXXA"), "99283", None, "12001", "other"),
    (("S0990XA", "W228XXA"), "99285", "70450", None, "other"),
    (("S2020XA", "V4352XA"), "99284", "71046", None, "auto"),
    (("R0789",), "99284", "71046", None, None),
    (("R1030", "R109"), "99284", "74177", None, None),
    (("R109",), "99284", "76700", None, None),
    (("J189", "R0602"), "99284", "71046", None, None),
    (("G43909",), "99283", None, None, None),
    (("L03115",), "99283", None, None, None),
    (("A09",), "99283", None, None, None),
)


def _emergency(rng: random.Random, patient: Patient, day: date) -> Visit:
    dx, em, imaging, procedure, cause = rng.choice(EMERGENCIES)
    lines = [Line(em, dx)]
    if imaging:
        lines.append(Line(imaging, dx[:1]))
    if procedure:
        lines.append(Line(procedure, dx))
    return Visit("emergency", "23", EMERGENCY_PHYSICIAN, lines, facility=EMERGENCY_DEPARTMENT, accident=cause)


def _orthopedics(rng: random.Random, patient: Patient, day: date) -> Visit:
    em = _em(rng, ("99213", "99214"), ("99203", "99204"))
    kind = rng.randrange(3)
    dx: tuple[str, ...]
    if kind == 0:  # knee osteoarthritis: film and a steroid injection
        dx = (rng.choice(("M1711", "M1712")),)
        lines = [Line(em, dx), Line("73562", dx)]
        if rng.random() < 0.6:
            lines += [Line("20610", dx), Line("J3301", dx, units=4)]
    elif kind == 1:  # shoulder
        dx = (rng.choice(("M7541", "M19011", "M19012")),)
        lines = [Line(em, dx), Line("73030", dx)]
        if rng.random() < 0.6:
            lines += [Line("20610", dx), Line("J1030", dx)]
    else:  # low back pain
        dx = ("M5450", "M62830")
        lines = [Line(em, dx), Line("72100", dx[:1])]
    return Visit("orthopedics", "11", ORTHOPEDIST, lines, referring=rng.choice(REFERRERS))


def _physical_therapy(rng: random.Random, patient: Patient, day: date) -> Visit:
    dx = (rng.choice(("M5450", "M25561", "M1711", "M7541")),)
    therapist, other = rng.sample(THERAPISTS, k=2)
    if rng.random() < 0.4:
        lines = [Line("97161", dx), Line("97110", dx, units=2)]
    else:
        lines = [Line("97110", dx, units=2), Line("97530", dx, units=2), Line("97140", dx)]
        if rng.random() < 0.3:  # the other therapist took the second half of the session
            lines[1].rendering = other
    return Visit("physical therapy", "11", therapist, lines, referring=rng.choice(REFERRERS))


def _lab(rng: random.Random, patient: Patient, day: date) -> Visit:
    dx = rng.choice((("E119", "I10"), ("D649",), ("I10", "E785"), ("E039",)))
    tests = {"E119": ("83036", "80053"), "I10": ("80053",), "D649": ("85025",), "E785": ("80061",),
             "E039": ("84443",)}
    lines = [Line("36415", dx)]
    for code in dx:
        lines += [Line(test, (code,)) for test in tests[code]]
    return Visit("lab", "11", rng.choice(FAMILY), _deduplicated(lines), referring=rng.choice(REFERRERS))


@dataclass(frozen=True)
class VisitKind:
    name: str
    build: VisitBuilder
    weight: int
    fits: Callable[[Patient, date], bool]


def _adult(p: Patient, d: date) -> bool:
    return p.age_on(d) >= 18


VISITS = (
    VisitKind("family medicine", _sick_visit, 34, lambda p, d: p.age_on(d) >= 2),
    VisitKind("preventive", _preventive, 16, lambda p, d: True),
    VisitKind("women's health", _womens_health, 7, lambda p, d: p.person.sex == "F" and p.age_on(d) >= 21),
    VisitKind("men's health", _mens_health, 5, lambda p, d: p.person.sex == "M" and p.age_on(d) >= 50),
    VisitKind("emergency", _emergency, 12, lambda p, d: p.age_on(d) >= 2),
    VisitKind("orthopedics", _orthopedics, 10, _adult),
    VisitKind("physical therapy", _physical_therapy, 8, _adult),
    VisitKind("lab", _lab, 6, _adult),
)


def _ncci_pairs(day: date) -> frozenset[tuple[str, str]]:
    ptp = codesets.shipped().ptp
    return NCCI_WITH_MODIFIER | {(e.column1, e.column2) for e in ptp if e.modifier_indicator == "1" and e.in_force(day)}


def _code_modifiers(visit: Visit, day: date) -> None:
    """The modifiers a careful coder adds (the chargemaster item's own, QW or GP, come with it)."""
    codes = {line.code for line in visit.lines}
    pairs = _ncci_pairs(day)
    for line in visit.lines:
        mods = list(line.modifiers)
        if visit.place_of_service in FACILITY_PLACES and line.code in PROFESSIONAL_COMPONENT:
            mods.insert(0, "26")
        if line.code in EVALUATION_AND_MANAGEMENT and codes & MINOR_PROCEDURES:
            mods.append("25")
        if any((first, line.code) in pairs for first in codes):
            mods.append("59")
        line.modifiers = tuple(mods)


# --------------------------------------------------------------------------- deliberate errors


@dataclass
class Draft:
    """An encounter on its way to events: where a deliberate error is put in."""

    patient: Patient
    visit: Visit
    coverages: list[dict[str, Any]]
    service_date: date
    today: date
    pointer_past_list: bool = False


# The ICD-10-CM category above each billable code a sick visit starts with: a category is not billable.
CATEGORY = {"J069": "J06", "J020": "J02", "E785": "E78", "E119": "E11", "N390": "N39", "K219": "K21",
            "F411": "F41", "E039": "E03", "D649": "D64", "H6123": "H612", "L570": "L57", "L821": "L82",
            "L0291": "L029", "M5450": "M545", "J189": "J18", "J45909": "J4590", "R0789": "R078"}


def _non_billable_icd(d: Draft) -> None:
    code = next(c for c in d.visit.diagnoses if c in CATEGORY)
    for line in d.visit.lines:
        line.diagnoses = tuple(CATEGORY[c] if c == code else c for c in line.diagnoses)


def _pointer_out_of_range(d: Draft) -> None:
    d.pointer_past_list = True


def _future_service_date(d: Draft) -> None:
    d.service_date = d.today + timedelta(days=DAYS)


def _ncci_bundled_pair(d: Draft) -> None:
    """A basic metabolic panel billed with the comprehensive one it is part of (NCCI PTP
    80053/80048, modifier indicator 0: never paid together)."""
    lines = d.visit.lines
    panel = [line for line in lines if line.code == "80053"] or [Line("80053", lines[0].diagnoses[:1])]
    if panel[0] not in lines:
        lines.append(panel[0])
    lines.append(Line("80048", panel[0].diagnoses))


def _units_over_mue(d: Draft) -> None:
    draws = [line for line in d.visit.lines if line.code == "36415"]
    if not draws:
        draws = [Line("36415", d.visit.lines[0].diagnoses[:1])]
        d.visit.lines += draws
    draws[0].units = 3


def _age_sex_mismatch(d: Draft) -> None:
    age = d.patient.age_on(d.service_date)
    d.visit.lines[0].code = next(established for low, high, _, established in PREVENTIVE if not low <= age <= high)


def _inactive_coverage(d: Draft) -> None:
    # Aetna's sandbox 271 answers member ids ending 0000 with EB*6 (deploy/local/payers.yaml).
    d.coverages[0]["member_id"] = d.coverages[0]["member_id"][:-4] + "0000"


def _member_id_without_check_letter(d: Draft) -> None:
    d.coverages[0]["member_id"] = d.coverages[0]["member_id"][:-1]


def _missing_prior_authorization(d: Draft) -> None:
    lines = d.visit.lines
    if not any(line.code == "20610" for line in lines):
        lines.append(Line("20610", lines[0].diagnoses))
        lines[0].modifiers = tuple(dict.fromkeys((*lines[0].modifiers, "25")))
    d.coverages[0]["prior_authorization_numbers"] = []


@dataclass(frozen=True)
class ErrorKind:
    name: DemoError
    label: str
    caught_by: tuple[str, ...]
    """Where it must be caught: "charges <reason code>", "scrubber <edit id>", "277CA <STC01:STC02>"."""
    put_in: Callable[[Draft], None]
    visit: str | None = None  # the visit kind the error needs
    payer: PayerPlan | None = None  # the primary payer it needs


ERRORS: dict[DemoError, ErrorKind] = {e.name: e for e in (
    ErrorKind("non_billable_icd", "non-billable ICD-10-CM category",
              ("charges ENC_DX_NOT_BILLABLE", "charges CHG_ICD_NOT_BILLABLE", "scrubber ICD10-BILLABLE"),
              _non_billable_icd, visit="family medicine"),
    ErrorKind("pointer_out_of_range", "diagnosis pointer past the list", ("charges CHG_DX_POINTER_RANGE",),
              _pointer_out_of_range),
    ErrorKind("future_service_date", "date of service in the future", ("charges CHG_SERVICE_DATE_FUTURE",),
              _future_service_date),
    ErrorKind("ncci_bundled_pair", "NCCI pair never paid together", ("scrubber NCCI-PTP",), _ncci_bundled_pair,
              visit="family medicine"),
    ErrorKind("units_over_mue", "units over the MUE", ("scrubber MUE",), _units_over_mue, visit="family medicine"),
    ErrorKind("age_sex_mismatch", "preventive code for another age", ("scrubber AGE-SEX",), _age_sex_mismatch,
              visit="preventive"),
    ErrorKind("member_id_without_check_letter", "member id without its check letter", ("277CA A7:164",),
              _member_id_without_check_letter, payer=MEDI_CAL),
    ErrorKind("missing_prior_authorization", "missing prior authorization", ("277CA A6:252",),
              _missing_prior_authorization, visit="orthopedics", payer=AETNA),
    ErrorKind("inactive_coverage", "coverage inactive on the date of service", ("scrubber ELIG-INACTIVE",),
              _inactive_coverage, payer=AETNA),
)}

DRAWN_ERRORS = sorted(k for k in ERRORS if k != "inactive_coverage")
"""The kinds drawn at random; an inactive coverage is placed once per demo (``_front_desk``)."""

FRONT_DESK_MIN = 10
"""A demo of at least this many encounters (with some, not all, deliberate errors) has one coverage the
payer's 271 says is inactive, and one silent claim (its 835 withheld until a 276 asks)."""
SILENT_MEMBER_ID = "W000000919"
"""Aetna's silent member in the sandbox (deploy/local/payers.yaml sandbox.claim_status)."""

# --------------------------------------------------------------------------- coverages


def _member_id(rng: random.Random, plan: PayerPlan) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    if plan.payer_id == "60054":
        return "W" + digits(9)
    if plan.payer_id == "94036":
        return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)) + digits(9)
    if plan.payer_id == "01182":
        alnum = _MBI_LETTERS + "0123456789"
        return (rng.choice("123456789") + rng.choice(_MBI_LETTERS) + rng.choice(alnum) + digits(1)
                + rng.choice(_MBI_LETTERS) + rng.choice(alnum) + digits(1) + rng.choice(_MBI_LETTERS)
                + rng.choice(_MBI_LETTERS) + digits(2))
    return "9" + digits(7) + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")


def _name(person: Person) -> dict[str, Any]:
    return {"family": person.family, "given": person.given, "middle": None, "suffix": None}


def _coverage(rng: random.Random, plan: PayerPlan, rank: int, subscriber: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "rank": rank, "payer_id": plan.payer_id, "payer_name": plan.payer_name,
        "member_id": _member_id(rng, plan),
        "group_number": f"GRP-{rng.randint(100, 999)}" if plan.filing in {"CI", "BL"} else None,
        "relationship_to_subscriber": "19" if subscriber else "18", "subscriber": subscriber,
        "claim_filing_indicator": plan.filing, "prior_authorization_numbers": [],
    }


def _needs_authorization(payer: PayerConfig) -> frozenset[str]:
    return payer.behaviour.auth_required | payer.behaviour.reject_if.missing_prior_auth


def _qmb(encounter_id: str, *, dual: bool) -> bool:
    """Whether a Medicare patient is a Qualified Medicare Beneficiary: most patients with Medi-Cal
    too, a few with Medicare alone. Drawn from the encounter id, not the generator, so the rest of
    a seed's data stays as it was."""
    draw = int(encounter_id.replace("-", "")[:8], 16) % 6
    return draw < 4 if dual else draw == 0


# --------------------------------------------------------------------------- hospital encounters

# The hospital the emergency department belongs to: it bills the facility claims (837I).
HOSPITAL: dict[str, Any] = {
    "npi": EMERGENCY_DEPARTMENT["npi"], "tax_id": "946543210", "taxonomy": "282N00000X",
    "name": "Alameda Bay Hospital",
    "address": {"line1": "900 Harbor Way", "line2": None, "city": "Alameda", "state": "CA", "postal_code": "945014100"},
    "clia_number": None,
}
HOSPITAL_FACILITY: dict[str, Any] = {"name": HOSPITAL["name"], "npi": HOSPITAL["npi"],
                                     "address": EMERGENCY_DEPARTMENT["address"]}
HOSPITALIST = _provider("1333444556", "Achebe", "Ngozi", "208M00000X")
# The physicians' own fees (the professional claim); the hospital's lines are priced by the chargemaster.
PROFESSIONAL_FEES = {"99284": Decimal("310.00"), "99223": Decimal("380.00"), "99232": Decimal("140.00"),
                     "99238": Decimal("150.00")}

# Emergency department visits: (reason for visit, diagnoses, the hospital's chargemaster items:
# the ED level 0450 with its HCPCS, a blood count 0305, a chest x-ray 0324).
ED_VISITS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("R0602", ("J189", "R0602"), ("CDM-450-0284", "CDM-305-5025", "CDM-324-1046")),
    ("R0789", ("R0789", "I10"), ("CDM-450-0284", "CDM-305-5025", "CDM-324-1046")),
    ("R0602", ("J45901",), ("CDM-450-0284", "CDM-324-1046")),
)
# Short stays: (admitting diagnosis, principal, other diagnoses (all present on admission), the
# ICD-10-PCS procedure some of them get).
STAYS: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    ("R0602", "J189", ("I10", "E119"), "5A1935Z"),  # pneumonia; a few need ventilation under 24 hours
    ("R509", "L03116", ("E119",), "0J9P0ZZ"),  # cellulitis of the left leg, some drained
    ("R509", "N390", ("N179",), None),  # a urinary infection with acute kidney failure
    ("R0602", "I5023", ("E119", "N179"), None),  # acute on chronic heart failure
)
# The principal diagnoses fall in families of the sandbox's sample MS-DRG table (J18, L03, N39, I50).
# Room and board, pharmacy, a blood draw and a blood count: the hospital's lines of every stay.
ROOM_AND_BOARD, PHARMACY, DRAW, BLOOD_COUNT = "CDM-120-0001", "CDM-250-0001", "CDM-300-0415", "CDM-305-5025"


def _by_cdm(items: dict[tuple[str, tuple[str, ...]], ChargemasterItem], cdm_code: str) -> ChargemasterItem:
    return next(item for item in items.values() if item.cdm_code == cdm_code)


def _hospital_encounter(rng: random.Random, items: dict[tuple[str, tuple[str, ...]], ChargemasterItem],
                        payers: dict[str, PayerConfig], i: int, today: date) -> DemoEncounter:
    """An emergency department visit (type of bill 13) or a stay of 2 to 4 days (11), each with
    the physician's professional claim too (bills both). No deliberate errors yet."""
    plan = rng.choices(PLANS, weights=[p.weight for p in PLANS])[0]
    inpatient = rng.random() < 0.5
    los = rng.randint(2, 4) if inpatient else 0
    admitted = today - timedelta(days=rng.randint(los + 1, DAYS))
    discharged = admitted + timedelta(days=los)
    patient = _patient(rng, plan, admitted)
    while patient.age_on(admitted) < 18:  # adults: the codes and the fees are adult care
        patient = _patient(rng, plan, admitted)
    address, coverages, encounter_id = _insured(rng, patient, set(), payers)
    for coverage in coverages:  # the hospital bills Part A, the physician Part B
        if coverage["payer_id"] == MEDICARE.payer_id:
            coverage |= {"facility_payer_id": MEDICARE_PART_A.payer_id,
                         "facility_payer_name": MEDICARE_PART_A.payer_name}
    encounter = _encounter_json(rng, patient, address, coverages, encounter_id, i)
    facility_lines: list[tuple[str, date, date | None, int]] = []  # (CDM code, from, through, units)
    professional: list[tuple[str, date]] = []
    if inpatient:
        admitting, principal, others, pcs = rng.choice(STAYS)
        poa: list[tuple[str, str | None]] = [(principal, "Y"), *((code, "Y") for code in others)]
        if rng.random() < 0.1:  # a pressure ulcer acquired in the hospital
            poa.append(("L89152", "N"))
        physician, hour, place, facility = HOSPITALIST, rng.randint(0, 23), "21", HOSPITAL_FACILITY
        facility_lines = [(ROOM_AND_BOARD, admitted, discharged - timedelta(days=1), los),
                          (PHARMACY, admitted, discharged, rng.randint(4, 16)),
                          (DRAW, admitted, None, 1), (BLOOD_COUNT, admitted, None, 1)]
        professional = [("99223", admitted), *(("99232", admitted + timedelta(days=d)) for d in range(1, los)),
                        ("99238", discharged)]
        institutional: dict[str, Any] = {
            "type_of_bill": "11", "admission_type": rng.choice(("1", "1", "2")), "admission_source": "1",
            "discharge_hour": rng.randint(9, 16), "admitting_diagnosis": admitting,
            "principal_procedure": {"code": pcs, "performed_on": (admitted + timedelta(days=1)).isoformat()}
            if pcs and rng.random() < 0.5 else None,
        }
    else:
        reason, diagnoses, cdm_codes = rng.choice(ED_VISITS)
        poa = [(code, None) for code in diagnoses]
        physician, hour, place, facility = EMERGENCY_PHYSICIAN, rng.randint(0, 20), "23", EMERGENCY_DEPARTMENT
        facility_lines = [(code, admitted, None, 1) for code in cdm_codes]
        professional = [("99284", admitted)]
        institutional = {"type_of_bill": "13", "admission_type": "1", "admission_source": "1",
                         "discharge_hour": hour + rng.randint(2, 3), "reason_for_visit": [reason]}
    codes = [code for code, _ in poa]
    encounter |= {
        "rendering_provider": physician, "referring_provider": None, "facility": facility, "place_of_service": place,
        "admission_date": admitted.isoformat(), "discharge_date": discharged.isoformat(), "diagnoses": codes,
        "bills": "both",
        "institutional": institutional | {
            "billing_provider": HOSPITAL, "statement_from": admitted.isoformat(),
            "statement_through": discharged.isoformat(), "admission_hour": hour, "patient_status": "01",
            "attending_provider": physician,
            "principal_diagnosis": {"code": codes[0], "present_on_admission": poa[0][1]},
            "other_diagnoses": [{"code": code, "present_on_admission": p} for code, p in poa[1:]],
        },
    }
    events = [_validated(ENCOUNTER_REGISTERED, encounter)]
    charge_ids: list[str] = []

    def charge(day: date, fields: dict[str, Any]) -> None:
        charge_id = f"chg-{encounter_id[:8]}-{len(charge_ids) + 1}"
        charge_ids.append(charge_id)
        events.append(_validated(CHARGE_SUBMITTED, {
            "source_system": SOURCE_SYSTEM, "source_charge_id": charge_id,
            "idempotency_key": f"{SOURCE_SYSTEM}:{charge_id}", "source_encounter_id": encounter_id,
            "service_date": day.isoformat(), "diagnosis_pointers": [1], **fields,
        }))

    for cdm_code, start, end, units in facility_lines:
        item = _by_cdm(items, cdm_code)
        charge(start, {"service_end_date": None if end is None else end.isoformat(), "chargemaster_code": cdm_code,
                       "revenue_code": item.revenue_code, "claim_type": "institutional", "units": str(units)})
    for code, day in professional:
        fee = PROFESSIONAL_FEES[code]
        charge(day, {"procedure_code": code, "claim_type": "professional", "units": "1",
                     "unit_price": f"{fee:.2f}", "amount": f"{fee:.2f}"})
    events.append(_closed(rng, encounter_id, discharged, charge_ids))
    return DemoEncounter(source_encounter_id=encounter_id, payer_id=plan.payer_id,
                         specialty="hospital inpatient" if inpatient else "hospital outpatient", error=None,
                         events=tuple(events))


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class DemoEvent:
    event_type: str
    key: str  # the Kafka key (source_encounter_id)
    event: BaseModel


@dataclass(frozen=True)
class DemoEncounter:
    source_encounter_id: str
    payer_id: str
    specialty: str
    error: DemoError | None
    events: tuple[DemoEvent, ...]
    silent: bool = False
    """Its claim's 835 is withheld until a claim status request (276) asks: `rcm demo` asks."""


@dataclass(frozen=True)
class ChargemasterItem:
    cdm_code: str
    procedure_code: str
    """Empty on a facility item a revenue code alone describes (room and board, pharmacy)."""
    modifiers: tuple[str, ...]
    description: str
    unit_price: Decimal
    revenue_code: str = ""


def read_chargemaster(path: Path = CHARGEMASTER) -> dict[tuple[str, tuple[str, ...]], ChargemasterItem]:
    """The chargemaster by procedure code and the item's own modifiers (first row wins); the
    facility items without a procedure code by ("", (cdm code,))."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    out: dict[tuple[str, tuple[str, ...]], ChargemasterItem] = {}
    for row in csv.DictReader(lines):
        code, modifiers = row["procedure_code"].strip(), tuple(row["modifiers"].split())
        item = ChargemasterItem(
            cdm_code=row["cdm_code"].strip(), procedure_code=code, modifiers=modifiers,
            description=row["description"].strip()[:80], unit_price=Decimal(row["unit_price"].strip()),
            revenue_code=row["revenue_code"].strip(),
        )
        out.setdefault((code, modifiers) if code else ("", (item.cdm_code,)), item)
    return out


def _item(items: dict[tuple[str, tuple[str, ...]], ChargemasterItem], line: Line) -> ChargemasterItem:
    """The item billed: the professional component's own row for a 26 line, else the code's row."""
    if "26" in line.modifiers and (line.code, ("26",)) in items:
        return items[(line.code, ("26",))]
    return next(item for (code, mods), item in items.items() if code == line.code and "26" not in mods)


def _validated(event_type: str, data: dict[str, Any]) -> DemoEvent:
    return DemoEvent(event_type, data["source_encounter_id"], registry.validate(event_type, data))


def generate(n: int, seed: int = 42, *, today: date, error_rate: float = DEFAULT_ERROR_RATE,
             hospital_share: float = 0.0, chargemaster: Path = CHARGEMASTER) -> list[DemoEncounter]:
    """``n`` encounters of the 30 days before ``today``; the same seed and day give the same events.

    About ``hospital_share`` of them are hospital encounters (``rcm demo`` asks for
    DEFAULT_HOSPITAL_SHARE): they are drawn from a generator of their own, so the clinic
    encounters of a seed stay what they were, only fewer."""
    if not 0 <= error_rate <= 1:
        raise ValueError("error_rate must be between 0 and 1")
    if not 0 <= hospital_share <= 1:
        raise ValueError("hospital_share must be between 0 and 1")
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    hospital_rng = random.Random(f"hospital-{seed}")  # noqa: S311 - as above
    items = read_chargemaster(chargemaster)
    payers = load_payers()
    out: list[DemoEncounter] = []
    clinic = 0  # the clinic's own count, which its patients' email addresses carry
    for i in range(n):
        if hospital_rng.random() < hospital_share:
            out.append(_hospital_encounter(hospital_rng, items, payers, i, today))
        else:
            out.append(_encounter(rng, items, payers, clinic, today, error_rate))
            clinic += 1
    return _front_desk(out) if n >= FRONT_DESK_MIN and 0 < error_rate < 1 else out


def _with_member_id(encounter: DemoEncounter, member_id: str, **changes: Any) -> DemoEncounter:
    """The encounter with its primary coverage's member id replaced (in every encounter event)."""
    def changed(d: DemoEvent) -> DemoEvent:
        coverages = getattr(d.event, "coverages", None)
        if not coverages:
            return d
        first = coverages[0].model_copy(update={"member_id": member_id})
        return dataclasses.replace(d, event=d.event.model_copy(update={"coverages": [first, *coverages[1:]]}))
    return dataclasses.replace(encounter, events=tuple(changed(d) for d in encounter.events), **changes)


def _front_desk(out: list[DemoEncounter]) -> list[DemoEncounter]:
    """The first clean Aetna clinic encounter gets a member id Aetna's 271 calls inactive (a
    deliberate error, held by ELIG-INACTIVE), the second the silent member (its 835 withheld until
    `rcm demo` asks with a 276). Only member ids change, so the rest of a seed's data stays as it was."""
    picks = [i for i, e in enumerate(out)
             if e.payer_id == AETNA.payer_id and e.error is None and not e.specialty.startswith("hospital")][:2]
    if len(picks) == 2:
        inactive, silent = out[picks[0]], out[picks[1]]
        member = inactive.events[0].event.coverages[0].member_id  # type: ignore[attr-defined]
        out[picks[0]] = _with_member_id(inactive, member[:-4] + "0000", error="inactive_coverage")
        out[picks[1]] = _with_member_id(silent, SILENT_MEMBER_ID, silent=True)
    return out


def _patient(rng: random.Random, plan: PayerPlan, day: date) -> Patient:
    if plan is MEDICARE:
        return Patient(_person(rng, rng.randint(65, 90), day), plan, None)
    child = rng.random() < (0.3 if plan is MEDI_CAL else 0.2)
    if not child:
        return Patient(_person(rng, rng.randint(18, 64), day), plan, None)
    person = _person(rng, rng.randint(0, 17), day)
    parent_age = min(64, person.age_on(day) + rng.randint(20, 38))
    return Patient(person, plan, _person(rng, parent_age, day, family=person.family))


def _encounter(rng: random.Random, items: dict[tuple[str, tuple[str, ...]], ChargemasterItem],
               payers: dict[str, PayerConfig], i: int, today: date, error_rate: float) -> DemoEncounter:
    error = ERRORS[rng.choice(DRAWN_ERRORS)] if rng.random() < error_rate else None
    plan = error.payer if error and error.payer else rng.choices(PLANS, weights=[p.weight for p in PLANS])[0]
    service_date = today - timedelta(days=rng.randint(1, DAYS))
    while True:  # a patient the visit (the error's, or any) fits
        patient = _patient(rng, plan, service_date)
        kinds = [v for v in VISITS if v.fits(patient, service_date)
                 and (error is None or error.visit in (None, v.name))]
        if kinds:
            break
    kind = rng.choices(kinds, weights=[k.weight for k in kinds])[0]
    visit = kind.build(rng, patient, service_date)
    _code_modifiers(visit, service_date)

    address, coverages, encounter_id = _insured(rng, patient, {line.code for line in visit.lines}, payers)

    draft = Draft(patient, visit, coverages, service_date, today)
    if error is not None:
        error.put_in(draft)
    diagnoses = visit.diagnoses
    encounter = _encounter_json(rng, patient, address, coverages, encounter_id, i) | {
        "rendering_provider": visit.rendering, "referring_provider": visit.referring, "facility": visit.facility,
        "place_of_service": visit.place_of_service, "admission_date": None, "discharge_date": None,
        "diagnoses": diagnoses,
    }
    if visit.accident:
        encounter["accident"] = {"causes": [visit.accident], "occurred_on": draft.service_date.isoformat(),
                                 "state": "CA" if visit.accident == "auto" else None}
    if visit.referring and plan.filing in {"CI", "BL"}:
        coverages[0]["referral_number"] = f"REF{rng.randint(100000, 999999)}"
    events = [_validated(ENCOUNTER_REGISTERED, encounter)]
    charge_ids: list[str] = []
    for j, line in enumerate(visit.lines, start=1):
        item = _item(items, line)
        charge_id = f"chg-{encounter_id[:8]}-{j}"
        charge_ids.append(charge_id)
        pointers = [diagnoses.index(code) + 1 for code in line.diagnoses]
        if draft.pointer_past_list and j == 1:
            pointers = [len(diagnoses) + 1]
        charge: dict[str, Any] = {
            "source_system": SOURCE_SYSTEM, "source_charge_id": charge_id,
            "idempotency_key": f"{SOURCE_SYSTEM}:{charge_id}", "source_encounter_id": encounter_id,
            "service_date": draft.service_date.isoformat(), "units": str(line.units), "diagnosis_pointers": pointers,
            "rendering_provider": line.rendering,
            # A laboratory test the referring physician ordered (837P loop 2420E).
            "ordering_provider": visit.referring if visit.referring and line.code.startswith("8") else None,
        }
        if line.code in NDC:
            charge["ndc"], charge["ndc_quantity"], charge["ndc_unit"] = NDC[line.code]
        extra = [m for m in line.modifiers if m not in item.modifiers]
        if rng.random() < 0.5:
            charge |= {"chargemaster_code": item.cdm_code, "modifiers": extra}
        else:
            charge |= {"procedure_code": line.code, "modifiers": [*item.modifiers, *extra],
                       "description": item.description, "unit_price": f"{item.unit_price:.2f}",
                       "amount": f"{item.unit_price * line.units:.2f}"}
        events.append(_validated(CHARGE_SUBMITTED, charge))
    events.append(_closed(rng, encounter_id, min(draft.service_date, today), charge_ids))
    return DemoEncounter(source_encounter_id=encounter_id, payer_id=plan.payer_id, specialty=visit.specialty,
                         error=error.name if error else None, events=tuple(events))


def _insured(rng: random.Random, patient: Patient, codes: set[str],
             payers: dict[str, PayerConfig]) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(home address, coverages with the authorizations the payers need for `codes`, encounter id)."""
    plan = patient.plan
    city, zip_code = rng.choice(CITIES)
    address = {"line1": f"{rng.randint(10, 4999)} {rng.choice(STREETS)}", "line2": None, "city": city,
               "state": "CA", "postal_code": zip_code}
    parent = patient.parent
    subscriber = None if parent is None else {"name": _name(parent), "birth_date": parent.birth_date.isoformat(),
                                              "sex": parent.sex, "address": address}
    coverages = [_coverage(rng, plan, 1, subscriber)]
    if (plan is MEDICARE and rng.random() < 0.5) or (plan is AETNA and rng.random() < 0.15):
        coverages.append(_coverage(rng, MEDI_CAL, 2, None))
    for coverage in coverages:
        if codes & _needs_authorization(payers[coverage["payer_id"]]):
            coverage["prior_authorization_numbers"] = [f"AUTH{rng.randint(100000, 999999)}"]
    crossover = payers[plan.payer_id].behaviour.crossover_to
    if len(coverages) > 1 and coverages[1]["payer_id"] == crossover:
        # The crossover payer reads the primary's claim as it was sent: its authorization has to be on it.
        coverages[0]["prior_authorization_numbers"] = coverages[0]["prior_authorization_numbers"] or coverages[1][
            "prior_authorization_numbers"]
    encounter_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if plan is MEDICARE and _qmb(encounter_id, dual=len(coverages) == 2):
        coverages[0]["qmb"] = True
    return address, coverages, encounter_id


def _encounter_json(rng: random.Random, patient: Patient, address: dict[str, Any], coverages: list[dict[str, Any]],
                    encounter_id: str, i: int) -> dict[str, Any]:
    """The encounter's people and coverages; the visit's providers, place and diagnoses are added."""
    person, parent = patient.person, patient.parent
    guardian = parent or person
    contact = "email" if rng.random() < 0.85 else "mail"
    email = f"{guardian.given.lower()}.{guardian.family.lower()}{i}@example.org"
    phone = f"+1510555{rng.randint(0, 9999):04d}"
    return {
        "source_system": SOURCE_SYSTEM, "source_encounter_id": encounter_id,
        "patient": {"name": _name(person), "birth_date": person.birth_date.isoformat(), "sex": person.sex,
                    "address": address, "email": email, "phone": phone, "contact_preference": contact,
                    "source_account_number": f"HAR{rng.randint(10**8, 10**9 - 1)}"},
        "guarantor": {"relationship_to_patient": "parent" if parent else "self", "name": _name(guardian),
                      "address": address, "email": email, "phone": phone, "contact_preference": contact},
        "coverages": coverages, "billing_provider": BILLING_PROVIDER,
    }


def _closed(rng: random.Random, encounter_id: str, day: date, charge_ids: list[str]) -> DemoEvent:
    closed_at = datetime.combine(day, time(17, 0), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 120))
    return _validated(ENCOUNTER_CLOSED, {
        "source_system": SOURCE_SYSTEM, "source_encounter_id": encounter_id,
        "closed_at": closed_at.isoformat().replace("+00:00", "Z"), "expected_source_charge_ids": charge_ids,
    })


def events(n: int, seed: int = 42, **kwargs: Any) -> list[DemoEvent]:
    """All events of ``generate`` in publishing order (encounter, charges, close)."""
    return [e for encounter in generate(n, seed, **kwargs) for e in encounter.events]
