from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.x12 import (
    DEFAULT_DELIMITERS,
    Delimiters,
    EnvelopeParams,
    X12EnvelopeError,
    X12Error,
    X12SyntaxError,
    parse_segments,
    read_delimiters,
    read_interchange,
    sanitize_text,
    write_interchange,
)

PARAMS = EnvelopeParams("SENDER", "RECEIVER", 1234, 55, datetime(2025, 3, 4, 5, 6))
ODD = Delimiters(element="|", repetition="!", component=">", segment="\n")
BODY = [
    [["BHT", "0019", "00", "REF1", "20250304", "0506", "CH"], ["NM1", "41", "2", "ACME", "", "", "", "", "46", "X1"]]
]


def sample(delimiters: Delimiters = DEFAULT_DELIMITERS, **kw: object) -> str:
    params = EnvelopeParams("SENDER", "RECEIVER", 1234, 55, datetime(2025, 3, 4, 5, 6), delimiters=delimiters)
    return write_interchange(params, "HC", "005010X222A1", BODY, **kw)  # type: ignore[arg-type]


def test_isa_is_fixed_width_and_delimiters_round_trip() -> None:
    text = sample()
    assert text.index("~") == 105
    assert read_delimiters(text) == DEFAULT_DELIMITERS
    odd = sample(ODD)
    assert read_delimiters(odd) == ODD
    assert odd.index("\n") == 105


def test_segment_accessors() -> None:
    _, segments = parse_segments(
        "ISA*00*          *00*          *ZZ*A              *ZZ*B              *250101*1200*^*00501*000000001*0*T*:~"
        "SV1*HC:99213:25*150*UN*1***1:2~REF*X*a^b^c~"
    )
    sv1, ref = segments[1], segments[2]
    assert sv1.position == 2 and sv1.el(1) == "HC:99213:25" and sv1.el(99) == ""
    assert sv1.comp(1, 2) == "99213" and sv1.comp(1, 4) == "" and sv1.comp(7, 2) == "2"
    assert ref.reps(2) == ["a", "b", "c"] and ref.reps(5) == []


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "  \r\n\r\n"])
def test_newlines_and_whitespace_after_terminators(suffix: str) -> None:
    text = sample().replace("~", "~" + suffix)
    interchange = read_interchange("\r\n  " + text + "\n\n")
    assert interchange.groups[0].transactions[0].segments[1].tag == "BHT"


def test_non_default_delimiters_read_back() -> None:
    interchange = read_interchange(sample(ODD))
    ts = interchange.groups[0].transactions[0]
    assert interchange.delimiters == ODD
    assert [s.tag for s in ts.segments] == ["ST", "BHT", "NM1", "SE"]
    assert ts.implementation == "005010X222A1" and ts.control_number == "0001"


def test_envelope_fields() -> None:
    i = read_interchange(sample())
    assert (i.sender_id, i.receiver_id, i.control_number, i.usage_indicator) == ("SENDER", "RECEIVER", "000001234", "T")
    g = i.groups[0]
    assert (g.functional_id, g.control_number, g.version, g.date, g.time) == (
        "HC",
        "55",
        "005010X222A1",
        "20250304",
        "0506",
    )


def test_st03_optional_and_counts() -> None:
    params = EnvelopeParams("SENDER", "RECEIVER", 1, 1, datetime(2025, 1, 1))
    text = write_interchange(
        params,
        "HP",
        "005010X221A1",
        [[["BPR", "I", "0"]], [["BPR", "H", "0"]]],
        st03=False,
        first_st_control=7,
        line_breaks=True,
    )
    lines = text.splitlines()
    assert "ST*835*0007~" in lines and "ST*835*0008~" in lines and "SE*3*0008~" in lines and "GE*2*1~" in lines
    ts = read_interchange(text).transactions()
    assert [t.implementation for t in ts] == ["005010X221A1"] * 2  # falls back to GS08


def test_components_and_trailing_empties_trimmed() -> None:
    text = write_interchange(PARAMS, "HC", "005010X222A1", [[["SV1", ["HC", "99213", "", ""], "1", "", ""]]])
    assert "SV1*HC:99213*1~" in text


@pytest.mark.parametrize("bad", ["A*B", "A~B", "A:B", "A^B", "A\nB"])
def test_delimiters_in_data_are_refused_without_echoing_the_value(bad: str) -> None:
    with pytest.raises(X12Error) as info:
        write_interchange(PARAMS, "HC", "005010X222A1", [[["NM1", "41", "2", bad]]])
    assert "NM103" in str(info.value) and bad not in str(info.value)
    assert info.value.position == 4


def test_sanitize_text_is_deterministic() -> None:
    assert sanitize_text("Zoë O'Brien-Smith*~ Jr") == "Zoe O'Brien-Smith Jr"
    assert sanitize_text("a|b", ODD) == "a b"
    assert sanitize_text("Ñúñez\tGarcía") == "Nunez Garcia"


