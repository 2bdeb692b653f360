"""Institutional (facility) 835s on the real stack (the remits service, Kafka, Postgres): an
inpatient stay paid by DRG at claim level only (no SVC lines, an MIA), allocated over the lines we
sent to the cent; an outpatient visit answered per line (HC with SVC04, NU by revenue code) with an
MOA. Worked out by hand: see each case's docstring.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import (
    ClaimPayment,
    InpatientAdjudication,
    OutpatientAdjudication,
    Procedure,
    ServiceLine,
    write_835,
)
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.remits.domain.cards import PayerLine, figures, held_figures, problems
from tests.support.kafka_io import eventually, publish
from tests.support.remits_io import book_ledger, cards, events, params, sql, wait_sql
from tests.support.testsvc import example
from tests.unit.remits.builders import adj, claim, remittance

pytestmark = pytest.mark.integration
D = Decimal
ZERO = D("0.00")
ACCOUNT = "PA-FACILITY-1"
AETNA = {"payer_id": "60054", "payer_name": "Aetna"}


def facility_line(n: int, sub: str, charge_id: str, revenue: str, procedure: str | None, charge: str,
                  units: str = "1", summed: tuple[str, ...] = (), end: str | None = None) -> dict[str, Any]:
    return {"line_number": n, "line_control_number": f"{sub}-{n}", "charge_id": charge_id,
            "summed_charge_ids": list(summed), "procedure_code": procedure, "modifiers": [], "description": None,
            "revenue_code": revenue, "service_date": "2026-03-02", "service_end_date": end, "units": units,
            "charge": charge, "diagnosis_pointers": [], "expected_allowed": None}


async def submit(platform: Settings, key: str, sub: str, type_of_bill: str, lines: list[dict[str, Any]]) -> None:
    total = sum((D(ln["charge"]) for ln in lines), ZERO)
    await publish(platform, example(
        "rcm.claims.ClaimSubmitted.v1", claim_id=f"clm_{key}", claim_family_id=f"fam_{key}",
        encounter_id=f"enc_{key}", submission_id=sub, patient_account_id=ACCOUNT, payer=AETNA, coverage_rank=1,
        claim_type="institutional", type_of_bill=type_of_bill, total_charge=str(total), lines=lines,
        next_payer=None))
    await wait_sql(platform, f"SELECT count(*) FROM submissions WHERE submission_id = '{sub}'", 1, "ClaimSubmitted")


async def remit(platform: Settings, trace: str, icn: int, c: ClaimPayment) -> None:
    text = write_835([remittance(trace, c)], params(icn))
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", f"{trace}.835", text.encode())
    await wait_sql(platform, f"SELECT count(*) FROM remittances WHERE trace_number = '{trace}'", 1, f"835 {trace}")


async def claim_events(platform: Settings, claim_id: str, *names: str) -> dict[str, list[dict[str, Any]]]:
    """The claim's events on rcm.remittances.v1 by name, once each of `names` is there."""
    got: dict[str, list[dict[str, Any]]] = {}

    async def check() -> bool:
        nonlocal got
        got = {}
        for name, payload in await events(platform, "rcm.remittances.v1"):
            if payload.get("claim_id") == claim_id:
                got.setdefault(name, []).append(payload)
        return all(n in got for n in names)

    await eventually(check, what=f"{', '.join(names)} of {claim_id}")
    return got


async def balance_items(platform: Settings, key: str) -> tuple[Decimal, list[dict[str, Any]]]:
    await wait_sql(platform, f"SELECT count(*) FROM balances WHERE encounter_id = 'enc_{key}'", 1, "the balance")
    row = (await sql(platform, f"SELECT total, items FROM balances WHERE encounter_id = 'enc_{key}'"))[0]
    return row["total"], sorted(json.loads(row["items"]), key=lambda i: i["charge_id"])


def item(charge_id: str, procedure: str | None, revenue: str, charge: str, paid: str, adjustments: str,
         deductible: str, coinsurance: str, patient: str, claim_id: str) -> dict[str, Any]:
    return {"charge_id": charge_id, "claim_id": claim_id, "service_date": "2026-03-02", "procedure_code": procedure,
            "revenue_code": revenue, "description": None, "charge": charge, "insurance_paid": paid,
            "adjustments": adjustments,
            "patient_share": {"deductible": deductible, "coinsurance": coinsurance, "copay": "0.00", "other": "0.00"},
            "patient_responsibility": patient}


