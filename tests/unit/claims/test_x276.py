"""A claim -> its 276 inquiry and interchange (read back, structurally clean), and a 277 -> the
domain's answers (services/claims/domain/x276.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from edi import x276, x277
from edi.envelope import EnvelopeParams
from edi.validate import validate
from schemas import examples as ex
from schemas.common import PayerRef
from services.claims.domain import x276 as mapping
from services.claims.domain.claim import Claim
from services.claims.domain.claim_status import StatusAnswer, StatusLine
from services.claims.domain.model import ClaimDraft
from tests.unit.claims.factory import DOS, draft
from tests.unit.claims.test_institutional import ADMIT, DAY3, facility_draft

NOW = datetime(2026, 4, 20, 9, 0, tzinfo=UTC)


def sent(d: ClaimDraft, submission_id: str = "S01JNQ9A4XK7", pccn: str | None = None) -> Claim:
    claim = Claim.create(d, claim_id="clm_1", family_id="clf_1", origin="original", origin_claim_id=None,
                         revision=1, payer=PayerRef(payer_id="60054", payer_name="Aetna"), timely_filing_days=90,
                         now=NOW)
    claim.submission_id, claim.payer_claim_control_number = submission_id, pccn
    return claim


def test_a_professional_claim_of_the_subscriber_is_asked_about_by_its_submission() -> None:
    claim = sent(draft(), pccn="AE2026030200017")
    inquiry = mapping.inquiry(claim, "csr_01JNQ9")
    assert inquiry == x276.StatusInquiry(
        trace_number="csr_01JNQ9", payer_name="Aetna", payer_id="60054",
        provider_name="Mission Family Medical Group", provider_npi="1234567893",
        subscriber=x276.Person(last_name="Rivera", first_name="Ana", member_id="W123456789",
                               birth_date=date.fromisoformat(ex.ENCOUNTER["patient"]["birth_date"]),
                               gender=ex.ENCOUNTER["patient"]["sex"]),
        dependent=None, patient_control_number="S01JNQ9A4XK7", payer_claim_control_number="AE2026030200017",
        type_of_bill=None, total_charge=Decimal("185.00"), service_date=DOS, service_end_date=None,
        receiver_name="Revcycle Billing", receiver_id="REVCYCLE")
    text = mapping.render([inquiry], 42, NOW)
    assert validate(text) == []
    assert mapping.file_name(42) == "000000042.276"
    assert text.startswith("ISA*") and "~GS*HR*REVCYCLE*RCMCLEARINGHSE*20260420*0900*42*X*005010X212~" in text
    assert ("~NM1*41*2*Revcycle Billing*****46*REVCYCLE~HL*3*2*19*1~"
            "NM1*1P*2*Mission Family Medical Group*****XX*1234567893~HL*4*3*22*0~DMG*D8*19840612*F~"
            "NM1*IL*1*Rivera*Ana****MI*W123456789~TRN*1*csr_01JNQ9~REF*1K*AE2026030200017~REF*EJ*S01JNQ9A4XK7~"
            "AMT*T3*185~DTP*472*D8*20260302~SE*") in text
    assert x276.read_276(text) == [inquiry]


def test_a_dependent_is_asked_about_under_the_subscriber() -> None:
    coverage = {**ex.ENCOUNTER["coverages"][0], "relationship_to_subscriber": "19",
                "subscriber": {"name": {"family": "Rivera", "given": "Marco"}, "birth_date": "1979-05-04",
                               "sex": "M"}}
    inquiry = mapping.inquiry(sent(draft(coverages=[coverage])), "csr_2")
    assert inquiry.subscriber == x276.Person(last_name="Rivera", first_name="Marco", member_id="W123456789",
                                             birth_date=date(1979, 5, 4), gender="M")
    assert inquiry.dependent is not None and inquiry.dependent.first_name == "Ana"
    assert inquiry.dependent.member_id == ""
    assert validate(mapping.render([inquiry], 43, NOW)) == []


def test_an_institutional_claim_names_its_type_of_bill_and_its_days() -> None:
    inquiry = mapping.inquiry(sent(facility_draft()), "csr_3")
    assert (inquiry.type_of_bill, inquiry.service_date, inquiry.service_end_date) == ("111", ADMIT, DAY3)
    assert validate(mapping.render([inquiry], 44, NOW)) == []


def test_a_claim_never_queued_has_nothing_to_ask_about() -> None:
    claim = sent(draft())
    claim.submission_id = None
    with pytest.raises(ValueError, match="never queued"):
        mapping.inquiry(claim, "csr_4")


def test_a_277_gives_each_answer_with_its_stcs() -> None:
    subscriber = x277.Person(last_name="Rivera", first_name="Ana", member_id="W123456789")
    paid = x277.Status(category_code="F1", status_code="65", entity_code="PR", effective_date=date(2026, 4, 18),
                       total_charge=Decimal("185.00"), paid_amount=Decimal("141.20"),
                       adjudication_date=date(2026, 4, 15), payment_date=date(2026, 4, 18), check_number="EFT000451")
    text = x277.render_277([x277.StatusResponse(
        trace_number="csr_01JNQ9", payer_name="Aetna", payer_id="60054", receiver_name="Revcycle Billing",
        receiver_id="REVCYCLE", provider_name="Mission Family Medical Group", provider_npi="1234567893",
        subscriber=subscriber, patient_control_number="S01JNQ9A4XK7", payer_claim_control_number="AE2026030200017",
        service_date=DOS, statuses=(paid,))], EnvelopeParams(
            sender_id="RCMCLEARINGHSE", receiver_id="REVCYCLE", interchange_control_number=7, group_control_number=7,
            created=NOW))
    assert mapping.answers(text) == [StatusAnswer(
        trace_number="csr_01JNQ9", patient_control_number="S01JNQ9A4XK7",
        payer_claim_control_number="AE2026030200017",
        statuses=(StatusLine("F1", "65", "PR", date(2026, 4, 18), Decimal("185.00"), Decimal("141.20"),
                             date(2026, 4, 15), date(2026, 4, 18), "EFT000451"),))]
