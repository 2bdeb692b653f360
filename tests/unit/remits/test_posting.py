"""Posting rules: each CLP status, CAS classification, PLB kinds, denials, allowed variance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from edi.x835 import ClaimPayment
from services.remits.domain import codes
from services.remits.domain import posting as p
from tests.unit.remits.builders import adj, claim, expected, line, plb

D = Decimal
EXP = expected(("L1", "150.00", "98.00"), ("L2", "35.00", "16.50"))


def totals(rows: list[p.LedgerRow]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows:
        out[r.account] = out.get(r.account, D("0")) + r.amount
    return out


def paid_claim(status: str = "1") -> ClaimPayment:
    return claim("S1", status, "185.00", "74.50",
                 line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn="L1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn="L2", code="87880"))


def test_processed_as_primary_posts_payment_contractual_and_copay() -> None:
    rows = p.cash_rows(paid_claim().paid, 1)
    assert p.balanced(rows)
    t = totals(rows)
    assert t[p.PAYER_CASH] == D("74.50") and t[p.INSURANCE_RECEIVABLE] == D("-74.50")
    a = p.amounts_of(paid_claim())
    assert (a.charge, a.paid, a.contractual, a.share.copay, a.denied) == (
        D("185.00"), D("74.50"), D("70.50"), D("40.00"), D("0.00"))
    assert p.denials(paid_claim(), EXP) == (None, [])
    assert p.rank_for("1", 1) == 1


@pytest.mark.parametrize(("status", "rank"), [("1", 1), ("2", 2), ("3", 3), ("19", 1), ("20", 2), ("21", 3),
                                              ("4", 1), ("22", 1), ("25", 1)])
def test_rank_by_status(status: str, rank: int) -> None:
    assert p.rank_for(status, 1) == rank


def test_pr_split_into_deductible_coinsurance_copay_and_other() -> None:
    c = claim("S1", "1", "300.00", "100.00",
              line("300.00", "100.00", adj("CO", "45", "50.00"), adj("PR", "1", "80.00"), adj("PR", "2", "30.00"),
                   adj("PR", "3", "15.00"), adj("PR", "96", "25.00"), lcn="L1"))
    share = p.share_of([a for ln in c.service_lines for a in ln.adjustments])
    assert share == p.Share(D("80.00"), D("30.00"), D("15.00"), D("25.00"))
    assert p.amounts_of(c).share == share


def test_status_4_is_a_whole_claim_denial_kept_open() -> None:
    c = claim("S1", "4", "185.00", "0.00",
              line("150.00", "0.00", adj("CO", "29", "150.00"), lcn="L1"),
              line("35.00", "0.00", adj("CO", "29", "35.00"), lcn="L2"))
    scope, items = p.denials(c, EXP)
    assert scope == "claim" and {i.reason_code for i in items} == {"29"}
    assert items[0].category == "timely_filing" and items[0].recommended_action == "appeal"
    a = p.amounts_of(c)
    assert a.denied == D("185.00") and a.contractual == 0  # never silently written off


def test_nothing_paid_no_patient_share_with_denial_carc_is_a_claim_denial() -> None:
    c = claim("S1", "1", "185.00", "0.00", adjustments=(adj("CO", "16", "185.00"),))
    scope, items = p.denials(c, EXP)
    assert scope == "claim" and items[0].category == "missing_information"


def test_deductible_only_is_not_a_denial() -> None:
    c = claim("S1", "1", "150.00", "0.00", line("150.00", "0.00", adj("CO", "45", "52.00"),
                                                adj("PR", "1", "98.00"), lcn="L1"))
    assert p.denials(c, EXP) == (None, [])
    assert p.amounts_of(c).share.deductible == D("98.00")


def test_single_line_denial_names_the_line() -> None:
    c = claim("S1", "1", "185.00", "58.00",
              line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn="L1"),
              line("35.00", "0.00", adj("CO", "97", "35.00"), lcn="L2"))
    scope, items = p.denials(c, EXP)
    assert scope == "line" and [(i.line_control_number, i.reason_code, i.amount) for i in items] == [
        ("L2", "97", D("35.00"))]
    assert items[0].category == "bundling"


def test_missing_ref_6r_is_matched_by_position() -> None:
    c = claim("S1", "1", "185.00", "58.00",
              line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00")),
              line("35.00", "0.00", adj("CO", "97", "35.00")))
    scope, items = p.denials(c, EXP)
    assert scope == "line" and items[0].line_control_number == "L2"


def test_reversal_is_the_exact_negation() -> None:
    rows = p.cash_rows(paid_claim().paid, 1)
    back = p.reversed_rows(rows)
    assert p.balanced(back) and totals(rows + back) == {k: D("0.00") for k in totals(rows)}
    reversal = claim("S1", "22", "-185.00", "-74.50",
                     line("-150.00", "-58.00", adj("CO", "45", "-52.00"), adj("PR", "3", "-40.00"), lcn="L1"),
                     line("-35.00", "-16.50", adj("CO", "45", "-18.50"), lcn="L2"))
    assert totals(p.cash_rows(reversal.paid, 1)) == totals(back)
    assert p.amounts_of(reversal) == p.amounts_of(paid_claim()).negated()
    assert p.denials(reversal, EXP) == (None, [])
    assert p.allowed_variance(reversal, EXP, 1).lines == []


def test_not_our_claim_and_unmatched_go_to_suspense() -> None:
    c = claim("S9", "23", "100.00", "20.00", adjustments=(adj("CO", "45", "80.00"),))
    rows = p.unmatched_rows(c)
    assert p.balanced(rows) and totals(rows)[p.SUSPENSE] == D("-20.00")
    assert p.denials(c, EXP) == (None, [])


def test_predetermination_is_no_denial_and_no_variance() -> None:
    c = claim("S1", "25", "185.00", "0.00", adjustments=(adj("OA", "101", "185.00"),))
    assert p.denials(c, EXP) == (None, [])
    assert p.allowed_variance(c, EXP, 1).lines == []


def test_forwarded_claim_posts_like_primary() -> None:
    assert p.amounts_of(paid_claim("19")) == p.amounts_of(paid_claim())
    assert p.rank_for("19", 1) == 1 and "19" in p.FORWARDED


def test_prior_payer_and_share_of_cost_are_told_apart() -> None:
    c = claim("S1", "2", "100.00", "30.00", line("100.00", "30.00", adj("OA", "23", "50.00"), adj("CO", "45", "5.00"),
                                                adj("PR", "178", "10.00"), adj("PR", "2", "5.00"), lcn="L1"))
    a = p.amounts_of(c)
    assert (a.prior_payer, a.contractual, a.share_of_cost, a.share.other, a.share.coinsurance) == (
        D("50.00"), D("5.00"), D("10.00"), D("10.00"), D("5.00"))


@pytest.mark.parametrize(("group", "reason", "action"), [("CO", "204", "write_off"), ("PR", "204", "bill_patient"),
                                                         ("CO", "119", "write_off"), ("OA", "119", "review")])
def test_a_co_denial_is_never_billed_to_the_patient(group: str, reason: str, action: str) -> None:
    assert codes.denial_advice(group, reason, [])[1] == action


def test_capitation_is_contractual_not_a_denial() -> None:
    c = claim("S1", "1", "100.00", "0.00", line("100.00", "0.00", adj("CO", "24", "100.00"), lcn="L1"))
    assert p.amounts_of(c).contractual == D("100.00") and p.denials(c, EXP) == (None, [])


@pytest.mark.parametrize(("reason", "amount", "account"), [("L6", "-1.12", "plb_interest"),
                                                           ("WO", "25.00", "plb_recoupment"),
                                                           ("72", "10.00", "plb_recoupment"),
                                                           ("FB", "5.00", "plb_forward_balance"),
                                                           ("CS", "3.00", "plb_other")])
def test_plb_kinds(reason: str, amount: str, account: str) -> None:
    rows = p.plb_rows(plb(reason, amount, "REF1"))
    assert p.balanced(rows)
    t = totals(rows)
    assert t[p.PAYER_CASH] == -D(amount) and t[account] == D(amount)  # positive reduces the payment


def test_allowed_is_b6_else_paid_plus_pr_plus_sequestration() -> None:
    seq = line("150.00", "56.04", adj("CO", "45", "52.00"), adj("CO", "253", "1.96"), adj("PR", "3", "40.00"))
    assert p.line_allowed(seq) == D("98.00")
    assert p.line_allowed(line("150.00", "58.00", adj("CO", "45", "92.00"), allowed="91.00")) == D("91.00")


def test_sequestration_is_not_an_underpayment() -> None:
    c = claim("S1", "1", "185.00", "72.71",
              line("150.00", "56.84", adj("CO", "45", "52.00"), adj("CO", "253", "1.16"), adj("PR", "3", "40.00"),
                   lcn="L1"),
              line("35.00", "16.17", adj("CO", "45", "18.50"), adj("CO", "253", "0.33"), lcn="L2"))
    result = p.allowed_variance(c, EXP, 1)
    assert result.total_variance == 0 and result.kind(D("1.00")) is None


def test_underpayment_and_overpayment_outside_tolerance() -> None:
    under = claim("S1", "1", "185.00", "67.50",
                  line("150.00", "51.00", adj("CO", "45", "59.00"), adj("PR", "3", "40.00"), lcn="L1"),
                  line("35.00", "16.50", adj("CO", "45", "18.50"), lcn="L2"))
    r = p.allowed_variance(under, EXP, 1)
    assert r.total_variance == D("-7.00") and r.kind(D("1.00")) == "under" and r.kind(D("7.00")) is None
    over = claim("S1", "1", "150.00", "80.00", line("150.00", "80.00", adj("CO", "45", "30.00"),
                                                     adj("PR", "3", "40.00"), lcn="L1"))
    assert p.allowed_variance(over, EXP, 1).kind(D("1.00")) == "over"


def test_denied_lines_and_secondary_payers_are_left_out_of_variance() -> None:
    c = claim("S1", "1", "185.00", "58.00",
              line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn="L1"),
              line("35.00", "0.00", adj("CO", "97", "35.00"), lcn="L2"))
    assert [v.line_control_number for v in p.allowed_variance(c, EXP, 1).lines] == ["L1"]
    assert p.allowed_variance(paid_claim("2"), EXP, 1).lines == []
    # The posting hands over the scope it worked out; a whole-claim denial has no variance.
    assert p.allowed_variance(c, EXP, 1, scope=p.denials(c, EXP)[0]) == p.allowed_variance(c, EXP, 1)
    assert p.allowed_variance(c, EXP, 1, scope="claim").lines == []


def test_line_effects_carry_claim_level_pr_on_the_first_line() -> None:
    c = claim("S1", "1", "185.00", "74.50",
              line("150.00", "98.00", adj("CO", "45", "52.00"), lcn="L1"),
              line("35.00", "16.50", adj("CO", "45", "18.50"), lcn="L2"), adjustments=(adj("PR", "3", "40.00"),))
    effects = {e.line_control_number: e for e in p.line_effects(c, EXP)}
    assert effects["L1"].share.copay == D("40.00") and effects["L2"].share.total() == 0


def test_carc_rarc_table_is_dated_and_covers_the_common_codes() -> None:
    table = codes.table()
    for code in ["1", "2", "3", "4", "5", "11", "16", "18", "22", "23", "24", "26", "27", "29", "31", "45", "50",
                 "96", "97", "109", "119", "170", "197", "204", "226", "242", "253", "B7", "B9"]:
        assert ("carc", code) in table, code
    for code in ["N130", "M15", "MA130", "N381", "N290", "M80", "N56", "MA04"]:
        assert ("rarc", code) in table, code
    assert all(c.effective == "2026-01-01" and c.description for c in table.values())
    assert codes.treatment("CO", "45") == "contractual" and codes.treatment("CO", "97") == "denial"
    assert codes.treatment("OA", "23") == "other" and codes.treatment("CO", "ZZ9") == "denial"


# --------------------------------------------------------------------------- which rank a status without one posts at

def crossover_rank(status: str, payer_id: str, submitted_rank: int = 1) -> int:
    """The submission was sent to ACME01 (rank 1) and names 610442 as its next payer (rank 2)."""
    return p.rank_for(status, submitted_rank, payer_id=payer_id, submitted_payer_id="ACME01", next_payer_id="610442",
                      next_payer_rank=2)


@pytest.mark.parametrize("status", ["4", "25"])
def test_a_crossover_answered_by_the_next_payer_posts_at_its_rank(status: str) -> None:
    """The primary forwarded the claim (CLP02 19); the secondary answers under the primary's CLP01
    with a status that names no rank (4 denied): the remittance's payer is the next payer."""
    assert crossover_rank(status, "610442") == 2


