"""The sandbox loop over a real clearinghouse folder with an 837I and an 837P in the same poll:
999s (X223A2 and X222A1), 277CAs and 835s come back, are read with the edi readers and carry the
institutional answers: an inpatient DRG claim at claim level (CLP11/12, claim CAS, MIA, no SVC),
an outpatient claim per line (SVC HC/NU, MOA) crossed over to Medi-Cal. Every file is
pyx12-clean and balances. Needs no Kafka or Postgres."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from edi.x277ca import read_277ca
from edi.x835 import ClaimPayment, ClaimStatus, read_835
from edi.x837 import render_837p
from edi.x837i import render_837i
from edi.x999 import GroupAckCode, read_999
from tests.integration.test_sandbox_loop import MEDI_CAL, Clocks, every_file_clean, names, sandbox
from tests.unit.sandbox.support import batch, claim, institutional_batch, institutional_claim, line, rev_line

D = Decimal


def lines(payment: ClaimPayment) -> list[tuple[str, str, Decimal, Decimal, str, list[tuple[str, str, Decimal]]]]:
    return [(s.procedure.qualifier, s.procedure.code, s.charge, s.paid, s.revenue_code,
             [(a.group.value, a.reason, a.amount) for a in s.adjustments]) for s in payment.service_lines]


async def test_an_837i_and_an_837p_in_one_poll_are_acknowledged_and_paid(tmp_path: Path) -> None:
    clocks = Clocks()
    box = sandbox(tmp_path, clocks)
    ch = tmp_path / "clearinghouse"
    stay = institutional_claim(
        "AETI1", "60054", rev_line("0120", "6000.00", 1, units="3", unit_code="DA", service_date="2026-02-07",
                                   service_date_end="2026-02-09"),
        rev_line("0250", "2500.00", 2), rev_line("0300", "3500.00", 3),
        member="W123456789", payer={"name": "Aetna", "id": "60054"})
    visit = institutional_claim(
        "MCRO1", "01182", rev_line("0450", "850.00", 1, "99284", modifiers=["25"]), rev_line("0300", "48.00", 2),
        type_of_bill="13", member="1EG4TE5MK73", claim_filing_indicator="MB",
        payer={"name": "Medicare", "id": "01182"}, other_payers=[MEDI_CAL])
    await box.exchange.write("outbound", "000000501.837", render_837i(institutional_batch(stay, visit, icn=501))
                             .encode())
    professional = batch(claim("AETP1", "60054", line("99213", "150.00"), member="W555555555",
                               payer={"name": "Aetna", "id": "60054"}), icn=502)
    await box.exchange.write("outbound", "000000502.837", render_837p(professional).encode())

    assert await box.poll_once() == 0  # the acknowledgment delay has not passed
    clocks.advance(1)
    await box.poll_once()
    assert names(ch, "inbound/acks") == ["000000501.277", "000000501.999", "000000502.277", "000000502.999"]
    for stem, implementation in (("000000501", "005010X223A2"), ("000000502", "005010X222A1")):
        ack = read_999((ch / f"inbound/acks/{stem}.999").read_text())
        assert ack.group_code == GroupAckCode.ACCEPTED
        assert ack.transaction_sets[0].implementation == implementation
    statuses = {c.patient_control_number: c for c in read_277ca((ch / "inbound/acks/000000501.277").read_text()).claims}
    assert {k: c.outcome for k, c in statuses.items()} == {"AETI1": "accepted", "MCRO1": "accepted"}

    clocks.advance(2)
    await box.poll_once()
    clocks.advance(2)
    await box.poll_once()
    assert names(ch, "inbound/remits") == ["000000501-01182.835", "000000501-60054.835",
                                           "000000501-610442-crossover.835", "000000502-60054.835"]
    every_file_clean(ch)

    inpatient = read_835((ch / "inbound/remits/000000501-60054.835").read_text()).claims[0]
    assert inpatient.payer_claim_control_number == statuses["AETI1"].payer_claim_control_number
    assert (inpatient.status, inpatient.charge, inpatient.paid, inpatient.patient_responsibility) == (
        ClaimStatus.PROCESSED_AS_PRIMARY, D("12000.00"), D("4668.80"), D("1667.20"))
    assert (inpatient.filing_indicator, inpatient.facility_code, inpatient.frequency_code) == ("12", "11", "1")
    assert (inpatient.drg_code, inpatient.drg_weight) == ("194", D("0.88"))  # J18.9 -> 194; 7200.00 x 0.88
    assert [(a.group.value, a.reason, a.amount) for a in inpatient.adjustments] == [
        ("CO", "45", D("5664.00")), ("PR", "1", D("500.00")), ("PR", "2", D("1167.20"))]
    assert inpatient.service_lines == ()
    assert inpatient.inpatient is not None
    assert (inpatient.inpatient.covered_days, inpatient.inpatient.values, inpatient.inpatient.remark_codes) == (
        D(3), ((4, D("6336.00")),), ("N1",))

    outpatient = read_835((ch / "inbound/remits/000000501-01182.835").read_text()).claims[0]
    assert (outpatient.status, outpatient.paid, outpatient.facility_code, outpatient.filing_indicator) == (
        ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED, D("115.32"), "13", "MB")
    assert outpatient.outpatient is not None
    assert (outpatient.outpatient.reimbursement_rate, outpatient.outpatient.remark_codes) == (D("0.45"), ("MA01",))
    # 45% of charges; the 257.00 Part B deductible, 20% coinsurance, 2% sequestration of what is payable.
    assert lines(outpatient) == [
        ("HC", "99284", D("850.00"), D("98.39"), "0450",
         [("CO", "45", D("467.50")), ("CO", "253", D("2.01")), ("PR", "1", D("257.00")), ("PR", "2", D("25.10"))]),
        ("NU", "0300", D("48.00"), D("16.93"), "",
         [("CO", "45", D("26.40")), ("CO", "253", D("0.35")), ("PR", "2", D("4.32"))]),
    ]
    assert [s.line_control_number for s in outpatient.service_lines] == ["LN1-0450", "LN2-0300"]

    crossover = read_835((ch / "inbound/remits/000000501-610442-crossover.835").read_text()).claims[0]
    # Medi-Cal allows 40% of charges and pays the share Medicare left, up to that less Medicare's payment.
    assert (crossover.status, crossover.paid) == (ClaimStatus.PROCESSED_AS_SECONDARY, D("243.88"))
    assert lines(crossover) == [
        ("HC", "99284", D("850.00"), D("241.61"), "0450", [("CO", "45", D("40.49")), ("OA", "23", D("567.90"))]),
        ("NU", "0300", D("48.00"), D("2.27"), "", [("CO", "45", D("2.05")), ("OA", "23", D("43.68"))]),
    ]

    professional_paid = read_835((ch / "inbound/remits/000000502-60054.835").read_text()).claims[0]
    assert professional_paid.patient_control_number == "AETP1" and professional_paid.inpatient is None
    assert professional_paid.service_lines[0].procedure.code == "99213"
