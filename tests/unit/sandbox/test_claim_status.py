"""The sandbox's claim status answers: 276 in, 277 (005010X212) out, from what the payers know;
silent claims' 835s withheld until a 276 asks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from edi.x12 import EnvelopeParams
from edi.x276 import Person, StatusInquiry, render_276
from edi.x277 import Status, read_277
from edi.x835 import read_835
from edi.x837 import render_837p
from edi.x999 import GroupAckCode, read_999
from sandbox.adjudication import SandboxState
from sandbox.clearinghouse_loop import Answer, Timing, answer_276, answer_837
from sandbox.payers import PayerConfigError, load_payers, parse_behaviour
from tests.unit.sandbox.support import NOW, batch, checked, claim, line

D = Decimal
# Aetna as deployed (its claim_status rules are the ones the e2e test hits) with the deductible
# met, so the claims pay something.
_DEPLOYED = load_payers()
PAYERS = {**_DEPLOYED, "60054": replace(_DEPLOYED["60054"], behaviour=replace(_DEPLOYED["60054"].behaviour,
                                                                               deductible=D(0)))}
AETNA = {"name": "Aetna", "id": "60054"}
LATER = datetime(2026, 3, 20, 10, 0)


def adjudicated() -> tuple[SandboxState, Answer]:
    """An Aetna batch: a paid claim, a denied one (72100 without authorization: CO-197), a silent
    member's and a slow member's (deploy/local/payers.yaml claim_status)."""
    state = SandboxState()
    text = render_837p_batch()
    return state, answer_837(text, "000000301", PAYERS, state, seed=42, now=NOW, timing=Timing(remit_delay_s=3))


def render_837p_batch() -> str:
    return render_837p(batch(
        claim("PAID1", "60054", line("99213", "150.00"), member="W123456789", payer=AETNA),
        claim("DENY1", "60054", line("72100", "180.00"), member="W123456788", payer=AETNA),
        claim("SILENT1", "60054", line("99213", "150.00"), member="W000000919", payer=AETNA),
        claim("SLOW1", "60054", line("99214", "210.00"), member="W000000929", payer=AETNA),
        icn=301,
    ))


def inquiry(pcn: str, member: str, charge: str, trace: str, payer_id: str = "60054",
            pccn: str | None = None) -> StatusInquiry:
    return StatusInquiry(
        trace_number=trace, payer_name="AETNA", payer_id=payer_id, provider_name="REVCYCLE COMMUNITY CLINIC",
        provider_npi="1234567893", receiver_name="REVCYCLE BILLING", receiver_id="REVCYCLE",
        subscriber=Person(last_name="RIVERA", first_name="ANA", member_id=member, birth_date=date(1970, 5, 6),
                          gender="F"),
        patient_control_number=pcn, payer_claim_control_number=pccn, total_charge=D(charge),
        service_date=date(2026, 2, 10))


def file_276(*inquiries: StatusInquiry, icn: int = 401) -> str:
    return render_276(inquiries, EnvelopeParams(sender_id="REVCYCLE", receiver_id="SANDBOXCH",
                                                interchange_control_number=icn, group_control_number=icn,
                                                created=LATER))


def ask(state: SandboxState, *inquiries: StatusInquiry, icn: int = 401) -> tuple[Answer, dict[str, Status]]:
    answer = answer_276(file_276(*inquiries, icn=icn), f"{icn:09d}", PAYERS, state, seed=42, now=LATER,
                        timing=Timing(remit_delay_s=3))
    (status_file,) = answer.acks
    assert (status_file.folder, status_file.name) == ("inbound/status", f"{icn:09d}.277")
    assert checked(status_file.text, "277") == []
    responses = read_277(status_file.text)
    assert [r.trace_number for r in responses] == [i.trace_number for i in inquiries]
    return answer, {r.patient_control_number: r.statuses[0] for r in responses}


def test_silent_and_slow_claims_are_adjudicated_but_their_835s_withheld() -> None:
    state, answer = adjudicated()
    remits = {f.name: f for f in answer.remits}
    assert sorted(remits) == ["000000301-60054-SILENT1.835", "000000301-60054-SLOW1.835", "000000301-60054.835"]
    assert [f.withheld for f in answer.remits] == [True, True, False]
    assert [c.patient_control_number for c in read_835(remits["000000301-60054.835"].text).claims] == [
        "PAID1", "DENY1"]
    silent = read_835(remits["000000301-60054-SILENT1.835"].text)
    assert [c.patient_control_number for c in silent.claims] == ["SILENT1"]
    assert silent.transactions[0].trace_number == "000000301600541W1"
    for f in answer.remits:
        assert checked(f.text, "835") == [], f.name
    marks = {r["pcn"]: (r.get("withheld"), r.get("pending_asks")) for r in state.claims.values()}
    assert marks == {"PAID1": (None, None), "DENY1": (None, None), "SILENT1": ("000000301-60054-SILENT1.835", 0),
                     "SLOW1": ("000000301-60054-SLOW1.835", 1)}


def test_answers_paid_denied_silent_slow_and_not_found_with_exact_stc() -> None:
    state, first = adjudicated()
    remits = {f.name: read_835(f.text) for f in first.remits}
    paid_835 = remits["000000301-60054.835"]
    answer, stc = ask(state, inquiry("PAID1", "W123456789", "150", "T1"), inquiry("DENY1", "W123456788", "180", "T2"),
                      inquiry("SILENT1", "W000000919", "150", "T3"), inquiry("SLOW1", "W000000929", "210", "T4"),
                      inquiry("NOPE1", "W123456789", "99.5", "T5"))
    day = date(2026, 3, 2)  # adjudicated (and the 835 dated) the day the 837 came in
    assert stc["PAID1"] == Status(category_code="F1", status_code="65", effective_date=day, total_charge=D("150.00"),
                                  paid_amount=D("66.40"), adjudication_date=day, payment_date=day,
                                  check_number="000000301600541")
    assert paid_835.claims[0].paid == D("66.40") and paid_835.transactions[0].trace_number == "000000301600541"
    assert stc["DENY1"] == Status(category_code="F2", status_code="107", effective_date=day, total_charge=D("180.00"),
                                  paid_amount=D("0.00"), adjudication_date=day, payment_date=day,
                                  check_number="000000301600541")
    assert stc["SILENT1"] == Status(category_code="F1", status_code="65", effective_date=day,
                                    total_charge=D("150.00"), paid_amount=D("66.40"), adjudication_date=day,
                                    payment_date=day, check_number="00000301600541W1")
    assert stc["SLOW1"] == Status(category_code="P1", status_code="20", effective_date=date(2026, 3, 20),
                                  total_charge=D("210.00"))
    assert stc["NOPE1"] == Status(category_code="A4", status_code="35", effective_date=date(2026, 3, 20),
                                  total_charge=D("99.5"))
    # Only the silent claim's 835 is released by this answer, after the remit delay.
    assert answer.release == [("000000301-60054-SILENT1.835", 3.0)]

    # The slow claim's second ask says paid and releases its 835; the silent one stays paid, released once.
    again, stc = ask(state, inquiry("SLOW1", "W000000929", "210", "T6"), inquiry("SILENT1", "W000000919", "150", "T7"),
                     icn=402)
    slow_paid = read_835(first.remits[1].text).claims[0].paid
    assert (stc["SLOW1"].category_code, stc["SLOW1"].status_code, stc["SLOW1"].paid_amount) == ("F1", "65", slow_paid)
    assert stc["SLOW1"].check_number == "00000301600541W2"
    assert (stc["SILENT1"].category_code, stc["SILENT1"].status_code) == ("F1", "65")
    assert again.release == [("000000301-60054-SLOW1.835", 3.0)]


def test_the_payer_claim_number_and_payer_decide_which_claim_is_meant() -> None:
    state, _ = adjudicated()
    pccn = next(k for k, r in state.claims.items() if r["pcn"] == "PAID1")
    _, stc = ask(state, inquiry("PAID1", "W123456789", "150", "T1", pccn=pccn),
                 inquiry("DENY1", "W123456788", "180", "T2", payer_id="94036"))
    assert (stc["PAID1"].category_code, stc["DENY1"].category_code) == ("F1", "A4")  # DENY1 is not Blue Shield's


def test_an_accepted_claim_not_adjudicated_yet_is_pending() -> None:
    state = SandboxState(issued={"26000000000001": "WAIT1"})
    _, stc = ask(state, inquiry("WAIT1", "W123456789", "150", "T1", pccn="26000000000001"))
    assert stc["WAIT1"] == Status(category_code="P1", status_code="20", effective_date=date(2026, 3, 20),
                                  total_charge=D(150))


def test_an_unreadable_276_gets_a_999_rejection_and_no_277() -> None:
    text = file_276(inquiry("PAID1", "W123456789", "150", "T1")).replace("AMT*T3*150~", "")
    answer = answer_276(text, "000000401", PAYERS, SandboxState(), seed=42, now=LATER)
    (ack,) = answer.acks
    assert (ack.folder, ack.name) == ("inbound/acks", "000000401.999")
    assert read_999(ack.text).group_code == GroupAckCode.REJECTED
    assert checked(ack.text, "999") == []
    garbled = answer_276("ISA*00*garbage~", "000000402", PAYERS, SandboxState(), seed=42, now=LATER)
    assert garbled.acks == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"silent_members": "W1"}, "sandbox.claim_status.silent_members must be a list of member ids or \\*suffixes"),
        ({"slow_members": ["W1"]}, "sandbox.claim_status.slow_members needs pending_asks of 1 or more"),
        ({"pending_asks": -1}, "sandbox.claim_status.pending_asks must be a whole number, 0 or more"),
        ({"silent": ["W1"]}, "unknown sandbox.claim_status keys: \\['silent'\\]"),
    ],
)
def test_claim_status_config_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(PayerConfigError, match=message):
        parse_behaviour({"claim_status": raw})


def test_member_suffix_rules() -> None:
    rules = parse_behaviour({"claim_status": {"silent_members": ["*919", "X1"], "slow_members": ["*929"],
                                              "pending_asks": 2}}).claim_status
    assert [rules.withheld_asks(m) for m in ("W000000919", "X1", "W000000929", "W123456789")] == [0, 0, 2, None]
