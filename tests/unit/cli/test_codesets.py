"""`rcm codesets load`: the ICD-10-CM edition goes to the code-set folder; a malformed or unnamed
file loads nothing, says which line and column, and exits non-zero without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app as rcm
from services.chassis.icd10cm import read_editions
from services.chassis.settings import get_settings

CODES = "J020    Streptococcal pharyngitis\nZ9999   A code FY2027 adds (synthetic)\n"


def test_icd10cm_edition_is_loaded_for_its_fiscal_year(tmp_path: Path) -> None:
    file = tmp_path / "icd10cm_codes_2027.txt"
    file.write_text(CODES)
    try:
        result = CliRunner().invoke(rcm, ["codesets", "load", "icd10cm", str(file), "--json"])
        assert result.exit_code == 0, result.output
        loaded = json.loads(result.stdout)
        assert (loaded["fiscal_year"], loaded["format"], loaded["billable_codes"]) == (2027, "codes", 2)
        editions = read_editions(get_settings().codesets_path)
        assert editions.newest.name == "ICD-10-CM FY2027" and editions.newest.source == "icd10cm_codes_2027.txt"
    finally:
        (get_settings().codesets_path / "icd10cm_fy2027.tsv").unlink(missing_ok=True)


def test_a_malformed_icd10cm_file_names_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "icd10cm_order_2027.txt"
    file.write_text("00001 A00     0 Cholera                                                      Cholera\n"
                    "00002 A000    7 Cholera due to Vibrio cholerae                               Cholera\n")
    result = CliRunner().invoke(rcm, ["codesets", "load", "icd10cm", str(file)])
    assert result.exit_code == 1
    assert "line 2, column 15" in result.output and "nothing loaded" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_ptp_file_loads_nothing_and_names_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "ccipra_v323r0_f1.txt"
    file.write_text("Column 1\tColumn 2\t*\tEffective Date\tDeletion Date\tModifier\tRationale\n"
                    "80053\t80048\t\t20260101\t*\t0\tx\n"
                    "80053\t80048\t\t2026-13-01\t*\t0\tx\n")
    result = CliRunner().invoke(rcm, ["codesets", "load", "ncci", str(file)])
    assert result.exit_code == 1
    assert "line 3, column 4" in result.output and "nothing loaded" in result.output


def test_a_file_without_a_quarter_or_year_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "edits.txt"
    file.write_text("Column 1\tColumn 2\n")
    result = CliRunner().invoke(rcm, ["codesets", "load", "mue", str(file)])
    assert result.exit_code == 2 and "--quarter" in result.output
    sheet = tmp_path / "ccipra_v320r0_f1.xlsx"
    sheet.write_bytes(b"PK\x03\x04")
    result = CliRunner().invoke(rcm, ["codesets", "load", "ncci", str(sheet)])
    assert result.exit_code == 2 and "save the sheet as CSV" in result.output


def test_help_says_which_formats_are_accepted() -> None:
    result = CliRunner().invoke(rcm, ["codesets", "load", "--help"])
    assert result.exit_code == 0
    assert "tab-delimited" in result.output and "icd10cm_order_YYYY.txt" in result.output
