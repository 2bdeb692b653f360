"""Hypothesis strategies producing valid ClaimBatch documents (as dicts)."""

from __future__ import annotations

import string
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from edi.envelope import sanitize_text
from edi.npi import npi_check_digit

NAME_ALPHABET = string.ascii_letters + " '-.éÉñÑöüçÅ*~:^"  # delimiters and accents must be survived
_printable = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=24)


def text_field(min_clean: int = 1) -> st.SearchStrategy[str]:
    return _printable.filter(lambda s: s.strip() == s and len(sanitize_text(s)) >= min_clean)


@st.composite
def npis(draw: st.DrawFn) -> str:
    first9 = draw(st.sampled_from("12")) + draw(st.text(string.digits, min_size=8, max_size=8))
    return first9 + str(npi_check_digit(first9))


def money(max_cents: int = 2_000_000, min_cents: int = 0) -> st.SearchStrategy[Decimal]:
    return st.integers(min_cents, max_cents).map(lambda c: Decimal(c) / 100)


dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31))
ids = st.from_regex(r"[A-Z0-9]{2,12}", fullmatch=True)
codes = st.from_regex(r"[0-9]{5}|[A-V][0-9]{4}|[0-9]{4}[FTUM]", fullmatch=True)
diagnosis = st.from_regex(r"[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?", fullmatch=True)


@st.composite
def addresses(draw: st.DrawFn, zip9: bool = False) -> dict[str, Any]:
    digits = 9 if zip9 else draw(st.sampled_from([5, 9]))
    return {
        "line1": draw(st.from_regex(r"[1-9][0-9]{0,4}", fullmatch=True)) + " " + draw(text_field()),
        "line2": draw(st.none() | text_field()),
        "city": draw(text_field(min_clean=2)),
        "state": draw(st.sampled_from(["IL", "CA", "NY", "TX", "WA"])),
        "zip": draw(st.text(string.digits, min_size=digits, max_size=digits)),
    }


@st.composite
def persons(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "last_name": draw(text_field()),
        "first_name": draw(st.none() | text_field()),
        "middle_name": draw(st.none() | st.sampled_from(["A", "Marie", "J."])),
        "suffix": draw(st.none() | st.sampled_from(["Jr", "III"])),
    }


@st.composite
def subscribers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        **draw(persons()),
        "member_id": draw(ids),
        "group_number": draw(st.none() | ids),
        "address": draw(addresses()),
        "birth_date": draw(st.dates(date(1930, 1, 1), date(2010, 1, 1))),
        "gender": draw(st.sampled_from("MFU")),
    }


@st.composite
def billing_providers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "name": draw(text_field()),
        "npi": draw(npis()),
        "taxonomy": draw(st.sampled_from(["207Q00000X", "208D00000X", "363LF0000X"])),
        "tax_id": draw(st.text(string.digits, min_size=9, max_size=9)),
        "address": draw(addresses(zip9=True)),
    }


@st.composite
def adjustments(draw: st.DrawFn, max_size: int = 4) -> list[dict[str, Any]]:
    return draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "group": st.sampled_from(["CO", "PR", "OA", "PI", "CR"]),
                    "reason": st.sampled_from(["45", "1", "2", "3", "253", "97"]),
                    "amount": money(50_000, -5_000),
                },
                optional={"quantity": st.integers(1, 9).map(Decimal)},
            ),
            max_size=max_size,
        )
    )


def _adjudications(
    draw: st.DrawFn, other_payer_ids: list[str], line: dict[str, Any], codes_paid: dict[str, Any]
) -> list[dict[str, Any]]:
    """2430 loops of some of the other payers, paying the line's codes and units."""
    return [
        {
            "payer_id": payer_id,
            "paid_amount": draw(money(100_000)),
            **codes_paid,
            "units": line["units"],
            "adjustments": draw(adjustments(max_size=3)),
            "adjudication_date": draw(dates),
        }
        for payer_id in other_payer_ids
        if draw(st.booleans())
    ]


