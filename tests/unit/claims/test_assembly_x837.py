"""Assembly (split, diagnoses, pointers, expected allowed) and the 837P it renders (pyx12-clean)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.validate import pyx12_validate
from schemas import examples as ex
from schemas.common import Provider
from services.claims.domain.assembly import (
    PostedCharge,
    assemble,
    order_diagnoses,
    prior_payer_from_remit,
    secondary_draft,
)
from services.claims.domain.model import ClaimDraft
from services.claims.domain.payers import FeeSchedule
from services.claims.domain.x837 import build_claim, needs_clia, render_batch
from services.claims.domain.x837parts import Submission
from tests.support.testsvc import example
from tests.unit.claims.factory import FEES, charge, draft, encounter

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_diagnoses_follow_encounter_order_and_pointers_are_renumbered() -> None:
    enc = encounter(diagnoses=["R509", "J020", "Z0000"])
    charges = [charge(1, diagnosis_codes=["J020"]), charge(2, "87880", diagnosis_codes=["J020", "R509"])]
    [d] = assemble(enc, "enc_1", "PA-1", charges, FEES)
    assert d.diagnoses == ["R509", "J020"]  # Z0000 is pointed to by no line: left off
    assert [line.diagnosis_pointers for line in d.lines] == [[2], [2, 1]]
    assert order_diagnoses(["A000"], [charge(1, diagnosis_codes=["J020"])]) == ["J020"]


@settings(max_examples=10)
@given(st.integers(min_value=1, max_value=130))
def test_lines_split_into_claims_of_at_most_50(n: int) -> None:
    charges = [charge(i, amount=Decimal("10.00")) for i in range(n)]
    drafts = assemble(encounter(), "enc_1", "PA-1", charges, FeeSchedule())
    assert [len(d.lines) for d in drafts] == [min(50, n - i) for i in range(0, n, 50)]
    assert [line.charge_id for d in drafts for line in d.lines] == [c.charge_id for c in charges]


def test_expected_allowed_from_the_fee_schedule() -> None:
    d = draft(charge(1), charge(2, "99999"))
    assert [line.expected_allowed for line in d.lines] == [Decimal("108.00"), None]


def render(d, sub: Submission) -> str:  # type: ignore[no-untyped-def]
    return render_batch([build_claim(d, sub)], 42, NOW)


def test_original_replacement_and_void_are_pyx12_clean() -> None:
    d = draft()
    original = render(d, Submission("S1", "1", "60054", "Aetna"))
    assert pyx12_validate(original) == [] and "CLM*S1*185*" in original and "REF*6R*S1-1~" in original
    for freq in ("7", "8"):
        text = render(d, Submission(f"S{freq}", freq, "60054", "Aetna", "PCN123"))
        assert pyx12_validate(text) == [] and "REF*F8*PCN123~" in text and f"11:B:{freq}" in text


def test_dependent_patient_gets_a_patient_loop() -> None:
    cov = json.loads(json.dumps(ex.COVERAGES[0]))
    cov.update(relationship_to_subscriber="19", subscriber={
        "name": {"family": "Rivera", "given": "Luis"}, "birth_date": "1980-01-02", "sex": "M",
        "address": ex.PATIENT["address"]})
    d = draft(charge(1), coverages=[cov])
    text = render(d, Submission("S2", "1", "60054", "Aetna"))
    assert pyx12_validate(text) == [] and "PAT*19~" in text


def test_secondary_claim_carries_the_primary_adjudication() -> None:
    primary = draft()
    remit = json.loads(example("rcm.remittances.ClaimPaymentPosted.v1").model_dump_json())
    for i, line in enumerate(remit["lines"], start=1):
        line["line_control_number"] = f"S1-{i}"
    prior = prior_payer_from_remit(primary, remit, {"S1-1": primary.lines[0].charge_id,
                                                    "S1-2": primary.lines[1].charge_id})
    second = secondary_draft(primary, prior, FeeSchedule())
    assert second is not None and second.coverage_rank == 2 and second.coverage.payer_id == "610442"
    assert second.next_coverage() is None
    text = render(second, Submission("S3", "1", "610442", "Medi-Cal"))
    assert pyx12_validate(text) == []
    assert "SBR*S*18" in text and "SBR*P*18" in text and "AMT*D*74.5~" in text and text.count("SVD*60054*") == 2
    assert "DTP*573*D8*" in text and secondary_draft(second, prior, FeeSchedule()) is None
    # Remaining patient liability per adjudicated line (its PR adjustments), none at claim level.
    assert "AMT*EAF*40~" in text and "AMT*EAF*0~" in text and text.count("AMT*EAF*") == 2
    assert prior.adjudication_date == date.fromisoformat(remit["adjudication_date"])


def test_the_primary_claim_names_the_payers_still_to_come_without_amounts() -> None:
    text = render(draft(), Submission("S4", "1", "60054", "Aetna"))
    assert pyx12_validate(text) == []
    # Loop 2320 for Medi-Cal (rank 2): SBR*S with its member id, no AMT*D or CAS (nothing adjudicated yet).
    assert "SBR*P*18*GRP-0042" in text and "SBR*S*18*" in text and "NM1*PR*2*Medi-Cal*****PI*610442~" in text
    assert "AMT*D*" not in text and "CAS*" not in text
    single = render(draft(coverages=[ex.COVERAGES[0]]), Submission("S5", "1", "60054", "Aetna"))
    assert "SBR*S" not in single and pyx12_validate(single) == []


FACILITY = {"name": "Mission General ER", "npi": "1548154818",
            "address": {"line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA", "postal_code": "94110"}}
ORDERING = {"npi": "1326132614", "name": {"family": "Ito", "given": "Ken"}}
LINE_RENDERING = {"npi": "1215121512", "name": {"family": "Nguyen", "given": "Bao"}, "taxonomy": "207P00000X"}


def loops_draft(*charges: PostedCharge, **enc: Any) -> ClaimDraft:
    primary = {**ex.COVERAGES[0], "prior_authorization_numbers": ["PA-77"], "referral_number": "RF-9"}
    provider = {**ex.BILLING_PROVIDER, "clia_number": "05d0987654"}
    fields: dict[str, Any] = {
        "coverages": [primary], "billing_provider": provider, "facility": FACILITY, "place_of_service": "23",
        "referring_provider": {"npi": "1123456786", "name": {"family": "Lee", "given": "Ann"}},
        "accident": {"causes": ["auto"], "occurred_on": "2026-02-27", "state": "CA"}, **enc,
    }
    items = charges or (
        charge(1, "99284", place_of_service="23"),
        charge(2, "J1885", place_of_service="23", units=Decimal(2), amount=Decimal("24.00"), ndc="00409123401",
               ndc_quantity=Decimal(2), ndc_unit="ML", rendering_npi="1215121512",
               rendering_provider=Provider.model_validate(LINE_RENDERING)),
        charge(3, "85025", place_of_service="23", amount=Decimal("18.00"),
               ordering_provider=Provider.model_validate(ORDERING)),
    )
    return draft(*items, **fields)


def test_encounter_data_reaches_the_payer_loops() -> None:
    text = render(loops_draft(), Submission("S6", "1", "60054", "Aetna"))
    assert pyx12_validate(text) == []
    segs = text.split("~")
    assert "CLM*S6*192***23:B:1*Y*A*Y*Y**AA:::CA" in segs and "DTP*439*D8*20260227" in segs
    assert segs.index("REF*9F*RF-9") < segs.index("REF*G1*PA-77") < segs.index("REF*X4*05D0987654")
    assert "NM1*DN*1*Lee*Ann****XX*1123456786" in segs
    facility = segs.index("NM1*77*2*Mission General ER*****XX*1548154818")
    assert segs[facility + 1 : facility + 3] == ["N3*1001 Potrero Ave", "N4*San Francisco*CA*94110"]
    drug = segs.index("LIN**N4*00409123401")
    assert segs[drug - 1] == "REF*6R*S6-2" and segs[drug + 1] == "CTP****2*ML"
    assert segs[drug + 2 : drug + 4] == ["NM1*82*1*Nguyen*Bao****XX*1215121512", "PRV*PE*PXC*207P00000X"]
    assert segs[segs.index("REF*6R*S6-3") + 1] == "NM1*DK*1*Ito*Ken****XX*1326132614"
    assert text.count("NM1*82*") == 2  # the claim's rendering provider and line 2's own


def test_clia_goes_only_on_claims_with_laboratory_codes() -> None:
    office = render(loops_draft(charge(1)), Submission("S7", "1", "60054", "Aetna"))
    waived = render(loops_draft(charge(1, "G0481", modifiers=["QW"])), Submission("S8", "1", "60054", "Aetna"))
    assert "REF*X4*" not in office and "REF*X4*05D0987654~" in waived
    assert [needs_clia(code, mods) for code, mods in [("80053", []), ("89398", []), ("79999", []),
                                                      ("G0481", ["QW"]), ("J1885", [])]] == [
        True, True, False, True, False]


def test_no_facility_loop_at_the_billing_address_nor_accident_without_one() -> None:
    at_clinic = {**FACILITY, "address": {**ex.BILLING_PROVIDER["address"], "postal_code": "94115"}}
    text = render(loops_draft(charge(1), facility=at_clinic, accident=None), Submission("S9", "1", "60054", "Aetna"))
    assert "NM1*77*" not in text and "DTP*439*" not in text and "CLM*S9*150***23:B:1*Y*A*Y*Y~" in text


def test_line_rendering_provider_named_from_the_encounter_or_left_off() -> None:
    referring_npi = "1123456786"
    d = loops_draft(charge(1, rendering_npi=referring_npi), charge(2, rendering_npi="1999999984"),
                    charge(3, rendering_npi="1215121512"))
    lines = build_claim(d, Submission("S10", "1", "60054", "Aetna")).lines
    named = [line.rendering_provider.last_name if line.rendering_provider else None for line in lines]
    # By NPI alone: the referring provider's name is known; the claim's own NPI needs no 2420A;
    # an NPI nobody named cannot be written (NM103 is required).
    assert named == ["Lee", None, None]


def test_employment_accident_dated_only_on_workers_compensation() -> None:
    work = {"causes": ["employment"], "occurred_on": "2026-02-27"}
    wc = {**ex.COVERAGES[0], "claim_filing_indicator": "WC"}
    commercial = render(loops_draft(charge(1), accident=work), Submission("S11", "1", "60054", "Aetna"))
    comp = render(loops_draft(charge(1), accident=work, coverages=[wc]), Submission("S12", "1", "60054", "Aetna"))
    assert "**EM~" in commercial and "DTP*439*" not in commercial
    assert "DTP*439*D8*20260227~" in comp and pyx12_validate(comp) == []


def test_medicare_secondary_payer_type_and_claim_level_remaining_liability() -> None:
    medicare = {**ex.COVERAGES[1], "payer_id": "MCRB1", "payer_name": "Medicare B", "member_id": "1EG4TE5MK73",
                "claim_filing_indicator": "MB", "insurance_type_code": "12"}
    primary = draft(charge(1), coverages=[ex.COVERAGES[0], medicare])
    text = render(primary, Submission("S13", "1", "60054", "Aetna"))
    assert "SBR*S*18***12****MB~" in text and pyx12_validate(text) == []
    adjustments = [{"group": "CO", "reason_code": "45", "amount": "30.00"},
                   {"group": "PR", "reason_code": "1", "amount": "50.00"}]
    remit = {"total_paid": "70.00", "adjudication_date": "2026-03-20", "lines": [], "claim_adjustments": adjustments}
    second = secondary_draft(primary, prior_payer_from_remit(primary, remit, {}), FeeSchedule())
    assert second is not None
    text = render(second, Submission("S14", "1", "MCRB1", "Medicare B"))
    segs = text.split("~")
    assert pyx12_validate(text) == [] and "SBR*S*18***12****MB" in segs  # 2000B: Medicare is not primary
    assert segs[segs.index("AMT*D*70") + 1] == "AMT*EAF*50" and "DTP*573*D8*20260320" in segs
