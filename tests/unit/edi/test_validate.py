from __future__ import annotations

from collections.abc import Iterator

import pytest

from edi.issues import X12Issue
from edi.npi import is_valid_npi
from edi.validate import CHECKS, pyx12_validate, validate, validate_all
from edi.x12 import Interchange, TransactionSet
from edi.x837 import render_837p
from tests.unit.edi import samples as s
from tests.unit.edi.remit_support import body_835, wrap_835

PHI = ("Doe", "Jane", "Timmy", "W123456789", "Elm", "Sunrise")


def good() -> str:
    return render_837p(
        s.batch(
            s.claim(),
            s.claim("C0002", patient=s.DEPENDENT, frequency="7", payer_claim_control_number="PCN1", **s.SECONDARY),
        )
    )


@pytest.mark.parametrize(
    ("npi", "ok"),
    [
        ("1234567893", True),
        ("1999999984", True),
        ("1123456786", True),
        ("1234567890", False),
        ("3234567893", False),
        ("123456789", False),
        ("12345678a3", False),
    ],
)
def test_npi_check_digit(npi: str, ok: bool) -> None:
    assert is_valid_npi(npi) is ok


def test_clean_file_has_no_issues() -> None:
    assert validate(good()) == []


def _codes(issues: list[X12Issue]) -> list[str]:
    return [i.code for i in issues]


def test_bad_npi_clm02_and_missing_f8_are_reported_with_positions() -> None:
    text = good().replace("XX*1234567893", "XX*1234567890").replace("CLM*C0001*185.5", "CLM*C0001*185.6")
    text = text.replace("REF*F8*PCN1~", "REF*G1*PCN1~")
    issues = validate(text)
    assert sorted(_codes(issues)) == ["clm02_sum", "npi_check_digit", "ref_f8_missing"]
    by_code = {i.code: i for i in issues}
    segments = text.split("~")
    assert segments[by_code["npi_check_digit"].position - 1].startswith("NM1*85")  # type: ignore[operator]
    assert segments[by_code["clm02_sum"].position - 1].startswith("CLM*C0001")  # type: ignore[operator]
    assert by_code["ref_f8_missing"].element == "CLM05-3"
    assert str(by_code["clm02_sum"]).startswith(f"segment {by_code['clm02_sum'].position} (CLM):")


def test_ndc_and_clia_shapes_are_checked() -> None:
    text = render_837p(s.batch(s.claim(clia_number="05D0987654", lines=[
        s.line("J1885", drug={"ndc": "00409123401", "quantity": "2", "unit": "UN"})])))
    assert validate(text) == []
    bad = text.replace("LIN**N4*00409123401~", "LIN**N4*0409-1234-01~").replace("REF*X4*05D0987654~",
                                                                              "REF*X4*05-0987654~")
    issues = validate(bad)
    assert sorted((i.code, i.element) for i in issues) == [("clia_format", "REF02"), ("ndc_format", "LIN03")]
    assert "0409" not in " ".join(str(i) for i in issues)  # the value is never echoed


def test_cob_ref_f8_does_not_satisfy_the_claim_level_requirement() -> None:
    text = good().replace("REF*F8*PCN1~", "")
    text = text.replace("NM1*PR*2*Medicare Part B*****PI*MCR01~", "NM1*PR*2*Medicare Part B*****PI*MCR01~REF*F8*X1~")
    assert "ref_f8_missing" in _codes(validate(text))


def test_envelope_problem_is_one_issue() -> None:
    text = good().replace("~SE*", "~SE*9", 1)
    (issue,) = validate(text)
    assert issue.code == "envelope" and issue.segment_id == "SE" and "SE01" in issue.message


def test_pyx12_flags_a_broken_file_without_leaking_values() -> None:
    text = good().replace("HL*2*1*22*0", "HL*2*1*99*0").replace("DMG*D8*19800203*F", "DMG*D8*19800203*Q")
    issues = pyx12_validate(text)
    assert issues and all(i.source == "pyx12" for i in issues)
    assert any(i.position == 14 and i.segment_id == "HL" for i in issues)
    for issue in issues:
        assert not any(p in str(issue) for p in PHI), str(issue)


def test_pyx12_element_errors_carry_element_ids() -> None:
    text = good().replace("N4*Springfield*IL*627011234", "N4*S*IL*627011234")
    issues = pyx12_validate(text)
    assert any(i.element == "N401" for i in issues)


def test_pyx12_errors_only_logged_are_still_reported() -> None:
    # pyx12 reports GS element errors through logging only; the harness must still fail.
    text = good().replace("GS*HC*REVCYCLE*CLEARHOUSE", "GS*HC*REVCYCLE*C")
    issues = pyx12_validate(text)
    assert issues and any(i.position == 2 for i in issues)


def test_validate_all_sorts_and_combines() -> None:
    text = good().replace("XX*1234567893", "XX*1234567890").replace("HL*2*1*22*0", "HL*2*1*99*0")
    issues = validate_all(text)
    assert {"npi_check_digit"} <= set(_codes(issues)) and any(i.source == "pyx12" for i in issues)
    assert [i.position or 0 for i in issues] == sorted(i.position or 0 for i in issues)


def test_registered_checks_run_per_transaction_id(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def spy(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
        seen.append(ts.control_number)
        yield X12Issue(code="spy", message="seen", position=ts.segments[0].position, segment_id="ST")

    monkeypatch.setitem(CHECKS, "837", (*CHECKS["837"], spy))
    assert "spy" in _codes(validate(good()))
    assert seen == ["0001"]


def test_835_checks_come_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from edi.x12 import EnvelopeParams, write_interchange

    def check_835(ts: TransactionSet, interchange: Interchange) -> list[X12Issue]:
        return [
            X12Issue(
                code="balance", message="BPR02 does not balance", position=ts.segments[1].position, segment_id="BPR"
            )
        ]

    monkeypatch.setitem(CHECKS, "835", (check_835,))
    text = write_interchange(
        EnvelopeParams("AA", "BB", 1, 1, datetime(2025, 1, 1)),
        "HP",
        "005010X221A1",
        [[["BPR", "I", "10", "C", "NON"]]],
        st03=False,
    )
    (issue,) = validate(text)
    assert issue.code == "balance" and issue.position == 4


def test_835_balancing_is_one_of_our_checks() -> None:
    bad = wrap_835(body_835("CLP*C1*1*100*70*0*12*P1~NM1*QC*1*DOE****MI*W1~CAS*CO*45*20~", "70"))
    (issue,) = validate(bad)
    assert (issue.code, issue.segment_id, issue.element, issue.position) == ("balancing_claim", "CLP", "CLP04", 15)