@st.composite
def lines(draw: st.DrawFn, n_diagnoses: int, other_payer_ids: list[str]) -> dict[str, Any]:
    pointers = draw(st.lists(st.integers(1, n_diagnoses), min_size=1, max_size=min(4, n_diagnoses), unique=True))
    code = draw(codes)
    modifiers = draw(st.lists(st.sampled_from(["25", "59", "GP", "XS", "QW", "76"]), max_size=4))
    service_date = draw(dates)
    line: dict[str, Any] = {
        "procedure_code": code,
        "modifiers": modifiers,
        "charge": draw(money()),
        "units": draw(st.integers(1, 12).map(Decimal) | st.just(Decimal("1.5"))),
        "diagnosis_pointers": pointers,
        "service_date": service_date,
        "line_control_number": draw(st.none() | st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)),
        "place_of_service": draw(st.none() | st.sampled_from(["11", "22"])),
    }
    if draw(st.booleans()):
        line["service_date_end"] = service_date
    codes_paid = {"procedure_code": code, "modifiers": modifiers}
    line["adjudications"] = _adjudications(draw, other_payer_ids, line, codes_paid)
    return line


@st.composite
def other_payers(draw: st.DrawFn, n: int) -> list[dict[str, Any]]:
    return [
        {
            "responsibility": ["P", "T"][k],
            "relationship": draw(st.sampled_from(["18", "01", "19"])),
            "claim_filing_indicator": draw(st.sampled_from(["MB", "CI", "MC", "BL"])),
            "group_number": draw(st.none() | ids),
            "subscriber": draw(persons()),
            "member_id": draw(ids),
            "payer": {"name": draw(text_field()), "id": f"OP{k}{draw(ids)}"},
            "paid_amount": draw(st.none() | money(100_000)),
            "adjustments": draw(adjustments()),
            "adjudication_date": draw(st.none() | dates),
        }
        for k in range(n)
    ]


def _claim_parties(draw: st.DrawFn, submission_id: str, shared: dict[str, Any]) -> dict[str, Any]:
    """What the 837P and 837I claims share: parties, payer order, other payers, correction."""
    others = draw(other_payers(draw(st.integers(0, 2)))) if draw(st.integers(0, 3)) == 0 else []
    frequency = draw(st.sampled_from(["1", "1", "7", "8"]))
    claim: dict[str, Any] = {
        "submission_id": submission_id,
        "billing_provider": shared.get("billing_provider") or draw(billing_providers()),
        "subscriber": shared.get("subscriber") or draw(subscribers()),
        "payer": shared.get("payer") or {"name": draw(text_field()), "id": draw(ids)},
        "payer_responsibility": "S" if others else "P",
        "claim_filing_indicator": draw(st.sampled_from(["CI", "MB", "MC", "BL", "HM", "16"])),
        "frequency": frequency,
        "payer_claim_control_number": draw(ids) if frequency != "1" else None,
        "prior_authorization": draw(st.none() | ids),
        "other_payers": others,
    }
    if draw(st.booleans()):
        claim["patient"] = {
            **draw(persons()),
            "relationship": draw(st.sampled_from(["01", "19", "G8"])),
            "address": draw(addresses()),
            "birth_date": draw(dates),
            "gender": draw(st.sampled_from("MFU")),
        }
    return claim


def _one_adjudication_date_per_payer(claim: dict[str, Any]) -> None:
    line_payers = {a["payer_id"] for line in claim["lines"] for a in line["adjudications"]}
    for other in claim["other_payers"]:
        if other["payer"]["id"] in line_payers:
            other["adjudication_date"] = None


