"""Books that hold across payers, on the real stack (the remits service, Kafka, Postgres): each
multi-payer case as a billing specialist would book it, worked out by hand to the cent.

Each case is one encounter: its ClaimSubmitted events go through Kafka as the claims service sends
them, the payers' 835s arrive in the clearinghouse folder, and the account card (`rcm report
account`) and the ledger are read back. Every card must close: charge = what the payers paid,
adjusted and left denied + the patient's responsibility + what the payers still owe.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import Address, ClaimPayment, Contact, EntityName, Payer, ProviderAdjustment, write_835
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.remits.domain.cards import Card, PayerLine, figures, held_figures, problems
from tests.support.kafka_io import publish
from tests.support.remits_io import (
    book_ledger,
    cards,
    events,
    params,
    sql,
    wait_events,
    wait_sql,
)
from tests.support.testsvc import example
from tests.unit.remits.builders import adj, claim, line, plb, remittance

pytestmark = pytest.mark.integration
D = Decimal
ZERO = D("0.00")
ACCOUNT = "PA-BOOKS-1"
MEDICARE, MEDI_CAL, AETNA, BLUE_SHIELD, TRICARE = "01182", "610442", "60054", "94036", "99726"
NAMES = {MEDICARE: "Medicare Part B", MEDI_CAL: "Medi-Cal", AETNA: "Aetna", BLUE_SHIELD: "Blue Shield",
         TRICARE: "TRICARE For Life"}
FILES = itertools.count(1)


def payer(payer_id: str) -> Payer:
    """How a payer signs its 835 (N1*PR with its id): remits books by the payer that answered."""
    return Payer(name=NAMES[payer_id].upper(), address=Address(line1="1 PAYER WAY", city="SACRAMENTO", state="CA",
                                                               postal_code="95814"),
                 id_qualifier="XV", id=payer_id, contacts=(Contact("BL", "EDI", (("TE", "8005550000"),)),))


def submitted(key: str, sub: str, payer_id: str, charge: str, *, rank: int = 1, next_payer: str | None = None,
              claim_id: str | None = None, protection: dict[str, Any] | None = None,
              frequency: str = "1", pccn: str | None = None) -> Any:
    """The ClaimSubmitted of claim `sub` (one 99214 line of `charge`) for encounter enc_`key`, family fam_`key`."""
    lines = [{"line_number": 1, "line_control_number": f"{sub}-1", "charge_id": f"chg_{key}", "procedure_code": "99214",
              "modifiers": [], "description": "Office visit", "revenue_code": None, "service_date": "2026-03-02",
              "service_end_date": None, "units": "1", "charge": charge, "diagnosis_pointers": [1],
              "expected_allowed": None}]
    nxt = None if next_payer is None else {"payer_id": next_payer, "payer_name": NAMES[next_payer],
                                           "coverage_rank": rank + 1}
    return example("rcm.claims.ClaimSubmitted.v1", claim_id=claim_id or f"clm_{key}", claim_family_id=f"fam_{key}",
                   encounter_id=f"enc_{key}", submission_id=sub, patient_account_id=ACCOUNT, coverage_rank=rank,
                   payer={"payer_id": payer_id, "payer_name": NAMES[payer_id]}, total_charge=charge, lines=lines,
                   next_payer=nxt, patient_protection=protection, frequency=frequency,
                   payer_claim_control_number=pccn)


def forwarded(c: ClaimPayment, to: str) -> ClaimPayment:
    """A CLP02 19 that names the payer it crossed the claim over to (NM1*TT)."""
    return replace(c, crossover_carrier=EntityName(entity="TT", entity_type="2", last_name=NAMES[to].upper(),
                                                   id_qualifier="PI", id=to))


async def send(platform: Settings, *events_: Any) -> None:
    for e in events_:
        await publish(platform, e)
    subs = [e.submission_id for e in events_]
    await wait_sql(platform, f"SELECT count(*) FROM submissions WHERE submission_id IN ({','.join(map(repr, subs))})",
                   len(subs), "the ClaimSubmitted projection")


async def remit(platform: Settings, payer_id: str, *claims: ClaimPayment,
                plbs: tuple[ProviderAdjustment, ...] = ()) -> None:
    """One 835 from the payer through the clearinghouse folder, posted (not quarantined)."""
    n = next(FILES)
    trace = f"BOOKS{n}"
    text = write_835([remittance(trace, *claims, plbs=plbs, payer=payer(payer_id))], params(500 + n))
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", f"books-{n}.835", text.encode())
    await wait_sql(platform, f"SELECT count(*) FROM remittances WHERE trace_number = '{trace}'", 1, f"835 {trace}")


async def card(platform: Settings, key: str) -> Card:
    """The encounter's account card; it must close, and the ledger must hold exactly it."""
    found = (await cards(platform, f"enc_{key}"))[f"enc_{key}"]
    assert problems(found) == [], problems(found)
    assert figures(found) == held_figures((await book_ledger(platform)).get(f"enc_{key}", {}))
    return found


