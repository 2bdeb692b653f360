"""The 837P loops payers' companion guides ask for: 2410 drug, 2310C facility, REF*X4/9F, CLM11
and DTP*439, SBR05 and AMT*EAF, 2420A/2420E line providers; exact text, pyx12, round trip."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from edi.validate import validate
from edi.x837 import read_837p, render_837p
from tests.unit.edi import samples as s
from tests.unit.edi.corpus import pyx12_counted as pyx12_clean
from tests.unit.edi.roundtrip import assert_round_trip

LINE_RENDERING: dict[str, Any] = {"last_name": "Nguyen", "first_name": "Bao", "npi": "1215121512",
                                  "taxonomy": "207P00000X"}
ORDERING: dict[str, Any] = {"last_name": "Okafor", "first_name": "Ada", "npi": "1326132614"}
FACILITY: dict[str, Any] = {
    "name": "Springfield General ER",
    "npi": "1548154818",
    "address": {"line1": "800 Hospital Dr", "city": "Springfield", "state": "IL", "zip": "627021234"},
}
DRUG_LINE = s.line(
    "J1885", "24.00", units="2", drug={"ndc": "00409123401", "quantity": "2", "unit": "UN"},
    rendering_provider=LINE_RENDERING,
)
LAB_LINE = s.line("85025", "18.00", ordering_provider=ORDERING, line_control_number="LLAB")

# Medicare is secondary (working aged, SBR05 12) behind a commercial plan that adjudicated by claim.
MSP_SECONDARY: dict[str, Any] = {
    "payer": {"name": "Medicare Part B", "id": "MCR01"},
    "payer_responsibility": "S",
    "claim_filing_indicator": "MB",
    "insurance_type": "12",
    "other_payers": [
        {
            "responsibility": "P",
            "relationship": "18",
            "claim_filing_indicator": "CI",
            "subscriber": {"last_name": "Doe", "first_name": "Jane"},
            "member_id": "EMP778899",
            "payer": {"name": "Acme Health", "id": "ACME01"},
            "paid_amount": "80.00",
            "adjustments": [
                {"group": "CO", "reason": "45", "amount": "60.00"},
                {"group": "PR", "reason": "1", "amount": "30.00"},
                {"group": "PR", "reason": "2", "amount": "22.00"},
            ],
            "adjudication_date": "2025-02-01",
            "remaining_patient_liability": "52.00",
        }
    ],
}


def full_claim(**extra: Any) -> dict[str, Any]:
    return s.claim(
        place_of_service="23",
        related_causes=["EM", "AA"],
        accident_state="IL",
        accident_date="2025-01-14",
        referral_number="REF-2025-9",
        prior_authorization="PA-77",
        clia_number="14D0123456",
        service_facility=FACILITY,
        lines=[s.line(), DRUG_LINE, LAB_LINE],
        **{**MSP_SECONDARY, **extra},
    )


def segments(text: str) -> list[str]:
    return text.split("~")


def test_every_new_loop_is_written_with_the_expected_text() -> None:
    segs = segments(render_837p(s.batch(full_claim())))
    assert "SBR*S*18*GRP100**12****MB" in segs  # 2000B SBR05: Medicare secondary payer type
    assert "CLM*C0001*192***23:B:1*Y*A*Y*Y**EM:AA::IL" in segs
    assert "DTP*439*D8*20250114" in segs
    claim_refs = [seg for seg in segs if seg[:6] in {"REF*9F", "REF*G1", "REF*X4"}]
    assert claim_refs == ["REF*9F*REF-2025-9", "REF*G1*PA-77", "REF*X4*14D0123456"]
    assert "NM1*77*2*Springfield General ER*****XX*1548154818" in segs
    facility = segs.index("NM1*77*2*Springfield General ER*****XX*1548154818")
    assert segs[facility + 1 : facility + 3] == ["N3*800 Hospital Dr", "N4*Springfield*IL*627021234"]
    assert "SBR*P*18*******CI" in segs
    assert "AMT*D*80" in segs and "AMT*EAF*52" in segs
    assert "LIN**N4*00409123401" in segs and "CTP****2*UN" in segs
    assert "NM1*82*1*Nguyen*Bao****XX*1215121512" in segs and "PRV*PE*PXC*207P00000X" in segs
    assert "NM1*DK*1*Okafor*Ada****XX*1326132614" in segs


def test_segments_follow_the_map_order() -> None:
    segs = segments(render_837p(s.batch(full_claim())))
    at = segs.index
    # 2300: DTP*439 right after CLM, then REF 9F < G1 < X4, HI, 2310C before 2320.
    assert at("CLM*C0001*192***23:B:1*Y*A*Y*Y**EM:AA::IL") + 1 == at("DTP*439*D8*20250114")
    assert at("DTP*439*D8*20250114") < at("REF*9F*REF-2025-9") < at("REF*G1*PA-77") < at("REF*X4*14D0123456")
    assert at("REF*X4*14D0123456") < at("HI*ABK:J020*ABF:R509") < at("NM1*77*2*Springfield General ER*****XX*"
                                                                      "1548154818") < at("SBR*P*18*******CI")
    # 2320: AMT*D then AMT*EAF before OI.
    assert at("AMT*D*80") + 1 == at("AMT*EAF*52") and at("AMT*EAF*52") + 1 == at("OI***Y***Y")
    # 2400: REF*6R, 2410 LIN/CTP, 2420A NM1*82/PRV.
    drug = at("LIN**N4*00409123401")
    assert segs[drug - 1] == "REF*6R*LJ1885" and segs[drug + 1] == "CTP****2*UN"
    assert segs[drug + 2 : drug + 4] == ["NM1*82*1*Nguyen*Bao****XX*1215121512", "PRV*PE*PXC*207P00000X"]
    assert segs[at("REF*6R*LLAB") + 1] == "NM1*DK*1*Okafor*Ada****XX*1326132614"


def line_level_tertiary() -> dict[str, Any]:
    """Medicaid third: a commercial primary and Medicare secondary (SBR05 47), both by line."""
    def adjudication(payer_id: str, paid: str, pr: str) -> dict[str, Any]:
        return {"payer_id": payer_id, "paid_amount": paid, "procedure_code": "J1885", "units": "2",
                "adjustments": [{"group": "PR", "reason": "2", "amount": pr}], "adjudication_date": "2025-02-01",
                "remaining_patient_liability": pr}

    other = {"relationship": "18", "subscriber": {"last_name": "Doe", "first_name": "Jane"}}
    return s.claim(
        payer={"name": "State Medicaid", "id": "MCD01"}, payer_responsibility="T", claim_filing_indicator="MC",
        other_payers=[
            {**other, "responsibility": "P", "claim_filing_indicator": "AM", "member_id": "AUTO1",
             "payer": {"name": "Auto Insurer", "id": "AUTO01"}, "paid_amount": "20.00"},
            {**other, "responsibility": "S", "claim_filing_indicator": "MB", "insurance_type": "47",
             "member_id": "1EG4TE5MK73", "payer": {"name": "Medicare Part B", "id": "MCR01"}, "paid_amount": "2.00"},
        ],
        lines=[{**DRUG_LINE, "charge": "24.00", "adjudications": [
            adjudication("AUTO01", "20.00", "4.00"), adjudication("MCR01", "2.00", "0")]}],
        related_causes=["OA"], accident_date="2025-01-10",
    )


def test_line_level_remaining_liability_and_other_payer_insurance_type() -> None:
    segs = segments(render_837p(s.batch(line_level_tertiary())))
    assert "SBR*S*18*******MB" not in segs and "SBR*S*18***47****MB" in segs
    assert "CLM*C0001*24***11:B:1*Y*A*Y*Y**OA" in segs and "DTP*439*D8*20250110" in segs
    svd = segs.index("SVD*AUTO01*20*HC:J1885**2")
    assert segs[svd + 1 : svd + 4] == ["CAS*PR*2*4", "DTP*573*D8*20250201", "AMT*EAF*4"]
    assert segs[segs.index("SVD*MCR01*2*HC:J1885**2") + 3] == "AMT*EAF*0"
    assert not any(seg.startswith("AMT*EAF") for seg in segs[: segs.index("LX*1")])


CASES = {"full": full_claim, "line_level_tertiary": line_level_tertiary,
         "facility_without_npi": lambda: s.claim(service_facility={**FACILITY, "npi": None})}


@pytest.mark.parametrize("name", sorted(CASES))
def test_new_loops_pass_pyx12_our_checks_and_round_trip(name: str) -> None:
    batch = s.batch(CASES[name]())
    text = render_837p(batch)
    assert pyx12_clean(text) == []
    assert validate(text) == []
    assert_round_trip(batch, read_837p(text))


def test_reader_fills_every_new_field() -> None:
    claim = read_837p(render_837p(s.batch(full_claim()))).claims[0]
    assert (claim.insurance_type, claim.related_causes, claim.accident_state) == ("12", ["EM", "AA"], "IL")
    assert (claim.referral_number, claim.clia_number, str(claim.accident_date)) == ("REF-2025-9", "14D0123456",
                                                                                   "2025-01-14")
    assert claim.service_facility is not None and claim.service_facility.address.zip == "627021234"
    assert claim.other_payers[0].remaining_patient_liability == 52
    drug_line, lab_line = claim.lines[1], claim.lines[2]
    assert drug_line.drug is not None and (drug_line.drug.ndc, drug_line.drug.unit) == ("00409123401", "UN")
    assert drug_line.rendering_provider is not None and drug_line.rendering_provider.taxonomy == "207P00000X"
    assert lab_line.ordering_provider is not None and lab_line.ordering_provider.npi == "1326132614"


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "auto_without_state": ({"related_causes": ["AA"], "accident_date": "2025-01-14"}, "accident_state"),
    "state_without_auto": ({"related_causes": ["EM"], "accident_state": "IL"}, "accident_state"),
    "other_without_date": ({"related_causes": ["OA"]}, "needs accident_date"),
    "date_without_cause": ({"accident_date": "2025-01-14"}, "needs related_causes"),
    "cause_repeated": ({"related_causes": ["EM", "EM"]}, "must not repeat"),
    "sbr05_on_primary": ({"claim_filing_indicator": "MB", "insurance_type": "12"}, "not primary"),
    "sbr05_on_commercial": ({"payer_responsibility": "S", "insurance_type": "12"}, "not primary"),
    "bad_clia": ({"clia_number": "14X0123456"}, "clia_number"),
    "bad_ndc": ({"lines": [s.line(drug={"ndc": "0409-1234-01", "quantity": "1", "unit": "UN"})]}, "ndc"),
    "eaf_on_both_levels": (
        {**line_level_tertiary(), "other_payers": [
            {**line_level_tertiary()["other_payers"][0], "remaining_patient_liability": "4.00"},
            line_level_tertiary()["other_payers"][1]]},
        "2320 AMT\\*EAF",
    ),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_model_rejects_inconsistent_new_fields(name: str) -> None:
    change, needle = INVALID[name]
    with pytest.raises(ValidationError, match=needle):
        s.batch(s.claim(**change))
