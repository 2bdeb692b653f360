"""The sandbox loop answering a 276 file: a silent claim's 835 is withheld (across a restart)
until a 276 asks; the 277 in inbound/status/ says paid and the 835 follows after the remit delay.
Needs no Kafka or Postgres."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from edi.x12 import EnvelopeParams
from edi.x276 import Person, StatusInquiry, render_276
from edi.x277 import read_277
from edi.x835 import read_835
from edi.x837 import render_837p
from tests.integration.test_sandbox_loop import Clocks, names, sandbox
from tests.unit.sandbox.support import batch, checked, claim, line

AETNA = {"name": "Aetna", "id": "60054"}


def status_request(pcn: str, member: str, icn: int, clocks: Clocks) -> str:
    inquiry = StatusInquiry(
        trace_number=f"TR{icn}", payer_name="AETNA", payer_id="60054", provider_name="REVCYCLE COMMUNITY CLINIC",
        provider_npi="1234567893", receiver_name="REVCYCLE BILLING", receiver_id="REVCYCLE",
        subscriber=Person(last_name="RIVERA", first_name="ANA", member_id=member, birth_date=date(1970, 5, 6),
                          gender="F"),
        patient_control_number=pcn, total_charge=Decimal("150.00"), service_date=date(2026, 2, 10))
    return render_276([inquiry], EnvelopeParams(sender_id="REVCYCLE", receiver_id="SANDBOXCH",
                                                interchange_control_number=icn, group_control_number=icn,
                                                created=clocks.now()))


async def test_a_silent_claim_is_answered_by_a_277_and_its_835_then_released(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    ch = tmp_path / "clearinghouse"
    claims = batch(claim("LOUD1", "60054", line("99213", "150.00"), member="W123456789", payer=AETNA),
                   claim("SILENT1", "60054", line("99213", "150.00"), member="W000000919", payer=AETNA), icn=501)
    await box.exchange.write("outbound", "000000501.837", render_837p(claims).encode())
    await box.poll_once()
    clocks.advance(1)
    await box.poll_once()
    clocks.advance(2)
    await box.poll_once()
    assert names(ch, "inbound/remits") == ["000000501-60054.835"]  # LOUD1 only: SILENT1's 835 is withheld
    assert [c.patient_control_number for c in read_835((ch / "inbound/remits/000000501-60054.835").read_text())
            .claims] == ["LOUD1"]
    assert names(tmp_path / "state" / "sandbox", "pending") == ["withheld--000000501-60054-SILENT1.835"]

    restarted = sandbox(tmp_path, clocks)  # the withheld 835 is a file: a restart keeps it
    await restarted.exchange.write("outbound", "000000502.276", status_request("SILENT1", "W000000919", 502,
                                                                               clocks).encode())
    await restarted.poll_once()
    assert names(ch, "inbound/status") == []  # the acknowledgment delay first
    clocks.advance(1)
    await restarted.poll_once()
    assert names(ch, "inbound/status") == ["000000502.277"]
    assert names(ch, "archive/outbound") == ["000000501.837", "000000502.276"]
    text = (ch / "inbound/status/000000502.277").read_text()
    assert checked(text, "277") == []
    (response,) = read_277(text)
    status = response.statuses[0]
    assert (response.trace_number, response.patient_control_number) == ("TR502", "SILENT1")
    assert (status.category_code, status.status_code, str(status.total_charge), status.check_number) == (
        "F1", "65", "150", "00000501600541W1")
    assert names(ch, "inbound/remits") == ["000000501-60054.835"]  # released, due after the remit delay
    clocks.advance(2)
    await restarted.poll_once()
    assert names(ch, "inbound/remits") == ["000000501-60054-SILENT1.835", "000000501-60054.835"]
    released = read_835((ch / "inbound/remits/000000501-60054-SILENT1.835").read_text())
    assert [c.patient_control_number for c in released.claims] == ["SILENT1"]
    assert released.claims[0].paid == status.paid_amount
    assert names(tmp_path / "state" / "sandbox", "pending") == []
    assert checked((ch / "inbound/remits/000000501-60054-SILENT1.835").read_text(), "835") == []
