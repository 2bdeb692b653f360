"""The claims service through real Kafka and Postgres: charges in, 837P out, acknowledgments,
adjudication, resubmission, corrections, voids and secondary claims."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from cli.main import app as rcm
from edi import ta1, x277ca, x999
from edi.envelope import EnvelopeParams, read_interchange
from edi.validate import pyx12_validate
from edi.x837 import read_837p
from sandbox.acknowledgments import ClaimDecision, TransactionFinding, acknowledge_interchange, build_277ca
from schemas import examples as ex
from services.chassis.app import mount_service
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from services.claims import background
from services.claims.app import DEFINITION
from services.claims.domain.codesets import quarter_of
from tests.support import intake
from tests.support.kafka_io import count, eventually, publish, read_topic
from tests.support.runtimes import running
from tests.support.testsvc import example
from tests.support.tokens import authorized

pytestmark = pytest.mark.integration
# The CLI runs on the system clock: keep the story in the recent past so timely filing holds.
TODAY = datetime.now(UTC).replace(microsecond=0)
DOS = (TODAY - timedelta(days=5)).date().isoformat()
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def claims_running(platform: Settings, **timing: float) -> AsyncIterator[Runtime]:
    """The claims service at TODAY, its batcher and acknowledgment poller every 0.1 s (seconds in a
    real run): a test waits for its own claim, not for the next pass."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(background, "TIMING", replace(background.TIMING, submit_s=0.1, acks_s=0.1, **timing))
        async with running(DEFINITION, platform, clock=FixedClock(TODAY)) as runtime:
            yield runtime


