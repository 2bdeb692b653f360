"""Synthetic, deterministic intake traffic for demos: N encounters with their charges.

``generate(n, seed)`` returns, per encounter, an EncounterRegistered, its ChargeSubmitted
events and an EncounterClosed listing every charge id (schemas.intake contracts, validated
with schemas.registry). Payers are the payers.yaml ids with matching filing indicators and
member id formats the sandbox accepts; some patients have a secondary coverage (Medicare
patients with Medi-Cal cross over), and most of those, with a few Medicare-only patients, are
Qualified Medicare Beneficiaries (never billed the Medicare cost share). Codes and prices come
from deploy/local/chargemaster.csv.

A few encounters carry a deliberate error the charges service must catch (``DemoEncounter.error``):
a non-billable ICD-10-CM category, a diagnosis pointer past the diagnosis list, a service
date in the future. All names, ids and numbers are invented.
"""

from __future__ import annotations

import csv
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from schemas import registry

REPO = Path(__file__).resolve().parents[1]
CHARGEMASTER = REPO / "deploy" / "local" / "chargemaster.csv"
SOURCE_SYSTEM = "demo-ehr"

ENCOUNTER_REGISTERED = "rcm.intake.EncounterRegistered.v1"
CHARGE_SUBMITTED = "rcm.intake.ChargeSubmitted.v1"
ENCOUNTER_CLOSED = "rcm.intake.EncounterClosed.v1"

DemoError = Literal["non_billable_icd", "pointer_out_of_range", "future_service_date"]

BILLING_PROVIDER: dict[str, Any] = {
    "npi": "1234567893", "tax_id": "521234567", "taxonomy": "207Q00000X", "name": "Revcycle Community Clinic",
    "address": {"line1": "2100 Webster St", "line2": None, "city": "Oakland", "state": "CA",
                "postal_code": "946121234"},
}
RENDERING = [
    {"npi": "1999999984", "name": {"family": "Okafor", "given": "Samuel", "middle": None, "suffix": None},
     "taxonomy": "207Q00000X"},
    {"npi": "1123456786", "name": {"family": "Lindqvist", "given": "Maja", "middle": None, "suffix": None},
     "taxonomy": "207R00000X"},
]


@dataclass(frozen=True)
class Specialty:
    name: str
    place_of_service: str
    visits: tuple[str, ...]  # one of these is the visit line
    extras: tuple[tuple[str, int], ...]  # (procedure code, units) added with probability 1/2 each
    diagnoses: tuple[str, ...]


SPECIALTIES = (
    Specialty("family medicine", "11", ("99212", "99213", "99214"),
              (("36415", 1), ("80053", 1), ("85025", 1), ("87880", 1), ("83036", 1)),
              ("J020", "R509", "J069", "I10", "E119", "K219", "N390", "F411", "E785")),
    Specialty("new patient", "11", ("99203", "99204"), (("36415", 1), ("80061", 1), ("93000", 1)),
              ("I10", "E119", "R0789", "F411", "Z0000")),
    Specialty("preventive", "11", ("99395", "99396"), (("36415", 1), ("80061", 1), ("90686", 1), ("90471", 1)),
              ("Z0000", "Z0001", "Z23", "E785")),
    Specialty("emergency", "23", ("99283", "99284"), (("71046", 1), ("96372", 1), ("J1885", 2), ("85025", 1)),
              ("R0789", "J189", "R109", "S93401A", "L03115")),
    Specialty("orthopedics", "11", ("99203", "99213"), (("73562", 1), ("72100", 1), ("20610", 1), ("J1030", 1)),
              ("M1711", "M25561", "M5450", "M79604")),
    Specialty("physical therapy", "11", ("97161",), (("97110", 2), ("97140", 1), ("97530", 2)),
              ("M5450", "M25561", "M1711")),
)


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
MEDI_CAL = PLANS[3]

FIRST = ("Ana", "Luis", "Mei", "Omar", "Grace", "Diego", "Priya", "Tomas", "Aisha", "Ken", "Sofia", "Marcus",
         "Lena", "Hugo", "Nora", "Ravi", "Elena", "Jamal", "Yuki", "Paul")