def line_(charge: str, paid: str, *adjustments: Any, sub: str) -> Any:
    return line(charge, paid, *adjustments, lcn=f"{sub}-1", code="99214")


# --------------------------------------------------------------------------- Medicare crossing over to Medi-Cal


MEDICARE_19 = forwarded(claim("SBX1", "19", "192.00", "0.00", line_("192.00", "0.00", adj("CO", "45", "92.16"),
                                                                    adj("PR", "1", "99.84"), sub="SBX1"),
                              pccn="MCR-X1"), MEDI_CAL)
MEDI_CAL_2 = claim("SBX1", "2", "192.00", "78.72", line_("192.00", "78.72", adj("CO", "45", "113.28"), sub="SBX1"),
                   pccn="MCD-X1")


async def test_medicare_to_medi_cal_crossover_books_the_charge_once(platform: Settings, remits: Runtime,
                                                                      cli_env: None) -> None:
    """Issue 13's example: a 192.00 claim crossed over from Medicare to Medi-Cal. Medicare pays
    nothing (CO-45 92.16, PR-1 99.84) and forwards it; Medi-Cal, billed the 99.84, pays 78.72 with its
    CO-45 against the full charge (113.28). Booked: contractual 92.16 + 21.12 = 113.28, patient 0."""
    await send(platform, submitted("X1", "SBX1", MEDICARE, "192.00", next_payer=MEDI_CAL,
                                   protection={"reason": "medicaid", "share_of_cost": None}))
    waiting = await card(platform, "X1")
    assert (waiting.state, waiting.charge, waiting.insurance_balance) == ("waiting_for_payer", D("192.00"),
                                                                         D("192.00"))
    await remit(platform, MEDICARE, MEDICARE_19)
    forwarded_ = await card(platform, "X1")
    # The deductible Medicare left is Medi-Cal's receivable now, not the patient's.
    assert (forwarded_.state, forwarded_.insurance_balance, forwarded_.patient_responsibility) == (
        "waiting_for_payer", D("99.84"), ZERO)
    await remit(platform, MEDI_CAL, MEDI_CAL_2)
    done = await card(platform, "X1")
    assert done.payers == (PayerLine(MEDICARE, 1, ZERO, D("92.16"), ZERO, ZERO, D("99.84")),
                           PayerLine(MEDI_CAL, 2, D("78.72"), D("21.12"), ZERO, ZERO, ZERO))
    assert (done.state, done.patient_responsibility, done.insurance_balance) == ("closed", ZERO, ZERO)
    assert await sql(platform, "SELECT * FROM balances WHERE encounter_id = 'enc_X1'") == []
    contractual = await sql(platform, "SELECT sum(amount) FROM ledger_entries WHERE encounter_id = 'enc_X1'"
                                      " AND account = 'contractual_writeoff'")
    assert contractual[0][0] == D("113.28")
    shown = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "account", "enc_X1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) == {
        "encounter_id": "enc_X1", "patient_account_id": ACCOUNT, "state": "closed", "charge": "192.00",
        "claims": [{"claim_id": "clm_X1", "payer_id": MEDICARE, "rank": 1, "patient_control_number": "SBX1"}],
        "payers": [{"payer_id": MEDICARE, "rank": 1, "paid": "0.00", "contractual": "92.16",
                    "other_adjustments": "0.00", "denied_open": "0.00", "patient_responsibility": "99.84"},
                   {"payer_id": MEDI_CAL, "rank": 2, "paid": "78.72", "contractual": "21.12",
                    "other_adjustments": "0.00", "denied_open": "0.00", "patient_responsibility": "0.00"}],
        "patient_responsibility": "0.00", "patient_paid": "0.00", "patient_writeoffs": "0.00",
        "insurance_balance": "0.00", "patient_balance": "0.00", "cost_share_protection": [],
        "facility": [], "estimate": None}


