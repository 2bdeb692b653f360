"""276 and 277 (005010X212) writers and readers: exact segments, round trips, malformed files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from edi.validate import pyx12_validate, validate
from edi.x12 import Delimiters, X12EnvelopeError, X12Error, X12SyntaxError
from edi.x276 import read_276, render_276
from edi.x277 import outcome_of, read_277, render_277
from tests.unit.edi.claim_status_samples import INQUIRIES, INQUIRY, NOT_FOUND, PAID, PENDING, RESPONSES
from tests.unit.edi.remit_support import CUSTOM, params, pyx12_checked

D = Decimal


def body(text: str) -> list[str]:
    """The segments between ST and SE."""
    segments = text.split("~")
    return segments[segments.index(next(s for s in segments if s.startswith("ST*"))) + 1:-4]


def test_276_segments() -> None:
    assert body(render_276(INQUIRIES, params())) == [
        "BHT*0010*13*000000101*20250201*0915",
        "HL*1**20*1", "NM1*PR*2*ACME HEALTH*****PI*ACME01",
        "HL*2*1*21*1", "NM1*41*2*REVCYCLE*****46*SUB123",
        "HL*3*2*19*1", "NM1*1P*2*SUNRISE CLINIC*****XX*1234567893",
        "HL*4*3*22*0", "DMG*D8*19800402*F", "NM1*IL*1*DOE*JANE****MI*W123456789",
        "TRN*1*T0001", "REF*1K*PCC1", "REF*EJ*C0001", "AMT*T3*185.5", "DTP*472*D8*20250115",
        "TRN*1*T0002", "REF*BLT*131", "REF*EJ*C0002", "AMT*T3*900", "DTP*472*RD8*20250110-20250112",
        "HL*5*3*22*1", "DMG*D8*19780130*M", "NM1*IL*1*DOE*JOHN****MI*W123456789",
        "HL*6*5*23", "DMG*D8*20150601*M", "NM1*QC*1*DOE*TIMMY",
        "TRN*1*T0003", "REF*EJ*C0003", "AMT*T3*75", "DTP*472*D8*20250115",
        "HL*7**20*1", "NM1*PR*2*BLUE PLAN*****PI*BLUE02",
        "HL*8*7*21*1", "NM1*41*2*REVCYCLE*****46*SUB123",
        "HL*9*8*19*1", "NM1*1P*2*SUNRISE CLINIC*****XX*1234567893",
        "HL*10*9*22*0", "DMG*D8*19800402*F", "NM1*IL*1*DOE*JANE****MI*W123456789",
        "TRN*1*T0004", "REF*EJ*C0004", "AMT*T3*0.5", "DTP*472*D8*20250115",
    ]
    text = render_276(INQUIRIES, params())
    assert "GS*HR*ACMEPAYER*SUNRISE*20250201*0915*7*X*005010X212~ST*276*0001*005010X212~" in text


def test_276_receiver_defaults_to_provider_and_envelope_sender() -> None:
    text = render_276([replace(INQUIRY, receiver_name="", receiver_id="")], params())
    assert "NM1*41*2*SUNRISE CLINIC*****46*ACMEPAYER~" in text


@pytest.mark.parametrize("delimiters", [params().delimiters, CUSTOM])
@pytest.mark.parametrize(("render", "read", "items"), [(render_276, read_276, INQUIRIES),
                                                       (render_277, read_277, RESPONSES)], ids=["276", "277"])
def test_round_trip(delimiters: Delimiters, render: Callable[..., str], read: Callable[[str], list[object]],
                    items: list[object]) -> None:
    assert read(render(items, params(delimiters))) == items


def test_276_subscriber_claim_after_a_dependent_gets_its_own_subscriber_level() -> None:
    order = [INQUIRIES[2], replace(INQUIRIES[2], dependent=None, trace_number="T9")]
    text = render_276(order, params())
    assert [s for s in body(text) if s.startswith("HL")] == [
        "HL*1**20*1", "HL*2*1*21*1", "HL*3*2*19*1", "HL*4*3*22*1", "HL*5*4*23", "HL*6*3*22*0"]
    assert read_276(text) == order


def test_277_segments() -> None:
    lines = body(render_277(RESPONSES[:3], params()))
    assert lines[:9] == ["BHT*0010*08*000000101*20250201*0915*DG", "HL*1**20*1",
                         "NM1*PR*2*ACME HEALTH*****PI*ACME01", "HL*2*1*21*1", "NM1*41*2*REVCYCLE*****46*SUB123",
                         "HL*3*2*19*1", "NM1*1P*2*SUNRISE CLINIC*****XX*1234567893", "HL*4*3*22*0",
                         "NM1*IL*1*DOE*JANE****MI*W123456789"]
    assert lines[9:14] == ["TRN*2*T0001", "STC*F1:65*20250203**185.5*120.25*20250130**20250203*EFT0001",
                           "REF*1K*PCC1", "REF*EJ*C0001", "DTP*472*D8*20250115"]
    assert "STC*P1:20:QC*20250203**900" in lines
    assert "STC*A4:35*20250203**75*0" in lines


def test_277_outcomes() -> None:
    assert [r.outcome for r in RESPONSES] == ["finalized_paid", "pending", "not_found", "finalized_denied"]
    assert outcome_of([PENDING, PAID]) == "finalized_paid"
    assert outcome_of([PENDING, NOT_FOUND]) == "pending"  # a "not found" never overrides an STC in process
    assert [replace(PAID, category_code=c).outcome for c in ("F0", "F3", "F4", "A7", "R3", "E3", "A4", "D0", "E1",
                                                              "A2", "P3")] \
        == ["finalized_other"] * 3 + ["rejected"] * 3 + ["not_found"] * 2 + ["pending"] * 3


HAND_277 = """ISA*00*          *00*          *ZZ*ACMEPAYER      *ZZ*SUNRISE        *250201*0915*^*00501*000000101*0*T*:~
GS*HN*ACMEPAYER*SUNRISE*20250201*0915*7*X*005010X212~
ST*277*0001*005010X212~
BHT*0010*08*R1*20250201*0915*DG~
HL*1**20*1~
NM1*PR*2*ACME HEALTH*****PI*ACME01~
PER*IC*CLAIMS*TE*8005551212~
HL*2*1*21*1~
NM1*41*2*REVCYCLE*****46*SUB123~
TRN*2*BATCH9~
STC*A1:19*20250201~
HL*3*2*19*1~
NM1*1P*2*SUNRISE CLINIC*****XX*1234567893~
HL*4*3*22*0~
NM1*IL*1*DOE*JANE****MI*W123456789~
TRN*2*T0001~
STC*F1:65*20250203**185.5*120.25*20250130**20250203*EFT0001~
STC*F1:107:QC*20250203**185.5~
REF*EJ*C0001~
DTP*472*RD8*20250114-20250115~
SVC*HC:99213*185.5*120.25****1~
STC*F1:65*20250203~
REF*FJ*L1~
DTP*472*D8*20250115~
SE*23*0001~
GE*1*7~
IEA*1*000000101~
"""


def test_277_reader_skips_level_statuses_and_service_lines() -> None:
    (r,) = read_277(HAND_277)
    assert (r.trace_number, r.patient_control_number, r.payer_claim_control_number) == ("T0001", "C0001", None)
    assert (r.service_date, r.service_end_date) == (date(2025, 1, 14), date(2025, 1, 15))
    first, second = r.statuses
    assert (first.category_code, first.status_code, first.entity_code, first.paid_amount, first.check_number) == (
        "F1", "65", None, D("120.25"), "EFT0001")
    assert (first.adjudication_date, first.payment_date) == (date(2025, 1, 30), date(2025, 2, 3))
    assert (second.status_code, second.entity_code, second.paid_amount) == ("107", "QC", None)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("STC*F1:65*20250203**185.5*120.25", "STC*F1*20250203**185.5*120.25",
         r"\(STC\): STC01 needs a status category code and a status code"),
        ("STC*F1:107:QC*20250203**185.5", "STC*F1:107:PR*20250203", r"STC04 is required"),
        ("HL*4*3*22*0", "HL*4*2*22*0", r"HL02 does not point to the enclosing level's HL01"),
        ("HL*4*3*22*0", "HL*4*3*24*0", r"HL03 must be 20, 21, 19, 22 or 23"),
        ("REF*EJ*C0001", "REF*ZZ*C0001", r"REF01 is not a reference qualifier of loop 2200D"),
        ("NM1*IL*1*DOE", "NM1*QC*1*DOE", r"found where NM1\*IL \(loop 2100D subscriber name\) is required"),
        ("STC*F1:65*20250203**185.5*120.25*20250130**20250203*EFT0001~\nSTC*F1:107:QC*20250203**185.5~\n", "",
         r"found where STC \(loop 2200D claim level status information\) is required"),
        ("DTP*472*RD8*20250114-20250115", "DTP*472*RD8*20250115-20250114", r"DTP03 ends before it starts"),
    ],
)
def test_malformed_277(old: str, new: str, expected: str) -> None:
    assert old in HAND_277
    with pytest.raises(X12SyntaxError, match=expected) as info:
        read_277(HAND_277.replace(old, new))
    assert "DOE" not in str(info.value) and "C0001" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("REF*EJ*C0001~", "", r"loop 2200D has no REF\*EJ patient control number"),
        ("AMT*T3*185.5~", "", r"found where AMT\*T3 \(loop 2200D claim submitted charges\) is required"),
        ("AMT*T3*185.5", "AMT*T3*18x", r"AMT02 is not a decimal amount"),
        ("DTP*472*D8*20250115~TRN*1*T0002", "DTP*472*D9*20250115~TRN*1*T0002",
         r"DTP02 is not a supported date format qualifier"),
        ("DMG*D8*19800402*F", "DMG*D8*19800402*X", r"DMG03 must be one of M, F, U"),
        ("HL*6*5*23", "HL*6*4*23", r"HL02 does not point to the enclosing level's HL01"),
        ("TRN*1*T0003", "TRN*2*T0003", r"TRN01 must be one of 1"),
        ("REF*1K*PCC1", "REF*F8*PCC1", r"REF01 is not a reference qualifier of loop 2200D"),
        ("NM1*1P*2*SUNRISE CLINIC*****XX", "NM1*1P*2*SUNRISE CLINIC*****ZZ", r"NM108 must be one of XX, FI, SV"),
    ],
)
def test_malformed_276(old: str, new: str, expected: str) -> None:
    text = render_276(INQUIRIES, params())
    assert old in text
    with pytest.raises(X12SyntaxError, match=expected) as info:
        read_276(text.replace(old, new, 1))
    assert "DOE" not in str(info.value) and "W123456789" not in str(info.value)


def test_wrong_transaction_types_are_refused() -> None:
    with pytest.raises(X12EnvelopeError, match="not a 277 claim status response"):
        read_277(HAND_277.replace("005010X212", "005010X214"))
    with pytest.raises(X12EnvelopeError, match="not a 276"):
        read_276(HAND_277)


def test_writers_refuse_empty_batches() -> None:
    with pytest.raises(X12Error, match="at least one claim status inquiry"):
        render_276([], params())
    with pytest.raises(X12Error, match="at least one claim status response"):
        render_277([], params())


# --- validation: pyx12 (277, fixed X212 map) and our checks (276 and 277) ---------------------


def test_written_277s_are_pyx12_clean() -> None:
    for delimiters in (params().delimiters, CUSTOM):
        text = render_277(RESPONSES, params(delimiters))
        assert pyx12_checked(text, "277") == []
        assert validate(text) == []
    assert pyx12_checked(render_277(RESPONSES[2:3], params()), "277") == []  # a dependent's claim alone
    assert pyx12_checked(HAND_277, "277") == []


def test_pyx12_reports_a_broken_277() -> None:
    text = render_277(RESPONSES, params()).replace("NM1*IL*1*DOE*JANE****MI*W123456789~", "", 1)
    issues = pyx12_checked(text, "277")
    assert ("pyx12:3", 12, 'Mandatory loop "Subscriber Name" (value) missing') in [
        (i.code, i.position, i.message) for i in issues]


def test_pyx12_has_no_map_for_the_276_and_says_so() -> None:
    (only,) = pyx12_validate(render_276(INQUIRIES, params()))
    assert (only.code, only.severity) == ("pyx12:no_map", "warning")
    assert only.message == "pyx12 has no 5010 map for the 276: checked by our structural checks only"


def test_written_276_passes_our_checks() -> None:
    assert validate(render_276(INQUIRIES, params())) == []
    assert validate(render_276(INQUIRIES, params(CUSTOM))) == []


def _issues(text: str) -> list[tuple[str, str | None, str | None, str]]:
    return [(i.code, i.segment_id, i.element, i.message) for i in validate(text)]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("HL*5*3*22*1", "HL*7*3*22*1",
         ("hl_sequence", "HL", "HL01", "HL01 of loop 2000D subscriber level is not 5 (HL01 numbers run from 1 by 1)")),
        ("HL*4*3*22*0", "HL*4*3*22*1",
         ("hl_child_code", "HL", "HL04", "HL04 of loop 2000D subscriber level must be 0: no child level follows")),
        ("HL*5*3*22*1", "HL*5*3*22*0",
         ("hl_child_code", "HL", "HL04", "HL04 of loop 2000D subscriber level must be 1: a child level follows")),
        ("XX*1234567893", "XX*1234567890",
         ("npi_check_digit", "NM1", "NM109", "NM109 is not a valid NPI (check digit or shape)")),
        ("DMG*D8*20150601*M~", "",
         ("dmg_missing", "HL", "DMG", "loop 2000E dependent level has no DMG (required)")),
        ("DMG*D8*19800402*F~", "",
         ("dmg_missing", "HL", "DMG",
          "loop 2000D subscriber level has no DMG (required when the subscriber is the patient)")),
        ("AMT*T3*185.5", "AMT*T3*-185.5",
         ("amount_negative", "AMT", "AMT02", "AMT02 (loop 2200D/E claim submitted charges) is negative")),
        ("AMT*T3*185.5~", "",
         ("check", "DTP", None, "found where AMT*T3 (loop 2200D claim submitted charges) is required")),
        ("REF*EJ*C0001~", "",
         ("check", "TRN", None, "loop 2200D has no REF*EJ patient control number (our claims always send one)")),
        ("DTP*472*D8*20250115~TRN*1*T0002", "DTP*472*D8*2025011~TRN*1*T0002",
         ("check", "DTP", None, "DTP03 is not a CCYYMMDD date")),
        ("NM1*41*2*REVCYCLE*****46", "NM1*40*2*REVCYCLE*****46",
         ("check", "NM1", None, "found where NM1*41 (loop 2100B information receiver name) is required")),
        ("HL*4*3*22*0", "HL*4*3*PT*0",
         ("check", "HL", None, "HL03 must be 20, 21, 19, 22 or 23 (a level of the 005010X212 hierarchy)")),
        ("TRN*1*T0001", "TRN*3*T0001", ("check", "TRN", None, "TRN01 must be one of 1")),
        ("REF*BLT*131", "REF*G1*131", ("check", "REF", None, "REF01 is not a reference qualifier of loop 2200D")),
    ],
)
def test_each_276_check_fails_on_a_broken_file(old: str, new: str, expected: tuple[str, str, str, str]) -> None:
    text = render_276(INQUIRIES, params())
    assert old in text
    found = _issues(text.replace(old, new, 1))
    assert expected in found
    assert not any("DOE" in message or "W123456789" in message for *_, message in found)


def test_277_checks_fail_on_a_broken_file() -> None:
    text = render_277(RESPONSES, params())
    assert _issues(text.replace("HL*4*3*22*0", "HL*4*3*22*1", 1)) == [
        ("hl_child_code", "HL", "HL04", "HL04 of loop 2000D subscriber level must be 0: no child level follows")]
    assert ("check", "STC", None, "STC04 is required") in _issues(text.replace("**185.5*120.25", "***120.25", 1))
    assert _issues(text.replace("HL*3*2*19*1", "HL*3*2*19*0", 1)) == [
        ("hl_child_code", "HL", "HL04", "HL04 of loop 2000C service provider level must be 1: a child level follows")]
    one = render_277(RESPONSES[:1], params())
    no_claims = one[:one.index("HL*4*3*22*0")] + one[one.index("~SE*") + 1:]
    assert _issues(no_claims)[1:] == [
        ("check", None, None, "the 277 holds no claim status tracking loop (2200D/2200E)"),
        ("hl_no_child", "HL", "HL04", "loop 2000C service provider level has no subordinate HL level"),
        ("hl_child_code", "HL", "HL04", "HL04 of loop 2000C service provider level must be 0: no child level follows"),
    ]