def test_writer_refuses_bad_params() -> None:
    with pytest.raises(X12Error):
        write_interchange(EnvelopeParams("S", "RECEIVER", 1, 1, datetime(2025, 1, 1)), "HC", "x", [])
    with pytest.raises(X12Error):
        write_interchange(EnvelopeParams("SENDER", "R" * 16, 1, 1, datetime(2025, 1, 1)), "HC", "x", [])
    with pytest.raises(X12Error):
        write_interchange(EnvelopeParams("SENDER", "RECEIVER", 0, 1, datetime(2025, 1, 1)), "HC", "x", [])


# --- malformed input ---------------------------------------------------------------------------


def lines_of(text: str) -> list[str]:
    return text.split("~")[:-1]


def rejoin(lines: list[str]) -> str:
    return "~".join(lines) + "~"


@pytest.mark.parametrize(
    ("mutate", "kind", "position", "needle"),
    [
        (lambda ls: ls[:-1], X12EnvelopeError, 7, "without IEA"),
        (lambda ls: [*ls[:-1], "IEA*1*000009999"], X12EnvelopeError, 8, "IEA02 does not match ISA13"),
        (lambda ls: [*ls[:-1], "IEA*2*000001234"], X12EnvelopeError, 8, "IEA01 says 2 functional groups, found 1"),
        (lambda ls: [*ls[:-2], "GE*1*56", ls[-1]], X12EnvelopeError, 7, "GE02 does not match GS06"),
        (lambda ls: [*ls[:-2], "GE*3*55", ls[-1]], X12EnvelopeError, 7, "GE01 says 3 transaction sets, found 1"),
        (lambda ls: [*ls[:5], "SE*5*0001", *ls[6:]], X12EnvelopeError, 6, "SE01 says 5 segments, found 4"),
        (lambda ls: [*ls[:5], "SE*4*0002", *ls[6:]], X12EnvelopeError, 6, "SE02 does not match ST02"),
        (lambda ls: [*ls[:5], *ls[6:]], X12EnvelopeError, 6, "GE before SE"),
        (lambda ls: [ls[0], "BHT*0019", *ls[1:]], X12EnvelopeError, 2, "outside a functional group"),
        (lambda ls: [*ls[:2], "BHT*0019", *ls[2:]], X12EnvelopeError, 3, "outside a transaction set"),
        (lambda ls: [ls[0], *ls[2:]], X12EnvelopeError, 2, "ST outside a functional group"),
        (lambda ls: [*ls, "GS*HC"], X12EnvelopeError, 9, "after IEA"),
        (lambda ls: [*ls[:3], "bad*1", *ls[3:]], X12SyntaxError, 4, "invalid segment identifier"),
    ],
)
def test_envelope_errors_are_specific(mutate, kind, position, needle) -> None:  # type: ignore[no-untyped-def]
    text = rejoin(mutate(lines_of(sample())))
    with pytest.raises(kind) as info:
        read_interchange(text)
    assert info.value.position == position
    assert needle in str(info.value)
    assert str(info.value).startswith(f"segment {position}")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "does not start with an ISA"),
        ("GS*HC~", "does not start with an ISA"),
        ("ISA*00*  ", "truncated ISA"),
        ("ISA*00*          *00*          *ZZ*A", "truncated ISA"),
    ],
)
def test_syntax_errors(text: str, needle: str) -> None:
    with pytest.raises(X12SyntaxError, match=needle):
        read_interchange(text)


def test_truncated_mid_segment() -> None:
    text = sample()
    with pytest.raises(X12SyntaxError, match="truncated") as info:
        read_interchange(text[:-8])
    assert info.value.position == 8


_element = st.text(alphabet="ABCXYZ019 .-", min_size=0, max_size=8)


@given(
    delims=st.sampled_from([DEFAULT_DELIMITERS, ODD, Delimiters("^", "{", "\\", "~"), Delimiters("*", "|", ">", "'")]),
    bodies=st.lists(
        st.lists(
            st.tuples(st.sampled_from(["REF", "NM1", "DTP", "N3"]), st.lists(_element, max_size=6)),
            min_size=1,
            max_size=5,
        ),
        min_size=1,
        max_size=3,
    ),
    crlf=st.booleans(),
)
def test_write_read_round_trip(delims: Delimiters, bodies, crlf: bool) -> None:  # type: ignore[no-untyped-def]
    params = EnvelopeParams("SENDER", "RECEIVER", 9, 9, datetime(2025, 1, 1), delimiters=delims)
    specs = [[[tag, *els] for tag, els in body] for body in bodies]
    text = write_interchange(params, "HC", "005010X222A1", specs, line_breaks=crlf)
    if crlf and delims.segment != "\n":
        text = text.replace(delims.segment + "\n", delims.segment + "\r\n")
    ts = read_interchange(text).transactions()
    assert len(ts) == len(bodies)
    for t, body in zip(ts, bodies, strict=True):
        for seg, (tag, els) in zip(t.body, body, strict=True):
            trimmed = list(els)
            while trimmed and trimmed[-1] == "":
                trimmed.pop()
            assert seg.tag == tag and list(seg.elements) == trimmed


