"""The demo's clean-claim rate: clean means accepted with no stop anywhere; a deliberate error
stopped where its kind says is caught, any other stop (or an error nobody caught) is unexpected."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from cli.clean_claims import acknowledgment_label, charges_label, clean_claims, scrubber_label
from sandbox.demo_data import DemoError


def test_rate_counts_only_claims_accepted_without_any_stop() -> None:
    errors: dict[str, DemoError | None] = {"a": None, "b": None, "c": None, "d": "ncci_bundled_pair",
                                           "e": None}
    stops = {"d": [scrubber_label("NCCI-PTP")]}
    result = clean_claims(errors, stops, accepted={"a", "b", "c"}, holds_by_edit=Counter({"NCCI-PTP": 1}))
    assert (result.clean, result.claims, result.not_answered) == (3, 5, 1)  # e was never answered
    assert result.rate == Decimal("60.0")
    ncci = result.errors["ncci_bundled_pair"]
    assert (ncci.injected, dict(ncci.caught), ncci.missed) == (1, {"scrubber NCCI-PTP": 1}, 0)
    assert not result.unexpected
    rows = dict(result.lines())
    assert rows["clean-claim rate"].startswith("60.0% (3 of 5 claims accepted on first submission")
    assert rows["deliberate errors"] == "1: 1 NCCI pair never paid together (scrubber NCCI-PTP 1)"
    assert rows["holds by edit"] == "NCCI-PTP 1" and rows["unexpected stops"] == "none"


def test_stops_not_injected_and_errors_not_caught_are_unexpected() -> None:
    errors: dict[str, DemoError | None] = {"a": None, "b": "member_id_without_check_letter", "c": "units_over_mue",
                                           "d": "non_billable_icd"}
    stops = {
        "a": [scrubber_label("MUE")],  # a clean encounter held: unexpected
        "b": [acknowledgment_label("277CA", "A7:164:IL"), charges_label("CHG_UNITS")],  # caught, plus a surprise
        "d": [charges_label("ENC_DX_NOT_BILLABLE")],  # one of the places this kind may be caught
    }
    result = clean_claims(errors, stops, accepted={"c"}, holds_by_edit=Counter({"MUE": 1}))
    assert result.clean == 1  # c: the error slipped through and the payer took the claim
    assert result.errors["member_id_without_check_letter"].caught == Counter({"277CA A7:164": 1})
    assert result.errors["units_over_mue"].missed == 1
    assert result.errors["non_billable_icd"].caught == Counter({"charges ENC_DX_NOT_BILLABLE": 1})
    assert result.unexpected == Counter({"scrubber MUE": 1, "charges CHG_UNITS": 1, "missed units over the MUE": 1})
    assert dict(result.lines())["unexpected stops"].startswith("3: ")
    as_json = result.as_json()
    assert as_json["rate_percent"] == "25.0" and as_json["unexpected"]["scrubber MUE"] == 1
    assert as_json["deliberate_errors"]["units_over_mue"] == {"label": "units over the MUE", "injected": 1,
                                                             "caught": {}, "missed": 1}


def test_labels() -> None:
    assert acknowledgment_label("277CA", "A6:252") == "277CA A6:252"
    assert acknowledgment_label("999", "IK403:7") == "999 IK403:7"
    assert charges_label("CHG_DX_POINTER_RANGE") == "charges CHG_DX_POINTER_RANGE"