async def post_encounter(
    platform: Settings,
    *,
    coverages: int = 2,
    revision: int = 1,
    account: str | None = None,
    encounter_id: str | None = None,
    second_line: dict[str, Any] | None = None,
    encounter: dict[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """ChargePosted x2 + EncounterReadyToBill (the example, with ``encounter``'s fields), with
    fresh ids (a fresh patient account)."""
    enc = encounter_id or f"enc_{uuid.uuid4().hex[:12]}"
    account = account or f"PA-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:8]
    first = example(
        "rcm.charges.ChargePosted.v1",
        encounter_id=enc,
        charge_id=f"chg_{tag}1",
        patient_account_id=account,
        idempotency_key=f"t:{tag}1",
        service_date=DOS,
    )
    base = json.loads(first.model_dump_json())
    second = example(
        "rcm.charges.ChargePosted.v1",
        **{
            **base,
            "charge_id": f"chg_{tag}2",
            "idempotency_key": f"t:{tag}2",
            "procedure_code": "87880",
            "modifiers": ["QW"],
            "unit_price": "35.00",
            "amount": "35.00",
            "diagnosis_pointers": [1],
            "diagnosis_codes": ["J020"],
            "revenue_code": "0300",
            "description": "Rapid strep A antigen test",
            **(second_line or {}),
        },
    )
    await publish(platform, first)
    await publish(platform, second)
    ready = example(
        "rcm.charges.EncounterReadyToBill.v1",
        encounter_id=enc,
        patient_account_id=account,
        revision=revision,
        charge_ids=[f"chg_{tag}1", f"chg_{tag}2"],
        **(encounter or {}),
    )
    if coverages < 2:
        data = json.loads(ready.model_dump_json())
        data["coverages"] = data["coverages"][:coverages]
        ready = example("rcm.charges.EncounterReadyToBill.v1", **data)
    await publish(platform, ready)
    return enc, [f"chg_{tag}1", f"chg_{tag}2"]


async def claim_events(platform: Settings, encounter_id: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for _, value, headers in await read_topic(platform, "rcm.claims.v1"):
        payload = json.loads(value)
        if payload.get("encounter_id") == encounter_id:
            out.append((dict(headers)["ce_type"].decode().split(".")[2], payload))
    return out


async def wait_for(platform: Settings, encounter_id: str, name: str, n: int = 1) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def check() -> bool:
        nonlocal found
        found = [p for t, p in await claim_events(platform, encounter_id) if t == name]
        return len(found) >= n

    await eventually(check, timeout_s=60, what=f"{n} x {name}")
    return found


async def outbound_text(platform: Settings, submitted: dict[str, Any]) -> str:
    """The 837P file of a submission. The file goes out after the batch commits, so the relay may
    publish ClaimSubmitted a moment before the file is there."""
    name = submitted["interchange"]["file_name"]
    assert name == f"{submitted['interchange']['interchange_control_number']}.837"
    path = platform.clearinghouse / "outbound" / name

    async def written() -> bool:
        return path.is_file()

    await eventually(written, timeout_s=30, what=f"outbound/{name}")
    return path.read_text()


def ack_params(number: int) -> EnvelopeParams:
    return EnvelopeParams(
        sender_id="RCMCLEARINGHSE",
        receiver_id="REVCYCLE",
        interchange_control_number=number,
        group_control_number=number,
        created=TODAY,
    )


def write_ack(platform: Settings, name: str, text: str) -> None:
    folder = platform.clearinghouse / "inbound" / "acks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def write_999(platform: Settings, text_837: str, reject: bool = False, ta1_before: str = "") -> None:
    interchange = read_interchange(text_837)
    findings = {}
    if reject:
        ts = interchange.groups[0].transactions[0]
        findings[ts.control_number] = TransactionFinding(
            segment_errors=(
                x999.SegmentError(
                    segment_id="NM1",
                    position=12,
                    loop_id="2010AA",
                    code="8",
                    element_errors=(x999.ElementError(position=9, reference_number="67", code="7"),),
                ),
            )
        )
    acks = acknowledge_interchange(interchange, findings)
    number = int(interchange.control_number) if hasattr(interchange, "control_number") else 1
    text = x999.write_999(acks, ack_params(number))
    if ta1_before:  # a clearinghouse may answer the interchange (TA1) and its groups (999) in one file
        text = text.replace("~GS*", f"~{ta1_before}~GS*", 1)
    write_ack(platform, f"999-{uuid.uuid4().hex[:8]}.x12", text)


def write_277ca(
    platform: Settings,
    submitted: dict[str, Any],
    *,
    accept: bool,
    pccn: str = "",
    status: x277ca.StatusCode | None = None,
    submission_id: str | None = None,
) -> None:
    decision = ClaimDecision(
        patient_control_number=submission_id or submitted["submission_id"],
        charge=_dec(submitted["total_charge"]),
        service_from=date.fromisoformat(submitted["lines"][0]["service_date"]),
        patient_last_name="Rivera",
        patient_first_name="Ana",
        member_id="W123456789",
        provider_name="Mission Family Medical Group",
        provider_npi=submitted["billing_provider_npi"],
        accepted=accept,
        status=status,
        payer_claim_control_number=pccn,
    )
    tx = build_277ca(
        [decision],
        source_name="Aetna",
        source_id="60054",
        receiver_name="Revcycle Billing",
        receiver_id="REVCYCLE",
        batch_trace="B1",
        reference=f"R{uuid.uuid4().hex[:8]}",
        created=TODAY,
    )
    write_ack(platform, f"277-{uuid.uuid4().hex[:8]}.x12", x277ca.write_277ca([tx], ack_params(7)))


async def cli(args: list[str]) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, rcm, args)


def _dec(value: str) -> Any:
    from decimal import Decimal

    return Decimal(value)


def payment(
    submitted: dict[str, Any], *, status: str = "1", pccn: str = "2026061000123", crossover: str | None = None
) -> Any:
    base = json.loads(example("rcm.remittances.ClaimPaymentPosted.v1").model_dump_json())
    lines = [
        dict(line, line_control_number=f"{submitted['submission_id']}-{i}")
        for i, line in enumerate(base["lines"], start=1)
    ]
    return example(
        "rcm.remittances.ClaimPaymentPosted.v1",
        claim_id=submitted["claim_id"],
        claim_family_id=submitted["claim_family_id"],
        encounter_id=submitted["encounter_id"],
        submission_id=submitted["submission_id"],
        payer_claim_control_number=pccn,
        claim_status=status,
        lines=lines,
        crossover_payer_name=crossover,
        remittance_id=f"rem_{uuid.uuid4().hex[:10]}",
    )


async def test_an_outpatient_facility_line_goes_on_its_own_837i_beside_the_837p(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    """An encounter billing both claims: its professional line goes on the 837P, its
    institutional line on an 837I (type of bill 13) in another interchange."""
    institutional = {**ex.INSTITUTIONAL, "type_of_bill": "13", "statement_from": DOS, "statement_through": DOS,
                     "admission_hour": None, "admission_type": None, "admission_source": None,
                     "discharge_hour": None, "principal_procedure": None, "occurrence_codes": [], "value_codes": []}
    # An emergency room line needs its HCPCS on an outpatient bill (INST-HCPCS-REQUIRED).
    facility_line: dict[str, Any] = {"claim_type": "institutional", "procedure_code": "99284", "modifiers": [],
                                     "revenue_code": "0450", "description": "Emergency room"}
    enc, charge_ids = await post_encounter(platform, coverages=1, second_line=facility_line,
                                           encounter={"bills": "both", "institutional": institutional})
    created = await wait_for(platform, enc, "ClaimCreated", 2)
    assert sorted((c["claim_type"], c["charge_ids"]) for c in created) == [
        ("institutional", charge_ids[1:]), ("professional", charge_ids[:1])]
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [prof] = [s for s in subs if s["claim_type"] == "professional"]
    [inst] = [s for s in subs if s["claim_type"] == "institutional"]
    assert (prof["total_charge"], inst["total_charge"], inst["type_of_bill"]) == ("150.00", "35.00", "13")
    ptext, itext = await outbound_text(platform, prof), await outbound_text(platform, inst)
    assert pyx12_validate(ptext) == [] and pyx12_validate(itext) == []
    assert f"CLM*{inst['submission_id']}*35***13:A:1*" in itext and "SV2*0450*HC:99284*35*UN*1~" in itext


async def test_posted_encounter_becomes_clean_837p_then_accepted(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, charge_ids = await post_encounter(platform)
    [created] = await wait_for(platform, enc, "ClaimCreated")
    assert created["charge_ids"] == charge_ids and created["frequency"] == "1" and created["coverage_rank"] == 1
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    assert submitted["next_payer"] == {"payer_id": "610442", "payer_name": "Medi-Cal", "coverage_rank": 2}
    assert [line["expected_allowed"] for line in submitted["lines"]] == ["108.00", "25.20"]
    assert len(submitted["submission_id"]) <= 20
    text = await outbound_text(platform, submitted)
    assert pyx12_validate(text) == []
    batch = read_837p(text)
    assert any(c.submission_id == submitted["submission_id"] for c in batch.claims)
    assert (
        await count(
            platform,
            "claims",
            "SELECT count(*) FROM interchanges WHERE file_name = $1 AND length(sha256) = 64",
            submitted["interchange"]["file_name"],
        )
        == 1
    )
    write_999(platform, text)
    write_277ca(platform, submitted, accept=True, pccn="PCN-ACC-1")
    [accepted] = await wait_for(platform, enc, "ClaimAccepted")
    assert accepted["payer_claim_control_number"] == "PCN-ACC-1" and accepted["source"] == "277CA"

    async def archived() -> bool:
        return not any((platform.clearinghouse / "inbound" / "acks").iterdir())

    await eventually(archived, what="acknowledgments archived")
    assert any((platform.clearinghouse / "archive").rglob("277-*"))


async def test_rejected_claim_goes_again_as_new_original(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    assert submitted["next_payer"] is None
    write_277ca(platform, submitted, accept=False, status=x277ca.StatusCode("A7", "562", "85"))
    [rejected] = await wait_for(platform, enc, "ClaimRejected")
    assert rejected["codes"][0]["code"] == "A7:562:85"
    assert "National Provider Identifier" in rejected["reason"] and "billing provider" in rejected["reason"]
    result = await cli(["claims", "release", submitted["claim_id"], "--reason", "NPI enrolled"])
    assert result.exit_code == 0, result.output
    [resubmitted] = await wait_for(platform, enc, "ClaimResubmitted")
    assert resubmitted["previous_submission_id"] == submitted["submission_id"]
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    again = subs[1]
    assert again["submission_id"] == resubmitted["submission_id"] != submitted["submission_id"]
    assert again["frequency"] == "1" and again["payer_claim_control_number"] is None
    assert pyx12_validate(await outbound_text(platform, again)) == []
    # correcting a claim the payer never adjudicated is refused
    refused = await cli(["claims", "correct", again["claim_id"], "--reason", "try"])
    assert refused.exit_code == 1 and "never adjudicated" in refused.output


async def test_999_rejection_rejects_every_claim_of_the_set(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    write_999(platform, await outbound_text(platform, submitted), reject=True)
    [rejected] = await wait_for(platform, enc, "ClaimRejected")
    assert rejected["source"] == "999" and {c["segment"] for c in rejected["codes"]} >= {"IK5", "IK3", "IK4"}
    # a payment for a claim the payer rejected is an illegal transition: refused and logged by id
    await publish(platform, payment(submitted))

    async def refused() -> bool:
        sql = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND refused AND trigger = 'pay'"
        return await count(platform, "claims", sql, submitted["claim_id"]) == 1

    await eventually(refused, what="a refused transition in the history")


async def test_ta1_answers_the_whole_interchange(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    """A TA1 alone with R rejects the claims of the interchange it names (its TA101 without the
    leading zeros some clearinghouses drop); a TA1 A before a 999's groups is noted, then the 999."""
    rejected_enc, _ = await post_encounter(platform, coverages=1)
    [doomed] = await wait_for(platform, rejected_enc, "ClaimSubmitted")
    icn = read_interchange(await outbound_text(platform, doomed)).control_number
    rejection = ta1.InterchangeAck(str(int(icn)), f"{TODAY:%y%m%d}", "1200", ta1.InterchangeAckCode.REJECTED, "024")
    write_ack(platform, f"ta1-{uuid.uuid4().hex[:8]}.x12", ta1.write_ta1(rejection, ack_params(int(icn) + 500)))
    [rejected] = await wait_for(platform, rejected_enc, "ClaimRejected")
    assert rejected["source"] == "TA1" and rejected["reason"] == "TA1 R 024: Invalid Interchange Content"
    assert rejected["codes"] == [{"segment": "TA1", "code": "R:024", "description": "Invalid Interchange Content"}]

    accepted_enc, _ = await post_encounter(platform, coverages=1)
    [kept] = await wait_for(platform, accepted_enc, "ClaimSubmitted")
    kept_text = await outbound_text(platform, kept)
    kept_icn = read_interchange(kept_text).control_number
    write_999(platform, kept_text, ta1_before=f"TA1*{kept_icn}*{TODAY:%y%m%d}*1200*A*000")
    history = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = $2"

    async def noted() -> bool:
        triggers = ("TA1_accepted", "999_accepted")
        return [await count(platform, "claims", history, kept["claim_id"], t) for t in triggers] == [1, 1]

    await eventually(noted, what="the TA1 and the 999 acceptance in the claim's history")
    sql = "SELECT count(*) FROM acknowledgments WHERE kind = 'TA1' AND matched_submission_id = $1 AND outcome = $2"
    assert await count(platform, "claims", sql, kept["submission_id"], "accepted") == 1
    assert await count(platform, "claims", sql, doomed["submission_id"], "rejected") == 1


async def test_a_277ca_after_the_payment_is_recorded_not_refused(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    await publish(platform, payment(submitted))
    await wait_for(platform, enc, "ClaimAdjudicated")
    write_277ca(platform, submitted, accept=True, pccn="LATE0001")
    history = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = $2"

    async def recorded() -> bool:
        return await count(platform, "claims", history, submitted["claim_id"], "277CA_late_acceptance") == 1

    await eventually(recorded, what="the late acceptance in the claim's history")
    assert await count(platform, "claims", history, submitted["claim_id"], "accept") == 0  # nothing refused


async def test_unmatched_ack_is_kept_and_flagged(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    fake = {
        "submission_id": "SNOSUCHCLAIM0001",
        "total_charge": "10.00",
        "billing_provider_npi": "1234567893",
        "lines": [{"service_date": DOS}],
    }
    write_277ca(platform, fake, accept=True, pccn="X1")

    async def flagged() -> bool:
        return (
            await count(
                platform,
                "claims",
                "SELECT count(*) FROM acknowledgments WHERE flagged AND reference = 'SNOSUCHCLAIM0001'",
            )
            == 1
        )

    await eventually(flagged, what="a flagged acknowledgment")


# A chest x-ray read by our practitioner in an outpatient hospital (POS 22): the hospital bills
# the technical component, so the line needs modifier 26 (POS-COMPONENT holds it without), and
# the claim names the hospital (2310C; FACILITY-REQUIRED holds it without).
XRAY_IN_HOSPITAL = {"procedure_code": "71046", "place_of_service": "22", "revenue_code": None,
                    "description": "Chest x-ray, 2 views"}
AT_THE_HOSPITAL = {"facility": {"name": "Mission General Hospital", "npi": "1548154818",
                                "address": {"line1": "1001 Potrero Ave", "line2": None, "city": "San Francisco",
                                            "state": "CA", "postal_code": "941101234"}}}


def errors(held: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(e["edit_id"], e["line_number"]) for e in held["edits"] if e["severity"] == "error"]


async def test_held_claim_released_when_fixed_upstream(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, second_line={**XRAY_IN_HOSPITAL, "modifiers": []},
                                  encounter=AT_THE_HOSPITAL)
    [held] = await wait_for(platform, enc, "ClaimHeld")
    assert errors(held) == [("POS-COMPONENT", 2)]
    result = await cli(["claims", "held", "--json"])
    assert result.exit_code == 0 and held["claim_id"] in result.output
    table = await cli(["claims", "held"])
    assert table.exit_code == 0 and "POS-COMPONENT" in table.output
    # the coder adds modifier 26: charges re-posts the line and re-releases the encounter
    await post_encounter(platform, second_line={**XRAY_IN_HOSPITAL, "modifiers": ["26"]}, revision=2, encounter_id=enc,
                         encounter=AT_THE_HOSPITAL)
    [released] = await wait_for(platform, enc, "ClaimReleased")
    assert released["released_by"] == "scrubber"
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    assert submitted["claim_id"] == held["claim_id"]
    assert pyx12_validate(await outbound_text(platform, submitted)) == []


async def test_operator_overrides_one_edit_on_one_claim(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, second_line={**XRAY_IN_HOSPITAL, "modifiers": []},
                                  encounter=AT_THE_HOSPITAL)
    [held] = await wait_for(platform, enc, "ClaimHeld")
    claim_id = held["claim_id"]
    refused = await cli(["claims", "override", claim_id, "REQ-FIELDS", "--reason", "no"])
    assert refused.exit_code == 1 and "cannot be waived" in refused.output
    not_failing = await cli(["claims", "override", claim_id, "NCCI-PTP", "--reason", "no"])
    assert not_failing.exit_code == 1 and "not held by NCCI-PTP" in not_failing.output
    app = FastAPI()
    mount_service(app, claims)
    async with authorized(app, platform, name="biller-7", scope=Scope.OPERATE) as client:
        # A body `operator_id` (older clients sent one) is ignored: the token's name is the actor.
        body = {"edit_id": "pos-component", "reason": "read in our own office suite", "operator_id": "usr_7"}
        done = await client.post(f"/v1/claims/{claim_id}/override", json=body)
        assert (await client.post("/v1/claims/nope/override", json=body)).status_code == 404
    assert done.status_code == 202, done.text
    shown = done.json()
    assert shown["state"] == "ready"
    waived = [e for e in shown["edits"] if e["edit_id"] == "POS-COMPONENT"]
    assert [e["severity"] for e in waived] == ["warning"] and "read in our own office suite" in waived[0]["message"]
    [released] = await wait_for(platform, enc, "ClaimReleased")
    # Issue 16: the authenticated token's name, not the body's operator_id, names who did it.
    assert released["released_by"] == "operator" and released["operator_id"] == "biller-7"
    assert released["reason"].startswith("POS-COMPONENT waived")
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    assert submitted["claim_id"] == claim_id
    audit = "SELECT count(*) FROM audit_log WHERE action = 'claims.override' AND subject = $1 AND actor = 'biller-7'"
    assert await count(platform, "claims", audit, claim_id) == 1
    history = json.loads((await cli(["claims", "show", claim_id, "--json"])).stdout)["history"]
    assert [h["detail"].get("edit_id") for h in history if h["trigger"] == "waive_edit"] == ["POS-COMPONENT"]
    again = await cli(["claims", "override", claim_id, "POS-COMPONENT", "--reason", "twice"])
    assert again.exit_code == 1 and "only a held claim" in again.output


# Ketorolac injected in the office, sent without its NDC, to Medi-Cal as the only payer.
DRUG_WITHOUT_NDC: dict[str, Any] = {"procedure_code": "J1885", "modifiers": [], "revenue_code": None,
                                     "unit_price": "9.00", "amount": "9.00",
                                     "description": "Ketorolac tromethamine injection 15 mg"}
MEDI_CAL_ONLY = {"coverages": [{**ex.COVERAGES[1], "rank": 1}]}


async def test_a_medicaid_drug_without_ndc_is_held_and_once_waived_the_payer_rejects_it(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    """NDC-REQUIRED holds the claim; an operator waives it (the state plan exempts the drug, they
    say); the claim goes without 2410 LIN and the sandbox's Medi-Cal rejects it with 277CA A7:218."""
    from sandbox.adjudication import SandboxState
    from sandbox.clearinghouse_loop import answer_837
    from sandbox.payers import load_payers

    enc, _ = await post_encounter(platform, coverages=1, second_line=DRUG_WITHOUT_NDC, encounter=MEDI_CAL_ONLY)
    [held] = await wait_for(platform, enc, "ClaimHeld")
    assert errors(held) == [("NDC-REQUIRED", 2)]
    [finding] = [e for e in held["edits"] if e["edit_id"] == "NDC-REQUIRED"]
    assert finding["source"] == "payer-rule" and "J1885" in finding["message"] and "Medicaid" in finding["message"]
    waived = await cli(["claims", "override", held["claim_id"], "NDC-REQUIRED", "--reason", "state plan exempts J1885"])
    assert waived.exit_code == 0, waived.output
    [released] = await wait_for(platform, enc, "ClaimReleased")
    assert released["released_by"] == "operator" and released["reason"].startswith("NDC-REQUIRED waived")
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    text = await outbound_text(platform, submitted)
    assert pyx12_validate(text) == []
    [sent] = [c for c in read_837p(text).claims if c.submission_id == submitted["submission_id"]]
    assert [line.procedure_code for line in sent.lines] == ["99213", "J1885"] and sent.lines[1].drug is None
    answer = answer_837(text, f"sbx-{uuid.uuid4().hex[:6]}", load_payers(), SandboxState(), seed=7, now=TODAY)
    for out in answer.acks:
        write_ack(platform, out.name, out.text)
    [rejected] = await wait_for(platform, enc, "ClaimRejected")
    assert [c["code"] for c in rejected["codes"] if c["segment"] == "STC"] == ["A7:218"]
    assert "NDC number" in rejected["reason"] and "NDC REQUIRED ON DRUG LINES" in rejected["reason"]


async def test_payment_sends_secondary_with_cob_then_correct_and_void(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform)
    [primary] = await wait_for(platform, enc, "ClaimSubmitted")
    await publish(platform, payment(primary))
    [adjudicated] = await wait_for(platform, enc, "ClaimAdjudicated")
    assert adjudicated["outcome"] == "paid"
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [secondary] = [s for s in subs if s["coverage_rank"] == 2]  # partitions interleave: select, not index
    assert secondary["payer"]["payer_id"] == "610442" and secondary["coverage_rank"] == 2
    assert secondary["claim_family_id"] == primary["claim_family_id"]
    text = await outbound_text(platform, secondary)
    assert pyx12_validate(text) == []
    assert "AMT*D*74.5~" in text and "SVD*60054*" in text and "SBR*P*18" in text
    [closed] = await wait_for(platform, enc, "ClaimClosed")
    assert closed["claim_id"] == primary["claim_id"] and closed["resolution"] == "paid_with_patient_balance"
    # correct the adjudicated primary: frequency 7 with REF*F8
    result = await cli(["claims", "correct", primary["claim_id"], "--reason", "modifier fixed"])
    assert result.exit_code == 0, result.output
    [corrected] = await wait_for(platform, enc, "ClaimCorrected")
    subs = await wait_for(platform, enc, "ClaimSubmitted", 3)
    [replacement] = [s for s in subs if s["frequency"] == "7"]
    assert replacement["claim_id"] == corrected["replacement_claim_id"]
    assert replacement["frequency"] == "7" and replacement["payer_claim_control_number"] == "2026061000123"
    rtext = await outbound_text(platform, replacement)
    assert pyx12_validate(rtext) == [] and "REF*F8*2026061000123~" in rtext and ":B:7*" in rtext
    # the payer adjudicates the replacement; then void it
    await publish(platform, payment(replacement, pccn="2026061000999"))
    await wait_for(platform, enc, "ClaimAdjudicated", 2)
    result = await cli(["claims", "void", replacement["claim_id"], "--reason", "wrong patient"])
    assert result.exit_code == 0, result.output
    [voided] = await wait_for(platform, enc, "ClaimVoided")
    again = await cli(["claims", "correct", primary["claim_id"], "--reason", "twice"])
    assert again.exit_code == 1 and "already replaced" in again.output
    subs = await wait_for(platform, enc, "ClaimSubmitted", 4)
    [void] = [s for s in subs if s["frequency"] == "8"]
    assert void["claim_id"] == voided["void_claim_id"] and void["frequency"] == "8"
    vtext = await outbound_text(platform, void)
    assert pyx12_validate(vtext) == [] and "REF*F8*2026061000999~" in vtext
    show = await cli(["claims", "show", primary["claim_id"], "--json"])
    assert show.exit_code == 0
    history = json.loads(show.stdout)["history"]
    printed = await cli(["claims", "show", primary["claim_id"]])
    assert printed.exit_code == 0 and primary["claim_family_id"] in printed.output and "ClaimVoided" in printed.output
    flagged = await cli(["claims", "acks"])
    assert flagged.exit_code == 0
    assert [h["trigger"] for h in history if h["claim_id"] == primary["claim_id"]][:4] == [
        "create",
        "scrub_pass",
        "submit",
        "pay",
    ]


async def test_crossover_waits_for_the_secondary(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform)
    [primary] = await wait_for(platform, enc, "ClaimSubmitted")
    await publish(platform, payment(primary, status="19", crossover="Medi-Cal"))
    [forwarded] = await wait_for(platform, enc, "ClaimForwarded")
    assert forwarded["to_payer_name"] == "Medi-Cal" and forwarded["to_coverage_rank"] == 2
    await publish(platform, payment(primary, status="2"))
    await wait_for(platform, enc, "ClaimClosed")
    # no secondary claim: the payer crossed it over
    assert await count(platform, "claims", "SELECT count(*) FROM claims WHERE encounter_id = $1", enc) == 1


async def test_sandbox_answers_are_applied(platform: Settings, claims: Runtime, payers: None) -> None:
    """Our 837P through the sandbox clearinghouse's answer (999 + 277CA) back into claims."""
    from sandbox.adjudication import SandboxState
    from sandbox.clearinghouse_loop import answer_837
    from sandbox.payers import load_payers

    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    text = await outbound_text(platform, submitted)
    answer = answer_837(text, "sbx1", load_payers(), SandboxState(), seed=7, now=TODAY)
    for out in answer.acks:
        write_ack(platform, out.name, out.text)
    [accepted] = await wait_for(platform, enc, "ClaimAccepted")
    assert accepted["submission_id"] == submitted["submission_id"] and accepted["payer_claim_control_number"]
    notes = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = '999_accepted'"
    assert await count(platform, "claims", notes, submitted["claim_id"]) == 1


async def test_claim_denial_stays_open_and_can_be_corrected(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    base = json.loads(example("rcm.remittances.ClaimDenied.v1").model_dump_json())
    lines = [
        dict(line, line_control_number=f"{submitted['submission_id']}-{i}")
        for i, line in enumerate(base["lines"], start=1)
    ]
    denials = [dict(d, line_control_number=None) for d in base["denials"]]
    denied = example(
        "rcm.remittances.ClaimDenied.v1",
        claim_id=submitted["claim_id"],
        claim_family_id=submitted["claim_family_id"],
        encounter_id=enc,
        submission_id=submitted["submission_id"],
        payer_claim_control_number="PCN-DEN-1",
        lines=lines,
        denial_scope="claim",
        denials=denials,
        claim_status="4",
    )
    await publish(platform, denied)
    [adjudicated] = await wait_for(platform, enc, "ClaimAdjudicated")
    assert adjudicated["outcome"] == "denied"
    state = "SELECT count(*) FROM claims WHERE claim_id = $1 AND state = 'denied'"
    assert await count(platform, "claims", state, submitted["claim_id"]) == 1  # worked, never silently closed
    result = await cli(["claims", "correct", submitted["claim_id"], "--reason", "bundling fixed"])
    assert result.exit_code == 0, result.output
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [replacement] = [s for s in subs if s["frequency"] == "7"]
    assert replacement["payer_claim_control_number"] == "PCN-DEN-1"


async def test_a_denied_claim_written_off_in_remits_is_closed(platform: Settings, claims: Runtime,
                                                              payers: None) -> None:
    """InsuranceBalanceWrittenOff (remits wrote off the denial): a denied claim with nothing left open
    closes as written off, so its follow-ups stop; a partial write-off is only noted."""
    enc, _ = await post_encounter(platform, coverages=1)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    base = json.loads(example("rcm.remittances.ClaimDenied.v1").model_dump_json())
    lines = [dict(line, line_control_number=f"{submitted['submission_id']}-{i}")
             for i, line in enumerate(base["lines"], start=1)]
    await publish(platform, example(
        "rcm.remittances.ClaimDenied.v1", claim_id=submitted["claim_id"], claim_family_id=submitted["claim_family_id"],
        encounter_id=enc, submission_id=submitted["submission_id"], payer_claim_control_number="PCN-WO-1",
        lines=lines, denial_scope="claim", denials=[dict(d, line_control_number=None) for d in base["denials"]],
        claim_status="4"))
    await wait_for(platform, enc, "ClaimAdjudicated")

    def written_off(amount: str, left: str) -> Any:
        return example("rcm.remittances.InsuranceBalanceWrittenOff.v1", claim_id=submitted["claim_id"],
                       claim_family_id=submitted["claim_family_id"], encounter_id=enc, coverage_rank=1,
                       payer=submitted["payer"], amount=amount, remaining_open=left, reason="no_authorization")

    await publish(platform, written_off("10.00", "20.00"))
    noted = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = 'insurance_written_off'"
    await eventually(lambda: _counted(platform, noted, submitted["claim_id"], 1), what="the partial write-off noted")
    assert await count(platform, "claims", "SELECT count(*) FROM claims WHERE claim_id = $1 AND state = 'denied'",
                       submitted["claim_id"]) == 1
    await publish(platform, written_off("20.00", "0.00"))
    [closed] = await wait_for(platform, enc, "ClaimClosed")
    assert closed["resolution"] == "written_off" and closed["claim_id"] == submitted["claim_id"]


async def test_a_denial_that_leaves_a_patient_share_bills_the_next_payer(platform: Settings, claims: Runtime,
                                                                           payers: None) -> None:
    """The primary denies the claim (CLP02 4) but leaves the patient a share (the example's 40.00
    copay, as a PR-96 non-covered would): that share is the secondary's to consider, so the
    secondary claim goes out, with the primary's adjudication in its COB loops."""
    enc, _ = await post_encounter(platform, coverages=2)
    [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    base = json.loads(example("rcm.remittances.ClaimDenied.v1").model_dump_json())
    lines = [dict(line, line_control_number=f"{submitted['submission_id']}-{i}")
             for i, line in enumerate(base["lines"], start=1)]
    denied = example("rcm.remittances.ClaimDenied.v1", claim_id=submitted["claim_id"],
                     claim_family_id=submitted["claim_family_id"], encounter_id=enc,
                     submission_id=submitted["submission_id"], payer_claim_control_number="PCN-DEN-2", lines=lines,
                     denial_scope="claim", denials=[dict(d, line_control_number=None) for d in base["denials"]],
                     claim_status="4")
    assert Decimal(denied.patient_responsibility) > 0  # type: ignore[attr-defined]
    await publish(platform, denied)
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [second] = [s for s in subs if s["coverage_rank"] == 2]
    assert second["claim_family_id"] == submitted["claim_family_id"] and second["frequency"] == "1"


async def _counted(platform: Settings, query: str, claim_id: str, n: int) -> bool:
    return await count(platform, "claims", query, claim_id) == n


async def test_new_revision_replaces_after_adjudication_or_resubmits_after_rejection(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    account = f"PA-{uuid.uuid4().hex[:8]}"
    enc, _ = await post_encounter(platform, coverages=1, account=account)
    [first] = await wait_for(platform, enc, "ClaimSubmitted")
    # the encounter changes while the claim is with the payer: wait for adjudication, then replace
    await post_encounter(platform, coverages=1, revision=2, encounter_id=enc, account=account)

    async def waiting() -> bool:
        sql = "SELECT count(*) FROM claims WHERE claim_id = $1 AND pending_doc IS NOT NULL"
        return await count(platform, "claims", sql, first["claim_id"]) == 1

    await eventually(waiting, what="the revision waiting for adjudication")
    await publish(platform, payment(first, pccn="PCN-REV-1"))
    [corrected] = await wait_for(platform, enc, "ClaimCorrected")
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [replacement] = [s for s in subs if s["frequency"] == "7"]
    assert replacement["claim_id"] == corrected["replacement_claim_id"]
    assert {line["charge_id"] for line in replacement["lines"]}.isdisjoint(line["charge_id"] for line in first["lines"])
    assert pyx12_validate(await outbound_text(platform, replacement)) == []

    # rejected, then a new revision: goes again as a new original (frequency 1)
    enc2, _ = await post_encounter(platform, coverages=1)
    [sent] = await wait_for(platform, enc2, "ClaimSubmitted")
    write_277ca(platform, sent, accept=False, status=x277ca.StatusCode("A7", "21", "QC"))
    await wait_for(platform, enc2, "ClaimRejected")
    await post_encounter(platform, coverages=1, revision=2, encounter_id=enc2)
    [resubmitted] = await wait_for(platform, enc2, "ClaimResubmitted")
    again = [
        s for s in await wait_for(platform, enc2, "ClaimSubmitted", 2) if s["submission_id"] != sent["submission_id"]
    ]
    assert again[0]["submission_id"] == resubmitted["submission_id"] and again[0]["frequency"] == "1"


async def test_payer_and_fee_schedule_commands(
    platform: Settings, claims: Runtime, cli_env: None, tmp_path: Path
) -> None:
    result = await cli(["payers", "load", "--json"])
    assert result.exit_code == 0, result.output
    loaded = json.loads(result.stdout)
    assert loaded["payers"] == 5 and set(loaded["fee_schedules"]) == {"60054", "94036", "01182", "610442"}
    assert all(n > 0 for n in loaded["fee_schedules"].values())
    listed = json.loads((await cli(["payers", "list", "--json"])).stdout)
    assert {p["payer_id"] for p in listed} == {"60054", "94036", "01182", "610442", "SAMPLEPARTA"}
    bad = tmp_path / "payers.yaml"
    bad.write_text('payers:\n  - {payer_id: "1", name: X, claim_filing_indicator: QQ}\n')
    failed = await cli(["payers", "load", str(bad)])
    assert failed.exit_code == 1 and "nothing loaded" in failed.output
    fees = tmp_path / "fees.csv"
    fees.write_text("procedure_code,modifier,allowed_amount,effective_date\n99213,,111.00,2026-01-01\n")
    ok = await cli(["feeschedule", "load", "60054", str(fees)])
    assert ok.exit_code == 0 and "1 rows" in ok.output
    unknown = await cli(["feeschedule", "load", "99999", str(fees)])
    assert unknown.exit_code == 1 and "payer master" in unknown.output
    audit = "SELECT count(*) FROM audit_log WHERE action IN ('payers.load', 'feeschedule.load')"
    assert await count(platform, "claims", audit) >= 2
    restore = await cli(["payers", "load"])  # the other tests expect the shipped fee schedules
    assert restore.exit_code == 0


async def test_intake_drug_facility_accident_and_referral_reach_the_837p(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    """charges -> claims: what intake says about the drug, the facility, the accident, the
    referral, the lab and its providers comes out in the payer's loops, pyx12-clean."""
    from services.charges.app import DEFINITION as CHARGES

    sei = intake.new_encounter_id()
    coverage = {**ex.COVERAGES[0], "referral_number": "RF-2026-9", "prior_authorization_numbers": ["PA-77"]}
    facility = {"name": "Mission General ER", "npi": "1548154818",
                "address": {"line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA",
                            "postal_code": "941101234"}}
    ordering = {"npi": "1326132614", "name": {"family": "Ito", "given": "Ken"}}
    priced = {"service_date": DOS, "modifiers": [], "diagnosis_pointers": [1]}
    async with running(CHARGES, platform, clock=FixedClock(TODAY)):
        await publish(platform, intake.encounter(
            sei, coverages=[coverage], place_of_service="23", facility=facility, diagnoses=["S0990XA"],
            billing_provider={**ex.BILLING_PROVIDER, "clia_number": "05D0987654"},
            referring_provider={"npi": "1123456786", "name": {"family": "Lee", "given": "Ann"}},
            accident={"causes": ["auto"], "occurred_on": DOS, "state": "CA"}))
        await publish(platform, intake.charge(sei, "ed", **priced, procedure_code="99284", unit_price="310.00",
                                              amount="310.00"))
        await publish(platform, intake.charge(sei, "drug", **priced, procedure_code="J1030", unit_price="12.00",
                                              amount="12.00", ndc="00009-3073-01", ndc_quantity="1", ndc_unit="ML"))
        await publish(platform, intake.charge(sei, "lab", **priced, procedure_code="85025", unit_price="18.00",
                                              amount="18.00", ordering_provider=ordering))
        await publish(platform, intake.closed(sei, "ed", "drug", "lab"))
        enc = ""

        async def released() -> bool:
            nonlocal enc
            for _, value, _ in await read_topic(platform, "rcm.charges.v1"):
                payload = json.loads(value)
                if payload.get("source_encounter_id") == sei and "revision" in payload:
                    enc = payload["encounter_id"]
            return bool(enc)

        await eventually(released, timeout_s=60, what="EncounterReadyToBill")
        [submitted] = await wait_for(platform, enc, "ClaimSubmitted")
    text = await outbound_text(platform, submitted)
    assert pyx12_validate(text) == []
    ours = text[text.index(f"CLM*{submitted['submission_id']}*"):].split("~")
    ours = ours[: next((i for i, s in enumerate(ours[1:], 1) if s.startswith(("CLM*", "HL*", "SE*"))), len(ours))]
    assert ours[0].endswith("*23:B:1*Y*A*Y*Y**AA:::CA") and f"DTP*439*D8*{DOS.replace('-', '')}" in ours
    claim_refs = [seg for seg in ours if seg[:6] in {"REF*9F", "REF*G1", "REF*X4"}]
    assert claim_refs == ["REF*9F*RF-2026-9", "REF*G1*PA-77", "REF*X4*05D0987654"]
    assert "NM1*DN*1*Lee*Ann****XX*1123456786" in ours
    assert "NM1*77*2*Mission General ER*****XX*1548154818" in ours and "N4*San Francisco*CA*941101234" in ours
    assert "LIN**N4*00009307301" in ours and "CTP****1*ML" in ours
    assert "NM1*DK*1*Ito*Ken****XX*1326132614" in ours
    [claim] = [c for c in read_837p(text).claims if c.submission_id == submitted["submission_id"]]
    assert claim.referral_number == "RF-2026-9" and claim.service_facility is not None

async def test_a_loaded_cms_ptp_file_replaces_the_sample_for_its_quarter(
    platform: Settings, claims: Runtime, payers: None, cli_env: None, tmp_path: Path
) -> None:
    quarter = quarter_of(date.fromisoformat(DOS))
    file = tmp_path / f"ptp_{quarter.lower()}.txt"
    # A synthetic pair in the CMS layout (test data, not a CMS edit): the x-ray bundled into the visit.
    file.write_text("CPT only copyright American Medical Association\n"
                    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
                    "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
                    "99213\t71046\t\t20200101\t*\t0\tsynthetic test pair\n")
    try:
        loaded = await cli(["codesets", "load", "ncci", str(file), "--json"])
        assert loaded.exit_code == 0, loaded.output
        assert json.loads(loaded.stdout) | {"summary": ""} == {"kind": "ncci", "quarter": quarter, "file": file.name,
                                                                "rows": 1, "summary": ""}
        mue = tmp_path / f"mue_{quarter.lower()}.csv"
        mue.write_text('"HCPCS/CPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
                       '"MUE Rationale"\n"71046","1","3 Date of Service Edit: Clinical","Nature of Service"\n')
        assert (await cli(["codesets", "load", "mue", str(mue)])).exit_code == 0
        listed = json.loads((await cli(["codesets", "list", "--json"])).stdout)
        assert [(f["kind"], f["quarter"], f["source_file"], f["rows"]) for f in listed["cms_files"]] == [
            ("mue", quarter, mue.name, 1), ("ncci", quarter, file.name, 1)]
        assert await count(platform, "claims", "SELECT count(*) FROM audit_log WHERE action = 'codesets.load'") >= 1
        enc, _ = await post_encounter(platform, second_line={**XRAY_IN_HOSPITAL, "modifiers": ["26"]},
                                      encounter=AT_THE_HOSPITAL)
        [held] = await wait_for(platform, enc, "ClaimHeld")
        assert errors(held) == [("NCCI-PTP", 2)]
        message = next(e["message"] for e in held["edits"] if e["edit_id"] == "NCCI-PTP")
        assert f"NCCI PTP {quarter}, {file.name}" in message
    finally:
        db = await asyncpg.connect(platform.database_url("claims"))
        try:
            await db.execute("DELETE FROM ncci_ptp WHERE source_file = $1", file.name)
            await db.execute("DELETE FROM mue WHERE quarter = $1", quarter)
            await db.execute("DELETE FROM code_set_loads WHERE quarter = $1", quarter)
        finally:
            await db.close()