# --- several interchanges, TA1, findings --------------------------------------------------------


def test_several_interchanges_each_with_its_own_delimiters() -> None:
    """A byte-order mark, CR/LF between interchanges, and the second ISA's own separators."""
    from edi.envelope import read_interchanges

    second = write_interchange(EnvelopeParams("OTHER", "RECEIVER", 1235, 56, datetime(2025, 3, 4), delimiters=ODD),
                               "HC", "005010X222A1", BODY)
    text = "\ufeff" + sample() + "\r\n" + second
    first, other = read_interchanges(text)
    assert (first.control_number, other.control_number, other.sender_id) == ("000001234", "000001235", "OTHER")
    assert other.delimiters == ODD and other.position == 9
    assert other.transactions()[0].segments[2].el(3) == "ACME" and other.findings == []
    with pytest.raises(X12EnvelopeError, match="file holds 2 interchanges; use read_interchanges") as info:
        read_interchange(text)
    assert info.value.position == 9


def test_trailer_counts_are_findings_of_the_interchange() -> None:
    from edi.envelope import read_interchanges

    text = rejoin([*lines_of(sample())[:5], "SE*9*0001", "GE*2*55", "IEA*1*000009999"])
    [interchange] = read_interchanges(text)
    assert interchange.transactions()[0].segments[1].tag == "BHT"
    assert [(f.element, f.message) for f in interchange.findings] == [
        ("SE01", "SE01 says 9 segments, found 4"),
        ("GE01", "GE01 says 2 transaction sets, found 1"),
        ("IEA02", "IEA02 does not match ISA13 of segment 1"),
    ]


def test_numbers_are_ascii_digits_only() -> None:
    from edi.segments import is_digits

    assert is_digits("0123456789")
    # str.isdigit() takes all three; int() refuses the superscript (a bare ValueError before).
    assert not any(is_digits(text) for text in ("\u00b91", "\u0661\u0662", "", "1 ", "-1"))


def test_a_count_or_control_number_in_other_digits_is_a_finding_or_a_named_error() -> None:
    from edi.envelope import read_interchanges
    from edi.ta1 import read_ta1

    text = rejoin([*lines_of(sample())[:5], "SE*\u00b94*0001", "GE*1*1", "IEA*1*000000001"])
    [interchange] = read_interchanges(text)
    assert ("SE01", "SE01 is not a number") in [(f.element, f.message) for f in interchange.findings]
    with pytest.raises(X12Error, match=r"TA101 must be the ISA13"):
        read_ta1(sample().replace("~GS*", "~TA1*\u00b900000077*250304*0506*R*001~GS*", 1))


def test_ta1_alone_and_before_the_groups() -> None:
    from edi.envelope import read_interchanges
    from edi.ta1 import InterchangeAck, InterchangeAckCode, read_ta1, write_ta1
    from edi.validate import pyx12_validate

    rejected = InterchangeAck("000001234", "250304", "0506", InterchangeAckCode.REJECTED, "024")
    alone = write_ta1(rejected, PARAMS)
    assert alone.endswith("~TA1*000001234*250304*0506*R*024~IEA*0*000001234~")
    assert pyx12_validate(alone) == []
    [read] = read_ta1(alone)
    assert read == InterchangeAck("000001234", "250304", "0506", InterchangeAckCode.REJECTED, "024", position=2)
    assert read.rejected and read.reason == "TA1 R 024: Invalid Interchange Content"
    before = sample().replace("~GS*", "~TA1*000000077*250304*0506*E*019~GS*", 1)
    [interchange] = read_interchanges(before)
    assert [s.el(1) for s in interchange.acknowledgments] == ["000000077"] and len(interchange.transactions()) == 1
    assert read_ta1(before)[0].note == "Invalid Acknowledgment Requested Value"


@pytest.mark.parametrize(
    ("ta1", "needle"),
    [
        ("TA1*000000077*250304*0506*X*000", r"segment 2 \(TA1\): TA104 is not a valid interchange acknowledgment"),
        ("TA1*000000077*250304*0506*R*099", r"segment 2 \(TA1\): TA105 is not an interchange note code"),
        ("TA1*ABC*250304*0506*R*001", r"segment 2 \(TA1\): TA101 must be the ISA13"),
    ],
)
def test_bad_ta1_is_named(ta1: str, needle: str) -> None:
    from edi.ta1 import read_ta1

    with pytest.raises(X12Error, match=needle):
        read_ta1(sample().replace("~GS*", f"~{ta1}~GS*", 1))


def test_ta1_inside_a_group_is_refused() -> None:
    text = sample().replace("~ST*", "~TA1*000000077*250304*0506*A*000~ST*", 1)
    with pytest.raises(X12EnvelopeError, match=r"segment 3 \(TA1\): segment outside a transaction set"):
        read_interchange(text)
