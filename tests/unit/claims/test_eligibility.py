"""The eligibility decision (domain/eligibility.py): outcome from the 271's EBs, AAAs and plan
dates; other payers compared with the coverages on file; the cache and wait cut-offs; the edit
that holds a claim; the answer stored and read back unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas.eligibility import Benefit, EligibilityRejection, OtherPayer
from services.claims.domain.eligibility import (
    NO_RESPONSE,
    Answer,
    Decision,
    NamedPayer,
    decide,
    fresh_since,
    holding_finding,
    waited_since,
)
from services.claims.domain.findings import Finding
from services.claims.domain.payers import parse_payers

DOS = date(2026, 3, 2)
ON_FILE = [("60054", "Aetna"), ("MCDCA", "Medi-Cal")]
ACTIVE = Benefit(code="1", coverage_level="IND", service_types=["30"], insurance_type="PR")
DEDUCTIBLE = Benefit(code="C", coverage_level="IND", service_types=["30"], time_period="29",
                     amount=Decimal("350.00"), in_network="Y")
COINSURANCE = Benefit(code="A", coverage_level="IND", service_types=["30"], percent=Decimal("0.2"), in_network="Y")


def answer(*benefits: Benefit, begin: date | None = date(2026, 1, 1), end: date | None = date(2026, 12, 31),
           rejections: tuple[EligibilityRejection, ...] = (), named: tuple[NamedPayer, ...] = ()) -> Answer:
    return Answer("elg_1", begin, end, tuple(benefits), rejections, named)


def test_active_coverage_on_the_date_carries_the_benefits_as_sent() -> None:
    d = decide(answer(ACTIVE, DEDUCTIBLE, COINSURANCE), DOS, ON_FILE)
    assert d.outcome == "active"
    assert d.coverage_level == "IND"
    assert d.benefits == (ACTIVE, DEDUCTIBLE, COINSURANCE)
    assert (d.plan_begin, d.plan_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert holding_finding(d, 1, DOS) is None


def test_eb6_at_plan_level_is_inactive_and_holds_with_rank_and_date() -> None:
    d = decide(answer(Benefit(code="6", coverage_level="IND", service_types=["30"])), DOS, ON_FILE)
    assert d.outcome == "inactive"
    assert holding_finding(d, 2, DOS) == Finding(
        "ELIG-INACTIVE", "error", "the payer's 271 says the secondary coverage is not active on 2026-03-02: "
        "correct the coverage and send the encounter again, or release the claim", "eligibility")


def test_inactive_for_one_service_type_only_leaves_the_plan_active() -> None:
    dental = Benefit(code="6", service_types=["35"])
    assert decide(answer(ACTIVE, dental), DOS, ON_FILE).outcome == "active"


def test_plan_dates_that_leave_the_date_out_make_it_inactive() -> None:
    assert decide(answer(ACTIVE, begin=date(2026, 3, 3)), DOS, ON_FILE).outcome == "inactive"
    assert decide(answer(ACTIVE, end=date(2026, 3, 1)), DOS, ON_FILE).outcome == "inactive"
    assert decide(answer(ACTIVE, begin=DOS, end=DOS), DOS, ON_FILE).outcome == "active"


def test_no_status_benefit_at_all_is_not_taken_as_active() -> None:
    assert decide(answer(DEDUCTIBLE), DOS, ON_FILE).outcome == "inactive"


def test_an_aaa_is_rejected_with_its_codes_in_the_hold() -> None:
    aaa = EligibilityRejection(loop="2100C", reason_code="72", follow_up="C")
    d = decide(answer(rejections=(aaa,)), DOS, ON_FILE)
    assert d.outcome == "rejected"
    assert d.rejections == (aaa,)
    finding = holding_finding(d, 1, DOS)
    assert finding is not None and finding.edit_id == "ELIG-REJECTED" and finding.source == "eligibility"
    assert finding.message == (
        "the payer could not check the primary coverage for 2026-03-02 (AAA 72/C): correct "
        "the member id, name or date of birth and send the encounter again, or release the claim")


def test_other_payers_are_compared_with_the_coverages_on_file() -> None:
    medicaid = Benefit(code="R", insurance_type="MC")
    d = decide(answer(ACTIVE, medicaid, named=(
        NamedPayer("SEP", "MEDI-CAL", "MCDCA", "MC"), NamedPayer("PRP", "Some Medicare Plan", "MEDX1", "MA"),
        NamedPayer("GP", "Aetna", None, None))), DOS, ON_FILE)
    assert d.other_payers == (
        OtherPayer(role="secondary", payer_name="MEDI-CAL", payer_id="MCDCA", insurance_type="MC", on_file=True),
        OtherPayer(role="primary", payer_name="Some Medicare Plan", payer_id="MEDX1", insurance_type="MA",
                   on_file=False),
        OtherPayer(role="other", payer_name="Aetna", on_file=True),
    )


def test_no_response_lets_the_claim_go() -> None:
    assert holding_finding(NO_RESPONSE, 1, DOS) is None


def test_a_stored_answer_reads_back_unchanged() -> None:
    d = decide(answer(ACTIVE, DEDUCTIBLE, COINSURANCE, named=(NamedPayer("SEP", "Medi-Cal", "MCDCA", "MC"),)),
               DOS, ON_FILE)
    assert Decision.from_json("active", d.to_json()) == d
    assert d.to_json()["benefits"][1] == {"code": "C", "coverage_level": "IND", "service_types": ["30"],
                                          "time_period": "29", "amount": "350.00", "in_network": "Y"}


def test_freshness_and_wait_cut_offs() -> None:
    now = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert fresh_since(now, 24) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert fresh_since(now, 0.5) == datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
    assert waited_since(now, 300) == datetime(2026, 3, 3, 8, 55, tzinfo=UTC)


def test_the_payer_master_eligibility_switch() -> None:
    base = "payers:\n  - payer_id: P1\n    name: One\n    claim_filing_indicator: CI\n"
    assert parse_payers(base)[0].eligibility is True
    assert parse_payers(base + "    eligibility: false\n")[0].eligibility is False
