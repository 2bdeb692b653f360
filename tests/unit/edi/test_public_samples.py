"""Real-world samples other projects publish (tests/fixtures/x12/public, sources and licenses in
its SOURCES.md) through `rcm x12 parse --json`: what pyx12 accepts we read, what we refuse pyx12
finds wrong too, and a reader reports our writer's rules instead of refusing a file for them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.x12 import app
from edi.validate import pyx12_validate

PUBLIC = Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "public"
SAMPLES = sorted(p.name for p in PUBLIC.iterdir() if p.suffix != ".md")

REFUSED = {
    # A real defect of the file, named by segment; pyx12 reports each of them as an error too.
    "lfh-835-cob-contractual-adjustment.835": "segment 21 (SVC): SVC01 needs a product/service id qualifier",
    "lfh-835-secondary-payment.835": "segment 29 (SVC): SVC01 needs a product/service id qualifier",
    "lfh-835-tertiary-payment.835": "segment 20 (SVC): SVC01 needs a product/service id qualifier",
    "lfh-835-managed-care.835": "segment 4 (BPR): BPR16 is not a valid calendar date",
    "ims-837p-multiple-isa.837": "segment 27 (HL): HL02 does not point to a billing provider HL",
}

runner = CliRunner()


@cache
def parsed(name: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["parse", str(PUBLIC / name), "--json"])
    return result.exit_code, result.stdout, result.stderr


def doc(name: str) -> dict[str, Any]:
    code, out, err = parsed(name)
    assert code == 0, err
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def pyx12_errors(name: str) -> list[str]:
    return [str(i) for i in pyx12_validate((PUBLIC / name).read_text()) if i.severity == "error"]


@pytest.mark.parametrize("name", SAMPLES)
def test_what_pyx12_accepts_we_read_and_what_we_refuse_pyx12_refuses(name: str) -> None:
    code, _, err = parsed(name)
    if name in REFUSED:
        assert pyx12_errors(name), "refused although pyx12 finds nothing wrong"
        assert code == 2 and REFUSED[name] in err, err
    else:
        assert code == 0, err
        assert doc(name)["transaction"] in {"835", "837P", "999", "277CA"}


def test_pyx12_clean_samples_are_among_them() -> None:
    clean = [name for name in SAMPLES if not pyx12_errors(name)]
    assert clean == ["ims-999-rejected.999", "pyx12-834-lui-id-5010.999"]


def test_835_without_per_bl_is_read_with_the_finding() -> None:
    remit = doc("lfh-835-medicare-part-a.835")
    [t] = remit["transactions"]
    assert [(c["patient_control_number"], c["paid_amount"]) for c in t["claims"]] == [
        ("666123", "138018.40"), ("777777", "11980.33")]
    assert [(c["reason"], c["amount"]) for c in t["claims"][0]["adjustments"]] == [("45", "73348.57")]
    assert [p["amount"] for p in t["provider_adjustments"]] == ["-1.27"]
    assert [(f["code"], f["position"]) for f in remit["findings"]] == [("per_bl_missing", 7)]


def test_837p_writer_rules_come_back_as_findings_with_the_data() -> None:
    batch = doc("lfh-837p-cob-example4.837")
    [claim] = batch["claims"]
    assert (claim["submission_id"], claim["total_charge"], claim["billing_provider"]["npi"]) == (
        "101KEN6055", "120.00", "0100000009")
    assert claim["billing_provider"]["taxonomy"] is None and claim["other_payers"][0]["paid_amount"] == "80.00"
    fields = {f["message"].split(":")[0] for f in batch["findings"]}
    assert {"claim field billing_provider.npi", "claim field billing_provider.taxonomy",
            "claim field billing_provider.address", "claim field rendering_provider.npi"} <= fields
    assert {(f["code"], f["severity"], f["position"]) for f in batch["findings"]} == {("writer_rule", "warning", 22)}


def test_837p_claim_id_beyond_our_character_set_is_kept() -> None:
    batch = doc("lfh-837p-example7-dme.837")
    [claim] = batch["claims"]
    assert claim["submission_id"] == "R03996273 #01" and [ln["charge"] for ln in claim["lines"]] == ["461.10", "59.14"]
    assert "claim field submission_id: must be at most 20 letters, digits or hyphens" in [
        f["message"] for f in batch["findings"]]


def test_837p_claim_that_does_not_fit_is_left_out_with_an_error() -> None:
    batch = doc("lfh-837p-cob-example3a.837")  # its 2320 other payer has no 2330B NM1*PR
    assert batch["claims"] == []
    assert [(f["code"], f["severity"], f["position"]) for f in batch["findings"]] == [("unreadable", "error", 31)]


def test_999_with_several_sets_and_a_ta1_before_its_group() -> None:
    several = doc("pyx12-834-lui-id-5010.999")
    assert [a["group_control_number"] for a in several["acknowledgments"]] == ["13360001"] * 4
    with_ta1 = doc("ims-999-accepted-ta1.999")
    assert with_ta1["group_code"] == "R"
    assert with_ta1["interchange_acknowledgments"] == [
        {"control_number": "101", "date": "241018", "time": "0307", "code": "A", "note_code": "000",
         "note": "No error"}]


def test_277ca_without_provider_status_still_gives_the_claim_status() -> None:
    ack = doc("ims-277ca-rejected.277")
    [claim] = ack["claims"]
    assert (claim["patient_control_number"], claim["outcome"], claim["category_code"], claim["status_code"],
            claim["charge_amount"]) == ("3920394930203", "rejected", "A7", "562", "199.14")
    assert [(f["code"], f["position"]) for f in ack["findings"]] == [("stc_missing", 18)]
