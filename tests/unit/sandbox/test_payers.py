"""payers.yaml and its fee schedules, read the way the sandbox plays them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.payers import PayerConfigError, load_payers, parse_behaviour

D = Decimal


def test_the_local_payers_each_have_a_schedule_and_a_behaviour() -> None:
    payers = load_payers()
    assert set(payers) == {"60054", "94036", "01182", "610442", "SAMPLEPARTA"}
    # The Part A payer prices only 837I claims (DRG case rate, percent of charges): no fee schedule.
    part_a = payers["SAMPLEPARTA"]
    assert all(len(p.fee_schedule) > 20 for p in payers.values() if p is not part_a) and not part_a.fee_schedule
    assert (part_a.claim_filing_indicator, part_a.behaviour.deductible, part_a.behaviour.coinsurance_percent,
            part_a.behaviour.sequestration_percent) == ("MA", D("1676.00"), D(0), D(2))
    aetna, blue, medicare, medical = payers["60054"], payers["94036"], payers["01182"], payers["610442"]
    assert (aetna.behaviour.copay, aetna.behaviour.coinsurance_percent, aetna.behaviour.deductible) == (
        D("25.00"), D(20), D("500.00"))
    assert blue.behaviour.underpay_percent == D(8)
    assert medicare.behaviour.sequestration_percent == D(2) and medicare.behaviour.crossover_to == "610442"
    assert medicare.behaviour.reject_if.member_id_ok("1EG4TE5MK73")
    assert not medicare.behaviour.reject_if.member_id_ok("W123456789")
    assert medical.behaviour.deductible == 0 and medical.claim_filing_indicator == "MC"


def test_modifier_rows_win_over_the_plain_code() -> None:
    aetna = load_payers()["60054"]
    assert aetna.contracted_rate("71046", ("26",)) != aetna.contracted_rate("71046", ())
    assert aetna.contracted_rate("71046", ("XX",)) == aetna.contracted_rate("71046", ())
    assert aetna.contracted_rate("00000", ()) is None


@pytest.mark.parametrize("raw", [{"bogus": 1}, {"underpay_percent": "abc"}, {"coinsurance_percent": "150"},
                                 {"interest_probability": "2"}, {"trace_payer_id": "123"}, {"copay_codes": "99213"}])
def test_bad_behaviour_is_refused(raw: dict[str, object]) -> None:
    with pytest.raises(PayerConfigError):
        parse_behaviour(raw)


@pytest.mark.parametrize(("raw", "named"), [({"missing_ndc": "yes"}, "reject_if.missing_ndc"),
                                            ({"missing_clia": 1}, "reject_if.missing_clia"),
                                            ({"missing_npi": True}, "missing_npi")])
def test_bad_reject_rules_name_the_key(raw: dict[str, object], named: str) -> None:
    with pytest.raises(PayerConfigError, match=named):
        parse_behaviour({"reject_if": raw})


def test_the_government_payers_check_ndc_and_clia() -> None:
    rules = {p: c.behaviour.reject_if for p, c in load_payers().items()}
    assert {p for p, r in rules.items() if r.missing_ndc} == {"610442"}
    assert {p for p, r in rules.items() if r.missing_clia} == {"01182", "610442"}


def test_crossover_to_an_unknown_payer_is_refused(tmp_path: Path) -> None:
    (tmp_path / "payers.yaml").write_text(
        'payers:\n  - payer_id: "1"\n    name: A\n    sandbox: {crossover_to: "2"}\n')
    with pytest.raises(PayerConfigError):
        load_payers(tmp_path / "payers.yaml")
