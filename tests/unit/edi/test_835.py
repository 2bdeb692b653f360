"""835 reader, writer and normalized JSON: hand-built files, round trips, malformed input."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given

from edi.x12 import X12EnvelopeError, X12Error, X12SyntaxError
from edi.x835 import (
    AdjustmentGroup,
    ClaimStatus,
    HandlingCode,
    PaymentMethod,
    RemittanceTransaction,
    read_835,
    to_json_dict,
    write_835,
)
from tests.unit.edi.remit_support import (
    CUSTOM,
    PATIENT,
    ROUND_TRIPS,
    adj,
    body_835,
    claim,
    line,
    params,
    plb,
    pyx12_checked,
    remittance,
    remittances,
    wrap_835,
)

D = Decimal
TT = "NM1*TT*2*MEDIGAP INSURANCE*****PI*MG001~"

# One hand-built claim per CLP02 status, each balancing: (claims text, BPR02).
STATUS_CASES: dict[str, tuple[str, str]] = {
    "1": ("CLP*C1*1*150*100*20*12*PCC1**1~" + PATIENT
          + "SVC*HC:99213:25*150*100**1~DTM*472*20250115~CAS*CO*45*30~CAS*PR*2*20~REF*6R*L1~AMT*B6*120~", "100"),
    "2": ("CLP*C2*2*150*20*0*12*PCC2~CAS*OA*23*130~" + PATIENT, "20"),
    "3": ("CLP*C3*3*150*5*0*12*PCC3~CAS*OA*23*145~" + PATIENT, "5"),
    "4": ("CLP*C4*4*150*0*0*12*PCC4~CAS*CO*50*150~" + PATIENT + "MOA***N130~", "0"),
    "19": ("CLP*C19*19*150*80*0*MB*PCC19~CAS*CO*45*50~CAS*PR*2*20~" + PATIENT + TT, "80"),
    "20": ("CLP*C20*20*150*20*0*MC*PCC20~CAS*OA*23*130~" + PATIENT + TT, "20"),
    "21": ("CLP*C21*21*150*10*0*MC*PCC21~CAS*OA*23*140~" + PATIENT + TT, "10"),
    "22": ("CLP*C22*22*-150*-100*-20*12*PCC1**1~CAS*CO*45*-30~CAS*PR*2*-20~" + PATIENT, "-100"),
    "23": ("CLP*C23*23*150*0**12*PCC23~CAS*OA*109*150~" + PATIENT, "0"),
    "25": ("CLP*C25*25*500*0*0*12*PCC25~CAS*OA*101*500~" + PATIENT, "0"),
}


@pytest.mark.parametrize("code", list(STATUS_CASES))
def test_each_claim_status_reads_and_balances(code: str) -> None:
    claims, total = STATUS_CASES[code]
    rem = read_835(wrap_835(body_835(claims, total)))
    c = rem.claims[0]
    assert c.status is ClaimStatus(code)
    assert c.status.forwarded is (code in {"19", "20", "21"})
    doc = to_json_dict(rem)["transactions"][0]
    assert doc["balanced"] is True and doc["balancing_errors"] == []
    assert doc["claims"][0]["status_code"] == code
    assert (doc["claims"][0]["crossover_payer"] is not None) is (code in {"19", "20", "21"})


def test_reversal_keeps_negated_amounts() -> None:
    c = read_835(wrap_835(body_835(*STATUS_CASES["22"]))).claims[0]
    assert (c.charge, c.paid, c.patient_responsibility) == (D("-150"), D("-100"), D("-20"))
    assert [a.amount for a in c.adjustments] == [D("-30"), D("-20")]
    doc = to_json_dict(read_835(wrap_835(body_835(*STATUS_CASES["22"]))))["transactions"][0]["claims"][0]
    assert (doc["charge_amount"], doc["paid_amount"], doc["patient_responsibility"]) == ("-150.00", "-100.00",
                                                                                        "-20.00")


def test_processed_claim_fields_and_service_line() -> None:
    rem = read_835(wrap_835(body_835(*STATUS_CASES["1"])))
    t = rem.transactions[0]
    assert (t.handling_code, t.payment_method, t.total_payment) == (HandlingCode.PAYMENT_WITH_REMITTANCE,
                                                                    PaymentMethod.CHK, D("100"))
    assert (t.trace_number, t.trace_payer_id, t.payment_date) == ("TRACE0001", "1999999999", date(2025, 2, 1))
    assert t.production_date == date(2025, 1, 31)
    assert t.payer.name == "ACME HEALTH" and t.payer.technical_contact is not None
    assert (t.payee.npi, t.payee.tax_id) == ("1234567893", "123456789")
    c = t.claims[0]
    assert (c.patient_control_number, c.payer_claim_control_number, c.frequency_code) == ("C1", "PCC1", "1")
    assert (c.charge, c.paid, c.patient_responsibility, c.filing_indicator) == (D(150), D(100), D(20), "12")
    assert c.patient.last_name == "DOE" and c.patient.id == "W123456789"
    ln = c.service_lines[0]
    assert (ln.procedure.qualifier, ln.procedure.code, ln.procedure.modifiers) == ("HC", "99213", ("25",))
    assert (ln.charge, ln.paid, ln.units_paid, ln.allowed) == (D(150), D(100), D(1), D(120))
    assert (ln.line_control_number, ln.service_date) == ("L1", date(2025, 1, 15))
    doc = to_json_dict(rem)
    assert doc["transaction"] == "835"
    tx = doc["transactions"][0]
    assert tx["payer"] == {"name": "ACME HEALTH", "id": "ACME01"}
    assert tx["payee"] == {"name": "SUNRISE CLINIC", "npi": "1234567893", "tax_id": "123456789"}
    assert (tx["trace_number"], tx["payment_method"], tx["total_payment"]) == ("TRACE0001", "CHK", "100.00")
    cj = tx["claims"][0]
    assert cj["adjustments"] == []  # the claim has no CLP-level CAS: its adjustments are the line's
    lj = cj["service_lines"][0]
    assert lj == {
        "procedure": "99213", "procedure_qualifier": "HC", "modifiers": ["25"], "revenue_code": "", "charge": "150.00",
        "paid": "100.00", "allowed": "120.00", "units": "1", "line_control_number": "L1",
        "service_date": "2025-01-15", "remarks": [], "adjustments": [
            {"group": "CO", "reason": "45", "amount": "30.00", "quantity": None},
            {"group": "PR", "reason": "2", "amount": "20.00", "quantity": None},
        ],
    }


def test_claim_adjustments_are_the_clp_level_cas_only() -> None:
    claims = ("CLP*C9*1*200*90*30*12*PCC9~CAS*OA*23*10~" + PATIENT
              + "SVC*HC:99214*200*90~CAS*CO*45*70~CAS*PR*3*30~LQ*HE*N130~LQ*HE*M15~")
    # 200 - 10 (claim) - 100 (line) = 90 for the claim; the line alone: 200 - 100 = 100, so it is off
    # by 10 on purpose and the claim check still passes.
    doc = to_json_dict(read_835(wrap_835(body_835(claims, "90"))))["transactions"][0]
    cj = doc["claims"][0]
    assert [(a["group"], a["reason"]) for a in cj["adjustments"]] == [("OA", "23")]
    assert [(a["group"], a["reason"]) for a in cj["service_lines"][0]["adjustments"]] == [("CO", "45"), ("PR", "3")]
    assert cj["service_lines"][0]["remarks"] == ["N130", "M15"]
    assert doc["balanced"] is False
    assert len(doc["balancing_errors"]) == 1 and doc["balancing_errors"][0].startswith("line 1 (segment")


def test_cas_with_six_triplets_and_quantities() -> None:
    cas = "CAS*CO*45*10*1*253*2.04**97*5*2*16*1**50*1.5**B7*0.46*3~"
    claims = "CLP*C1*4*100*80*0*12*PCC1~" + cas + PATIENT
    c = read_835(wrap_835(body_835(claims, "80"))).claims[0]
    assert [(a.group, a.reason, a.amount, a.quantity) for a in c.adjustments] == [
        (AdjustmentGroup.CONTRACTUAL, "45", D("10"), D("1")),
        (AdjustmentGroup.CONTRACTUAL, "253", D("2.04"), None),
        (AdjustmentGroup.CONTRACTUAL, "97", D("5"), D("2")),
        (AdjustmentGroup.CONTRACTUAL, "16", D("1"), None),
        (AdjustmentGroup.CONTRACTUAL, "50", D("1.5"), None),
        (AdjustmentGroup.CONTRACTUAL, "B7", D("0.46"), D("3")),
    ]


def test_provider_adjustments_with_references_and_signs() -> None:
    # Paid 100; L6 interest -2.50 raises the payment, WO recoupment 40 and FB 10 lower it.
    plb_text = "PLB*1234567893*20251231*L6:INT2025*-2.5*WO:CLM777*40*FB:FWD01*10~PLB*1234567893*20251231*72*5~"
    rem = read_835(wrap_835(body_835(STATUS_CASES["1"][0], "47.5", plb=plb_text)))
    t = rem.transactions[0]
    assert [(p.reason, p.reference, p.amount) for p in t.provider_adjustments] == [
        ("L6", "INT2025", D("-2.5")), ("WO", "CLM777", D("40")), ("FB", "FWD01", D("10")), ("72", "", D("5"))]
    assert t.provider_adjustments[0].fiscal_period_date == date(2025, 12, 31)
    doc = to_json_dict(rem)["transactions"][0]
    assert doc["balanced"] is True
    assert doc["provider_adjustments"][0] == {"provider_id": "1234567893", "fiscal_period_date": "2025-12-31",
                                              "reason": "L6", "reference": "INT2025", "amount": "-2.50"}


def test_several_transaction_sets_in_one_file() -> None:
    text = wrap_835(body_835(*STATUS_CASES["1"], trace="EFT1"), body_835(*STATUS_CASES["4"], trace="EFT2"),
                    body_835(*STATUS_CASES["22"], trace="EFT3"))
    rem = read_835(text)
    assert [t.trace_number for t in rem.transactions] == ["EFT1", "EFT2", "EFT3"]
    assert [t.control_number for t in rem.transactions] == ["0001", "0002", "0003"]
    assert [c.patient_control_number for c in rem.claims] == ["C1", "C4", "C22"]
    assert len(to_json_dict(rem)["transactions"]) == 3


def test_crossover_carrier_and_other_claim_names() -> None:
    claims = ("CLP*C19*19*150*80*0*MB*PCC19~CAS*CO*45*50~CAS*PR*2*20~" + PATIENT
              + "NM1*IL*1*DOE*JOHN****MI*W999~NM1*82*1*SMITH*ANN****XX*1999999984~" + TT
              + "NM1*PR*2*BETTER PAYER*****PI*BP01~MIA*3***12.5*MA01~REF*EA*MRN77~REF*F8*ORIG1~"
              + "DTM*232*20250101~DTM*233*20250103~DTM*050*20250110~AMT*AU*150~AMT*I*1.25~")
    c = read_835(wrap_835(body_835(claims, "80"))).claims[0]
    assert c.crossover_carrier is not None and c.crossover_carrier.last_name == "MEDIGAP INSURANCE"
    assert c.insured is not None and c.insured.first_name == "JOHN"
    assert c.rendering_provider is not None and c.rendering_provider.id == "1999999984"
    assert c.corrected_priority_payer is not None and c.corrected_priority_payer.id == "BP01"
    assert c.inpatient is not None and c.inpatient.covered_days == D(3) and c.inpatient.values == ((4, D("12.5")),)
    assert c.remark_codes == ("MA01",)
    assert (c.reference("EA"), c.reference("F8")) == ("MRN77", "ORIG1")
    assert (c.statement_from, c.statement_to, c.received) == (date(2025, 1, 1), date(2025, 1, 3), date(2025, 1, 10))
    assert [(a.qualifier, a.amount) for a in c.amounts] == [("AU", D(150)), ("I", D("1.25"))]
    doc = to_json_dict(read_835(wrap_835(body_835(claims, "80"))))["transactions"][0]["claims"][0]
    assert doc["crossover_payer"] == {"name": "MEDIGAP INSURANCE", "id": "MG001"}
    assert doc["remarks"] == ["MA01"]


@pytest.mark.parametrize("crlf", [False, True])
def test_non_default_delimiters_and_crlf(crlf: bool) -> None:
    text = wrap_835(body_835(*STATUS_CASES["1"]), delimiters=CUSTOM, crlf=crlf)
    assert "|" in text and "*" not in text and ("\r\n" in text) is crlf
    default = read_835(wrap_835(body_835(*STATUS_CASES["1"])))
    assert read_835(text).transactions == default.transactions
    assert read_835(text).claims[0].service_lines[0].procedure.modifiers == ("25",)


# --- malformed input ------------------------------------------------------------------------------

GOOD = STATUS_CASES["1"][0]


def _error(claims: str, total: str = "100", **kw: str) -> X12Error:
    with pytest.raises(X12Error) as info:
        read_835(wrap_835(body_835(claims, total, **kw)))
    return info.value


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        (GOOD.replace("CLP*C1*1*150*100", "CLP*C1*1*150*1O0"), r"^segment 15 \(CLP\): CLP04 is not a decimal amount$"),
        (GOOD.replace("CLP*C1*1*", "CLP*C1*99*"), r"^segment 15 \(CLP\): CLP02 is not a known claim status code$"),
        (GOOD.replace("CLP*C1*1*150", "CLP*C1*1*1E5"), r"CLP03 is not a decimal amount"),
        (GOOD.replace("CAS*CO*45*30", "CAS*CR*45*30"), r"\(CAS\): CAS01 is not a valid claim adjustment group code"),
        (GOOD.replace("CAS*CO*45*30", "CAS*CO*45"), r"\(CAS\): CAS03 is required"),
        (GOOD.replace("CAS*CO*45*30", "CAS*CO*1*1**2*1**3*1**4*1**5*1**6*1**7*1"), r"more than six"),
        (GOOD.replace(PATIENT, ""), r"^segment 15 \(CLP\): claim loop 2100 has no NM1\*QC patient name$"),
        (GOOD.replace("DTM*472*20250115", "DTM*472*20250231"), r"DTM02 is not a valid calendar date"),
        (GOOD.replace("DTM*472*20250115", "DTM*999*20250115"), r"DTM01 is not a date qualifier of the service"),
        (GOOD.replace("SVC*HC:99213:25", "SVC*99213"), r"\(SVC\): SVC01 needs a product/service id qualifier"),
        ("SVC*HC:99213*150*100~", r"^segment 15 \(SVC\): header number loop \(LX\) holds no claim \(CLP\)$"),
        (GOOD + "N1*PE*X*XX*1~", r"\(N1\): unexpected segment in the service line loop 2110"),
        (GOOD.replace("AMT*B6*120", "AMT*B6*12,0"), r"\(AMT\): AMT02 is not a decimal amount"),
    ],
)
def test_malformed_claims_give_specific_errors(claims: str, expected: str) -> None:
    error = _error(claims)
    assert re.search(expected, str(error)), str(error)
    assert isinstance(error, X12SyntaxError)


def test_error_messages_never_echo_values() -> None:
    error = _error(GOOD.replace("CLP*C1*1*150*100", "CLP*C1*1*150*SECRET-PHI"))
    assert "SECRET" not in str(error) and error.position == 15 and error.segment_id == "CLP"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.replace("BPR*C*100*C*CHK", "BPR*Q*100*C*CHK"), r"\(BPR\): BPR01 is not a valid transaction"),
        (lambda b: b.replace("BPR*C*100*C*CHK", "BPR*C*100*C*WIRE"), r"BPR04 is not a valid payment method"),
        (lambda b: b.replace("20250201~", "2025-02-01~", 1), r"\(BPR\): BPR16 is not a CCYYMMDD date"),
        (lambda b: b.replace("N1*PE*SUNRISE CLINIC*XX*1234567893~", ""),
         r"found where N1\*PE \(payee identification\) is required"),
        (lambda b: b.replace("TRN*1*TRACE0001*1999999999~", ""), r"\(DTM\): found where TRN"),
        (lambda b: b + "PLB*1234567893*20251231*L6:X~", r"\(PLB\): PLB04 is required"),
        (lambda b: b + "PLB*1234567893*20251231*L6*1~LX*2~", r"\(LX\): unexpected segment in the 835"),
    ],
)
def test_malformed_header_and_footer(mutate, expected: str) -> None:
    with pytest.raises(X12Error, match=expected):
        read_835(wrap_835(mutate(body_835(GOOD, "100"))))


def test_truncated_file_and_broken_envelope() -> None:
    text = wrap_835(body_835(GOOD, "100"))
    with pytest.raises(X12SyntaxError, match="truncated"):
        read_835(text[: text.index("SVC*") + 7])
    counted_wrong = read_835(re.sub(r"SE\*\d+\*", "SE*3*", text))  # read; the count is a finding
    assert [(f.code, f.segment_id, f.element) for f in counted_wrong.findings] == [("envelope", "SE", "SE01")]
    assert re.fullmatch(r"SE01 says 3 segments, found \d+", counted_wrong.findings[0].message)
    with pytest.raises(X12SyntaxError, match=r"^segment 4 \(SE\): transaction set ends where BPR"):
        read_835(wrap_835(""))


def test_other_transaction_types_are_refused() -> None:
    from tests.unit.edi.remit_support import interchange

    with pytest.raises(X12EnvelopeError, match="not an 835"):
        read_835(interchange("FA", "005010X231A1", "AK1*HC*1*005010X222A1~AK9*A*0*0*0~"))


def test_unbalanced_file_still_reads_and_reports() -> None:
    doc = to_json_dict(read_835(wrap_835(body_835(GOOD, "95"))))["transactions"][0]
    assert doc["balanced"] is False
    assert doc["balancing_errors"] == [
        "transaction set 0001 does not balance: sum(CLP04) 100.00 - sum(PLB) 0.00 = 100.00 but BPR02 is 95.00"
        " (off by -5.00)"
    ]


# --- writer ----------------------------------------------------------------------------------------


def _sample() -> list[RemittanceTransaction]:
    first = claim("150", "100", line("150", "100", adj("CO", "45", "30"), adj("PR", "2", "20"),
                                     line_control_number="L1", service_date=date(2025, 1, 15)),
                  patient_responsibility=D(20))
    reversal = claim("-150", "-100", adjustments=(adj("CO", "45", "-30"), adj("PR", "2", "-20")),
                     status=ClaimStatus.REVERSAL, pcn="C0001")
    denied = claim("80", "0", adjustments=(adj("CO", "50", "80"),), status=ClaimStatus.DENIED, pcn="C0002")
    return [remittance("2.5", first, reversal, denied, plb=(plb("L6", "-2.5", "INT1"),)),
            remittance("-40", plb=(plb("WO", "40", "CLM9"),))]


def test_writer_output_is_pyx12_clean_and_round_trips() -> None:
    transactions = _sample()
    for delimiters in (params().delimiters, CUSTOM):
        text = write_835(transactions, params(delimiters), line_breaks=True)
        assert pyx12_checked(text, "835") == []
        assert "ST*835*0001~" in text.replace("|", "*").replace("'", "~")  # no ST03 in an 835
        back = read_835(text)
        assert back.transactions == tuple(transactions)
        ROUND_TRIPS["835"] += 1
        assert all(to_json_dict(back)["transactions"][k]["balanced"] for k in range(2))


def test_writer_splits_long_cas_and_plb_runs() -> None:
    many = tuple(adj("CO", str(r), "1") for r in range(1, 9))
    t = remittance("9", claim("8", "0", adjustments=many),
                   plb=tuple(plb("L6", "-1", f"I{k}") for k in range(1, 10)))
    text = write_835([t], params())
    assert text.count("CAS*CO*") == 2 and text.count("PLB*") == 2
    assert read_835(text).transactions == (t,)


def test_writer_cleans_free_text_and_refuses_delimiters_in_ids() -> None:
    t = _sample()[0]
    dirty = replace(t, payer=replace(t.payer, name="ACME*HEALTH~PLAN"))
    assert "N1*PR*ACME HEALTH PLAN~" in write_835([dirty], params())
    with pytest.raises(X12Error, match="CLP01 contains a delimiter"):
        write_835([replace(t, header_numbers=(replace(t.header_numbers[0], claims=(
            replace(t.claims[0], patient_control_number="C*1"),)),))], params())


@given(remittances())
def test_generated_remittances_round_trip_and_validate(transaction) -> None:
    text = write_835([transaction], params())
    assert pyx12_checked(text, "835") == []
    back = read_835(text).transactions[0]
    assert back == transaction
    ROUND_TRIPS["835"] += 1
    assert to_json_dict(read_835(text))["transactions"][0]["balanced"] is True


def test_partner_variations_read_with_findings() -> None:
    """No PER*BL in 1000A is reported, not refused; a payee N4 without N3 (both optional) reads."""
    body = body_835(GOOD, "100").replace("PER*BL*EDI DESK*TE*8005551212~", "")
    body = body.replace("N1*PE*SUNRISE CLINIC*XX*1234567893~", "N1*PE*SUNRISE CLINIC*XX*1234567893~N4*AUSTIN*TX*78701~")
    remittance = read_835(wrap_835(body))
    t = remittance.transactions[0]
    assert t.payee.address is not None and (t.payee.address.line1, t.payee.address.city) == ("", "AUSTIN")
    assert [(f.code, f.segment_id, f.message) for f in remittance.findings] == [
        ("per_bl_missing", "N1", "payer loop 1000A has no PER*BL technical contact")]
    assert t.claims[0].paid == D(100)
