"""Assembly (split, diagnoses, pointers, expected allowed) and the 837P it renders (pyx12-clean)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.validate import pyx12_validate
from schemas import examples as ex
from services.claims.domain.assembly import assemble, order_diagnoses, prior_payer_from_remit, secondary_draft
from services.claims.domain.payers import FeeSchedule
from services.claims.domain.x837 import Submission, build_claim, render_batch
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
    assert prior.adjudication_date == date.fromisoformat(remit["adjudication_date"])


def test_the_primary_claim_names_the_payers_still_to_come_without_amounts() -> None:
    text = render(draft(), Submission("S4", "1", "60054", "Aetna"))
    assert pyx12_validate(text) == []
    # Loop 2320 for Medi-Cal (rank 2): SBR*S with its member id, no AMT*D or CAS (nothing adjudicated yet).
    assert "SBR*P*18*GRP-0042" in text and "SBR*S*18*" in text and "NM1*PR*2*Medi-Cal*****PI*610442~" in text
    assert "AMT*D*" not in text and "CAS*" not in text
    single = render(draft(coverages=[ex.COVERAGES[0]]), Submission("S5", "1", "60054", "Aetna"))
    assert "SBR*S" not in single and pyx12_validate(single) == []
