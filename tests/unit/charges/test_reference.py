from __future__ import annotations

import pytest

from services.charges.domain import ReferenceFileError, shipped_reference
from services.charges.domain.codes import is_modifier_shape
from services.charges.domain.reference import parse_code_list_csv, parse_hcpcs_sample_csv

PACKAGE_DATA = __import__("pathlib").Path(__file__).resolve().parents[3] / "services/charges/domain/data"


def test_shipped_lists_load_and_hold_what_the_rules_rely_on() -> None:
    reference = shipped_reference()
    assert 200 <= len(reference.hcpcs) <= 600
    assert {"J1100", "J3301", "J0696", "G0463", "A0425", "E0601"} <= set(reference.hcpcs)
    assert {"25", "26", "59", "TC", "GP", "XS", "QW", "KX", "LT", "RT"} <= reference.modifiers
    assert {"02", "10", "11", "12", "19", "20", "21", "22", "23", "24", "31", "32", "49", "50", "81"} <= (
        reference.places_of_service
    )
    assert reference.cpt_codes is None and reference.chargemaster is None
    assert shipped_reference() is reference  # read once


def test_shipped_sample_says_it_is_a_dated_sample() -> None:
    head = (PACKAGE_DATA / "hcpcs_sample_2026q4.csv").read_text(encoding="utf-8").splitlines()[:3]
    assert "SAMPLE" in head[0] and "2026" in "".join(head)


def test_code_list_errors_carry_line_numbers() -> None:
    text = "# comment\ncode,description\n25,Significant E/M\nX,Bad\n25,Again\n"
    with pytest.raises(ReferenceFileError) as caught:
        parse_code_list_csv(text, source="mods.csv", valid_code=is_modifier_shape)
    assert [str(e) for e in caught.value.errors] == [
        "line 4: expected a valid code and a description",
        "line 5: code is listed twice",
    ]
    assert str(caught.value).startswith("mods.csv: line 4")


def test_code_list_needs_its_header() -> None:
    with pytest.raises(ReferenceFileError, match="header must be code,description"):
        parse_code_list_csv("25,Significant\n", source="x", valid_code=is_modifier_shape)
    with pytest.raises(ReferenceFileError, match="no header"):
        parse_code_list_csv("# only a comment\n", source="x", valid_code=is_modifier_shape)


def test_hcpcs_sample_refuses_cpt_or_malformed_codes() -> None:
    with pytest.raises(ReferenceFileError):
        parse_hcpcs_sample_csv("code,description\n99213,Office visit\n")
    assert set(parse_hcpcs_sample_csv("code,description\nJ1100,Dexamethasone 1 mg\n")) == {"J1100"}
