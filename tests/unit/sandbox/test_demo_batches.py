"""Demo encounters billed through the sandbox with the real payers: over a few batches every
behaviour shows up, and every file written passes pyx12 and balances."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from edi.x277ca import read_277ca
from edi.x835 import read_835
from edi.x837 import Claim, render_837p
from sandbox.adjudication import SandboxState
from sandbox.clearinghouse_loop import answer_837
from sandbox.demo_data import DemoEncounter, generate, read_chargemaster
from sandbox.payers import load_payers
from schemas.intake import ChargeSubmitted, EncounterRegistered
from tests.unit.sandbox.support import BILLING, NOW, batch, checked

PAYERS = load_payers()
CHARGEMASTER = {item.cdm_code: item for item in read_chargemaster().values()}


def to_claim(encounter: DemoEncounter, n: int) -> Claim:
    """A minimal stand-in for the claims service: one claim to the primary payer."""
    registered = encounter.events[0].event
    assert isinstance(registered, EncounterRegistered)
    primary = registered.coverages[0]
    patient = registered.patient
    lines: list[dict[str, Any]] = []
    for j, e in enumerate(encounter.events[1:-1], start=1):
        charge = e.event
        assert isinstance(charge, ChargeSubmitted)
        item = CHARGEMASTER.get(charge.chargemaster_code or "")
        code = charge.procedure_code or (item.procedure_code if item else "")
        modifiers = list(charge.modifiers) if charge.procedure_code else list(item.modifiers if item else ())
        price = charge.unit_price if charge.unit_price is not None else (item.unit_price if item else 0)
        lines.append({"procedure_code": code, "modifiers": modifiers, "charge": str(price * charge.units),
                      "units": str(charge.units), "diagnosis_pointers": charge.diagnosis_pointers,
                      "service_date": charge.service_date.isoformat(), "line_control_number": f"S{n}-{j}"})
    others = [{"responsibility": "S", "relationship": "18", "claim_filing_indicator": c.claim_filing_indicator,
               "subscriber": {"last_name": patient.name.family, "first_name": patient.name.given},
               "member_id": c.member_id, "payer": {"name": c.payer_name, "id": c.payer_id}}
              for c in registered.coverages[1:]]
    address = patient.address
    return Claim.model_validate({
        "submission_id": f"S{n:06d}", "billing_provider": BILLING,
        "subscriber": {"last_name": patient.name.family, "first_name": patient.name.given,
                       "member_id": primary.member_id,
                       "address": {"line1": address.line1, "city": address.city, "state": address.state,
                                   "zip": address.postal_code},
                       "birth_date": patient.birth_date.isoformat(), "gender": patient.sex},
        "payer": {"name": primary.payer_name, "id": primary.payer_id},
        "claim_filing_indicator": primary.claim_filing_indicator, "place_of_service": registered.place_of_service,
        "prior_authorization": primary.prior_authorization_numbers[0] if primary.prior_authorization_numbers else None,
        "diagnoses": registered.diagnoses, "lines": lines, "other_payers": others,
    })


def test_demo_batches_meet_every_behaviour_and_every_file_is_clean() -> None:
    encounters = [e for e in generate(90, seed=2, today=date(2026, 3, 2)) if e.error is None]
    claims = [to_claim(e, n) for n, e in enumerate(encounters, start=1)]
    state = SandboxState()
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    plb: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for b in range(3):
        chunk = claims[b * 30:(b + 1) * 30]
        answer = answer_837(render_837p(batch(*chunk, icn=500 + b)), f"{500 + b:09d}", PAYERS, state, seed=42,
                            now=NOW)
        for f in answer.acks + answer.remits:
            kind = f.name.rsplit(".", 1)[1]
            assert checked(f.text, kind) == [], f.name
            if kind == "277":
                categories.update(s.code.category for c in read_277ca(f.text).claims for s in c.statuses)
            if kind == "835":
                remittance = read_835(f.text)
                statuses.update(c.status.value for c in remittance.claims)
                reasons.update(f"{a.group.value}-{a.reason}" for c in remittance.claims for a in c.all_adjustments)
                plb.update(a.reason for t in remittance.transactions for a in t.provider_adjustments)
    assert {"1", "2", "19"} <= set(statuses)
    assert {"CO-45", "PR-1", "PR-2", "PR-3", "CO-253", "OA-23"} <= set(reasons)
    assert "PR-96" in reasons  # pulse oximetry Blue Shield does not cover (authorizations are all there)
    assert {"L6", "WO"} <= set(plb)
    assert categories["A2"] > 50
