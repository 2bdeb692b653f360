from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.x12 import app
from edi.x837 import render_837p
from tests.unit.edi import samples as s

runner = CliRunner()


@pytest.fixture
def claim_json(tmp_path: Path) -> Path:
    path = tmp_path / "claims.json"
    path.write_text(s.batch(s.claim(), s.claim("C0002", patient=s.DEPENDENT)).model_dump_json())
    return path


@pytest.fixture
def x12_file(tmp_path: Path) -> Path:
    path = tmp_path / "claims.x12"
    path.write_text(render_837p(s.batch(s.claim(), s.claim("C0002", patient=s.DEPENDENT))))
    return path


def test_render_then_parse_and_validate(claim_json: Path, tmp_path: Path) -> None:
    rendered = runner.invoke(app, ["render-837", str(claim_json), "--line-breaks"])
    assert rendered.exit_code == 0, rendered.output
    out = tmp_path / "out.x12"
    out.write_text(rendered.stdout)
    parsed = runner.invoke(app, ["parse", str(out)])
    assert parsed.exit_code == 0 and "C0002" in parsed.stdout and "99213" in parsed.stdout
    as_json = json.loads(runner.invoke(app, ["parse", str(out), "--json"]).stdout)
    assert as_json["transaction"] == "837P" and [c["submission_id"] for c in as_json["claims"]] == ["C0001", "C0002"]
    assert as_json["claims"][0]["total_charge"] == "185.5"
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0 and "no issues" in checked.stdout


