"""A coverage's facility payer (Coverage.facility_payer_id): the institutional claim goes to it
(Medicare Part A) while the professional claim goes to payer_id (the Part B carrier), in the
claim's payer, its 837I 2010BB and 2330B/2430 loops, and ClaimSubmitted.next_payer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from edi.validate import pyx12_validate, validate
from schemas import claims as ev
from schemas import examples as ex
from schemas.charges import EncounterReadyToBill
from schemas.common import Coverage, EncounterDetails, PayerRef
from services.claims.domain.assembly import assemble, prior_payer_from_remit, secondary_draft
from services.claims.domain.claim import Claim
from services.claims.domain.model import ClaimDraft, billed_payer, billed_payer_ids
from services.claims.domain.payers import PayerConfig
from services.claims.domain.x837i import build_claim, render_batch
from services.claims.domain.x837parts import Submission
from services.claims.service.assembly import assemble_encounter, ready_to_bill
from services.claims.store import EncounterRow
from tests.unit.claims.factory import FEES
from tests.unit.claims.fake_store import NOW as LATER
from tests.unit.claims.fake_store import FakeClaimsStore
from tests.unit.claims.test_institutional import NOW, STAY_CHARGES, facility_draft, stored_stay

PART_B: dict[str, Any] = {
    "payer_id": "01182", "payer_name": "Medicare", "member_id": "1EG4TE5MK73", "group_number": None,
    "relationship_to_subscriber": "18", "subscriber": None, "claim_filing_indicator": "MB",
    "prior_authorization_numbers": [], "facility_payer_id": "SAMPLEPARTA", "facility_payer_name": "Part A",
}
PART_A_NAME = "Medicare Part A (SAMPLE MAC)"


def _stay(coverages: list[dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = json.loads(json.dumps(ex.INPATIENT_ENCOUNTER))
    values["coverages"] = coverages
    return values


def medicare_primary() -> dict[str, Any]:
    """The inpatient example stay of a Medicare patient with Medi-Cal second."""
    return _stay([{**PART_B, "rank": 1}, {**ex.INPATIENT_ENCOUNTER["coverages"][1], "rank": 2}])


def medicare_secondary() -> EncounterDetails:
    """Aetna first, Medicare second (Medicare secondary payer)."""
    coverages = [ex.INPATIENT_ENCOUNTER["coverages"][0], {**PART_B, "rank": 2}]
    return EncounterDetails.model_validate_json(json.dumps(_stay(coverages)))


def test_only_an_institutional_claim_goes_to_the_facility_payer() -> None:
    cov = Coverage.model_validate({**PART_B, "rank": 1})
    assert billed_payer(cov, "institutional") == ("SAMPLEPARTA", "Part A")
    assert billed_payer(cov, "professional") == ("01182", "Medicare")
    unnamed = cov.model_copy(update={"facility_payer_name": None})
    assert billed_payer(unnamed, "institutional") == ("SAMPLEPARTA", "Medicare")
    plain = cov.model_copy(update={"facility_payer_id": None, "facility_payer_name": None})
    assert billed_payer(plain, "institutional") == ("01182", "Medicare")
    assert [billed_payer_ids(cov, "both"), billed_payer_ids(cov, "institutional"),
            billed_payer_ids(cov, "professional"), billed_payer_ids(plain, "both")] == [
        ["01182", "SAMPLEPARTA"], ["SAMPLEPARTA"], ["01182"], ["01182"]]


def medicare_store(part_a_hold_days: int = 0) -> FakeClaimsStore:
    db = FakeClaimsStore()
    db.payers |= {"01182": PayerConfig("01182", "Medicare Part B (Noridian JF)", "MB", 0, 365, 30),
                  "SAMPLEPARTA": PayerConfig("SAMPLEPARTA", PART_A_NAME, "MA", part_a_hold_days, 365, 30)}
    return db


async def test_a_medicare_stay_bills_part_a_for_the_facility_and_part_b_for_the_physician() -> None:
    db = medicare_store()
    stored_stay(db, "enc_mcr", medicare_primary())
    assert await assemble_encounter(db, "enc_mcr", LATER) == 2
    # The payer master's name wins over the coverage's.
    assert {c.draft.claim_type: (c.payer_id, c.payer_name, c.state) for c in db.claims.values()} == {
        "professional": ("01182", "Medicare Part B (Noridian JF)", "ready"),
        "institutional": ("SAMPLEPARTA", PART_A_NAME, "ready")}


class _HoldingStore(FakeClaimsStore):
    """Records when a release is due for assembly (and stores nothing)."""

    due: datetime | None = None

    async def save_encounter(self, ready: EncounterReadyToBill, released_at: datetime,
                             assemble_after: datetime) -> EncounterRow | None:
        self.due = assemble_after
        return None


async def test_the_bill_hold_is_the_longest_of_the_payers_the_claims_go_to() -> None:
    payers = medicare_store(part_a_hold_days=3).payers
    for bills, days in (("both", 3), ("institutional", 3), ("professional", 0)):
        db = _HoldingStore()
        db.payers = payers
        await ready_to_bill(db, stored_stay(FakeClaimsStore(), "enc_hold", {**medicare_primary(), "bills": bills}),
                            LATER)
        assert db.due == LATER + timedelta(days=days), bills


def test_the_837i_to_medi_cal_after_part_a_names_part_a_in_2330b_and_2430() -> None:
    primary = facility_draft(EncounterDetails.model_validate_json(json.dumps(medicare_primary())))
    remit = {"total_paid": "4000.00", "adjudication_date": "2026-04-01", "claim_adjustments": [], "lines": [
        {"line_control_number": "S1-1", "procedure_code": "99999", "paid": "3900.00", "units_paid": "3",
         "adjustments": [{"group": "CO", "reason_code": "45", "amount": "1650.00"}]}]}
    second = secondary_draft(primary, prior_payer_from_remit(primary, remit, {"S1-1": "chg_0001"}), FEES)
    assert second is not None
    text = render_batch([build_claim(second, Submission("S9", "1", "610442", "Medi-Cal"))], 11, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    segments = text.split("~")
    assert "NM1*PR*2*Medi-Cal*****PI*610442" in segments  # 2010BB: this claim's payer
    assert "NM1*PR*2*Part A*****PI*SAMPLEPARTA" in segments and "NM1*PR*2*Medicare*****PI*01182" not in segments
    assert "SVD*SAMPLEPARTA*3900**0120*3" in segments


def _submitted(draft: ClaimDraft) -> ev.ClaimSubmitted:
    claim = Claim.create(draft, claim_id="clm_msp", family_id="clf_msp", origin="original", origin_claim_id=None,
                         revision=1, payer=PayerRef(payer_id="60054", payer_name="Aetna"), timely_filing_days=365,
                         now=NOW)
    claim.pass_scrub("S1", NOW)
    return claim.submit(ev.InterchangeControl(interchange_control_number="000000043", group_control_number="43",
                                              transaction_set_control_number="0001"), None, 30, NOW)


def test_aetna_first_then_medicare_the_facility_claim_names_part_a_as_the_payer_to_come() -> None:
    drafts = assemble(medicare_secondary(), ex.INPATIENT_ENCOUNTER_ID, ex.PATIENT_ACCOUNT_ID, STAY_CHARGES, FEES)
    professional, institutional = drafts
    assert (professional.claim_type, institutional.claim_type) == ("professional", "institutional")
    assert _submitted(institutional).next_payer == ev.NextPayer(payer_id="SAMPLEPARTA", payer_name="Part A",
                                                                coverage_rank=2)
    assert _submitted(professional).next_payer == ev.NextPayer(payer_id="01182", payer_name="Medicare",
                                                               coverage_rank=2)
    text = render_batch([build_claim(institutional, Submission("S1", "1", "60054", "Aetna"))], 12, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    segments = text.split("~")
    assert "NM1*PR*2*Aetna*****PI*60054" in segments and "NM1*PR*2*Part A*****PI*SAMPLEPARTA" in segments
