"""Out of suspense for a late match: the exact reverse of the suspense journal, only for its own claim."""

from __future__ import annotations

from decimal import Decimal

from edi.x835 import ClaimPayment
from services.remits.domain import posting as p
from tests.unit.remits.builders import adj, claim, line

D = Decimal


def held() -> ClaimPayment:
    return claim("S1", "1", "185.00", "74.50",
                 line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn="L1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn="L2"))


def test_release_reverses_the_suspense_journal_and_then_the_claim_posts_as_usual() -> None:
    c = held()
    suspense = p.unmatched_rows(c)
    release = p.release_rows(suspense, c)
    assert release == [p.LedgerRow(p.PAYER_CASH, D("-74.50")), p.LedgerRow(p.SUSPENSE, D("74.50"))]
    claim_rows = p.cash_rows(c.paid, 1)
    every = suspense + release + claim_rows
    assert p.balanced(release) and p.balanced(every)
    net: dict[str, Decimal] = {}
    for r in every:
        net[r.account] = net.get(r.account, D("0.00")) + r.amount
    assert net[p.SUSPENSE] == 0 and net[p.PAYER_CASH] == D("74.50")  # cash counted once, as BPR02 has it
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in _totals(claim_rows).items() if v}


def test_release_refuses_a_journal_that_is_not_this_claims() -> None:
    c = held()
    other = claim("S1", "1", "185.00", "70.00", adjustments=(adj("CO", "45", "115.00"),))
    assert p.release_rows(p.unmatched_rows(other), c) is None
    assert p.release_rows([], c) is None
    assert p.release_rows(p.unmatched_rows(c) * 2, c) is None


def _totals(rows: list[p.LedgerRow]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows:
        out[r.account] = out.get(r.account, D("0.00")) + r.amount
    return out