def test_a_status_without_a_rank_from_the_submitted_payer_keeps_the_submission_rank() -> None:
    assert crossover_rank("4", "ACME01") == 1
    assert crossover_rank("4", "OTHER9") == 1  # neither payer: as before
    assert p.rank_for("4", 2, payer_id="610442") == 2  # a secondary's own submission: its own rank
    assert p.rank_for("4", 1, payer_id="610442", submitted_payer_id="ACME01", next_payer_id=None,
                      next_payer_rank=2) == 1  # next payer unknown (stored before 0004): as before


def test_the_same_payer_for_both_coverages_keeps_the_submission_rank() -> None:
    assert p.rank_for("4", 1, payer_id="ACME01", submitted_payer_id="ACME01", next_payer_id="ACME01",
                      next_payer_rank=2) == 1


def test_clp02_with_a_rank_wins_over_the_payer() -> None:
    assert crossover_rank("2", "ACME01") == 2
    assert crossover_rank("1", "610442") == 1


def test_a_recoupment_takes_back_no_more_than_the_payer_paid_on_the_claim() -> None:
    assert p.recoverable(D("25.00"), D("80.00")) == D("25.00")
    assert p.recoverable(D("25.00"), D("10.00")) == D("10.00")
    assert p.recoverable(D("0.01"), D("0.00")) == D("0.00")
    assert p.recoverable(D("5.00"), D("-3.00")) == D("0.00")
