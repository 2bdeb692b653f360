"""Payer master and fee schedule parsing, and the fee schedule lookup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.claims.domain.payers import FeeRow, FeeSchedule, PayerFileError, parse_fee_schedule, parse_payers
from services.claims.service.operator import read_payer_master

REPO = Path(__file__).resolve().parents[3]


def test_shipped_payer_master_and_fee_schedules_load() -> None:
    payers, fees = read_payer_master(REPO / "deploy" / "local" / "payers.yaml")
    assert [p.payer_id for p in payers] == ["60054", "94036", "01182", "610442", "SAMPLEPARTA"]
    aetna, part_a = payers[0], payers[4]
    assert (aetna.claim_filing_indicator, aetna.bill_hold_days, aetna.timely_filing_days, aetna.follow_up_days) == (
        "CI", 0, 90, 30)
    assert (part_a.name, part_a.claim_filing_indicator, part_a.fee_schedule) == (
        "Medicare Part A (SAMPLE MAC)", "MA", None)
    # The Part A payer takes 837I claims only: no fee schedule (facility claims are not priced by one).
    assert set(fees) == {"60054", "94036", "01182", "610442"} and all(fees.values())
    # No sample payer is documented to take inpatient claims without POA indicators.
    assert [p.poa_required for p in payers] == [True, True, True, True, True]


def test_payer_errors_are_all_listed() -> None:
    text = """payers:
  - payer_id: "1"
    name: ""
    claim_filing_indicator: XX
    bill_hold_days: -1
  - payer_id: "60054"
    name: Aetna
    claim_filing_indicator: CI
  - payer_id: "60054"
    name: Aetna again
    claim_filing_indicator: CI
"""
    with pytest.raises(PayerFileError) as info:
        parse_payers(text)
    joined = " | ".join(info.value.errors)
    for fragment in ("payers[0].payer_id", "payers[0].name", "claim_filing_indicator", "bill_hold_days",
                     "listed twice"):
        assert fragment in joined


def test_poa_required_defaults_to_true_and_takes_a_boolean_only() -> None:
    entry = '  - {payer_id: "%s", name: A, claim_filing_indicator: CI%s}\n'
    payers = parse_payers("payers:\n" + entry % ("60054", "") + entry % ("94036", ", poa_required: false"))
    assert [(p.payer_id, p.poa_required) for p in payers] == [("60054", True), ("94036", False)]
    with pytest.raises(PayerFileError) as info:
        parse_payers("payers:\n" + entry % ("60054", ", poa_required: 'no'"))
    assert info.value.errors == ["payers[0].poa_required: true or false required"]


def test_sandbox_section_is_ignored() -> None:
    [p] = parse_payers('payers:\n  - {payer_id: "60054", name: A, claim_filing_indicator: CI, sandbox: {x: 1}}\n')
    assert p.payer_id == "60054" and p.fee_schedule is None


def test_fee_schedule_rows_and_errors() -> None:
    rows = parse_fee_schedule("# c\nprocedure_code,modifier,allowed_amount,effective_date\n99213,,108.00,2026-01-01\n")
    assert rows == [FeeRow("99213", "", Decimal("108.00"), date(2026, 1, 1))]
    with pytest.raises(PayerFileError) as info:
        parse_fee_schedule("procedure_code,modifier,allowed_amount,effective_date\n9921,,1,2026-01-01\n"
                           "99213,,1.001,2026-01-01\n99213,,1,2026-13-01\n")
    assert len(info.value.errors) == 3


def test_fee_lookup_prefers_modifier_and_latest_effective_row() -> None:
    fees = FeeSchedule([
        FeeRow("87880", "", Decimal("16.50"), date(2026, 1, 1)),
        FeeRow("87880", "QW", Decimal("25.20"), date(2026, 1, 1)),
        FeeRow("99213", "", Decimal("100.00"), date(2025, 1, 1)),
        FeeRow("99213", "", Decimal("108.00"), date(2026, 1, 1)),
    ])
    on = date(2026, 3, 2)
    assert fees.expected_allowed("87880", ["QW"], on, Decimal(2)) == Decimal("50.40")
    assert fees.expected_allowed("87880", ["59"], on, Decimal(1)) == Decimal("16.50")
    assert fees.expected_allowed("99213", [], on, Decimal(1)) == Decimal("108.00")
    assert fees.expected_allowed("99213", [], date(2025, 6, 1), Decimal(1)) == Decimal("100.00")
    assert fees.expected_allowed("99999", [], on, Decimal(1)) is None
