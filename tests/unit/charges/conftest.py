from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.charges.domain import ChargeFacts, EncounterFacts, ReferenceData, shipped_reference

# Inside ICD-10-CM FY2026 (Oct 1 2025 - Sep 30 2026), so the shipped code set is authoritative.
TODAY = date(2026, 3, 16)
SERVICE_DAY = date(2026, 3, 2)
DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[3]

VALID_NPIS = ("1234567893", "1999999984", "1123456786")


def make_encounter(**changes: object) -> EncounterFacts:
    base = EncounterFacts(
        billing_npi="1234567893",
        place_of_service="11",
        diagnoses=("J020", "R509"),
        coverage_ranks=(1,),
        rendering_npi="1999999984",
        referring_npi=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def make_charge(**changes: object) -> ChargeFacts:
    base = ChargeFacts(
        service_date=SERVICE_DAY,
        units=Decimal("1"),
        diagnosis_pointers=(1,),
        procedure_code="99213",
        modifiers=("25",),
        unit_price=Decimal("150.00"),
        amount=Decimal("150.00"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    return shipped_reference()