# --------------------------------------------------------------------------- inpatient, DRG, claim level only


DRG_PAYMENT = replace(
    claim("SBI1", "1", "4300.00", "2489.10", adjustments=(adj("CO", "45", "688.63"), adj("PR", "1", "500.00"),
                                                         adj("PR", "2", "622.27")), pccn="AET-I1"),
    facility_code="11", frequency_code="1", drg_code="194", drg_weight=D("0.8851"),
    inpatient=InpatientAdjudication(covered_days=D("3"), remark_codes=("MA01",),
                                    values=((2, D("250.00")), (4, D("3361.37")))))


async def test_an_inpatient_drg_payment_without_lines_is_allocated_to_the_cent(
        platform: Settings, remits: Runtime, cli_env: None) -> None:
    """A three-day stay, 4300.00: room and board 0120 (three day charges summed on one line,
    3000.00), pharmacy 0250 457.33, lab 0300/80053 842.67. Aetna pays DRG 194 (weight 0.8851) at
    3361.37 + an outlier of 250.00 = 3611.37 allowed: CO-45 688.63, deductible 500.00, coinsurance
    20% of 3111.37 = 622.27, paid 2489.10; no SVC lines. Each figure is split by line charge
    (3000.00 : 457.33 : 842.67), largest remainder:
    paid 1736.58 / 264.73 / 487.79, CO-45 480.44 / 73.24 / 134.95, PR-1 348.84 / 53.18 / 97.98,
    PR-2 434.14 / 66.18 / 121.95. The summed line's amounts go to its first charge."""
    await submit(platform, "I1", "SBI1", "11", [
        facility_line(1, "SBI1", "chg_I1a", "0120", None, "3000.00", units="3", summed=("chg_I1d2", "chg_I1d3"),
                      end="2026-03-04"),
        facility_line(2, "SBI1", "chg_I1b", "0250", None, "457.33"),
        facility_line(3, "SBI1", "chg_I1c", "0300", "80053", "842.67")])
    await remit(platform, "FACI1", 801, DRG_PAYMENT)

    got = await claim_events(platform, "clm_I1", "ClaimPaymentPosted")
    [posted] = got["ClaimPaymentPosted"]
    assert {k: posted[k] for k in ("total_charge", "total_paid", "patient_responsibility", "lines", "drg_code",
                                   "drg_weight", "covered_days", "drg_amount", "outlier_amount", "remark_codes",
                                   "reimbursement_rate", "hcpcs_payable")} == {
        "total_charge": "4300.00", "total_paid": "2489.10", "patient_responsibility": "1122.27", "lines": [],
        "drg_code": "194", "drg_weight": "0.8851", "covered_days": "3", "drg_amount": "3361.37",
        "outlier_amount": "250.00", "remark_codes": ["MA01"], "reimbursement_rate": None, "hcpcs_payable": None}
    assert [(a["group"], a["reason_code"], a["amount"]) for a in posted["claim_adjustments"]] == [
        ("CO", "45", "688.63"), ("PR", "1", "500.00"), ("PR", "2", "622.27")]
    assert sorted(got) == ["ClaimPaymentPosted"]  # no denial, no under/overpayment

    lines = await sql(platform, "SELECT line_control, charge_id, charge, paid, deductible, coinsurance"
                                " FROM posting_lines WHERE claim_id = 'clm_I1' ORDER BY line_control")
    assert [tuple(r) for r in lines] == [
        ("SBI1-1", "chg_I1a", D("3000.00"), D("1736.58"), D("348.84"), D("434.14")),
        ("SBI1-2", "chg_I1b", D("457.33"), D("264.73"), D("53.18"), D("66.18")),
        ("SBI1-3", "chg_I1c", D("842.67"), D("487.79"), D("97.98"), D("121.95"))]

    total, items = await balance_items(platform, "I1")
    assert total == D("1122.27")
    assert items == [
        item("chg_I1a", None, "0120", "3000.00", "1736.58", "480.44", "348.84", "434.14", "782.98", "clm_I1"),
        item("chg_I1b", None, "0250", "457.33", "264.73", "73.24", "53.18", "66.18", "119.36", "clm_I1"),
        item("chg_I1c", "80053", "0300", "842.67", "487.79", "134.95", "97.98", "121.95", "219.93", "clm_I1")]

    found = (await cards(platform, "enc_I1"))["enc_I1"]
    assert problems(found) == []
    assert figures(found) == held_figures((await book_ledger(platform)).get("enc_I1", {}))
    assert found.payers == (PayerLine("60054", 1, D("2489.10"), D("688.63"), ZERO, ZERO, D("1122.27")),)
    assert (found.state, found.patient_balance, found.insurance_balance) == ("patient_due", D("1122.27"), ZERO)
    shown = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "account", "enc_I1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["facility"] == [{
        "claim_id": "clm_I1", "rank": 1, "claim_status": "1", "drg_code": "194", "remark_codes": ["MA01"],
        "drg_weight": "0.8851", "covered_days": "3", "drg_amount": "3361.37", "outlier_amount": "250.00",
        "reimbursement_rate": None, "hcpcs_payable": None}]
    table = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "account", "enc_I1"])
    assert table.exit_code == 0, table.output
    shown_rows = [" ".join(ln.strip("│ ").split()) for ln in table.output.splitlines()]
    assert [r for r in shown_rows if r.startswith(("DRG", "covered", "outlier", "remarks"))] == [
        "DRG (CLP11) │ 194", "DRG weight (CLP12) │ 0.8851", "covered days (MIA01) │ 3", "DRG amount (MIA04) │ 3361.37",
        "outlier amount (MIA02) │ 250.00", "remarks │ MA01"]