async def test_a_primary_reversal_after_the_secondary_paid_gives_the_books_of_the_correction(
        platform: Settings, remits: Runtime) -> None:
    """Medicare reverses the crossover (CLP02 22) after Medi-Cal paid, then reprocesses it with a
    PR-1 of 80.00 (CO-45 112.00). While reversed, Medicare owes an answer again for what Medi-Cal did
    not pay; corrected, the books are those of the correction alone: Medi-Cal was billed 80.00, paid
    78.72, and its own adjustment is 1.28."""
    await send(platform, submitted("R1", "SBR1", MEDICARE, "192.00", next_payer=MEDI_CAL))
    first = forwarded(replace(MEDICARE_19, patient_control_number="SBR1", payer_claim_control_number="MCR-R1",
                              service_lines=(line_("192.00", "0.00", adj("CO", "45", "92.16"), adj("PR", "1", "99.84"),
                                                   sub="SBR1"),)), MEDI_CAL)
    medi_cal = claim("SBR1", "2", "192.00", "78.72", line_("192.00", "78.72", adj("OA", "23", "92.16"),
                                                           adj("CO", "45", "21.12"), sub="SBR1"), pccn="MCD-R1")
    await remit(platform, MEDICARE, first)
    await remit(platform, MEDI_CAL, medi_cal)
    reversal = claim("SBR1", "22", "-192.00", "0.00", line_("-192.00", "0.00", adj("CO", "45", "-92.16"),
                                                            adj("PR", "1", "-99.84"), sub="SBR1"), pccn="MCR-R1")
    await remit(platform, MEDICARE, reversal)
    reopened = await card(platform, "R1")
    assert (reopened.state, reopened.insurance_balance) == ("waiting_for_payer", D("192.00") - D("78.72"))
    corrected = forwarded(claim("SBR1", "19", "192.00", "0.00", line_("192.00", "0.00", adj("CO", "45", "112.00"),
                                                                      adj("PR", "1", "80.00"), sub="SBR1"),
                                pccn="MCR-R1"), MEDI_CAL)
    await remit(platform, MEDICARE, corrected)
    done = await card(platform, "R1")
    assert done.payers == (PayerLine(MEDICARE, 1, ZERO, D("112.00"), ZERO, ZERO, D("80.00")),
                           PayerLine(MEDI_CAL, 2, D("78.72"), D("1.28"), ZERO, ZERO, ZERO))
    assert (done.state, done.insurance_balance, done.patient_responsibility) == ("closed", ZERO, ZERO)


# --------------------------------------------------------------------------- a secondary claim, a tertiary


