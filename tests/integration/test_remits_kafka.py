"""The remits service through real Kafka and Postgres: a stream of 835s with PLB, denials, a
crossover, duplicates (same file, same trace in a new envelope), a reversal and its correction,
then patient payments, a refund and a write-off; the ledger, balances and reports agree to the cent."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import Address, Contact, Payer, write_835
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support.kafka_io import publish
from tests.support.remits_io import params, sql, submitted, wait_events, wait_sql
from tests.support.testsvc import example
from tests.unit.remits.builders import adj, claim, line, plb, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal
ACCOUNT = "PA-REMITS-1"
MEDICAL = Payer(name="MEDI CAL", address=Address(line1="2 STATE ST", city="SACRAMENTO", state="CA",
                                                  postal_code="95814"), id_qualifier="XV", id="610442",
                contacts=(Contact("BL", "EDI", (("TE", "8005550000"),)),))


def paid(sub: str, status: str = "1", copay: str = "40.00", pccn: str = "PCN1") -> Any:
    pay1 = D("98.00") - D(copay)
    return claim(sub, status, "185.00", str(pay1 + D("16.50")),
                 line("150.00", str(pay1), adj("CO", "45", "52.00"), adj("PR", "3", copay), lcn=f"{sub}-1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{sub}-2"), pccn=pccn)


async def drop(platform: Settings, name: str, text: str) -> None:
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", name, text.encode())


async def test_stream_of_835s_posts_to_the_cent(platform: Settings, remits: Runtime, cli_env: None) -> None:
    for n, np in (("A", False), ("B", True), ("C", False), ("S", False), ("D", False), ("U", False)):
        await publish(platform, submitted(f"SREM{n}", n, ACCOUNT, next_payer=np))
    secondary = submitted("SREMB2", "B2", ACCOUNT, rank=2, claim_id="clm_B2")
    await publish(platform, secondary.model_copy(update={"encounter_id": "enc_B", "claim_family_id": "fam_B"}))
    await wait_sql(platform, "SELECT count(*) FROM submissions", 7, "the ClaimSubmitted projection")

    # 835 #1: A paid (copay 40), B processed and forwarded (crossover), C deductible-only, S sequestered,
    # an unknown claim, a line denial on nothing else, interest and a recoupment naming claim A.
    deductible = claim("SREMC", "1", "185.00", "0.00",
                       line("150.00", "0.00", adj("CO", "45", "52.00"), adj("PR", "1", "98.00"), lcn="SREMC-1"),
                       line("35.00", "0.00", adj("CO", "45", "18.50"), adj("PR", "1", "16.50"), lcn="SREMC-2"))
    sequestered = claim("SREMS", "1", "185.00", "73.01",
                        line("150.00", "56.84", adj("CO", "45", "52.00"), adj("CO", "253", "1.16"),
                             adj("PR", "3", "40.00"), lcn="SREMS-1"),
                        line("35.00", "16.17", adj("CO", "45", "18.50"), adj("CO", "253", "0.33"), lcn="SREMS-2"))
    unknown = claim("SNOPE", "1", "100.00", "60.00", adjustments=(adj("CO", "45", "40.00"),))
    line_denied = claim("SREMD", "1", "185.00", "58.00",
                        line("150.00", "58.00", adj("CO", "45", "52.00"), adj("PR", "3", "40.00"), lcn="SREMD-1"),
                        line("35.00", "0.00", adj("CO", "97", "35.00"), lcn="SREMD-2"))
    underpaid = claim("SREMU", "1", "185.00", "67.50",
                      line("150.00", "51.00", adj("CO", "45", "59.00"), adj("PR", "3", "40.00"), lcn="SREMU-1",
                           allowed="91.00"),
                      line("35.00", "16.50", adj("CO", "45", "18.50"), lcn="SREMU-2"))
    first = remittance("EFT1", paid("SREMA"), paid("SREMB", "19", copay="30.00"), deductible, sequestered, unknown,
                       line_denied, underpaid,
                       plbs=(plb("L6", "-1.12", "INT1"), plb("WO", "25.00", "SREMA")))
    text1 = write_835([first], params(1))
    await drop(platform, "first.835", text1)
    await wait_sql(platform, "SELECT count(*) FROM remittance_files WHERE reason IS DISTINCT FROM 'processing'", 1,
                   "the first file")
    assert [(r["status"], r["reason"]) for r in await sql(platform, "SELECT * FROM remittance_files")] == [
        ("posted", None)]

    # The same file again, and the same payer + trace in a new envelope: reported, not posted.
    await drop(platform, "first-again.835", text1)
    await drop(platform, "first-new-envelope.835", write_835([first], params(2)))
    await wait_sql(platform, "SELECT count(*) FROM duplicate_arrivals", 2, "both duplicates")
    kinds = sorted(r["kind"] for r in await sql(platform, "SELECT kind FROM duplicate_arrivals"))
    assert kinds == ["file", "trace"]

    # An unbalanced file is quarantined whole.
    bad = write_835([remittance("EFT9", paid("SREMA"))], params(9)).replace("BPR*C*74.5*", "BPR*C*99.5*")
    assert bad != write_835([remittance("EFT9", paid("SREMA"))], params(9))
    await drop(platform, "bad.835", bad)
    await wait_sql(platform, "SELECT count(*) FROM remittance_files WHERE status = 'quarantined'", 1, "quarantine")

    # 835 #2: A reversed, then corrected (copay 30); 835 #3: Medi-Cal pays B's secondary claim.
    second = remittance("EFT2", paid("SREMA", "22", pccn="PCN1").__class__(
        **{**paid("SREMA", pccn="PCN1").__dict__, "status": paid("SREMA", "22").status,
           "charge": D("-185.00"), "paid": D("-74.50"), "patient_responsibility": D("-40.00"),
           "service_lines": tuple(line(str(-ln.charge), str(-ln.paid),
                                       *(adj(a.group.value, a.reason, str(-a.amount)) for a in ln.adjustments),
                                       lcn=ln.line_control_number) for ln in paid("SREMA").service_lines)}),
        paid("SREMA", copay="30.00", pccn="PCN2"))
    third = remittance("EFT3", claim("SREMB2", "2", "185.00", "20.00",
                                     line("150.00", "20.00", adj("OA", "23", "118.00"), adj("PR", "2", "12.00"),
                                          lcn="SREMB2-1"),
                                     line("35.00", "0.00", adj("OA", "23", "35.00"), lcn="SREMB2-2")), payer=MEDICAL)
    await drop(platform, "second.835", write_835([second], params(3)))
    await wait_sql(platform, "SELECT count(*) FROM remittances", 2, "the reversal remittance")
    await drop(platform, "third.835", write_835([third], params(4)))
    await wait_sql(platform, "SELECT count(*) FROM remittances", 3, "the secondary remittance")

    # Ledger: every journal balances, payer cash = BPR02 totals, the ledger refuses updates.
    unbalanced = "SELECT journal_id FROM ledger_entries GROUP BY journal_id HAVING sum(amount) <> 0"
    assert await sql(platform, unbalanced) == []
    cash = (await sql(platform, "SELECT sum(amount) FROM ledger_entries WHERE account = 'payer_cash'"))[0][0]
    bpr = (await sql(platform, "SELECT sum(total_payment) FROM remittances"))[0][0]
    assert cash == bpr == first.total_payment + second.total_payment + third.total_payment
    # The service's role has no UPDATE on its ledger at all (the trigger is the second guard).
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await sql(platform, "UPDATE ledger_entries SET amount = 0")
    recoup = await sql(platform, "SELECT claim_id FROM ledger_entries WHERE account = 'plb_recoupment'"
                                 " AND kind = 'plb'")
    assert [r[0] for r in recoup] == ["clm_A"]

    got = await wait_events(platform, "rcm.remittances.v1", lambda n: "ClaimPaymentReversed" in n and
                            n.count("RemittanceReceived") == 3)
    by: dict[str, list[dict[str, Any]]] = {}
    for n, p in got:
        by.setdefault(n, []).append(p)
    assert len(by.get("RemittanceReceived", [])) == 3, sorted(by)
    assert [p["reason"] for p in by["UnmatchedRemittance"]] == ["unknown_submission_id"]
    assert by["UnmatchedRemittance"][0]["position"]["claim_index"] == 5
    assert {p["claim_id"] for p in by["ClaimPaymentPosted"]} == {"clm_A", "clm_B", "clm_C", "clm_S", "clm_B2",
                                                                 "clm_D", "clm_U"}
    # Only D's bundled line is a denial: deductible-only is a patient balance, not a denial.
    assert [(p["claim_id"], p["denial_scope"], [(d["line_control_number"], d["reason_code"], d["category"])
                                                for d in p["denials"]]) for p in by["ClaimDenied"]] == [
        ("clm_D", "line", [("SREMD-2", "97", "bundling")])]
    # Only U is underpaid (allowed 91.00 against 98.00): sequestration is not an underpayment.
    assert [(p["claim_id"], p["total_variance"]) for p in by["UnderpaymentDetected"]] == [("clm_U", "-7.00")]
    assert "OverpaymentDetected" not in by
    assert by["ClaimPaymentReversed"][0]["total_paid"] == "-74.50"
    assert by["ProviderAdjustmentPosted"][0]["total_amount"] == "23.88"

    # Patient balances: one per encounter; B waited for Medi-Cal; A was updated, never duplicated.
    # Medi-Cal was billed B's copay (30.00) and paid 20.00: its PR-2 12.00 is more than it had left to
    # resolve, so the patient owes 10.00 (the charge is never resolved twice).
    balance_events = await wait_events(platform, "rcm.patient-balances.v1",
                                       lambda n: n.count("PatientBalanceCreated") >= 6 and "PatientBalanceUpdated" in n)
    created = {p["encounter_id"]: p for n, p in balance_events if n == "PatientBalanceCreated"}
    assert {k: v["amount_due"] for k, v in created.items()} == {
        "enc_A": "40.00", "enc_C": "114.50", "enc_S": "40.00", "enc_B": "10.00", "enc_D": "40.00", "enc_U": "40.00"}
    rows = {r["encounter_id"]: r for r in await sql(platform, "SELECT * FROM balances")}
    assert rows["enc_A"]["total"] == D("30.00") and rows["enc_A"]["revision"] == 2

    # Patient payments through Kafka: the named encounter first, then the oldest; the excess is a credit.
    pay = example("rcm.intake.PatientPaymentReceived.v1", source_payment_id="pay-1", idempotency_key="portal:pay-1",
                  patient_account_id=ACCOUNT, amount="300.00", encounter_id="enc_S")
    await publish(platform, pay)
    await publish(platform, pay)  # redelivered: posted once
    await wait_sql(platform, "SELECT count(*) FROM payments", 1, "the payment")
    await wait_sql(platform, "SELECT count(*) FROM credits", 1, "the credit balance")
    credit = (await sql(platform, "SELECT * FROM credits"))[0]
    assert credit["amount"] == D("300.00") - D("40.00") - D("30.00") - D("114.50") - D("10.00") - D("40.00") - D(
        "40.00") == D("25.50")
    refund = example("rcm.intake.PatientRefundIssued.v1", source_refund_id="rfd-1", idempotency_key="portal:rfd-1",
                     patient_account_id=ACCOUNT, credit_balance_id=credit["credit_balance_id"], amount="25.50")
    await publish(platform, refund)
    await wait_sql(platform, "SELECT count(*) FROM refunds", 1, "the refund")

    # A new payment-free balance, written off by an operator through the CLI.
    await publish(platform, submitted("SREMW", "W", ACCOUNT))
    await wait_sql(platform, "SELECT count(*) FROM submissions", 8, "W's submission")
    await drop(platform, "fourth.835", write_835([remittance("EFT4", paid("SREMW", copay="4.20"))], params(5)))
    await wait_sql(platform, "SELECT count(*) FROM balances", 7, "W's balance")
    wid = (await sql(platform, "SELECT balance_id FROM balances WHERE encounter_id = 'enc_W'"))[0][0]
    result = await asyncio.to_thread(CliRunner().invoke, rcm, ["balances", "writeoff", wid, "4.20", "--reason",
                                                               "small_balance", "--operator", "op-7"])
    assert result.exit_code == 0, result.output
    too_much = await asyncio.to_thread(CliRunner().invoke, rcm, ["balances", "writeoff", wid, "1.00", "--reason",
                                                                 "charity", "--operator", "op-7"])
    assert too_much.exit_code == 1

    # Patient balances = PR after the last payer, less patient payments and write-offs.
    due = (await sql(platform, "SELECT sum(total - patient_paid - written_off) FROM balances"))[0][0]
    assert due == 0
    pr = (await sql(platform, "SELECT sum(total) FROM balances"))[0][0]
    assert pr == D("30.00") + D("114.50") + D("40.00") + D("10.00") + D("40.00") + D("40.00") + D("4.20")
    applied = (await sql(platform, "SELECT -sum(amount) FROM ledger_entries WHERE account ="
                                   " 'patient_payments_applied'"))[0][0]
    written = (await sql(platform, "SELECT -sum(amount) FROM ledger_entries WHERE account ="
                                   " 'patient_writeoffs_applied'"))[0][0]
    assert pr - applied - written == due

    # The CLI: quarantine lists the bad file; release keeps it there; reports agree with the ledger.
    listing = await asyncio.to_thread(CliRunner().invoke, rcm, ["remits", "quarantine", "--json"])
    assert listing.exit_code == 0 and "balancing" in json.loads(listing.output)[0]["reason"]
    fid = json.loads(listing.output)[0]["file_id"]
    released = await asyncio.to_thread(CliRunner().invoke, rcm, ["remits", "release", fid])
    assert released.exit_code == 1
    dup = await asyncio.to_thread(CliRunner().invoke, rcm, ["remits", "import", "--json", _tmp(platform, text1)])
    assert dup.exit_code == 1 and json.loads(dup.output)["status"] == "duplicate"
    aging = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "aging", "--json", "--as-of", "2026-04-20"])
    assert aging.exit_code == 0, aging.output
    # As of April 20 W's 4.20 was still due: the operator wrote it off later (the CLI runs on the wall clock).
    assert json.loads(aging.output)["patients"] == {"0-30": "4.20", "31-60": "0.00", "61-90": "0.00",
                                                    "91-120": "0.00", "120+": "0.00"}
    today = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "aging", "--json"])
    assert all(v == "0.00" for v in json.loads(today.output)["patients"].values())
    # Insurance A/R is what the books keep open with the payer billed (Aetna): D's denied line 35.00
    # and the 25.00 the PLB recoupment took back of A's payment (A's books reopened for it).
    assert json.loads(aging.output)["payers"] == {"Aetna": {"0-30": "60.00", "31-60": "0.00", "61-90": "0.00",
                                                            "91-120": "0.00", "120+": "0.00"}}
    kpis = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "kpis", "--json", "--from", "2026-03-01",
                                                             "--to", "2026-04-20"])
    assert kpis.exit_code == 0, kpis.output
    data = json.loads(kpis.output)
    assert data["period"] == {"from": "2026-03-01", "to": "2026-04-20", "days": 51}
    measured = {k["key"]: (k["numerator"], k["denominator"], k["value"]) for k in data["kpis"]}
    # 7 primary families (B2 is a secondary claim), none sent twice; 8 claims adjudicated (A's
    # reversal and correction are not first adjudications), D's line denial the only denial.
    assert measured["clean_claim_rate"] == ("7", "7", "1.0000")
    assert measured["initial_denial_rate"] == ("1", "8", "0.1250")
    assert measured["first_pass_payment_rate"] == ("7", "8", "0.8750")
    # A/R at April 20: D's open denial 35.00 + A's recouped 25.00 + W's 4.20; charges 7 x 185.00 over
    # 90 days = 14.39 a day.
    assert measured["days_in_ar"] == ("64.20", "14.39", "4.5")
    # Payer claim cash 497.81 - the 25.00 recouped from claim A + patient cash 300.00 - 25.50 refund;
    # charges 1,295.00 - contractual 483.49.
    assert measured["net_collection_rate"] == ("747.31", "811.51", "0.9209")
    assert [(d["category"], d["claims"], d["lines"], d["amount"], d["rate_value"])
            for d in data["denials_by_category"]] == [("bundling", 1, 1, "35.00", "0.1250")]
    assert all(k["definition"] and k["source"] for k in data["kpis"])
    table = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "kpis", "--to", "2026-04-20"])
    assert table.exit_code == 0 and "Net collection rate" in table.output and "HFMA" in table.output
    empty = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "kpis", "--json", "--from", "2025-01-01",
                                                              "--to", "2025-01-31"])
    assert {k["key"]: k["reason"] is not None and k["value"] is None for k in json.loads(empty.output)["kpis"]} == {
        "clean_claim_rate": True, "initial_denial_rate": True, "days_in_ar": True, "net_collection_rate": True,
        "first_pass_payment_rate": True}
    backwards = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "kpis", "--from", "2026-04-20",
                                                                  "--to", "2026-04-01"])
    assert backwards.exit_code == 2


def _tmp(platform: Settings, text: str) -> str:
    path = platform.clearinghouse / "copy.835"
    path.write_text(text)
    return str(path)
