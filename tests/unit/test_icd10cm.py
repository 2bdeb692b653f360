"""ICD-10-CM editions by fiscal year: the October 1 boundary, the two CMS file layouts (and the
line and column of a malformed one), and the code-set directory charges and claims read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from devstack.stack import code_set_status
from services.chassis.icd10cm import (
    SHIPPED,
    CodeFileError,
    Status,
    fiscal_year,
    fiscal_year_from_file_name,
    parse_code_file,
    read_editions,
    write_edition,
)
from services.chassis.settings import Settings

CODES_FILE = (
    "A000    Cholera due to Vibrio cholerae 01, biovar cholerae\n"
    "J020    Streptococcal pharyngitis\n"
    "J028    Acute pharyngitis due to other specified organisms\n"
    "Z9999   A code the next year adds (synthetic)\n"
)
ORDER_FILE = (
    "00001 A00     0 Cholera                                                      Cholera\n"
    "00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae\n"
    "09001 J02     0 Acute pharyngitis                                            Acute pharyngitis\n"
    "09002 J020    1 Streptococcal pharyngitis                                    Streptococcal pharyngitis\n"
)


@pytest.mark.parametrize(("day", "year"), [(date(2026, 9, 30), 2026), (date(2026, 10, 1), 2027),
                                           (date(2025, 10, 1), 2026), (date(2027, 1, 15), 2027)])
def test_october_first_starts_the_next_fiscal_year(day: date, year: int) -> None:
    assert fiscal_year(day) == year


def test_codes_file_layout_derives_its_categories() -> None:
    parsed = parse_code_file(CODES_FILE)
    assert parsed.format == "codes" and parsed.billable == 4
    assert parsed.codes["J020"] is True and parsed.codes["J02"] is False and "J0" not in parsed.codes


def test_order_file_layout_keeps_its_headers() -> None:
    parsed = parse_code_file(ORDER_FILE)
    assert parsed.format == "order"
    assert parsed.codes == {"A00": False, "A000": True, "J02": False, "J020": True}


@pytest.mark.parametrize(("text", "line", "column"), [
    (ORDER_FILE + "09003 J028    2 Acute pharyngitis other                                      x\n", 5, 15),
    (ORDER_FILE + "0900x J028    1 Acute pharyngitis other                                      x\n", 5, 1),
    (CODES_FILE + "j029    lowercase code\n", 5, 1),
    (CODES_FILE + "\nJ02.9   dotted code\n", 6, 1),
])
def test_a_malformed_file_names_the_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(CodeFileError) as caught:
        parse_code_file(text)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_fiscal_year_from_cms_file_names() -> None:
    assert fiscal_year_from_file_name("icd10cm_codes_2027.txt") == 2027
    assert fiscal_year_from_file_name("icd10cm_order_2027.txt") == 2027
    assert fiscal_year_from_file_name("codes.txt") is None


def test_a_loaded_edition_judges_its_year_and_the_newest_judges_later_dates(tmp_path: Path) -> None:
    assert read_editions(tmp_path / "none").by_year.keys() == SHIPPED.by_year.keys()
    write_edition(tmp_path, 2027, parse_code_file(CODES_FILE), "icd10cm_codes_2027.txt")
    editions = read_editions(tmp_path)
    assert [e.name for e in editions.listing()] == ["ICD-10-CM FY2026", "ICD-10-CM FY2027"]
    on = editions.for_day(date(2026, 10, 1))
    assert (on.edition.source, on.relation, on.note()) == ("icd10cm_codes_2027.txt", "in_force", None)
    assert on.code_set.status("Z9999") is Status.BILLABLE and on.code_set.status("J02") is Status.NOT_BILLABLE
    assert editions.for_day(date(2026, 9, 30)).edition.fiscal_year == 2026
    later = editions.for_day(date(2027, 10, 1))
    assert later.relation == "stale" and later.edition.fiscal_year == 2027
    assert "2027-10-01" not in (later.note() or "") and "FY2028" in (later.note() or "")
    # loading the year again replaces it, and readers see the new file without a restart
    write_edition(tmp_path, 2027, parse_code_file("J020    Streptococcal pharyngitis\n"), "icd10cm_codes_2027b.txt")
    assert read_editions(tmp_path).for_day(date(2027, 1, 1)).code_set.status("Z9999") is Status.UNKNOWN


def test_status_warns_once_today_is_past_the_newest_edition(tmp_path: Path) -> None:
    settings = Settings(codesets_dir=tmp_path)
    assert code_set_status(settings, date(2026, 9, 30)).warning is None
    past = code_set_status(settings, date(2026, 10, 1))
    assert past.healthy and past.warning is not None and "FY2027" in past.warning
    assert "ICD-10-CM FY2026" in past.detail and "2026-09-30" in past.detail