async def test_a_claim_level_partial_denial_of_a_stay_is_told_per_line_and_kept_open(
        platform: Settings, remits: Runtime) -> None:
    """A stay of 2500.00 (room and board 2000.00, pharmacy 500.00) paid by per diem without lines:
    CO-45 400.00, CO-50 250.00 (a day not medically necessary), PR-1 100.00, paid 1750.00. Split
    4:1 by charge, CO-50 is 200.00 on the room line and 50.00 on the pharmacy line: ClaimDenied
    scope line names both, besides ClaimPaymentPosted; the card keeps the 250.00 open."""
    await submit(platform, "I2", "SBI2", "11", [
        facility_line(1, "SBI2", "chg_I2a", "0120", None, "2000.00", units="2", summed=("chg_I2d2",)),
        facility_line(2, "SBI2", "chg_I2b", "0250", None, "500.00")])
    await remit(platform, "FACI2", 803, replace(
        claim("SBI2", "1", "2500.00", "1750.00", adjustments=(adj("CO", "45", "400.00"), adj("CO", "50", "250.00"),
                                                             adj("PR", "1", "100.00")), pccn="AET-I2"),
        facility_code="11", frequency_code="1", inpatient=InpatientAdjudication(covered_days=D("2"),
                                                                                 remark_codes=("N1",))))
    got = await claim_events(platform, "clm_I2", "ClaimPaymentPosted", "ClaimDenied")
    denied = got["ClaimDenied"]
    assert len(denied) == 1 and denied[0]["denial_scope"] == "line"
    assert [(d["line_control_number"], d["group"], d["reason_code"], d["amount"], d["remark_codes"])
            for d in denied[0]["denials"]] == [("SBI2-1", "CO", "50", "200.00", ["N1"]),
                                               ("SBI2-2", "CO", "50", "50.00", ["N1"])]
    assert [p["total_paid"] for p in got["ClaimPaymentPosted"]] == ["1750.00"]
    rows = await sql(platform, "SELECT charge_id, paid, deductible FROM posting_lines WHERE claim_id = 'clm_I2'"
                               " ORDER BY charge_id")
    assert [tuple(r) for r in rows] == [("chg_I2a", D("1400.00"), D("80.00")), ("chg_I2b", D("350.00"), D("20.00"))]
    found = (await cards(platform, "enc_I2"))["enc_I2"]
    assert problems(found) == []
    assert found.payers == (PayerLine("60054", 1, D("1750.00"), D("400.00"), ZERO, D("250.00"), D("100.00")),)
    assert (found.state, found.patient_balance) == ("open", D("100.00"))
    assert [(f.facility.covered_days, f.facility.drg_code, f.facility.remark_codes) for f in found.facility] == [
        (D("2"), None, ("N1",))]