LAST = ("Rivera", "Chen", "Nguyen", "Haddad", "Okafor", "Garcia", "Patel", "Novak", "Kim", "Silva", "Brooks",
        "Tanaka", "Ibrahim", "Larsen", "Moreau", "Singh", "Romero", "Walsh", "Adeyemi", "Costa")
STREETS = ("Valencia St", "Telegraph Ave", "Mission St", "Broadway", "College Ave", "Shattuck Ave", "Market St")
CITIES = (("Oakland", "94607"), ("San Francisco", "94110"), ("Berkeley", "94704"), ("Alameda", "94501"))
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"


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


@dataclass(frozen=True)
class ChargemasterItem:
    cdm_code: str
    procedure_code: str
    modifiers: tuple[str, ...]
    description: str
    unit_price: Decimal


def read_chargemaster(path: Path = CHARGEMASTER) -> dict[str, ChargemasterItem]:
    """The chargemaster by procedure code (first row wins)."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    out: dict[str, ChargemasterItem] = {}
    for row in csv.DictReader(lines):
        code = row["procedure_code"].strip()
        out.setdefault(code, ChargemasterItem(
            cdm_code=row["cdm_code"].strip(), procedure_code=code, modifiers=tuple(row["modifiers"].split()),
            description=row["description"].strip()[:80], unit_price=Decimal(row["unit_price"].strip()),
        ))
    return out


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


def _coverage(rng: random.Random, plan: PayerPlan, rank: int, authorization: bool) -> dict[str, Any]:
    return {
        "rank": rank, "payer_id": plan.payer_id, "payer_name": plan.payer_name,
        "member_id": _member_id(rng, plan),
        "group_number": f"GRP-{rng.randint(100, 999)}" if plan.filing in {"CI", "BL"} else None,
        "relationship_to_subscriber": "18", "subscriber": None, "claim_filing_indicator": plan.filing,
        "prior_authorization_numbers": [f"AUTH{rng.randint(100000, 999999)}"] if authorization else [],
    }


def _qmb(encounter_id: str, *, dual: bool) -> bool:
    """Whether a Medicare patient is a Qualified Medicare Beneficiary: most patients with Medi-Cal
    too, a few with Medicare alone. Drawn from the encounter id, not the generator, so the rest of
    a seed's data stays as it was."""
    draw = int(encounter_id.replace("-", "")[:8], 16) % 6
    return draw < 4 if dual else draw == 0


def _validated(event_type: str, data: dict[str, Any]) -> DemoEvent:
    return DemoEvent(event_type, data["source_encounter_id"], registry.validate(event_type, data))