async def test_commercial_primary_then_the_secondary_claim_we_send(platform: Settings, remits: Runtime) -> None:
    """Aetna pays 120.00 of 200.00 (CO-45 40.00, deductible 30.00, copay 10.00); we bill Blue Shield
    the 40.00 with our own claim: it pays 25.00, adjusts 7.00 and leaves coinsurance 8.00, which
    replaces Aetna's 40.00 as what the patient owes."""
    await send(platform, submitted("C1", "SBC1", AETNA, "200.00", next_payer=BLUE_SHIELD))
    aetna = claim("SBC1", "1", "200.00", "120.00", line_("200.00", "120.00", adj("CO", "45", "40.00"),
                                                         adj("PR", "1", "30.00"), adj("PR", "3", "10.00"),
                                                         sub="SBC1"), pccn="AET-C1")
    await remit(platform, AETNA, aetna)
    assert (await card(platform, "C1")).insurance_balance == D("40.00")
    await send(platform, submitted("C1", "SBC1B", BLUE_SHIELD, "200.00", rank=2, claim_id="clm_C1B"))
    blue = claim("SBC1B", "2", "200.00", "25.00", line_("200.00", "25.00", adj("OA", "23", "160.00"),
                                                        adj("CO", "45", "7.00"), adj("PR", "2", "8.00"),
                                                        sub="SBC1B"), pccn="BSC-C1")
    await remit(platform, BLUE_SHIELD, blue)
    done = await card(platform, "C1")
    assert done.payers == (PayerLine(AETNA, 1, D("120.00"), D("40.00"), ZERO, ZERO, D("40.00")),
                           PayerLine(BLUE_SHIELD, 2, D("25.00"), D("7.00"), ZERO, ZERO, D("8.00")))
    assert (done.state, done.patient_responsibility, done.patient_balance) == ("patient_due", D("8.00"), D("8.00"))
    assert [c.patient_control_number for c in done.claims] == ["SBC1", "SBC1B"]
    balance = await sql(platform, "SELECT total, items FROM balances WHERE encounter_id = 'enc_C1'")
    assert balance[0]["total"] == D("8.00")
    assert json.loads(balance[0]["items"])[0]["patient_share"]["coinsurance"] == "8.00"


async def test_a_tertiary_resolves_what_the_secondary_left(platform: Settings, remits: Runtime) -> None:
    """300.00: Aetna pays 200.00 (CO-45 50.00, deductible 50.00); Blue Shield, billed 50.00, pays 30.00
    and leaves 20.00 coinsurance; TRICARE For Life, billed those 20.00, pays 15.00 and adjusts 5.00."""
    await send(platform, submitted("T1", "SBT1", AETNA, "300.00", next_payer=BLUE_SHIELD))
    await remit(platform, AETNA, claim("SBT1", "1", "300.00", "200.00", line_(
        "300.00", "200.00", adj("CO", "45", "50.00"), adj("PR", "1", "50.00"), sub="SBT1"), pccn="AET-T1"))
    await send(platform, submitted("T1", "SBT1B", BLUE_SHIELD, "300.00", rank=2, next_payer=TRICARE,
                                   claim_id="clm_T1B"))
    await remit(platform, BLUE_SHIELD, claim("SBT1B", "2", "300.00", "30.00", line_(
        "300.00", "30.00", adj("OA", "23", "250.00"), adj("PR", "2", "20.00"), sub="SBT1B"), pccn="BSC-T1"))
    assert (await card(platform, "T1")).insurance_balance == D("20.00")
    await send(platform, submitted("T1", "SBT1C", TRICARE, "300.00", rank=3, claim_id="clm_T1C"))
    await remit(platform, TRICARE, claim("SBT1C", "3", "300.00", "15.00", line_(
        "300.00", "15.00", adj("OA", "23", "280.00"), adj("CO", "45", "5.00"), sub="SBT1C"), pccn="TFL-T1"))
    done = await card(platform, "T1")
    assert done.payers == (PayerLine(AETNA, 1, D("200.00"), D("50.00"), ZERO, ZERO, D("50.00")),
                           PayerLine(BLUE_SHIELD, 2, D("30.00"), ZERO, ZERO, ZERO, D("20.00")),
                           PayerLine(TRICARE, 3, D("15.00"), D("5.00"), ZERO, ZERO, ZERO))
    assert (done.state, done.patient_responsibility) == ("closed", ZERO)


# --------------------------------------------------------------------------- denials, write-offs, protection