@st.composite
def claims(
    draw: st.DrawFn, submission_id: str, max_lines: int = 50, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    n_diag = draw(st.integers(1, 12))
    claim = _claim_parties(draw, submission_id, shared or {})
    claim["place_of_service"] = draw(st.sampled_from(["11", "21", "22", "23"]))
    claim["diagnoses"] = draw(st.lists(diagnosis, min_size=n_diag, max_size=n_diag))
    for key in ("rendering_provider", "referring_provider"):
        if draw(st.booleans()):
            claim[key] = {**draw(persons()), "npi": draw(npis())}
            if key == "rendering_provider" and draw(st.booleans()):
                claim[key]["taxonomy"] = "207Q00000X"
    payer_ids = [o["payer"]["id"] for o in claim["other_payers"]]
    n_lines = draw(st.integers(1, max_lines))
    claim["lines"] = [draw(lines(n_diag, payer_ids)) for _ in range(n_lines)]
    _one_adjudication_date_per_payer(claim)
    return claim


# --- 837I ---------------------------------------------------------------------------------------

revenue_codes = st.sampled_from(["0120", "0250", "0300", "0360", "0450", "0636", "0730"])
pcs_codes = st.from_regex(r"[0-9A-HJ-NP-Z]{7}", fullmatch=True)
ub_codes = st.from_regex(r"[0-9A-Z]{2}", fullmatch=True)
hours = st.from_regex(r"([01][0-9]|2[0-3])[0-5][0-9]", fullmatch=True)
poa = st.none() | st.sampled_from("YNUW")


@st.composite
def institutional_lines(draw: st.DrawFn, start: date, end: date, other_payer_ids: list[str]) -> dict[str, Any]:
    code = draw(st.none() | codes)
    modifiers = draw(st.lists(st.sampled_from(["25", "59", "JZ"]), max_size=4)) if code else []
    charge = draw(money())
    first = draw(st.dates(start, end))
    line: dict[str, Any] = {
        "revenue_code": draw(revenue_codes),
        "procedure_code": code,
        "modifiers": modifiers,
        "charge": charge,
        "units": draw(st.integers(1, 30).map(Decimal) | st.just(Decimal("1.5"))),
        "unit_code": draw(st.sampled_from(["UN", "DA"])),
        "non_covered_charge": draw(st.none() | st.integers(0, int(charge * 100)).map(lambda c: Decimal(c) / 100)),
        "service_date": draw(st.none() | st.just(first)),
        "line_control_number": draw(st.none() | st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)),
    }
    if line["service_date"] is not None and draw(st.booleans()):
        line["service_date_end"] = draw(st.dates(first, end))
    codes_paid = {"revenue_code": line["revenue_code"], "procedure_code": code, "modifiers": modifiers}
    line["adjudications"] = _adjudications(draw, other_payer_ids, line, codes_paid)
    return line


