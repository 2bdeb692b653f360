"""837I (005010X223A2): every rendered sample is pyx12-clean (through its Python API), passes our
checks and reads back to the same batch; each of our checks fails on a broken file, naming the
loop and segment; the model refuses what the guide or our rules do not allow."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from edi.validate import validate
from edi.x12 import Delimiters, read_interchange
from edi.x837i import MAX_LINES, ClaimBatch, read_837i, read_837i_document, render_837i
from tests.unit.edi import samples as s
from tests.unit.edi.corpus import pyx12_counted as pyx12_clean
from tests.unit.edi.roundtrip import assert_round_trip

SECONDARY_LINES: dict[str, Any] = {
    **s.SECONDARY,
    "lines": [
        s.room_line(
            adjudications=[
                {
                    "payer_id": "MCR01",
                    "paid_amount": "2000",
                    "revenue_code": "0120",
                    "units": "3",
                    "adjustments": [
                        {"group": "CO", "reason": "45", "amount": "500"},
                        {"group": "PR", "reason": "1", "amount": "200"},
                    ],
                    "adjudication_date": "2025-02-01",
                    "remaining_patient_liability": "200",
                }
            ]
        ),
        {
            "revenue_code": "0636",
            "procedure_code": "J1885",
            "modifiers": ["JZ"],
            "charge": "30.00",
            "units": "2",
            "service_date": "2025-01-11",
            "adjudications": [
                {
                    "payer_id": "MCR01",
                    "paid_amount": "20",
                    "revenue_code": "0636",
                    "procedure_code": "J1885",
                    "modifiers": ["JZ"],
                    "units": "2",
                    "adjustments": [{"group": "CO", "reason": "45", "amount": "10"}],
                    "adjudication_date": "2025-02-01",
                }
            ],
        },
    ],
}
SECONDARY_LINES["other_payers"] = [{k: v for k, v in o.items() if k != "paid_amount"} | {"paid_amount": "2020"}
                                   for o in s.SECONDARY["other_payers"]]


def _long_lists() -> dict[str, Any]:
    """Every repeatable HI list at its limit (24 codes: two HI segments of 12) and 999 lines."""
    codes = [f"{n:02d}" for n in range(10, 34)]
    return {
        "other_diagnoses": [{"code": f"E11.{n % 10}", "present_on_admission": "YNUW"[n % 4]} for n in range(24)],
        "principal_procedure": {"code": "0DTJ4ZZ", "performed_on": "2025-01-10"},
        "other_procedures": [{"code": f"0DB{n % 10}8ZX", "performed_on": "2025-01-11"} for n in range(24)],
        "occurrence_spans": [{"code": c, "from_date": "2025-01-01", "through_date": "2025-01-05"} for c in codes],
        "occurrence_codes": [{"code": c, "occurred_on": "2025-01-09"} for c in codes],
        "value_codes": [{"code": c, "amount": f"{n}.5"} for n, c in enumerate(codes)],
        "condition_codes": codes,
        "lines": [
            {"revenue_code": "0250", "charge": "1.25", "units": "1", "service_date": "2025-01-11",
             "line_control_number": f"L{n}"}
            for n in range(MAX_LINES)
        ],
    }


CASES: dict[str, Callable[[], ClaimBatch]] = {
    "inpatient": lambda: s.institutional_batch(s.inpatient_claim()),
    "outpatient": lambda: s.institutional_batch(s.outpatient_claim()),
    "both_kinds_and_a_dependent": lambda: s.institutional_batch(
        s.inpatient_claim(), s.outpatient_claim(), s.outpatient_claim("O0002", patient=s.DEPENDENT)
    ),
    "all_providers": lambda: s.institutional_batch(
        s.inpatient_claim(
            other_operating_provider={"last_name": "Yang", "first_name": "Cristina", "npi": "1234567893"},
            rendering_provider={"last_name": "Bailey", "npi": "1123456786"},
            referring_provider={"last_name": "Webber", "first_name": "Richard", "npi": "1999999984"},
            service_facility={
                "name": "Springfield General Annex",
                "npi": "1234567893",
                "address": {"line1": "200 Main St", "city": "Springfield", "state": "IL", "zip": "62701"},
            },
            prior_authorization="PA-9", referral_number="RF-2", patient_estimated_amount_due="250.00",
            delay_reason="7",
        )
    ),
    "facility_without_npi": lambda: s.institutional_batch(
        s.outpatient_claim(
            service_facility={
                "name": "Springfield Urgent Care",
                "address": {"line1": "9 Oak St", "city": "Springfield", "state": "IL", "zip": "62702"},
            }
        )
    ),
    "replacement_bill": lambda: s.institutional_batch(
        s.inpatient_claim(frequency="7", payer_claim_control_number="PCN-7781")
    ),
    "admission_without_hour": lambda: s.institutional_batch(s.inpatient_claim(admission_hour=None)),
    "secondary_claim_level": lambda: s.institutional_batch(s.inpatient_claim(**s.SECONDARY)),
    "secondary_line_level": lambda: s.institutional_batch(s.inpatient_claim(**SECONDARY_LINES)),
    "long_lists_and_999_lines": lambda: s.institutional_batch(s.inpatient_claim(**_long_lists())),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_samples_are_pyx12_clean_pass_our_checks_and_round_trip(name: str) -> None:
    batch = CASES[name]()
    text = render_837i(batch)
    assert [str(i) for i in pyx12_clean(text)] == []
    assert validate(text) == []
    assert_round_trip(batch, read_837i(text))


def test_custom_delimiters_and_line_breaks() -> None:
    delimiters = Delimiters(element="|", repetition="!", component=">", segment="~")
    batch = CASES["all_providers"]()
    text = render_837i(batch, delimiters=delimiters, line_breaks=True).replace("~\n", "~\r\n")
    assert pyx12_clean(text) == []
    assert_round_trip(batch, read_837i(text), delimiters)


def test_segment_content() -> None:
    segs = render_837i(s.institutional_batch(s.inpatient_claim(**SECONDARY_LINES, delay_reason="7"))).split("~")
    assert "GS*HC*REVCYCLE*CLEARHOUSE*20250120*0930*42*X*005010X223A2" in segs
    assert "CLM*I0001*2730***11:A:1**A*Y*Y***********7" in segs
    assert segs[
        segs.index("DTP*096*TM*1415") : segs.index("CL1*1*7*01") + 1
    ] == ["DTP*096*TM*1415", "DTP*434*RD8*20250110-20250112", "DTP*435*DT*202501100830", "CL1*1*7*01"]
    assert "HI*ABK:J189:::::::Y" in segs and "HI*ABJ:R0602" in segs and "HI*DR:194" in segs
    assert "HI*ABF:E119:::::::Y*ABF:I10:::::::Y*ABF:N390:::::::N" in segs
    assert "HI*BBR:5A09357:D8:20250110" in segs and "HI*BH:11:D8:20250108" in segs
    assert "HI*BE:80:::2" in segs and "HI*BG:39" in segs
    assert "NM1*71*1*Grey*Meredith****XX*1999999984" in segs and "PRV*AT*PXC*207R00000X" in segs
    assert "SV2*0120**2700*DA*3" in segs and "DTP*472*RD8*20250110-20250112" in segs and "REF*6R*R0120" in segs
    assert "SV2*0636*HC:J1885:JZ*30*UN*2" in segs
    assert "SVD*MCR01*2000**0120*3" in segs and "SVD*MCR01*20*HC:J1885:JZ*0636*2" in segs
    assert "AMT*EAF*200" in segs and "DTP*573*D8*20250201" in segs


def test_long_lists_split_into_two_hi_segments_of_twelve() -> None:
    segs = render_837i(CASES["long_lists_and_999_lines"]()).split("~")
    for qualifier in ("ABF", "BBQ", "BI", "BH", "BE", "BG"):
        his = [seg for seg in segs if seg.startswith(f"HI*{qualifier}:")]
        assert [seg.count(f"*{qualifier}:") for seg in his] == [12, 12], qualifier


def test_institutional_and_professional_checks_do_not_mix() -> None:
    from edi.x837 import render_837p

    professional = render_837p(s.batch())
    institutional = render_837i(CASES["inpatient"]())
    assert validate(professional) == [] and validate(institutional) == []
    assert read_interchange(institutional).transactions()[0].implementation == "005010X223A2"


# --- our checks on broken files: each fails with a message naming the loop and segment ---------

BROKEN: dict[str, tuple[Callable[[str], str], str, str]] = {
    "clm02_sum": (lambda t: t.replace("CLM*I0001*3377.4*", "CLM*I0001*3377.5*"), "clm02_sum", "sum of SV203"),
    "npi": (lambda t: t.replace("XX*1999999984", "XX*1999999985"), "npi_check_digit", "NM109"),
    "type_of_bill": (lambda t: t.replace("*11:A:1*", "*91:A:1*"), "type_of_bill", "2300 CLM05"),
    "tob_qualifier": (lambda t: t.replace("*11:A:1*", "*11:B:1*"), "type_of_bill", "type of bill"),
    "line_outside_statement": (
        lambda t: t.replace("DTP*472*D8*20250111", "DTP*472*D8*20250113"),
        "line_outside_statement",
        "2400 DTP*472",
    ),
    "statement_period": (
        lambda t: t.replace("DTP*434*RD8*20250110-20250112", "DTP*434*RD8*20250112-20250110"),
        "statement_period",
        "2300 DTP*434",
    ),
    "admission_hour": (
        lambda t: t.replace("DTP*435*DT*202501100830", "DTP*435*DT*202501102460"),
        "admission_date",
        "2300 DTP*435",
    ),
    "admission_date": (
        lambda t: t.replace("DTP*435*DT*202501100830", "DTP*435*D8*20250231"),
        "admission_date",
        "2300 DTP*435",
    ),
    "discharge_hour": (lambda t: t.replace("DTP*096*TM*1415", "DTP*096*TM*1475"), "discharge_hour", "2300 DTP*096"),
    "replacement_without_f8": (lambda t: t.replace("*11:A:1*", "*11:A:7*"), "ref_f8_missing", "REF*F8"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_check_fails_on_a_broken_file(name: str) -> None:
    breaker, code, needle = BROKEN[name]
    good = render_837i(CASES["inpatient"]())
    broken = breaker(good)
    assert broken != good, "the breaker must change the file"
    issues = validate(broken)
    assert [i.code for i in issues] == [code], [str(i) for i in issues]
    assert needle in issues[0].message


# --- the model -------------------------------------------------------------------------------

INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "clm02_mismatch": ({"total_charge": "1.00"}, "CLM02 = sum of SV203"),
    "statement_reversed": ({"statement_from": "2025-01-13"}, "statement_through (DTP*434) is before"),
    "line_outside_statement": (
        {"lines": [s.room_line(service_date="2025-01-09")]},
        "line 1: service date (DTP*472) outside the statement period",
    ),
    "hour_without_date": ({"admission_date": None}, "admission_hour (DTP*435 DT) needs admission_date"),
    "bad_hour": ({"admission_hour": "2460"}, "admission_hour"),
    "bad_type_of_bill": ({"type_of_bill": "91"}, "type_of_bill"),
    "bad_frequency": ({"frequency": "6"}, "frequency"),
    "freq7_without_f8": ({"frequency": "7"}, "REF*F8"),
    "bad_poa": ({"principal_diagnosis": {"code": "J18.9", "present_on_admission": "1"}}, "present_on_admission"),
    "bad_pcs": ({"principal_procedure": {"code": "0DTJ4ZO", "performed_on": "2025-01-10"}}, "principal_procedure"),
    "other_without_principal_procedure": (
        {"principal_procedure": None, "other_procedures": [{"code": "0DTJ4ZZ", "performed_on": "2025-01-10"}]},
        "need a principal_procedure",
    ),
    "too_many_other_dx": ({"other_diagnoses": [{"code": "I10"}] * 25}, "at most 24"),
    "too_many_lines": ({"lines": [s.room_line()] * (MAX_LINES + 1)}, "at most 999"),
    "bad_revenue_code": ({"lines": [s.room_line(revenue_code="120")]}, "revenue_code"),
    "bad_unit_basis": ({"lines": [s.room_line(unit_code="MJ")]}, "unit_code"),
    "non_covered_over_charge": ({"lines": [s.room_line(non_covered_charge="5000")]}, "exceeds the line charge"),
    "modifier_without_code": ({"lines": [s.room_line(modifiers=["25"])]}, "need a procedure_code"),
    "bad_npi": ({"attending_provider": {**s.ATTENDING, "npi": "1234567890"}}, "not a valid NPI"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_model_rejects_invalid_claims(name: str) -> None:
    change, needle = INVALID[name]
    with pytest.raises(ValidationError, match=re.escape(needle)):
        s.institutional_batch(s.inpatient_claim(**change))


def test_reader_reports_a_partners_bad_npi_and_keeps_the_claim() -> None:
    text = render_837i(CASES["inpatient"]()).replace("XX*1999999984", "XX*1999999985")
    document = read_837i_document(read_interchange(text))
    assert document.batch is not None and len(document.batch.claims) == 1
    assert [(f.code, f.severity) for f in document.findings] == [("writer_rule", "warning")]
    assert "attending_provider.npi" in document.findings[0].message

