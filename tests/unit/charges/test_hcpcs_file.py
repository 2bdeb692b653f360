"""The CMS quarterly HCPCS loader, on a synthetic file written in the CMS fixed-width layout."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from types import MappingProxyType

import pytest

from services.charges.domain import Reason, ReferenceFileError, parse_hcpcs_release
from services.charges.domain.rules import check_procedure_code
from tests.unit.charges.conftest import DATA

SYNTHETIC = (DATA / "HCPC2026_OCT_ANWEB_synthetic.txt").read_text(encoding="utf-8")


def test_fixed_width_file_yields_procedures_and_modifiers() -> None:
    release = parse_hcpcs_release(SYNTHETIC)
    assert set(release.procedures) == {"A0425", "G0202", "J1100", "Q5999"}  # the CPT row is skipped
    assert set(release.modifiers) == {"XS"}
    j1100 = release.procedures["J1100"]
    assert j1100.description.endswith("(synthetic test wording that continues on a second record)")
    assert j1100.added == date(2008, 1, 1) and j1100.terminated is None
    assert release.modifiers["XS"].description.endswith("separate organ or structure")
    assert release.procedures["G0202"].terminated == date(2016, 12, 31)


def test_loaded_release_drives_the_effective_date_rule(reference) -> None:
    loaded = replace(reference, hcpcs=parse_hcpcs_release(SYNTHETIC).procedures, hcpcs_source="HCPC2026_OCT")
    assert check_procedure_code("Q5999", "procedure_code", date(2026, 10, 1), loaded) == []
    (early,) = check_procedure_code("Q5999", "procedure_code", date(2026, 9, 30), loaded)
    assert early.code is Reason.CHG_HCPCS_NOT_EFFECTIVE
    (gone,) = check_procedure_code("G0202", "procedure_code", date(2017, 1, 2), loaded)
    assert gone.code is Reason.CHG_HCPCS_NOT_EFFECTIVE
    (unknown,) = check_procedure_code("J3301", "procedure_code", date(2026, 10, 1), loaded)
    assert unknown.code is Reason.CHG_HCPCS_UNKNOWN and "HCPC2026_OCT" in unknown.message


def test_csv_export_of_the_cms_workbook_is_read_too() -> None:
    text = (
        "HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,ADD DT,ACT EFF DT,TERM DT,ACTION CD\n"
        'J1100,00100,3,"Injection, dexamethasone, 1 mg",Dexamethasone,20080101,20080101,,N\n'
        "XS,00100,7,Separate structure,Separate structure,20150101,20150101,,N\n"
        "G0202,00100,3,Screening mammography,Scr mammo,20020101,20170101,20161231,D\n"
    )
    release = parse_hcpcs_release(text)
    assert set(release.procedures) == {"J1100", "G0202"} and set(release.modifiers) == {"XS"}
    assert release.procedures["G0202"].terminated == date(2016, 12, 31)
    assert isinstance(release.procedures, MappingProxyType)


def test_csv_without_the_cms_columns_is_refused() -> None:
    with pytest.raises(ReferenceFileError, match="lacks the CMS columns"):
        parse_hcpcs_release("HCPC,DESCRIPTION\nJ1100,Dexamethasone\n")


def test_bad_records_fail_the_whole_file_with_line_numbers() -> None:
    lines = SYNTHETIC.splitlines()
    bad_date = lines[2][:268] + "2008XX01" + lines[2][276:]
    bad_record_id = lines[4][:10] + "5" + lines[4][11:]
    orphan = "W1234" + lines[5][5:]
    text = "\n".join([lines[0], lines[1], bad_date, lines[3], bad_record_id, orphan, lines[6]])
    with pytest.raises(ReferenceFileError) as caught:
        parse_hcpcs_release(text)
    assert [e.line for e in caught.value.errors] == [3, 5, 6]


def test_a_file_without_level_two_codes_is_refused() -> None:
    with pytest.raises(ReferenceFileError, match="no HCPCS Level II codes"):
        parse_hcpcs_release("\n".join(SYNTHETIC.splitlines()[:2]))