@st.composite
def institutional_claims(
    draw: st.DrawFn, submission_id: str, max_lines: int = 30, shared: dict[str, Any] | None = None
) -> dict[str, Any]:
    claim = _claim_parties(draw, submission_id, shared or {})
    start = draw(dates)
    end = draw(st.dates(start, min(date(2026, 12, 31), start + timedelta(days=30))))
    dated = st.dates(start, end)
    claim.update(
        type_of_bill=draw(st.sampled_from(["11", "12", "13", "14", "18", "21", "71", "83", "85"])),
        frequency=draw(st.sampled_from(["1", "2", "3", "4", "5"])) if claim["frequency"] == "1" else claim["frequency"],
        statement_from=start,
        statement_through=end,
        patient_status=draw(st.sampled_from(["01", "02", "03", "06", "20", "30"])),
        admission_type=draw(st.none() | st.sampled_from("12345")),
        admission_source=draw(st.none() | st.sampled_from("1247")),
        discharge_hour=draw(st.none() | hours),
        principal_diagnosis={"code": draw(diagnosis), "present_on_admission": draw(poa)},
        admitting_diagnosis=draw(st.none() | diagnosis),
        reason_for_visit=draw(st.lists(diagnosis, max_size=3)),
        drg=draw(st.none() | st.from_regex(r"[0-9]{3}", fullmatch=True)),
        other_diagnoses=draw(
            st.lists(st.fixed_dictionaries({"code": diagnosis, "present_on_admission": poa}), max_size=24)
        ),
        occurrence_spans=[
            {"code": c, "from_date": a, "through_date": a + timedelta(days=k)}
            for c, a, k in draw(st.lists(st.tuples(ub_codes, dates, st.integers(0, 9)), max_size=14))
        ],
        occurrence_codes=draw(st.lists(st.fixed_dictionaries({"code": ub_codes, "occurred_on": dates}), max_size=14)),
        value_codes=draw(
            st.lists(st.fixed_dictionaries({"code": ub_codes, "amount": money(900_000, -1000)}), max_size=14)
        ),
        condition_codes=draw(st.lists(ub_codes, max_size=14)),
        patient_estimated_amount_due=draw(st.none() | money(100_000)),
        delay_reason=draw(st.none() | st.sampled_from(["1", "7", "11"])),
    )
    if draw(st.booleans()):
        claim["admission_date"] = draw(dated)
        claim["admission_hour"] = draw(st.none() | hours)
    if draw(st.booleans()):
        claim["principal_procedure"] = {"code": draw(pcs_codes), "performed_on": draw(dated)}
        procedures = st.fixed_dictionaries({"code": pcs_codes, "performed_on": dated})
        claim["other_procedures"] = draw(st.lists(procedures, max_size=14))
    for key in ("attending_provider", "operating_provider", "other_operating_provider", "rendering_provider",
                "referring_provider"):
        if draw(st.booleans()):
            claim[key] = {**draw(persons()), "npi": draw(npis())}
            if key == "attending_provider" and draw(st.booleans()):
                claim[key]["taxonomy"] = "207R00000X"
    payer_ids = [o["payer"]["id"] for o in claim["other_payers"]]
    claim["lines"] = [draw(institutional_lines(start, end, payer_ids)) for _ in range(draw(st.integers(1, max_lines)))]
    _one_adjudication_date_per_payer(claim)
    return claim


@st.composite
def batches(draw: st.DrawFn, max_claims: int = 4, max_lines: int = 50, claim: Any = claims) -> dict[str, Any]:
    """An 837P batch, or with ``claim=institutional_claims`` an 837I one."""
    n = draw(st.integers(1, max_claims))
    shared: dict[str, Any] = {}
    if draw(st.booleans()):  # several claims under one billing provider/subscriber exercises grouping
        shared = {
            "billing_provider": draw(billing_providers()),
            "subscriber": draw(subscribers()),
            "payer": {"name": "Shared Payer", "id": "SHARED1"},
        }
    return {
        "sender_id": draw(st.from_regex(r"[A-Z0-9]{2,15}", fullmatch=True)),
        "receiver_id": draw(st.from_regex(r"[A-Z0-9]{2,15}", fullmatch=True)),
        "interchange_control_number": draw(st.integers(1, 999_999_999)),
        "group_control_number": draw(st.integers(1, 999_999_999)),
        "created": draw(st.datetimes(datetime(2020, 1, 1), datetime(2026, 12, 31))).replace(second=0, microsecond=0),
        "usage_indicator": draw(st.sampled_from("TP")),
        "reference": draw(st.from_regex(r"[A-Z0-9]{1,30}", fullmatch=True)),
        "submitter": {
            "name": draw(text_field()),
            "id": draw(ids),
            "contact_name": draw(text_field()),
            "phone": draw(st.text(string.digits, min_size=10, max_size=10)),
        },
        "receiver": {"name": draw(text_field()), "id": draw(ids)},
        "claims": [
            draw(claim(f"S{k:04d}-{draw(st.from_regex(r'[A-Z0-9]{1,8}', fullmatch=True))}", max_lines, shared))
            for k in range(n)
        ],
    }