async def test_a_secondary_denial_stays_open_with_the_secondary_until_written_off(
        platform: Settings, remits: Runtime, cli_env: None) -> None:
    """Medicare pays 78.40 of 150.00 and forwards the 20.00 coinsurance; Medi-Cal denies it (CLP02 4,
    CO-197 no authorization, OA-23 on what Medicare covered). CO is the provider's: an open denial with
    Medi-Cal, nothing for the patient. An operator writes it off; the claims service hears of it."""
    await send(platform, submitted("D1", "SBD1", MEDICARE, "150.00", next_payer=MEDI_CAL,
                                   protection={"reason": "medicaid", "share_of_cost": None}))
    await remit(platform, MEDICARE, forwarded(claim("SBD1", "19", "150.00", "78.40", line_(
        "150.00", "78.40", adj("CO", "45", "50.00"), adj("CO", "253", "1.60"), adj("PR", "2", "20.00"), sub="SBD1"),
        pccn="MCR-D1"), MEDI_CAL))
    await remit(platform, MEDI_CAL, claim("SBD1", "4", "150.00", "0.00", line_(
        "150.00", "0.00", adj("CO", "197", "20.00"), adj("OA", "23", "130.00"), sub="SBD1"), pccn="MCD-D1"))
    denied = await card(platform, "D1")
    assert denied.payers == (PayerLine(MEDICARE, 1, D("78.40"), D("51.60"), ZERO, ZERO, D("20.00")),
                             PayerLine(MEDI_CAL, 2, ZERO, ZERO, ZERO, D("20.00"), ZERO))
    assert (denied.state, denied.patient_responsibility) == ("open", ZERO)
    runner = CliRunner()
    refused = await asyncio.to_thread(runner.invoke, rcm, ["remits", "writeoff", "clm_D1", "--reason",
                                                          "no_authorization", "--operator", "op-7", "--amount",
                                                          "25.00"])
    assert refused.exit_code == 1 and "only 20.00 is open" in refused.output
    done = await asyncio.to_thread(runner.invoke, rcm, ["remits", "writeoff", "clm_D1", "--reason",
                                                       "no_authorization", "--operator", "op-7", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) | {"writeoff_id": None} == {
        "writeoff_id": None, "claim_id": "clm_D1", "payer_id": MEDI_CAL, "rank": 2, "amount": "20.00",
        "remaining_open": "0.00"}
    closed = await card(platform, "D1")
    assert closed.payers[1] == PayerLine(MEDI_CAL, 2, ZERO, ZERO, D("20.00"), ZERO, ZERO)
    assert closed.state == "closed"
    got = await wait_events(platform, "rcm.remittances.v1", lambda n: "InsuranceBalanceWrittenOff" in n)
    written = [p for n, p in got if n == "InsuranceBalanceWrittenOff"]
    assert [(p["claim_id"], p["payer"]["payer_id"], p["coverage_rank"], p["amount"], p["reason"],
             p["remaining_open"]) for p in written] == [("clm_D1", MEDI_CAL, 2, "20.00", "no_authorization", "0.00")]
    again = await asyncio.to_thread(runner.invoke, rcm, ["remits", "writeoff", "clm_D1", "--reason", "other",
                                                        "--operator", "op-7"])
    assert again.exit_code == 1 and "nothing is open" in again.output
    audit = await sql(platform, "SELECT action, subject FROM audit_log WHERE action = 'remits.writeoff'")
    assert [(r["action"], r["subject"]) for r in audit] == [("remits.writeoff", "clm_D1")]


async def test_a_qmb_patient_is_never_billed_the_medicare_cost_share(platform: Settings, remits: Runtime) -> None:
    """Medicare pays 80.00 of 250.00 (CO-45 100.00, deductible 50.00, coinsurance 20.00) for a
    Qualified Medicare Beneficiary: the 70.00 cost share is written off (contractual, reason qmb),
    no balance, no statement."""
    await send(platform, submitted("Q1", "SBQ1", MEDICARE, "250.00", protection={"reason": "qmb",
                                                                                 "share_of_cost": None}))
    await remit(platform, MEDICARE, claim("SBQ1", "1", "250.00", "80.00", line_(
        "250.00", "80.00", adj("CO", "45", "100.00"), adj("PR", "1", "50.00"), adj("PR", "2", "20.00"), sub="SBQ1"),
        pccn="MCR-Q1"))
    done = await card(platform, "Q1")
    assert done.payers == (PayerLine(MEDICARE, 1, D("80.00"), D("170.00"), ZERO, ZERO, D("70.00")),)
    assert (done.state, done.patient_responsibility, done.protection) == ("closed", ZERO, (("qmb", D("70.00")),))
    protected = await sql(platform, "SELECT code, sum(amount) FROM ledger_entries WHERE encounter_id = 'enc_Q1'"
                                    " AND account = 'cost_share_protection' GROUP BY code")
    assert [(r[0], r[1]) for r in protected] == [("qmb", D("70.00"))]
    assert await sql(platform, "SELECT * FROM balances WHERE encounter_id = 'enc_Q1'") == []
    created = [p for n, p in await events(platform, "rcm.patient-balances.v1")
               if n == "PatientBalanceCreated" and p["encounter_id"] == "enc_Q1"]
    assert created == []


async def test_a_medi_cal_share_of_cost_is_the_only_cost_share_billed(platform: Settings, remits: Runtime) -> None:
    """Medi-Cal pays 40.00 of 150.00 for a patient with a 30.00 monthly share of cost: it assigns
    PR-178 45.00 (share of cost) and PR-2 15.00. The patient owes the share of cost, up to the
    coverage's 30.00; the rest of the cost share (30.00) is written off (reason medicaid)."""
    await send(platform, submitted("S1", "SBS1", MEDI_CAL, "150.00", protection={"reason": "medicaid",
                                                                                 "share_of_cost": "30.00"}))
    await remit(platform, MEDI_CAL, claim("SBS1", "1", "150.00", "40.00", line_(
        "150.00", "40.00", adj("CO", "45", "50.00"), adj("PR", "178", "45.00"), adj("PR", "2", "15.00"), sub="SBS1"),
        pccn="MCD-S1"))
    done = await card(platform, "S1")
    assert done.payers == (PayerLine(MEDI_CAL, 1, D("40.00"), D("80.00"), ZERO, ZERO, D("60.00")),)
    assert (done.patient_responsibility, done.protection, done.state) == (D("30.00"), (("medicaid", D("30.00")),),
                                                                          "patient_due")
    balance = await sql(platform, "SELECT total, items FROM balances WHERE encounter_id = 'enc_S1'")
    assert balance[0]["total"] == D("30.00") and json.loads(balance[0]["items"])[0]["patient_share"]["other"] == "30.00"


async def test_a_recoupment_naming_a_claim_reopens_its_books(platform: Settings, remits: Runtime,
                                                             cli_env: None) -> None:
    """Aetna paid 80.00 of 100.00 (CO-45 20.00); a later 835 takes 25.00 back (PLB WO naming the
    claim's CLP07): Aetna's payment on it is 55.00 and 25.00 is open again, a work item, until an
    operator accepts the recoupment (write-off) or the payer pays it again."""
    await send(platform, submitted("P1", "SBP1", AETNA, "100.00"))
    await remit(platform, AETNA, claim("SBP1", "1", "100.00", "80.00", line_(
        "100.00", "80.00", adj("CO", "45", "20.00"), sub="SBP1"), pccn="AET-P1"))
    assert (await card(platform, "P1")).state == "closed"
    await send(platform, submitted("P2", "SBP2", AETNA, "100.00"))
    await remit(platform, AETNA, claim("SBP2", "1", "100.00", "80.00", line_(
        "100.00", "80.00", adj("CO", "45", "20.00"), sub="SBP2"), pccn="AET-P2"), plbs=(plb("WO", "25.00", "AET-P1"),))
    reopened = await card(platform, "P1")
    assert reopened.payers == (PayerLine(AETNA, 1, D("55.00"), D("20.00"), ZERO, ZERO, ZERO),)
    assert (reopened.state, reopened.insurance_balance) == ("open", D("25.00"))
    got = await wait_events(platform, "rcm.remittances.v1", lambda n: "ProviderAdjustmentPosted" in n)
    recouped = [a for n, p in got if n == "ProviderAdjustmentPosted" for a in p["adjustments"]]
    assert [(a["reason_code"], a["amount"], a["claim_id"], a["encounter_id"]) for a in recouped] == [
        ("WO", "25.00", "clm_P1", "enc_P1")]
    accepted = await asyncio.to_thread(CliRunner().invoke, rcm, ["remits", "writeoff", "clm_P1", "--reason",
                                                                "recoupment_accepted", "--operator", "op-7"])
    assert accepted.exit_code == 0, accepted.output
    done = await card(platform, "P1")
    assert (done.state, done.payers[0].other_adjustments, done.insurance_balance) == ("closed", D("25.00"), ZERO)
