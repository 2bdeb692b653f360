"""`rcm x12 parse` and `validate` on 276 and 277 (005010X212) files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.x12 import app
from edi.x276 import render_276
from edi.x277 import render_277
from tests.unit.edi.claim_status_samples import INQUIRIES, RESPONSES
from tests.unit.edi.remit_support import params

runner = CliRunner()


def test_parse_276_json(tmp_path: Path) -> None:
    path = tmp_path / "000000101.276"
    path.write_text(render_276(INQUIRIES, params()))
    result = runner.invoke(app, ["parse", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["transaction"] == "276" and doc["findings"] == []
    assert [(i["trace_number"], i["patient_control_number"], i["total_charge"], i["payer_id"])
            for i in doc["inquiries"]] == [
        ("T0001", "C0001", "185.50", "ACME01"), ("T0002", "C0002", "900.00", "ACME01"),
        ("T0003", "C0003", "75.00", "ACME01"), ("T0004", "C0004", "0.50", "BLUE02")]
    assert doc["inquiries"][1]["service_end_date"] == "2025-01-12" and doc["inquiries"][1]["type_of_bill"] == "131"
    assert doc["inquiries"][2]["dependent"] == {"last_name": "DOE", "first_name": "TIMMY", "member_id": None,
                                                "birth_date": "2015-06-01", "gender": "M"}
    assert runner.invoke(app, ["parse", str(path)]).exit_code == 0


def test_parse_277_json_is_the_claim_status_response_not_a_277ca(tmp_path: Path) -> None:
    path = tmp_path / "000000101.277"
    path.write_text(render_277(RESPONSES, params()))
    doc = json.loads(runner.invoke(app, ["parse", str(path), "--json"]).stdout)
    assert doc["transaction"] == "277"
    assert [(c["trace_number"], c["outcome"], c["category_code"], c["status_code"]) for c in doc["claims"]] == [
        ("T0001", "finalized_paid", "F1", "65"), ("T0002", "pending", "P1", "20"), ("T0003", "not_found", "A4", "35"),
        ("T0004", "finalized_denied", "F2", "88")]
    paid = doc["claims"][0]["statuses"][0]
    assert (paid["total_charge"], paid["paid_amount"], paid["adjudication_date"], paid["payment_date"],
            paid["check_number"]) == ("185.50", "120.25", "2025-01-30", "2025-02-03", "EFT0001")


def test_validate_277_runs_pyx12_and_our_checks(tmp_path: Path) -> None:
    path = tmp_path / "000000101.277"
    text = render_277(RESPONSES, params())
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == {"valid": True, "issues": []}
    path.write_text(text.replace("HL*4*3*22*0", "HL*4*3*22*1"))
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    assert [(i["code"], i["position"]) for i in json.loads(result.stdout)["issues"]] == [("hl_child_code", 11)]


def test_validate_276_uses_our_structural_checks(tmp_path: Path) -> None:
    path = tmp_path / "000000101.276"
    text = render_276(INQUIRIES, params())
    path.write_text(text)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: interchange: pyx12 has no 5010 map for the 276: checked by our structural checks only" \
        in " ".join(result.stdout.split())
    path.write_text(text.replace("AMT*T3*185.5~", ""))
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 1
    issues = json.loads(result.stdout)["issues"]
    assert [(i["code"], i["segment_id"], i["message"]) for i in issues if i["severity"] == "error"] == [
        ("check", "DTP", "found where AMT*T3 (loop 2200D claim submitted charges) is required"),
        ("envelope", "SE", "SE01 says 45 segments, found 44")]