def test_validate_lists_issues_and_exits_1(x12_file: Path) -> None:
    x12_file.write_text(
        x12_file.read_text().replace("XX*1234567893", "XX*1234567890").replace("HL*2*1*22", "HL*2*1*99")
    )
    result = runner.invoke(app, ["validate", str(x12_file)])
    assert result.exit_code == 1
    assert "segment 10 (NM1)" in result.stdout and "npi_check_digit" in result.stdout and "pyx12:" in result.stdout
    doc = json.loads(runner.invoke(app, ["validate", str(x12_file), "--json"]).stdout)
    assert doc["valid"] is False and any(i["position"] == 14 for i in doc["issues"])


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (b"hello world", "does not start with an ISA"),
        (b"\xff\xfe\x00I\x00S\x00A", "not UTF-8"),
        ("truncate", "truncated"),
        ("no-iea", "without IEA"),
    ],
)
def test_malformed_files_exit_2_with_one_line(x12_file: Path, content: bytes | str, needle: str) -> None:
    text = x12_file.read_text()
    if content == "truncate":
        x12_file.write_text(text[: len(text) // 2])
    elif content == "no-iea":
        x12_file.write_text(text[: text.index("IEA*")])
    else:
        assert isinstance(content, bytes)
        x12_file.write_bytes(content)
    for command in ("parse", "validate"):
        result = runner.invoke(app, [command, str(x12_file)])
        assert result.exit_code == 2, (command, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.output


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.x12", tmp_path):
        result = runner.invoke(app, ["parse", str(path)])
        assert result.exit_code == 2 and "cannot read" in result.stderr


def test_render_schema_and_help() -> None:
    schema = json.loads(runner.invoke(app, ["render-837", "--schema"]).stdout)
    assert "claims" in schema["properties"] and "Claim" in schema["$defs"]
    help_text = runner.invoke(app, ["render-837", "--help"]).stdout
    assert "--schema" in help_text and "submission_id" in help_text


def test_render_rejects_invalid_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    doc = s.batch().model_dump(mode="json")
    doc["claims"][0]["total_charge"] = "1.00"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(app, ["render-837", str(bad)])
    assert result.exit_code == 2 and "sum of the line charges" in result.stderr
    bad.write_text("{not json")
    assert runner.invoke(app, ["render-837", str(bad)]).exit_code == 2


def test_a_wrong_count_is_a_finding_not_a_failure(x12_file: Path) -> None:
    """parse reads and lists it (exit 0); validate lists it with every other finding (exit 1)."""
    x12_file.write_text(x12_file.read_text().replace("~SE*", "~SE*9", 1).replace("XX*1234567893", "XX*1234567890"))
    parsed = runner.invoke(app, ["parse", str(x12_file), "--json"])
    assert parsed.exit_code == 0, parsed.output
    doc = json.loads(parsed.stdout)
    assert [c["submission_id"] for c in doc["claims"]] == ["C0001", "C0002"]
    first = doc["findings"][0]
    assert (first["code"], first["element"], first["severity"]) == ("envelope", "SE01", "error")
    assert any(f["code"] == "writer_rule" and "npi" in f["message"] for f in doc["findings"])
    checked = json.loads(runner.invoke(app, ["validate", str(x12_file), "--json", "--no-pyx12"]).stdout)
    codes = [i["code"] for i in checked["issues"]]
    assert checked["valid"] is False and "envelope" in codes and "npi_check_digit" in codes


def test_several_interchanges_and_a_byte_order_mark(x12_file: Path) -> None:
    text = x12_file.read_text()
    second = text.replace("*000000017*", "*000000018*").replace("IEA*1*000000017", "IEA*1*000000018")
    x12_file.write_bytes(b"\xef\xbb\xbf" + (text + "\r\n" + second).encode())
    result = runner.invoke(app, ["parse", str(x12_file), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [b["interchange_control_number"] for b in doc["interchanges"]] == [17, 18]
    assert doc["findings"] == []


def test_unsupported_transaction_exits_2(tmp_path: Path) -> None:  # the 837D (X224) is not read
    from datetime import datetime

    from edi.x12 import EnvelopeParams, write_interchange

    path = tmp_path / "other.x12"
    path.write_text(
        write_interchange(
            EnvelopeParams("AA", "BB", 1, 1, datetime(2025, 1, 1)), "HC", "005010X224A2", [[["BHT", "0019"]]]
        )
    )
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 2 and "unsupported transaction set 837" in result.stderr


def test_837i_render_parse_and_validate(tmp_path: Path) -> None:
    claims = tmp_path / "institutional.json"
    claims.write_text(s.institutional_batch(s.inpatient_claim(), s.outpatient_claim()).model_dump_json())
    rendered = runner.invoke(app, ["render-837", "--institutional", str(claims)])
    assert rendered.exit_code == 0, rendered.output
    assert "005010X223A2" in rendered.stdout
    as_professional = runner.invoke(app, ["render-837", str(claims)])
    assert as_professional.exit_code == 2 and "procedure_code" in as_professional.stderr
    out = tmp_path / "institutional.837"
    out.write_text(rendered.stdout)
    parsed = runner.invoke(app, ["parse", str(out)])
    assert parsed.exit_code == 0, parsed.output
    assert "837I" in parsed.stdout and "type of bill 0111" in parsed.stdout and "0450" in parsed.stdout
    doc = json.loads(runner.invoke(app, ["parse", str(out), "--json"]).stdout)
    assert doc["transaction"] == "837I" and [c["submission_id"] for c in doc["claims"]] == ["I0001", "O0001"]
    assert doc["claims"][0]["principal_diagnosis"] == {"code": "J189", "present_on_admission": "Y"}
    assert doc["findings"] == []
    checked = runner.invoke(app, ["validate", str(out)])
    assert checked.exit_code == 0 and "no issues" in checked.stdout, checked.output
    out.write_text(rendered.stdout.replace("*11:A:1*", "*11:A:Z1*"))
    broken = json.loads(runner.invoke(app, ["validate", "--json", "--no-pyx12", str(out)]).stdout)
    assert broken["valid"] is False and [i["code"] for i in broken["issues"]] == ["type_of_bill"]
    schema = json.loads(runner.invoke(app, ["render-837", "--institutional", "--schema"]).stdout)
    assert "type_of_bill" in json.dumps(schema)
