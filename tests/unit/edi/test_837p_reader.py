from __future__ import annotations

import pytest

from edi.x12 import X12EnvelopeError, X12Error
from edi.x837 import read_837p, render_837p
from tests.unit.edi import samples as s


def text() -> str:
    return render_837p(s.batch(s.claim(), s.claim("C0002", patient=s.DEPENDENT, **s.SECONDARY)))


def test_reads_amounts_and_ids_exactly() -> None:
    batch = read_837p(text())
    first, second = batch.claims
    assert first.submission_id == "C0001" and first.charge == s.AMOUNT("185.50")
    assert [line.charge for line in first.lines] == [s.AMOUNT("150"), s.AMOUNT("35.5")]
    assert [line.line_control_number for line in first.lines] == ["L99213", "L87880"]
    assert second.patient is not None and second.patient.first_name == "Timmy"
    assert second.other_payers[0].paid_amount == s.AMOUNT(100)
    assert [a.amount for a in second.other_payers[0].adjustments] == [s.AMOUNT("50.5"), s.AMOUNT(35)]
    assert batch.interchange_control_number == 17 and batch.reference == "BATCH0001"


def test_reader_accepts_crlf_and_pipes() -> None:
    converted = text().replace("*", "|").replace("~", "~\r\n")
    assert [c.submission_id for c in read_837p(converted).claims] == ["C0001", "C0002"]


def _replace(original: str, old: str, new: str) -> str:
    assert old in original
    return original.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("SV1*HC:99213*150", "SV1*HC:99213*abc", "lines.0.charge"),
        ("DTP*472*D8*20250115", "DTP*472*D8*20251399", "DTP03 is not a CCYYMMDD date"),
        ("HL*2*1*22", "HL*2*9*22", "HL02 does not point to a billing provider"),
        ("HL*2*1*22", "HL*2*1*77", "HL03 is not a 837P level"),
        ("SV1*HC:99213", "SV1*XX:99213", "SV101 is not a procedure composite"),
    ],
)
def test_reader_errors_name_position_not_values(old: str, new: str, needle: str) -> None:
    with pytest.raises(X12Error) as info:
        read_837p(_replace(text(), old, new))
    message = str(info.value)
    assert needle in message and info.value.position is not None
    for phi in ("Doe", "Jane", "W123456789", "abc"):
        assert phi not in message


def test_count_mismatch_in_837_is_an_envelope_error() -> None:
    broken = text().replace("~SE*", "~SE*1", 1)
    with pytest.raises(X12EnvelopeError, match="SE01"):
        read_837p(broken)


def test_clm_without_subscriber() -> None:
    from datetime import datetime

    from edi.x12 import EnvelopeParams, write_interchange

    body = [["BHT", "0019", "00", "R1", "20250101", "1200", "CH"], ["HL", "1", "", "20", "1"], ["CLM", "X1", "10"]]
    orphan = write_interchange(EnvelopeParams("AA", "BB", 1, 1, datetime(2025, 1, 1)), "HC", "005010X222A1", [body])
    with pytest.raises(X12Error, match="CLM without a subscriber") as info:
        read_837p(orphan)
    assert info.value.position == 6


def test_other_payer_billing_provider_does_not_replace_the_billing_provider() -> None:
    """2330G NM1*85 (the other payer's billing provider id) sits inside the claim; 2010AA stays."""
    with_2330g = _replace(text(), "NM1*PR*2*Medicare Part B*****PI*MCR01~",
                          "NM1*PR*2*Medicare Part B*****PI*MCR01~NM1*85*2~REF*G2*OTHER1~")
    with_2330g = _replace(with_2330g, "~SE*59*", "~SE*61*")
    first, second = read_837p(with_2330g).claims
    assert (second.billing_provider.name, second.billing_provider.npi) == ("Sunrise Family Clinic", "1234567893")
    assert second.billing_provider == first.billing_provider


def test_writer_rules_are_findings_of_the_document() -> None:
    from edi.envelope import read_interchange
    from edi.x837 import read_837p_document

    broken = _replace(text(), "XX*1234567893~N3", "XX*1234567890~N3")  # the 2010AA NPI: bad check digit
    read = read_837p_document(read_interchange(broken))
    assert read.batch is not None and read.batch.claims[0].billing_provider.npi == "1234567890"
    assert {(f.code, f.severity, f.message) for f in read.findings} == {
        ("writer_rule", "warning",
         "claim field billing_provider.npi: not a valid NPI (10 digits, first 1 or 2, Luhn check digit)")}
    assert sorted(f.position or 0 for f in read.findings) == [21, 44]  # each claim's CLM


def test_isa06_with_a_hyphen_is_a_finding_not_a_refusal() -> None:
    from edi.envelope import read_interchange
    from edi.x837 import read_837p_document

    hyphen = _replace(text(), "*ZZ*REVCYCLE       *", "*ZZ*REV-CYCLE      *")
    read = read_837p_document(read_interchange(hyphen))
    assert read.batch is not None and read.batch.sender_id == "REV-CYCLE" and len(read.batch.claims) == 2
    assert [(f.code, f.message, f.position) for f in read.findings] == [
        ("writer_rule", "interchange field sender_id: must be letters and digits only", None)]
