"""NCCI PTP and MUE loaders: the CMS quarterly layouts (synthetic files) and the shipped samples."""

from __future__ import annotations

from datetime import date

from services.claims.domain.codesets import load_cms_mue, load_cms_ptp, shipped

CMS_PTP = (
    "CPT codes and descriptions only are copyright American Medical Association.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
    "\t\t\t\t\t\t\n"
    "93000\t93010\t*\t19960101\t*\t0\tMisuse of column two code with column one code\n"
    "11042\t97597\t\t20130101\t20150101\t1\tStandards of medical / surgical practice\n"
)
CMS_MUE = (
    "Practitioner Services MUE Table\n"
    '"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'
    '"36415","2","3 Date of Service Edit: Clinical","Nature of Service/Procedure"\n'
    '"99213","1","2 Date of Service Edit: Policy","Nature of Service/Procedure"\n'
)


def test_cms_ptp_layout() -> None:
    edits = load_cms_ptp(CMS_PTP)
    assert [(e.column1, e.column2, e.modifier_indicator) for e in edits] == [("93000", "93010", "0"),
                                                                              ("11042", "97597", "1")]
    assert edits[0].deleted is None and edits[0].in_force(date(2026, 1, 1))
    assert edits[1].deleted == date(2015, 1, 1) and not edits[1].in_force(date(2026, 1, 1))
    assert edits[1].in_force(date(2014, 6, 1))


def test_cms_mue_layout() -> None:
    assert [(m.procedure_code, m.max_units, m.adjudication_indicator) for m in load_cms_mue(CMS_MUE)] == [
        ("36415", 2, "3"), ("99213", 1, "2")]


def test_shipped_samples_are_dated_and_loaded() -> None:
    sets = shipped()
    assert sets.quarter == "2026Q1"
    assert any((e.column1, e.column2) == ("80053", "80048") for e in sets.ptp)
    assert sets.mue["99213"].max_units == 1
