"""answer_837: the 999, 277CA and 835s for one outbound file, with the payers of payers.yaml.
Every file produced here goes through pyx12 and (835s) balancing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from edi.ta1 import read_ta1
from edi.x277ca import read_277ca
from edi.x835 import ClaimStatus, read_835
from edi.x837 import Claim, render_837p
from edi.x837i import render_837i
from edi.x999 import AckCode, GroupAckCode, read_999
from sandbox.adjudication import SandboxState
from sandbox.clearinghouse_loop import Answer, OutFile, Timing, answer_837
from sandbox.payers import load_payers
from tests.unit.sandbox.support import (
    NOW,
    batch,
    checked,
    claim,
    institutional_batch,
    institutional_claim,
    line,
    rev_line,
)

D = Decimal
PAYERS = load_payers()
MEDI_CAL = {"responsibility": "S", "relationship": "18", "claim_filing_indicator": "MC",
            "subscriber": {"last_name": "Rivera", "first_name": "Ana"}, "member_id": "91234567A",
            "payer": {"name": "Medi-Cal", "id": "610442"}}


def mixed_batch(icn: int = 101) -> str:
    claims = [
        claim("AET1", "60054", line("99213", "150.00"), line("36415", "12.00", n=2), member="W123456789",
              payer={"name": "Aetna", "id": "60054"}),
        claim("BSC1", "94036", line("99214", "210.00"), member="ABC123456789", claim_filing_indicator="BL",
              payer={"name": "Blue Shield", "id": "94036"}),
        claim("MCR1", "01182", line("99213", "150.00"), line("80053", "48.00", n=2), member="1EG4TE5MK73",
              claim_filing_indicator="MB", payer={"name": "Medicare", "id": "01182"}, other_payers=[MEDI_CAL],
              clia_number="05D0987654"),
        claim("AETBAD", "60054", line("99213", "150.00"), member="12345", payer={"name": "Aetna", "id": "60054"}),
    ]
    return render_837p(batch(*claims, icn=icn))


def by_name(answer: Answer) -> dict[str, OutFile]:
    return {f.name: f for f in answer.acks + answer.remits}


def test_a_good_batch_gets_999_277ca_and_one_835_per_payer_all_valid() -> None:
    state = SandboxState()
    answer = answer_837(mixed_batch(), "000000101", PAYERS, state, seed=42, now=NOW, timing=Timing(remit_delay_s=3))
    files = by_name(answer)
    assert sorted(files) == ["000000101-01182.835", "000000101-60054.835", "000000101-610442-crossover.835",
                             "000000101-94036.835", "000000101.277", "000000101.999"]
    for f in files.values():
        assert checked(f.text, f.name.rsplit(".", 1)[1]) == [], f.name
    ack = read_999(files["000000101.999"].text)
    assert ack.group_code == GroupAckCode.ACCEPTED and ack.accepted_count == 1
    acks = {c.patient_control_number: c for c in read_277ca(files["000000101.277"].text).claims}
    assert {k: c.outcome for k, c in acks.items()} == {"AET1": "accepted", "BSC1": "accepted", "MCR1": "accepted",
                                                       "AETBAD": "rejected"}
    assert acks["AETBAD"].statuses[0].code.category == "A7"
    aetna = read_835(files["000000101-60054.835"].text).claims
    assert [c.patient_control_number for c in aetna] == ["AET1"]
    assert aetna[0].payer_claim_control_number == acks["AET1"].payer_claim_control_number
    assert [s.line_control_number for s in aetna[0].service_lines] == ["LN1-99213", "LN2-36415"]
    blue = read_835(files["000000101-94036.835"].text).claims[0]
    contracted = PAYERS["94036"].contracted_rate("99214", ())
    assert contracted is not None
    assert blue.service_lines[0].allowed == (contracted * D("0.92")).quantize(D("0.01"))  # 8% below contract
    medicare = read_835(files["000000101-01182.835"].text).claims[0]
    assert medicare.status == ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED
    assert any(a.reason == "1" for a in medicare.all_adjustments)  # the Part B deductible
    secondary = read_835(files["000000101-610442-crossover.835"].text).claims[0]
    assert secondary.status == ClaimStatus.PROCESSED_AS_SECONDARY and secondary.patient_control_number == "MCR1"
    assert files["000000101-610442-crossover.835"].delay_s > files["000000101-01182.835"].delay_s == 3


def test_a_claim_total_error_rejects_the_transaction_set_with_ik3_ik4_and_no_277() -> None:
    text = render_837p(batch(claim("C1", "60054", member="W123456789")))
    broken = text.replace("CLM*C1*150*", "CLM*C1*151*")
    assert broken != text
    answer = answer_837(broken, "bad", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.name for f in answer.acks] == ["bad.999"] and answer.remits == []
    assert checked(answer.acks[0].text, "999") == []
    ack = read_999(answer.acks[0].text)
    (ts,) = ack.transaction_sets
    assert ts.code == AckCode.REJECTED and ack.group_code == GroupAckCode.REJECTED
    (error,) = ts.segment_errors
    assert error.segment_id == "CLM" and error.code == "8"
    assert error.element_errors[0].position == 2


def test_one_bad_set_of_two_partially_accepts_and_acknowledges_only_the_good_claims() -> None:
    good = claim("G1", "60054", member="W123456789")
    bad = claim("B1", "60054", member="W123456789", lines=[line("99213", "150.00", service_date="2026-02-12")])
    text = render_837p(batch(good, bad), max_claims_per_transaction=1)
    broken = text.replace("CLM*B1*150*", "CLM*B1*1*")
    answer = answer_837(broken, "two", PAYERS, SandboxState(), seed=42, now=NOW)
    files = by_name(answer)
    ack = read_999(files["two.999"].text)
    assert ack.group_code == GroupAckCode.PARTIALLY_ACCEPTED
    assert [t.code for t in ack.transaction_sets] == [AckCode.ACCEPTED, AckCode.REJECTED]
    assert [c.patient_control_number for c in read_277ca(files["two.277"].text).claims] == ["G1"]
    for f in files.values():
        assert checked(f.text, f.name.rsplit(".", 1)[1]) == [], f.name


def test_an_envelope_error_rejects_every_set_with_a_syntax_code() -> None:
    text = render_837p(batch(claim("C1", "60054", member="W123456789")))
    se_start = text.index("SE*")
    count = text[se_start + 3:text.index("*", se_start + 3)]
    broken = text.replace(f"SE*{count}*", f"SE*{int(count) + 5}*")
    answer = answer_837(broken, "env", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.name for f in answer.acks] == ["env.999"]
    assert checked(answer.acks[0].text, "999") == []
    (ts,) = read_999(answer.acks[0].text).transaction_sets
    assert ts.code == AckCode.REJECTED and ts.syntax_error_codes == ("4",)


@pytest.mark.parametrize("text", ["", "not x12 at all", "ISA*00*bad~"])
def test_unreadable_files_get_no_answer(text: str) -> None:
    assert answer_837(text, "junk", PAYERS, SandboxState(), seed=42, now=NOW).acks == []


def test_an_interchange_with_nothing_to_acknowledge_gets_a_ta1_rejection() -> None:
    text = render_837p(batch(claim("C1", "60054", member="W123456789"), icn=321))
    garbled = text[: text.index("~GS*") + 1] + "GARBAGE~"  # the ISA reads, nothing after it does
    answer = answer_837(garbled, "bad", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.name for f in answer.acks] == ["bad.ta1"]
    [ack] = read_ta1(answer.acks[0].text)
    assert (ack.control_number, ack.reason) == ("000000321", "TA1 R 024: Invalid Interchange Content")
    assert checked(answer.acks[0].text, "ta1") == []


def test_a_requested_ta1_comes_before_the_999() -> None:
    text = render_837p(batch(claim("C1", "60054", member="W123456789"), icn=322))
    asking = text[:text.index("~")].rsplit("*0*T*", 1)[0] + "*1*T*" + text[text.index("~") - 1:]
    answer = answer_837(asking, "ask", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.name for f in answer.acks] == ["ask.ta1", "ask.999", "ask.277"]
    [ack] = read_ta1(answer.acks[0].text)
    assert (ack.control_number, ack.code.value, ack.note_code) == ("000000322", "A", "000")


def test_same_file_same_seed_same_answer() -> None:
    first = answer_837(mixed_batch(), "f", PAYERS, SandboxState(), seed=42, now=NOW)
    second = answer_837(mixed_batch(), "f", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.text for f in first.acks + first.remits] == [f.text for f in second.acks + second.remits]


def test_a_claim_with_every_companion_guide_loop_is_read_and_adjudicated() -> None:
    ordering = {"last_name": "Ito", "first_name": "Ken", "npi": "1326132614"}
    rendering = {"last_name": "Nguyen", "first_name": "Bao", "npi": "1215121512"}
    full = claim(
        "MCDFULL", "610442",
        line("99284", "310.00"),
        line("J1030", "12.00", n=2, drug={"ndc": "00009307301", "quantity": "1", "unit": "ML"},
             rendering_provider=rendering),
        line("85025", "18.00", n=3, ordering_provider=ordering),
        member="91234567A", claim_filing_indicator="MC", payer={"name": "Medi-Cal", "id": "610442"},
        place_of_service="23", related_causes=["AA"], accident_state="CA", accident_date="2026-02-09",
        referral_number="RF-9", prior_authorization="PA-77", clia_number="05D0987654",
        service_facility={"name": "Mission General ER",
                          "address": {"line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA",
                                      "zip": "941101234"}},
    )
    answer = answer_837(render_837p(batch(full, icn=131)), "000000131", PAYERS, SandboxState(), seed=7, now=NOW,
                        timing=Timing(remit_delay_s=3))
    files = by_name(answer)
    assert read_999(files["000000131.999"].text).group_code == GroupAckCode.ACCEPTED
    assert [c.outcome for c in read_277ca(files["000000131.277"].text).claims] == ["accepted"]
    [remit] = read_835(files["000000131-610442.835"].text).claims
    assert remit.patient_control_number == "MCDFULL" and len(remit.service_lines) == 3
    for f in files.values():
        assert checked(f.text, f.name.rsplit(".", 1)[1]) == [], f.name


def _front_end(*claims: Claim) -> dict[str, tuple[str, str]]:
    """CLM01 -> (STC01 of the 277CA, its STC12 message)."""
    answer = answer_837(render_837p(batch(*claims, icn=141)), "000000141", PAYERS, SandboxState(), seed=7, now=NOW)
    files = by_name(answer)
    ack = files["000000141.277"].text
    assert checked(ack, "277") == []
    return {c.patient_control_number: (":".join(x for x in (c.primary_status.category, c.primary_status.status,
                                                            c.primary_status.entity) if x), c.statuses[0].message)
            for c in read_277ca(ack).claims}


MEDICAID: dict[str, Any] = {"member": "91234567A", "claim_filing_indicator": "MC",
                            "payer": {"name": "Medi-Cal", "id": "610442"}}
DRUG = {"ndc": "00009307301", "quantity": "1", "unit": "ML"}


def test_medicaid_rejects_a_drug_line_without_its_ndc_with_218() -> None:
    answers = _front_end(
        claim("NDCNO", "610442", line("99213", "150.00"), line("J1030", "12.00", n=2), **MEDICAID),
        claim("NDCYES", "610442", line("99213", "150.00"), line("J1030", "12.00", n=2, drug=DRUG), **MEDICAID),
        claim("AETDRUG", "60054", line("99213", "150.00"), line("J1030", "12.00", n=2), member="W123456789",
              payer={"name": "Aetna", "id": "60054"}),
    )
    assert answers["NDCNO"] == ("A7:218", "NDC REQUIRED ON DRUG LINES (2410 LIN)")
    assert answers["NDCYES"][0].startswith("A2") and answers["AETDRUG"][0].startswith("A2")  # Aetna does not check


def test_medicare_rejects_a_lab_claim_without_clia_with_21_for_the_billing_provider() -> None:
    medicare: dict[str, Any] = {"member": "1EG4TE5MK73", "claim_filing_indicator": "MB",
                                "payer": {"name": "Medicare", "id": "01182"}}
    answers = _front_end(
        claim("LABNO", "01182", line("99213", "150.00"), line("80053", "48.00", n=2), **medicare),
        claim("WAIVEDNO", "01182", line("87880", "30.00", modifiers=["QW"]), **medicare),
        claim("LABYES", "01182", line("80053", "48.00"), clia_number="05D0987654", **medicare),
        claim("DRAWONLY", "01182", line("36415", "12.00"), **medicare),  # venipuncture is not a lab test
    )
    missing = ("A7:21:85", "CLIA NUMBER REQUIRED FOR LABORATORY SERVICES (2300 REF X4)")
    assert answers["LABNO"] == answers["WAIVEDNO"] == missing
    assert answers["LABYES"][0].startswith("A2") and answers["DRAWONLY"][0].startswith("A2")


def test_the_claims_service_reads_the_ndc_rejection_in_words() -> None:
    from services.claims.domain.acks import claim_reason

    answer = answer_837(render_837p(batch(claim("NDCNO", "610442", line("J1030", "12.00"), **MEDICAID), icn=142)),
                        "000000142", PAYERS, SandboxState(), seed=7, now=NOW)
    [ack] = read_277ca(by_name(answer)["000000142.277"].text).claims
    assert claim_reason(ack) == "rejected for invalid information: NDC number; NDC REQUIRED ON DRUG LINES (2410 LIN)"


def test_an_837i_is_acknowledged_as_x223_and_adjudicated_by_its_type_of_bill() -> None:
    stay = institutional_claim("AETI1", "60054", rev_line("0120", "6000.00", 1, units="3", unit_code="DA"),
                               rev_line("0250", "6000.00", 2), member="W123456789",
                               payer={"name": "Aetna", "id": "60054"})
    text = render_837i(institutional_batch(stay, icn=401))
    answer = answer_837(text, "000000401", PAYERS, SandboxState(), seed=42, now=NOW)
    files = by_name(answer)
    assert sorted(files) == ["000000401-60054.835", "000000401.277", "000000401.999"]
    for f in files.values():
        assert checked(f.text, f.name.rsplit(".", 1)[1]) == [], f.name
    ack = read_999(files["000000401.999"].text).transaction_sets[0]
    assert (ack.set_id, ack.implementation, ack.code) == ("837", "005010X223A2", AckCode.ACCEPTED)
    status = read_277ca(files["000000401.277"].text).claims[0]
    assert (status.patient_control_number, status.outcome) == ("AETI1", "accepted")
    assert (status.service_from, status.service_to) == (date(2026, 2, 7), date(2026, 2, 10))
    paid = read_835(files["000000401-60054.835"].text).claims[0]
    assert (paid.drg_code, paid.paid, paid.facility_code) == ("194", D("4668.80"), "11")


def test_an_837_of_an_unknown_implementation_is_rejected_i6() -> None:
    text = render_837i(institutional_batch(institutional_claim("X1", "60054", member="W123456789"), icn=402))
    answer = answer_837(text.replace("005010X223A2", "005010X299A1"), "000000402", PAYERS, SandboxState(), seed=42,
                        now=NOW)
    assert [f.name for f in answer.acks] == ["000000402.999"] and answer.remits == []
    assert checked(answer.acks[0].text, "999") == []
    ack = read_999(answer.acks[0].text)
    assert ack.group_code == GroupAckCode.REJECTED
    assert (ack.transaction_sets[0].code, ack.transaction_sets[0].syntax_error_codes) == (AckCode.REJECTED, ("I6",))


@pytest.mark.parametrize(("find", "replace", "segment", "element"), [  # element: the IK4 position
    ("CLM*X1*850*", "CLM*X1*851*", "CLM", 2),  # CLM02 is not the sum of the SV203s (our 837I checks)
    ("DTP*434*RD8*20260210-20260210", "DTP*434*RD8*20260210-20260209", "DTP", 3),  # statement period reversed
])
def test_an_837i_with_an_error_is_rejected_with_ik3_like_an_837p(find: str, replace: str, segment: str,
                                                                  element: int) -> None:
    text = render_837i(institutional_batch(institutional_claim("X1", "60054", member="W123456789",
                                                               type_of_bill="13"), icn=403))
    broken = text.replace(find, replace)
    assert broken != text
    answer = answer_837(broken, "bad", PAYERS, SandboxState(), seed=42, now=NOW)
    assert [f.name for f in answer.acks] == ["bad.999"] and answer.remits == []
    assert checked(answer.acks[0].text, "999") == []
    (ts,) = read_999(answer.acks[0].text).transaction_sets
    assert (ts.code, ts.implementation) == (AckCode.REJECTED, "005010X223A2")
    (error,) = ts.segment_errors
    assert error.segment_id == segment and error.code == "8"
    assert [e.position for e in error.element_errors] == [element]
