from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from edi.validate import validate
from edi.x12 import read_interchange
from edi.x837 import ClaimBatch, cas_segments, fmt_amount, read_837p, render_837p
from tests.unit.edi import samples as s
from tests.unit.edi.corpus import pyx12_counted as pyx12_clean
from tests.unit.edi.roundtrip import assert_round_trip

RENDERING = {"last_name": "Smith", "first_name": "Al", "npi": "1999999984", "taxonomy": "207Q00000X"}
REFERRING = {"last_name": "O'Neil-Ruiz", "first_name": "Zoë", "npi": "1123456786"}

CASES: dict[str, Callable[[], ClaimBatch]] = {
    "single": lambda: s.batch(s.claim()),
    "dependent": lambda: s.batch(s.claim(patient=s.DEPENDENT)),
    "providers_and_auth": lambda: s.batch(
        s.claim(rendering_provider=RENDERING, referring_provider=REFERRING, prior_authorization="PA-77")
    ),
    "replacement": lambda: s.batch(s.claim(frequency="7", payer_claim_control_number="PCN12345")),
    "void": lambda: s.batch(s.claim(frequency="8", payer_claim_control_number="PCN12345")),
    "secondary_claim_level": lambda: s.batch(s.claim(**s.SECONDARY)),
    "secondary_line_level": lambda: s.batch(
        s.claim(
            **{
                **s.SECONDARY,
                "lines": [
                    s.line(
                        adjudications=[
                            {
                                "payer_id": "MCR01",
                                "paid_amount": "90.10",
                                "procedure_code": "99213",
                                "units": "1",
                                "adjustments": [
                                    {"group": "CO", "reason": "45", "amount": "40"},
                                    {"group": "PR", "reason": "2", "amount": "19.90"},
                                ],
                                "adjudication_date": "2025-02-01",
                            }
                        ]
                    )
                ],
            }
        )
    ),
    "fifty_lines_twelve_dx": lambda: s.batch(
        s.claim(
            diagnoses=["J020", "R509", "E119", "I10", "Z0000", "M545", "R05", "R0602", "J069", "K219", "E785", "F419"],
            lines=[
                s.line(
                    charge=f"{10 + n}.25",
                    diagnosis_pointers=[1 + n % 12, 1 + (n + 1) % 12, 1 + (n + 2) % 12, 1 + (n + 3) % 12],
                    modifiers=["25", "59", "GP", "XS"],
                    line_control_number=f"LC{n}",
                )
                for n in range(50)
            ],
        )
    ),
    "many_claims_grouped": lambda: s.batch(
        *[s.claim(f"C{n:04d}") for n in range(3)],
        s.claim("D0001", patient=s.DEPENDENT),
        s.claim("D0002", patient=s.DEPENDENT),
        s.claim("B0001", billing_provider={**s.BILLING, "npi": "1123456786"}),
    ),
    "odd_names": lambda: s.batch(
        s.claim(
            subscriber={
                **s.SUBSCRIBER,
                "last_name": "D'Angelo-Núñez*Jr~",
                "first_name": "Zoë",
                "address": {
                    "line1": "12 O'Hara St. #4",
                    "line2": "Apt 3:B",
                    "city": "Coeur d'Alene",
                    "state": "ID",
                    "zip": "83814",
                },
            },
        )
    ),
    "range_dates_units": lambda: s.batch(
        s.claim(lines=[s.line(units="2.5", service_date_end="2025-01-17", place_of_service="22")])
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_built_cases_pass_pyx12_and_round_trip(name: str) -> None:
    batch = CASES[name]()
    text = render_837p(batch)
    assert pyx12_clean(text) == []
    assert validate(text) == []
    assert_round_trip(batch, read_837p(text))


def test_more_than_100_claims_per_subscriber_split_into_hl_loops() -> None:
    batch = s.batch(*[s.claim(f"C{n:04d}", lines=[s.line()]) for n in range(101)])
    text = render_837p(batch)
    hl_22 = [seg for seg in text.split("~") if seg.startswith("HL*") and seg.split("*")[3] == "22"]
    assert len(hl_22) == 2
    assert pyx12_clean(text) == []
    assert len(read_837p(text).claims) == 101


def test_transactions_split_at_the_configured_claim_count() -> None:
    batch = s.batch(*[s.claim(f"C{n}") for n in range(5)])
    text = render_837p(batch, max_claims_per_transaction=2)
    assert len(read_interchange(text).transactions()) == 3
    assert [c.submission_id for c in read_837p(text).claims] == [f"C{n}" for n in range(5)]


def test_segment_content() -> None:
    text = render_837p(
        s.batch(
            s.claim(
                rendering_provider=RENDERING,
                frequency="7",
                payer_claim_control_number="PCN1",
                prior_authorization="PA1",
                **s.SECONDARY,
            )
        )
    )
    segs = text.split("~")
    assert "PRV*BI*PXC*207Q00000X" in segs
    assert "NM1*85*2*Sunrise Family Clinic*****XX*1234567893" in segs
    assert "N4*Springfield*IL*627011234" in segs and "REF*EI*123456789" in segs
    assert "SBR*S*18*GRP100******CI" in segs
    assert "CLM*C0001*185.5***11:B:7*Y*A*Y*Y" in segs
    assert segs.index("REF*G1*PA1") < segs.index("REF*F8*PCN1")
    assert "HI*ABK:J020*ABF:R509" in segs
    assert "SV1*HC:87880:QW*35.5*UN*1***1:2" in segs and "DTP*472*D8*20250115" in segs and "REF*6R*L99213" in segs
    assert "AMT*D*100" in segs and "CAS*CO*45*50.5" in segs and "OI***Y***Y" in segs
    assert "NM1*PR*2*Medicare Part B*****PI*MCR01" in segs


def test_amount_formatting_and_cas_grouping() -> None:
    assert [fmt_amount(Decimal(v)) for v in ["150.00", "0.10", "-0.00", "1E+2", "12.5"]] == [
        "150",
        "0.1",
        "0",
        "100",
        "12.5",
    ]
    from edi.x837 import Adjustment

    adjustments = [Adjustment(group="CO", reason=str(n), amount=Decimal(n)) for n in range(1, 8)]
    segments = cas_segments(adjustments)
    assert len(segments) == 2 and len(segments[0]) == 2 + 6 * 3


def test_custom_delimiters_pass_pyx12() -> None:
    from edi.x12 import Delimiters

    delimiters = Delimiters(element="|", repetition="!", component=">", segment="~")
    batch = CASES["odd_names"]()
    text = render_837p(batch, delimiters=delimiters).replace("~", "~\r\n")
    assert pyx12_clean(text) == []
    assert_round_trip(batch, read_837p(text), delimiters)


INVALID: dict[str, tuple[dict[str, Any], str]] = {
    "clm02_mismatch": ({"total_charge": "999.00"}, "sum of the line charges"),
    "freq7_without_f8": ({"frequency": "7"}, "REF*F8"),
    "f8_on_original": ({"payer_claim_control_number": "X1"}, "only for frequency 7 or 8"),
    "pointer_out_of_range": ({"lines": [s.line(diagnosis_pointers=[3])]}, "pointer beyond"),
    "too_many_lines": ({"lines": [s.line()] * 51}, "at most 50"),
    "too_many_diagnoses": ({"diagnoses": ["J020"] * 13}, "at most 12"),
    "bad_npi": ({"rendering_provider": {**RENDERING, "npi": "1234567890"}}, "not a valid NPI"),
    "zip5_billing": ({"billing_provider": {**s.BILLING, "address": {**s.BILLING["address"], "zip": "62701"}}}, "ZIP+4"),
    "long_submission_id": ({"submission_id": "X" * 21}, "at most 20"),
    "five_modifiers": ({"lines": [s.line(modifiers=["25", "59", "GP", "XS", "76"])]}, "at most 4"),
    "float_like_amount": ({"lines": [s.line(charge="10.123")]}, "2 decimal places"),
    "self_without_dob": ({"subscriber": {**s.SUBSCRIBER, "birth_date": None}}, "needs address, birth_date"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_model_rejects_invalid_claims(name: str) -> None:
    change, needle = INVALID[name]
    with pytest.raises(ValidationError, match=needle.replace("*", r"\*").replace("+", r"\+")):
        s.batch(s.claim(**change))


def test_duplicate_submission_ids_rejected() -> None:
    with pytest.raises(ValidationError, match="unique"):
        s.batch(s.claim("C1"), s.claim("C1"))


def test_single_claim_document_form() -> None:
    doc = s.batch().model_dump(mode="json")
    doc["claim"] = doc.pop("claims")[0]
    assert len(ClaimBatch.model_validate(doc).claims) == 1
