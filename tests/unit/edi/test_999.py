"""999 reader, builder (acknowledging an 837 interchange), writer and normalized JSON."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.x12 import FunctionalGroup, X12EnvelopeError, X12Error, X12SyntaxError, read_interchange
from edi.x837 import render_837p
from edi.x999 import (
    Ack999,
    AckCode,
    ElementError,
    GroupAckCode,
    SegmentError,
    TransactionSetAck,
    read_999,
    read_999_all,
    to_json_dict,
    write_999,
)
from sandbox.acknowledgments import TransactionFinding, acknowledge, acknowledge_interchange
from tests.unit.edi import samples
from tests.unit.edi.remit_support import CUSTOM, ROUND_TRIPS, interchange, params, pyx12_checked


def wrap(*bodies: str, **kw: object) -> str:
    return interchange("FA", "005010X231A1", *bodies, **kw)  # type: ignore[arg-type]


SAMPLE = """
AK1*HC*42*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*A~
AK2*837*0002*005010X222A1~
IK3*CLM*22*2300*8~
CTX*CLM01:C0002~
IK4*2*782*6*SECRETVALUE~
CTX*SITUATIONAL TRIGGER*CLM*22**5:2~
IK4*5:3**7~
IK3*NM1*9**3~
IK5*R*5~
AK9*P*2*2*1~
"""


def test_reads_accepted_and_rejected_sets_with_errors() -> None:
    ack = read_999(wrap(SAMPLE))
    assert (ack.functional_id, ack.group_control_number, ack.version) == ("HC", "42", "005010X222A1")
    assert (ack.group_code, ack.included_count, ack.received_count, ack.accepted_count) == (
        GroupAckCode.PARTIALLY_ACCEPTED, 2, 2, 1)
    first, second = ack.transaction_sets
    assert (first.control_number, first.accepted, first.segment_errors) == ("0001", True, ())
    assert (second.control_number, second.accepted, second.code, second.syntax_error_codes) == (
        "0002", False, AckCode.REJECTED, ("5",))
    clm, nm1 = second.segment_errors
    assert (clm.segment_id, clm.position, clm.loop_id, clm.code, clm.business_unit) == (
        "CLM", 22, "2300", "8", ("CLM01", "C0002"))
    assert clm.element_errors == (ElementError(position=2, reference_number="782", code="6"),
                                  ElementError(position=5, component=3, code="7"))
    assert (nm1.segment_id, nm1.position, nm1.loop_id, nm1.code, nm1.element_errors) == ("NM1", 9, "", "3", ())
    assert ack.accepted_control_numbers == ("0001",) and ack.rejected_control_numbers == ("0002",)


def test_bad_value_copy_is_never_kept() -> None:
    ack = read_999(wrap(SAMPLE))
    assert "SECRETVALUE" not in repr(ack) and "SECRETVALUE" not in repr(to_json_dict(ack))


def test_normalized_document() -> None:
    doc = to_json_dict(read_999(wrap(SAMPLE)))
    assert (doc["transaction"], doc["group_control_number"], doc["group_code"]) == ("999", "42", "P")
    assert [(t["control_number"], t["accepted"], t["code"]) for t in doc["transaction_sets"]] == [
        ("0001", True, "A"), ("0002", False, "R")]
    err = doc["transaction_sets"][1]["errors"][0]
    assert err == {
        "segment_id": "CLM", "position": 22, "loop_id": "2300", "code": "8",
        "business_unit": {"name": "CLM01", "value": "C0002"},
        "elements": [{"position": 2, "component": None, "repetition": None, "reference_number": "782", "code": "6"},
                     {"position": 5, "component": 3, "repetition": None, "reference_number": "", "code": "7"}],
    }


@pytest.mark.parametrize(("code", "accepted"), [("A", True), ("E", True), ("M", False), ("R", False),
                                                ("W", False), ("X", False)])
def test_each_ik5_code(code: str, accepted: bool) -> None:
    ack = read_999(wrap(f"AK1*HC*1*005010X222A1~AK2*837*0001~IK5*{code}~AK9*A*1*1*{int(accepted)}~"))
    assert ack.transaction_sets[0].accepted is accepted
    assert to_json_dict(ack)["transaction_sets"][0]["accepted"] is accepted


@pytest.mark.parametrize("crlf", [False, True])
def test_non_default_delimiters_and_crlf(crlf: bool) -> None:
    assert read_999(wrap(SAMPLE, delimiters=CUSTOM, crlf=crlf)) == read_999(wrap(SAMPLE))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (SAMPLE.replace("IK5*R*5~", ""),
         r"^segment 14 \(AK9\): found where IK5 \(transaction set response trailer\) is required$"),
        (SAMPLE.replace("AK9*P*2*2*1~", ""), r"transaction set ends where AK9"),
        (SAMPLE.replace("IK3*CLM*22", "IK3*CLM*2X"), r"^segment 8 \(IK3\): IK302 is not a whole number$"),
        (SAMPLE.replace("IK5*R*5", "IK5*Q*5"), r"\(IK5\): IK501 is not a valid transaction set acknowledgment"),
        (SAMPLE.replace("AK9*P*2*2*1", "AK9*P*2*1*2"), r"AK904 counts more accepted than received"),
        (SAMPLE.replace("IK4*5:3**7", "IK4*X**7"), r"\(IK4\): IK401 needs a numeric element position"),
        (SAMPLE.replace("IK4*5:3**7", "IK4*5:3"), r"\(IK4\): IK403 is required"),
        (SAMPLE.replace("CTX*CLM01:C0002", "CTX*CLM01"), r"\(CTX\): CTX01 needs a context name and reference"),
        (SAMPLE + "AK2*837*0003~", r"\(AK2\): unexpected segment in the 999 after AK9"),
        (SAMPLE.replace("AK1*HC*42*005010X222A1~", ""), r"found where AK1"),
    ],
)
def test_malformed_999(body: str, expected: str) -> None:
    with pytest.raises(X12SyntaxError, match=expected) as info:
        read_999(wrap(body))
    assert "C0002" not in str(info.value)


def test_truncated_and_wrong_type() -> None:
    text = wrap(SAMPLE)
    with pytest.raises(X12SyntaxError, match="truncated"):
        read_999(text[:-30])
    with pytest.raises(X12EnvelopeError, match="not a 999"):
        read_999(interchange("HN", "005010X214", "BHT*0085*08*1*20250101*1200*TH~"))
    two = wrap(SAMPLE, SAMPLE)
    with pytest.raises(X12EnvelopeError, match="holds 2 999 transaction sets"):
        read_999(two)
    assert len(read_999_all(two)) == 2


# --- acknowledging an 837 ------------------------------------------------------------------------


def _group837() -> FunctionalGroup:
    text = render_837p(samples.batch(samples.claim("C1"), samples.claim("C2"), samples.claim("C3")),
                       max_claims_per_transaction=1)
    return read_interchange(text).groups[0]


CLM_ERROR = SegmentError(segment_id="CLM", position=20, loop_id="2300", code="8", business_unit=("CLM01", "C2"),
                         element_errors=(ElementError(position=2, reference_number="782", code="7"),
                                         ElementError(position=5, component=3, code="I12")))


@pytest.mark.parametrize(
    ("findings", "group_code", "codes"),
    [
        ({}, "A", ["A", "A", "A"]),
        ({"0002": TransactionFinding(segment_errors=(CLM_ERROR,))}, "P", ["A", "R", "A"]),
        ({"0002": TransactionFinding(segment_errors=(CLM_ERROR,), reject=False)}, "E", ["A", "E", "A"]),
        ({k: TransactionFinding(syntax_error_codes=("I5",)) for k in ("0001", "0002", "0003")}, "R",
         ["R", "R", "R"]),
        ({"0003": TransactionFinding(segment_errors=(SegmentError(segment_id="NM1", position=9, loop_id="2010",
                                                                  code="3"),))}, "P", ["A", "A", "R"]),
    ],
)
def test_acknowledge_an_837_group(findings, group_code: str, codes: list[str]) -> None:
    group = _group837()
    ack = acknowledge(group, findings)
    assert ack.group_code.value == group_code
    assert [t.code.value for t in ack.transaction_sets] == codes
    assert (ack.functional_id, ack.group_control_number, ack.version) == ("HC", "42", "005010X222A1")
    assert ack.accepted_count == codes.count("A") + codes.count("E")
    for delimiters in (params().delimiters, CUSTOM):
        text = write_999(ack, params(delimiters))
        assert pyx12_checked(text, "999") == []
        assert read_999(text) == ack
        ROUND_TRIPS["999"] += 1


def test_acknowledge_refuses_unknown_sets_and_empty_rejections() -> None:
    with pytest.raises(ValueError, match="not in the group"):
        acknowledge(_group837(), {"9999": TransactionFinding(segment_errors=(CLM_ERROR,))})
    with pytest.raises(ValueError, match="needs segment errors or syntax error codes"):
        acknowledge(_group837(), {"0001": TransactionFinding()})


def test_writer_refuses_delimiters_in_values() -> None:
    ack = acknowledge(_group837(), {"0001": TransactionFinding(segment_errors=(
        SegmentError(segment_id="CLM", position=20, business_unit=("CLM01", "C*1")),))})
    with pytest.raises(X12Error, match="CTX01 contains a delimiter"):
        write_999(ack, params())


# --- generated round trips ----------------------------------------------------------------------

_element_errors = st.builds(
    ElementError, position=st.integers(1, 99), component=st.none() | st.integers(1, 99),
    repetition=st.none() | st.integers(1, 99), reference_number=st.sampled_from(["", "782", "1028", "67"]),
    code=st.sampled_from(["1", "2", "4", "5", "6", "7", "8", "I10", "I12", "I13"]),
)
_segment_errors = st.builds(
    SegmentError, segment_id=st.sampled_from(["CLM", "NM1", "SV1", "HI", "DTP"]), position=st.integers(1, 999999),
    loop_id=st.sampled_from(["", "2300", "2400", "2010"]), code=st.sampled_from(["", "1", "3", "8", "I4", "I6"]),
    business_unit=st.none() | st.tuples(st.just("CLM01"), st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)),
    element_errors=st.lists(_element_errors, max_size=3).map(tuple),
)


@st.composite
def acks(draw: st.DrawFn) -> Ack999:
    sets = []
    for k in range(1, draw(st.integers(0, 4)) + 1):
        code = draw(st.sampled_from(list(AckCode)))
        errors = tuple(draw(st.lists(_segment_errors, max_size=3))) if code != AckCode.ACCEPTED else ()
        sets.append(TransactionSetAck(
            set_id="837", control_number=f"{k:04d}", implementation=draw(st.sampled_from(["", "005010X222A1"])),
            code=code, segment_errors=errors,
            syntax_error_codes=() if code == AckCode.ACCEPTED else tuple(
                draw(st.lists(st.sampled_from(["1", "5", "I5", "I6", "23"]), min_size=1, max_size=5))),
        ))
    accepted = sum(1 for s in sets if s.accepted)
    return Ack999(functional_id="HC", group_control_number=str(draw(st.integers(1, 999999999))),
                  version="005010X222A1", transaction_sets=tuple(sets),
                  group_code=draw(st.sampled_from(list(GroupAckCode))), included_count=len(sets),
                  received_count=len(sets), accepted_count=accepted,
                  group_error_codes=tuple(draw(st.lists(st.sampled_from(["1", "5", "19"]), max_size=5))))


@given(st.lists(acks(), min_size=1, max_size=2))
def test_generated_acks_round_trip_and_validate(generated: list[Ack999]) -> None:
    text = write_999(generated, params())
    assert pyx12_checked(text, "999") == []
    assert read_999_all(text) == tuple(generated)
    ROUND_TRIPS["999"] += 1


def test_acknowledge_a_whole_interchange() -> None:
    text = render_837p(samples.batch(samples.claim("C1"), samples.claim("C2")), max_claims_per_transaction=1)
    (ack,) = acknowledge_interchange(read_interchange(text), {"0001": TransactionFinding(segment_errors=(CLM_ERROR,))})
    assert [t.accepted for t in ack.transaction_sets] == [False, True]
    assert pyx12_checked(write_999(ack, params()), "999") == []
    with pytest.raises(ValueError, match="not in the interchange"):
        acknowledge_interchange(read_interchange(text), {"0042": TransactionFinding(syntax_error_codes=("5",))})
