"""Builders for claims unit tests: the example encounter and posted charges."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from schemas import examples as ex
from schemas.common import EncounterDetails
from services.claims.domain.assembly import PostedCharge, assemble
from services.claims.domain.model import ClaimDraft
from services.claims.domain.payers import FeeRow, FeeSchedule

DOS = date(2026, 3, 2)
FEES = FeeSchedule([FeeRow("99213", "", Decimal("108.00"), date(2026, 1, 1)),
                    FeeRow("87880", "", Decimal("16.50"), date(2026, 1, 1))])


def encounter(**overrides: Any) -> EncounterDetails:
    return EncounterDetails.model_validate_json(json.dumps({**ex.ENCOUNTER, **overrides}))


def charge(n: int, code: str | None = "99213", **overrides: Any) -> PostedCharge:
    values: dict[str, Any] = {
        "charge_id": f"chg_{n:04d}", "procedure_code": code, "modifiers": [], "description": None,
        "revenue_code": None, "service_date": DOS, "service_end_date": None, "units": Decimal(1),
        "amount": Decimal("150.00"), "diagnosis_codes": ["J020"], "place_of_service": "11",
        "rendering_npi": None,
    }
    values.update(overrides)
    return PostedCharge(**values)


def facility(n: int, revenue_code: str, amount: str, code: str | None = None, **overrides: Any) -> PostedCharge:
    """A hospital's charge of the inpatient example, billed on the institutional claim."""
    return charge(n, code, revenue_code=revenue_code, amount=Decimal(amount), claim_type="institutional",
                  place_of_service="21", diagnosis_codes=["J189"], **overrides)


def draft(*charges: PostedCharge, rank: int = 1, **enc: Any) -> ClaimDraft:
    items = charges or (charge(1, modifiers=["25"], diagnosis_codes=["J020", "R509"]),
                        charge(2, "87880", modifiers=["QW"], amount=Decimal("35.00")))
    return assemble(encounter(**enc), ex.ENCOUNTER_ID, ex.PATIENT_ACCOUNT_ID, list(items), FEES, rank)[0]