def generate(n: int, seed: int = 42, *, start: date = date(2026, 3, 2), error_rate: float = 0.06,
             chargemaster: Path = CHARGEMASTER) -> list[DemoEncounter]:
    """``n`` encounters, about three a day going back from ``start`` (the demo's today, the
    latest service date); the same seed always gives the same events."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    items = read_chargemaster(chargemaster)
    out: list[DemoEncounter] = []
    for i in range(n):
        out.append(_encounter(rng, items, i, start, error_rate))
    return out


def _encounter(rng: random.Random, items: dict[str, ChargemasterItem], i: int, start: date,
               error_rate: float) -> DemoEncounter:
    specialty = rng.choice(SPECIALTIES)
    plan = rng.choices(PLANS, weights=[p.weight for p in PLANS])[0]
    medicare = plan.payer_id == "01182"
    # Orthopedics usually has its authorizations; some are missing so CO-197 and A6 happen too.
    authorization = specialty.name == "orthopedics" and rng.random() < 0.7
    coverages = [_coverage(rng, plan, 1, authorization)]
    if (medicare and rng.random() < 0.5) or (plan.payer_id == "60054" and rng.random() < 0.15):
        coverages.append(_coverage(rng, MEDI_CAL, 2, False))
    first, last = rng.choice(FIRST), rng.choice(LAST)
    age = rng.randint(66, 88) if medicare else rng.randint(19, 63)
    birth = date(start.year - age, rng.randint(1, 12), rng.randint(1, 28))
    city, zip_code = rng.choice(CITIES)
    address = {"line1": f"{rng.randint(10, 4999)} {rng.choice(STREETS)}", "line2": None, "city": city,
               "state": "CA", "postal_code": zip_code}
    contact = "email" if rng.random() < 0.85 else "mail"
    email = f"{first.lower()}.{last.lower()}{i}@example.org"
    phone = f"+1510555{rng.randint(0, 9999):04d}"
    name = {"family": last, "given": first, "middle": None, "suffix": None}
    encounter_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if medicare and _qmb(encounter_id, dual=len(coverages) == 2):
        coverages[0]["qmb"] = True
    service_date = start - timedelta(days=(i // 3) + rng.randint(0, 2))
    diagnoses = rng.sample(specialty.diagnoses, k=min(len(specialty.diagnoses), rng.randint(1, 3)))
    error: DemoError | None = None
    if rng.random() < error_rate:
        error = rng.choice(("non_billable_icd", "pointer_out_of_range", "future_service_date"))
    if error == "non_billable_icd":
        diagnoses[0] = {"E119": "E11", "J020": "J02", "M5450": "M545"}.get(diagnoses[0], "E11")
        diagnoses = list(dict.fromkeys(diagnoses))
    encounter = {
        "source_system": SOURCE_SYSTEM, "source_encounter_id": encounter_id,
        "patient": {"name": name, "birth_date": birth.isoformat(), "sex": rng.choice("MF"), "address": address,
                    "email": email, "phone": phone, "contact_preference": contact,
                    "source_account_number": f"HAR{rng.randint(10**8, 10**9 - 1)}"},
        "guarantor": {"relationship_to_patient": "self", "name": name, "address": address, "email": email,
                      "phone": phone, "contact_preference": contact},
        "coverages": coverages, "billing_provider": BILLING_PROVIDER, "rendering_provider": rng.choice(RENDERING),
        "referring_provider": None, "facility": None, "place_of_service": specialty.place_of_service,
        "admission_date": None, "discharge_date": None, "diagnoses": diagnoses,
    }
    codes = [(rng.choice(specialty.visits), 1)] + [e for e in specialty.extras if rng.random() < 0.5]
    if error == "future_service_date":
        service_date = start + timedelta(days=30)
    events = [_validated(ENCOUNTER_REGISTERED, encounter)]
    charge_ids: list[str] = []
    for j, (code, units) in enumerate(codes, start=1):
        item = items[code]
        charge_id = f"chg-{encounter_id[:8]}-{j}"
        charge_ids.append(charge_id)
        pointers = list(range(1, min(len(diagnoses), 2) + 1)) if j == 1 else [rng.randint(1, len(diagnoses))]
        if error == "pointer_out_of_range" and j == 1:
            pointers = [len(diagnoses) + 1]
        charge: dict[str, Any] = {
            "source_system": SOURCE_SYSTEM, "source_charge_id": charge_id,
            "idempotency_key": f"{SOURCE_SYSTEM}:{charge_id}", "source_encounter_id": encounter_id,
            "service_date": service_date.isoformat(), "units": str(units), "diagnosis_pointers": pointers,
        }
        if rng.random() < 0.5:
            charge["chargemaster_code"] = item.cdm_code
        else:
            charge |= {"procedure_code": code, "modifiers": list(item.modifiers), "description": item.description,
                       "unit_price": f"{item.unit_price:.2f}", "amount": f"{item.unit_price * units:.2f}"}
        events.append(_validated(CHARGE_SUBMITTED, charge))
    closed_at = datetime.combine(min(service_date, start), time(17, 0), tzinfo=UTC) + timedelta(
        minutes=rng.randint(0, 120))
    events.append(_validated(ENCOUNTER_CLOSED, {
        "source_system": SOURCE_SYSTEM, "source_encounter_id": encounter_id,
        "closed_at": closed_at.isoformat().replace("+00:00", "Z"), "expected_source_charge_ids": charge_ids,
    }))
    return DemoEncounter(source_encounter_id=encounter_id, payer_id=plan.payer_id, specialty=specialty.name,
                         error=error, events=tuple(events))


def events(n: int, seed: int = 42, **kwargs: Any) -> list[DemoEvent]:
    """All events of ``generate`` in publishing order (encounter, charges, close)."""
    return [e for encounter in generate(n, seed, **kwargs) for e in encounter.events]