# --------------------------------------------------------------------------- outpatient, per line, MOA


def svc(qualifier: str, code: str, revenue: str, charge: str, paid: str, co: str, coins: str,
        lcn: str = "") -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier=qualifier, code=code), revenue_code=revenue, charge=D(charge),
                       paid=D(paid), adjustments=(adj("CO", "45", co), adj("PR", "2", coins)),
                       line_control_number=lcn)


async def test_an_outpatient_visit_answered_per_line_with_hc_and_nu_lines(
        platform: Settings, remits: Runtime, cli_env: None) -> None:
    """An outpatient visit (type of bill 13), 325.00: lab 0300/80053 200.00, lab 0300 without HCPCS
    50.00, emergency room 0450/99283 75.00. Aetna allows 80% of charges and leaves 20% coinsurance:
    200.00 -> CO-45 40.00, PR-2 32.00, paid 128.00 (REF*6R echoed); NU:0300 50.00 -> 10.00, 8.00,
    32.00 (no REF*6R: matched by revenue code); HC:99283 with SVC04 0450 75.00 -> 15.00, 12.00, 48.00
    (matched by both codes). MOA: rate 0.8, HCPCS payable 208.00, remark MA01."""
    await submit(platform, "O1", "SBO1", "13", [
        facility_line(1, "SBO1", "chg_O1a", "0300", "80053", "200.00"),
        facility_line(2, "SBO1", "chg_O1b", "0300", None, "50.00"),
        facility_line(3, "SBO1", "chg_O1c", "0450", "99283", "75.00")])
    payment = replace(claim(
        "SBO1", "1", "325.00", "208.00",
        svc("HC", "80053", "0300", "200.00", "128.00", "40.00", "32.00", lcn="SBO1-1"),
        svc("NU", "0300", "", "50.00", "32.00", "10.00", "8.00"),
        svc("HC", "99283", "0450", "75.00", "48.00", "15.00", "12.00"), pccn="AET-O1"),
        facility_code="13", frequency_code="1",
        outpatient=OutpatientAdjudication(reimbursement_rate=D("0.8"), hcpcs_payable=D("208.00"),
                                          remark_codes=("MA01",)))
    await remit(platform, "FACO1", 802, payment)

    got = await claim_events(platform, "clm_O1", "ClaimPaymentPosted")
    [posted] = got["ClaimPaymentPosted"]
    assert [(ln["line_control_number"], ln["procedure_code"], ln["revenue_code"], ln["allowed"], ln["paid"])
            for ln in posted["lines"]] == [("SBO1-1", "80053", "0300", "160.00", "128.00"),
                                           ("SBO1-2", None, "0300", "40.00", "32.00"),
                                           ("SBO1-3", "99283", "0450", "60.00", "48.00")]
    assert {k: posted[k] for k in ("total_paid", "patient_responsibility", "reimbursement_rate", "hcpcs_payable",
                                   "remark_codes", "drg_code", "covered_days")} == {
        "total_paid": "208.00", "patient_responsibility": "52.00", "reimbursement_rate": "0.8",
        "hcpcs_payable": "208.00", "remark_codes": ["MA01"], "drg_code": None, "covered_days": None}
    assert sorted(got) == ["ClaimPaymentPosted"]  # no denial, no under/overpayment

    total, items = await balance_items(platform, "O1")
    assert total == D("52.00")
    assert items == [
        item("chg_O1a", "80053", "0300", "200.00", "128.00", "40.00", "0.00", "32.00", "32.00", "clm_O1"),
        item("chg_O1b", None, "0300", "50.00", "32.00", "10.00", "0.00", "8.00", "8.00", "clm_O1"),
        item("chg_O1c", "99283", "0450", "75.00", "48.00", "15.00", "0.00", "12.00", "12.00", "clm_O1")]
    found = (await cards(platform, "enc_O1"))["enc_O1"]
    assert problems(found) == []
    assert found.payers == (PayerLine("60054", 1, D("208.00"), D("65.00"), ZERO, ZERO, D("52.00")),)
    assert [(f.claim_id, f.facility.reimbursement_rate, f.facility.hcpcs_payable, f.facility.remark_codes)
            for f in found.facility] == [("clm_O1", D("0.8"), D("208.00"), ("MA01",))]
