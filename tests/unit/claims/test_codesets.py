"""NCCI PTP, MUE and PFS indicator readers: the CMS quarterly layouts (small synthetic files), the
errors that name a line and column, quarters, and the shipped samples."""

from __future__ import annotations

from datetime import date

import pytest

from services.chassis.icd10cm import CodeFileError
from services.claims.domain.codesets import (
    parse_mue,
    parse_ptp,
    quarter_for,
    quarter_from_file_name,
    shipped,
)

CMS_PTP = (
    "CPT codes and descriptions only are copyright American Medical Association.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
    "\t\t\tDate\tDate\t0, 1 or 9\t\n"
    "93000\t93005\t*\t19960101\t*\t0\tMisuse of column two code with column one code\n"
    "11042\t97597\t\t20130101\t20150101\t1\tStandards of medical / surgical practice\n"
)
CMS_MUE = (
    "Practitioner Services MUE Table\n"
    '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'
    '"36415","2","3 Date of Service Edit: Clinical","Nature of Service/Procedure"\n'
    '"99213","1","2 Date of Service Edit: Policy","Nature of Service/Procedure"\n'
)


def test_cms_ptp_layout() -> None:
    edits = parse_ptp(CMS_PTP, "ccipra_v320r0_f1.txt", "2026Q1")
    assert [(e.column1, e.column2, e.modifier_indicator) for e in edits] == [("93000", "93005", "0"),
                                                                              ("11042", "97597", "1")]
    assert {(e.source_file, e.quarter) for e in edits} == {("ccipra_v320r0_f1.txt", "2026Q1")}
    assert edits[0].deleted is None and edits[0].in_force(date(2026, 1, 1))
    assert edits[1].deleted == date(2015, 1, 1) and not edits[1].in_force(date(2015, 1, 1))
    assert edits[1].in_force(date(2014, 12, 31))


def test_cms_mue_layout() -> None:
    limits = parse_mue(CMS_MUE, "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv", "2026Q1")
    assert [(m.procedure_code, m.max_units, m.adjudication_indicator) for m in limits] == [
        ("36415", 2, "3"), ("99213", 1, "2")]


@pytest.mark.parametrize(("text", "line", "column"), [
    (CMS_PTP + "99213\t99212\t\t2026011\t*\t1\tx\n", 6, 4),      # a date with 7 digits
    (CMS_PTP + "99213\t9921\t\t20260101\t*\t1\tx\n", 6, 2),      # a 4-character code
    (CMS_PTP + "99213\t99212\t\t20260101\t*\t5\tx\n", 6, 6),     # modifier indicator 5
    (CMS_PTP + "99213\t99212\n", 6, 3),                          # a short row
    (CMS_PTP + "\t99212\t\t20260101\t*\t1\tx\n", 6, 1),        # no column 1 once the data started
    ("just a title\nno header here\n", 1, None),
])
def test_malformed_ptp_names_line_and_column(text: str, line: int, column: int | None) -> None:
    with pytest.raises(CodeFileError) as caught:
        parse_ptp(text, "f.txt", "2026Q1")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"line {line}")


def test_malformed_mue_names_line_and_column() -> None:
    with pytest.raises(CodeFileError) as caught:
        parse_mue(CMS_MUE + '"80053","one","2 Date of Service Edit: Policy",""\n', "m.csv", "2026Q1")
    assert (caught.value.line, caught.value.column) == (5, 2)
    with pytest.raises(CodeFileError) as caught:
        parse_mue(CMS_MUE + '"80053","1","4 Something",""\n', "m.csv", "2026Q1")
    assert (caught.value.line, caught.value.column) == (5, 3)


def test_quarters_from_cms_file_names() -> None:
    assert quarter_from_file_name("ccipra_v320r0_f1.txt") == "2026Q1"
    assert quarter_from_file_name("ccipra_v323r0_f4.txt") == "2026Q4"
    assert quarter_from_file_name("MCR_MUE_PractitionerServices_Eff_04-01-2026.csv") == "2026Q2"
    assert quarter_from_file_name("ptp_2027q1.csv") == "2027Q1"
    assert quarter_from_file_name("edits.txt") is None


def test_the_quarter_that_judges_a_date() -> None:
    loaded = ["2026Q1", "2026Q3"]
    assert quarter_for(date(2026, 8, 1), loaded) == "2026Q3"
    assert quarter_for(date(2026, 5, 1), loaded) == "2026Q1"
    assert quarter_for(date(2025, 5, 1), loaded) == "2026Q1"  # before every quarter: the oldest
    assert quarter_for(date(2026, 5, 1), []) is None


def test_shipped_samples_name_their_cms_file_and_quarter() -> None:
    sets = shipped()
    assert sets.quarter == "2026Q1"
    assert {(e.column1, e.column2) for e in sets.ptp} == {("80053", "80048"), ("93000", "93005")}
    assert all(e.quarter == "2026Q1" and e.source_file.startswith("ccipra_v320r0") for e in sets.ptp)
    assert not any(e.column2 == "87880" for e in sets.ptp)  # 99213/87880 is not evidenced as a CMS edit
    assert sets.mue["99213"].adjudication_indicator == "2"
    assert sets.mue["99213"].source_file == "MCR_MUE_PractitionerServices_Eff_01-01-2026"
    assert sets.pfs["71046"].pctc_indicator == "1" and sets.pfs["93000"].professional_code == "93010"
    assert "RVU26A" in sets.pfs["20610"].source and sets.pfs["20610"].global_days == "000"
