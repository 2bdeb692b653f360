"""835 balancing: every check reported (line, claim, transaction), passing and failing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi.x12 import X12Error, read_interchange
from edi.x835 import (
    BalanceCheck,
    ClaimStatus,
    RemittanceTransaction,
    balancing_issues,
    check_835,
    is_balanced,
    read_835,
    write_835,
)
from tests.unit.edi.remit_support import adj, body_835, claim, line, params, plb, remittance, wrap_835

D = Decimal


def _balanced() -> RemittanceTransaction:
    return remittance(
        "107.5",
        claim("250", "110", line("150", "60", adj("CO", "45", "50"), adj("PR", "3", "40")),
              line("100", "70", adj("CO", "45", "30")), adjustments=(adj("PR", "1", "20"),)),
        plb=(plb("L6", "-2.5", "INT1"), plb("WO", "5", "CLM9")),
    )


def test_balanced_transaction_reports_every_check_ok() -> None:
    checks = check_835(_balanced())
    assert [(c.level, c.claim_index, c.line_index) for c in checks] == [
        ("line", 1, 1), ("line", 1, 2), ("claim", 1, None), ("transaction", None, None)]
    assert all(c.ok for c in checks) and is_balanced(checks) and is_balanced(_balanced())
    assert checks[0].message == "line 1 of claim 1 balances: SVC02 150.00 - line CAS 90.00 = SVC03 60.00"
    assert checks[2].message == ("claim 1 balances: CLP03 250.00 - claim CAS 20.00 - line CAS 120.00"
                                 " = CLP04 110.00")
    assert checks[3].message == "transaction set balances: BPR02 107.50 = sum(CLP04) 110.00 - sum(PLB) 2.50"
    assert checks[2].patient_control_number == "C0001"


def test_line_failure_only() -> None:
    t = remittance("90", claim("100", "90", line("100", "90", adj("CO", "45", "20")),
                               adjustments=(adj("CO", "45", "-10"),)))
    checks = check_835(t)
    failed = [c for c in checks if not c.ok]
    assert [c.level for c in failed] == ["line"]
    assert (failed[0].expected, failed[0].actual, failed[0].difference) == (D(90), D(80), D(10))
    assert failed[0].message == ("line 1 of claim 1 does not balance: SVC02 100.00 - line CAS 20.00 = 80.00"
                                 " but SVC03 is 90.00 (off by 10.00)")
    assert not is_balanced(t)


def test_claim_failure_only() -> None:
    t = remittance("75", claim("100", "75", adjustments=(adj("CO", "45", "20"),)))
    failed = [c for c in check_835(t) if not c.ok]
    assert [c.level for c in failed] == ["claim"]
    assert failed[0].message == ("claim 1 does not balance: CLP03 100.00 - claim CAS 20.00 - line CAS 0.00"
                                 " = 80.00 but CLP04 is 75.00 (off by -5.00)")


def test_transaction_failure_only() -> None:
    t = remittance("100", claim("100", "80", adjustments=(adj("CO", "45", "20"),)), plb=(plb("WO", "30"),))
    failed = [c for c in check_835(t) if not c.ok]
    assert [c.level for c in failed] == ["transaction"]
    assert failed[0].message == ("transaction set does not balance: sum(CLP04) 80.00 - sum(PLB) 30.00 = 50.00"
                                 " but BPR02 is 100.00 (off by 50.00)")


@pytest.mark.parametrize(("reason", "amount", "total"), [("L6", "-4.25", "104.25"), ("WO", "60", "40"),
                                                        ("FB", "100", "0"), ("72", "-15", "115")])
def test_plb_sign_convention(reason: str, amount: str, total: str) -> None:
    """A positive PLB amount reduces the payment, a negative one increases it."""
    t = remittance(total, claim("100", "100"), plb=(plb(reason, amount),))
    assert is_balanced(t)
    flipped = remittance(total, claim("100", "100"), plb=(plb(reason, str(-D(amount))),))
    assert is_balanced(flipped) is (D(amount) == 0)


def test_reversal_and_correction_balance_together() -> None:
    reversal = claim("-150", "-100", adjustments=(adj("CO", "45", "-30"), adj("PR", "2", "-20")),
                     status=ClaimStatus.REVERSAL)
    corrected = claim("150", "110", adjustments=(adj("CO", "45", "30"), adj("PR", "2", "10")))
    assert is_balanced(remittance("10", reversal, corrected))


def test_messages_locate_claims_by_segment_when_read_from_a_file() -> None:
    claims = ("CLP*C1*1*100*80*0*12*P1~NM1*QC*1*DOE****MI*W1~SVC*HC:99213*100*70~CAS*CO*45*20~"
              "CLP*C2*1*50*50*0*12*P2~NM1*QC*1*ROE****MI*W2~")
    checks = check_835(read_835(wrap_835(body_835(claims, "120"))).transactions[0])
    assert [c.ok for c in checks] == [False, True, True, False]
    assert checks[0].message.startswith("line 1 (segment 17) of claim 1 (segment 15) does not balance")
    assert checks[0].position == 17 and checks[1].position == 15
    assert checks[-1].message.startswith("transaction set 0001 does not balance") and checks[-1].position == 4
    assert all("C1" not in c.message and "DOE" not in c.message for c in checks)


def test_balancing_issues_for_the_validate_registry() -> None:
    bad = wrap_835(body_835("CLP*C1*1*100*70*0*12*P1~NM1*QC*1*DOE****MI*W1~CAS*CO*45*20~", "70"))
    ts = read_interchange(bad).transactions()[0]
    issues = balancing_issues(ts, None)
    assert len(issues) == 1 and isinstance(issues[0], BalanceCheck)
    issue = issues[0]
    assert (issue.code, issue.segment_id, issue.element, issue.severity, issue.position) == (
        "balancing_claim", "CLP", "CLP04", "error", 15)
    good = write_835([_balanced()], params())
    assert balancing_issues(read_interchange(good).transactions()[0]) == []
    broken = bad.replace("CLP*C1*1*100*70", "CLP*C1*1*100*X")
    found = balancing_issues(read_interchange(broken).transactions()[0])
    assert len(found) == 1 and isinstance(found[0], X12Error)
