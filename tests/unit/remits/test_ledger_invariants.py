"""Ledger invariants over hypothesis-generated 835 streams written and read back by edi/:
every journal balances; payer cash = BPR02 (CLP04 less PLB); what the CAS say is sorted without
losing a cent (paid + every class = CLP03), PR by kind, denials never contractual."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x12 import EnvelopeParams
from edi.x835 import ClaimPayment, RemittanceTransaction, check_835, read_835, write_835
from services.remits.domain import posting as p
from tests.unit.remits.builders import adj, claim, line, plb, remittance

D = Decimal
cents = st.integers(0, 50_000).map(lambda c: D(c) / 100)
PARAMS = EnvelopeParams(sender_id="ACME", receiver_id="SUNRISE", interchange_control_number=7,
                        group_control_number=7, created=datetime(2026, 4, 8, 9, 0))


@st.composite
def claims(draw: st.DrawFn, pcn: str) -> ClaimPayment:
    status = draw(st.sampled_from(["1", "2", "4", "19", "22"]))
    lines = []
    for i in range(draw(st.integers(1, 3))):
        contractual, pr1, pr2, pr3, denied, seq = (draw(cents) for _ in range(6))
        paid = draw(cents)
        adjs = [a for a in (adj("CO", "45", str(contractual)), adj("PR", "1", str(pr1)), adj("PR", "2", str(pr2)),
                            adj("PR", "3", str(pr3)), adj("CO", "97", str(denied)), adj("CO", "253", str(seq)))
                if a.amount]
        charge = paid + sum((a.amount for a in adjs), D(0))
        ln = line(str(charge), str(paid), *adjs, lcn=f"L{i + 1}")
        lines.append(ln)
    if status == "22":
        lines = [line(str(-ln.charge), str(-ln.paid), *(adj(a.group.value, a.reason, str(-a.amount))
                                                         for a in ln.adjustments), lcn=ln.line_control_number)
                 for ln in lines]
    charge = sum((ln.charge for ln in lines), D(0))
    paid = sum((ln.paid for ln in lines), D(0))
    return claim(pcn, status, str(charge), str(paid), *lines)


@st.composite
def streams(draw: st.DrawFn) -> list[RemittanceTransaction]:
    out = []
    for n in range(draw(st.integers(1, 3))):
        cs = [draw(claims(f"S{n}{i}")) for i in range(draw(st.integers(1, 3)))]
        plbs = tuple(plb(draw(st.sampled_from(["L6", "WO", "FB", "72", "CS"])), str(draw(cents) - D("100")))
                     for _ in range(draw(st.integers(0, 3))))
        out.append(remittance(f"TRACE{n}", *cs, plbs=plbs))
    return out


@settings(max_examples=40, deadline=None)
@given(streams())
def test_ledger_payments_equal_bpr02_and_patient_receivables_equal_pr(stream: list[RemittanceTransaction]) -> None:
    text = write_835(stream, PARAMS)
    read = read_835(text).transactions
    ledger: list[p.LedgerRow] = []
    bpr = D(0)
    denied = D(0)
    for t in read:
        assert all(c.ok for c in check_835(t))
        bpr += t.total_payment
        for h in t.header_numbers:
            for c in h.claims:
                rows = p.cash_rows(c.paid, 1)
                assert p.balanced(rows)
                ledger += rows
                a = p.amounts_of(c)
                assert a.paid + a.contractual + a.denied + a.other + a.prior_payer + a.share.total() == a.charge
                assert a.share == p.share_of(c.all_adjustments)
                denied += a.denied
        for adjustment in t.provider_adjustments:
            rows = p.plb_rows(adjustment)
            assert p.balanced(rows)
            ledger += rows
    assert p.balanced(ledger)
    assert sum((r.amount for r in ledger if r.account == p.PAYER_CASH), D(0)) == bpr
    # Denials stay open: every CO-97 cent is a denial, none a contractual write-off.
    co97 = sum((a.amount for t in read for h in t.header_numbers for c in h.claims for ln in c.service_lines
                for a in ln.adjustments if a.reason == "97"), D(0))
    assert denied == co97
