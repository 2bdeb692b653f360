"""A Medicare stay through real Kafka and Postgres: the coverage names Part A as its facility
payer, so the hospital's 837I goes to Part A while the hospitalist's 837P goes to the Part B
carrier (payer_id), each named as the payer master spells it."""

from __future__ import annotations

import pytest

from edi.validate import pyx12_validate, validate
from schemas import examples as ex
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.integration.test_claims_flow import outbound_text
from tests.integration.test_claims_institutional import post_stay, submitted_pair

pytestmark = pytest.mark.integration
MEDICARE = {"rank": 1, "payer_id": "01182", "payer_name": "Medicare", "member_id": "1EG4TE5MK73",
            "group_number": None, "relationship_to_subscriber": "18", "subscriber": None,
            "claim_filing_indicator": "MB", "prior_authorization_numbers": [], "facility_payer_id": "SAMPLEPARTA"}


async def test_a_medicare_stay_sends_the_837i_to_part_a_and_the_837p_to_part_b(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    medi_cal = {**ex.COVERAGES[1], "rank": 2}
    enc, _ = await post_stay(platform, [MEDICARE, medi_cal])
    prof, inst = await submitted_pair(platform, enc)
    assert prof["payer"] == {"payer_id": "01182", "payer_name": "Medicare Part B (Noridian JF)"}
    assert inst["payer"] == {"payer_id": "SAMPLEPARTA", "payer_name": "Medicare Part A (SAMPLE MAC)"}
    assert prof["next_payer"] == inst["next_payer"] == {"payer_id": "610442", "payer_name": "Medi-Cal",
                                                        "coverage_rank": 2}
    itext, ptext = await outbound_text(platform, inst), await outbound_text(platform, prof)
    assert pyx12_validate(itext) == [] and validate(itext) == []
    isegments, psegments = itext.split("~"), ptext.split("~")
    assert "NM1*PR*2*Medicare Part A (SAMPLE MAC)*****PI*SAMPLEPARTA" in isegments
    assert "NM1*PR*2*Medicare Part B (Noridian JF)*****PI*01182" in psegments
    assert not [s for s in psegments if "SAMPLEPARTA" in s]
