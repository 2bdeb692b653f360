"""The sandbox loop over a real clearinghouse folder answers 270s: a 271 in inbound/eligibility/
after the acknowledgment delay, whose deductible the 835 of the next claim then bears out, and a
999 R for a 270 it cannot read. Needs no Kafka or Postgres."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from edi.validate import validate
from edi.x12 import EnvelopeParams
from edi.x270 import Inquiry, Person, render_270
from edi.x271 import BenefitInfo, read_271
from edi.x835 import AdjustmentGroup, read_835
from edi.x837 import render_837p
from edi.x999 import AckCode, read_999
from tests.integration.test_sandbox_loop import Clocks, names, sandbox
from tests.unit.sandbox.support import batch, claim, line

D = Decimal
MEMBER = "W123456789"


def inquiry(trace: str, member_id: str = MEMBER) -> Inquiry:
    return Inquiry(trace_number=trace, payer_name="Aetna", payer_id="60054", provider_name="Revcycle Community Clinic",
                   provider_npi="1234567893", subscriber=Person("RIVERA", "ANA", member_id, date(1970, 5, 6), "F"),
                   service_date=date(2026, 2, 10))


def envelope(icn: int) -> EnvelopeParams:
    return EnvelopeParams(sender_id="REVCYCLE", receiver_id="SANDBOXCH", interchange_control_number=icn,
                          group_control_number=icn, created=datetime(2026, 3, 2, 8, 0))


def amount(benefits: tuple[BenefitInfo, ...], code: str, period: str, procedure: str = "") -> Decimal:
    [found] = [b.amount for b in benefits if (b.code, b.time_period, b.procedure_code) == (code, period, procedure)]
    assert found is not None
    return found


async def test_loop_answers_270s_and_the_835_bears_the_271_out(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    box.state.deductible_met[f"60054|{MEMBER}"] = D("450.00")  # earlier claims this year
    ch = tmp_path / "clearinghouse"
    await box.exchange.write("outbound", "000000401.270",
                             render_270([inquiry("ENC-1"), inquiry("ENC-2", "W123450000"),
                                         inquiry("ENC-3", "W123450001")], envelope(401)).encode())
    assert await box.poll_once() == 0  # the acknowledgment delay has not passed
    clocks.advance(1)
    assert await box.poll_once() == 1
    assert names(ch, "inbound/eligibility") == ["000000401.271"]
    assert names(ch, "inbound/acks") == [] and names(ch, "archive/outbound") == ["000000401.270"]
    text = (ch / "inbound/eligibility/000000401.271").read_text()
    assert validate(text) == []
    active, inactive, other = read_271(text)
    assert [(r.trace_number, r.active) for r in (active, inactive, other)] == [
        ("ENC-1", True), ("ENC-2", False), ("ENC-3", True)]
    assert (active.plan_begin, active.plan_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert amount(active.benefits, "C", "23") == D("500.00")  # the sample Aetna plan
    assert amount(active.benefits, "C", "29") == D("50.00")
    assert amount(active.benefits, "B", "27", "99213") == D("25.00")
    assert [b.benefit_entity.id for b in other.other_payers if b.benefit_entity] == ["01182"]

    # The estimate from the 271 (copay, then the deductible left, then 20 % of the rest) is what
    # the 835 makes the patient pay for a 99213 the Aetna fee schedule allows at 108.00:
    # 25.00 + 50.00 + 20 % of 33.00 = 81.60.
    await box.exchange.write("outbound", "000000402.837", render_837p(batch(
        claim("AET1", "60054", line("99213", "400.00"), member=MEMBER, payer={"name": "Aetna", "id": "60054"}),
        icn=402)).encode())
    await box.poll_once()
    clocks.advance(1)
    await box.poll_once()
    clocks.advance(2)
    await box.poll_once()
    [payment] = read_835((ch / "inbound/remits/000000402-60054.835").read_text()).claims
    [service] = payment.service_lines
    allowed = service.allowed
    assert allowed is not None
    copay = amount(active.benefits, "B", "27", "99213")
    deductible = min(amount(active.benefits, "C", "29"), allowed - copay)
    estimate = copay + deductible + ((allowed - copay - deductible) * D("0.2")).quantize(D("0.01"))
    assert (allowed, estimate) == (D("108.00"), D("81.60"))
    assert payment.patient_responsibility == estimate
    shares = {a.reason: a.amount for a in service.adjustments if a.group == AdjustmentGroup.PATIENT_RESPONSIBILITY}
    assert shares == {"1": D("50.00"), "2": D("6.60"), "3": D("25.00")}

    # The next 271 for the member says what is left of the deductible after that claim.
    await box.exchange.write("outbound", "000000403.270", render_270(inquiry("ENC-4"), envelope(403)).encode())
    await box.poll_once()
    clocks.advance(1)
    await box.poll_once()
    [after] = read_271((ch / "inbound/eligibility/000000403.271").read_text())
    assert amount(after.benefits, "C", "29") == D("0.00")
    assert amount(after.benefits, "G", "29") == D("2918.40")


async def test_a_270_that_does_not_read_gets_a_999_rejection(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    text = render_270(inquiry("ENC-9"), envelope(404)).replace("TRN*1*ENC-9*9123456789~", "")
    await box.exchange.write("outbound", "000000404.270", text.replace("SE*13*", "SE*12*").encode())
    await box.poll_once()
    clocks.advance(1)
    await box.poll_once()
    ch = tmp_path / "clearinghouse"
    assert names(ch, "inbound/eligibility") == []
    assert names(ch, "inbound/acks") == ["000000404.999"]
    [ack] = read_999((ch / "inbound/acks/000000404.999").read_text()).transaction_sets
    assert (ack.set_id, ack.code) == ("270", AckCode.REJECTED)
