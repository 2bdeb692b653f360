"""The charges service through real Kafka and Postgres: posting, rejection, order, corrections."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app as rcm
from schemas import examples as ex
from services.charges.app import DEFINITION
from services.chassis.clock import FixedClock
from services.chassis.icd10cm import parse_code_file, write_edition
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings, get_settings
from tests.support import intake
from tests.support.kafka_io import count, eventually, publish, read_topic
from tests.support.runtimes import running

pytestmark = pytest.mark.integration
TODAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def charges(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(DEFINITION, platform, clock=FixedClock(TODAY)) as runtime:
        yield runtime


async def events_for(platform: Settings, source_encounter_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Decoded rcm.charges.v1 events about one of the sender's encounters, in order."""
    records = [(dict(h)["ce_type"].decode().split(".")[2], json.loads(v))
               for _, v, h in await read_topic(platform, "rcm.charges.v1")]
    ours = {p["encounter_id"] for _, p in records if p.get("source_encounter_id") == source_encounter_id}
    return [(name, p) for name, p in records if p["encounter_id"] in ours]


async def wait_events(platform: Settings, sei: str, predicate: Any, what: str) -> list[tuple[str, dict[str, Any]]]:
    got: list[tuple[str, dict[str, Any]]] = []

    async def check() -> bool:
        nonlocal got
        got = await events_for(platform, sei)
        return bool(predicate([name for name, _ in got]))

    await eventually(check, timeout_s=60, what=what)
    return got


async def test_encounter_and_charges_post_then_release_to_billing(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "c1"))
    await publish(platform, intake.charge(sei, "c2", procedure_code="87880", modifiers=["QW"], unit_price="35.00",
                                          amount="35.00", diagnosis_pointers=[1]))
    await publish(platform, intake.closed(sei, "c1", "c2"))
    got = await wait_events(platform, sei, lambda names: "EncounterReadyToBill" in names, "ready to bill")
    names = [n for n, _ in got]
    assert names == ["ChargePosted", "ChargePosted", "EncounterReadyToBill"]
    posted = [p for n, p in got if n == "ChargePosted"]
    ready = got[-1][1]
    assert ready["revision"] == 1
    assert ready["charge_ids"] == [p["charge_id"] for p in posted]
    assert [p["amount"] for p in posted] == ["150.00", "35.00"]
    assert posted[0]["diagnosis_codes"] == ["J020", "R509"] and posted[0]["rendering_provider_npi"] == "1999999984"
    assert ready["encounter_id"] == posted[0]["encounter_id"] and ready["patient_account_id"]
    total = await count(platform, "charges", "SELECT sum(amount) * 100 FROM ledger_entries")
    assert total >= 18500


async def test_a_hospital_stay_carries_its_institutional_data_to_billing(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.inpatient_encounter(sei))
    room = {"procedure_code": None, "modifiers": [], "unit_price": "1850.00", "amount": None, "units": "3",
            "revenue_code": "0120", "claim_type": "institutional", "service_end_date": "2026-03-04",
            "diagnosis_pointers": [1]}
    await publish(platform, intake.charge(sei, "stay-1", **room))
    await publish(platform, intake.charge(sei, "stay-2", claim_type="professional", procedure_code="99223",
                                          modifiers=[], unit_price="380.00", amount="380.00"))
    await publish(platform, intake.charge(sei, "stay-3", **room | {"service_date": "2026-03-01"}))  # before the stay
    await publish(platform, intake.charge(sei, "stay-4", procedure_code="99231", modifiers=[]))  # which claim?
    await publish(platform, intake.closed(sei, "stay-1", "stay-2", "stay-3", "stay-4"))
    got = await wait_events(platform, sei, lambda names: "EncounterReadyToBill" in names, "ready to bill")
    posted = [p for n, p in got if n == "ChargePosted"]
    assert [(p["claim_type"], p["procedure_code"], p["revenue_code"], p["amount"]) for p in posted] == [
        ("institutional", None, "0120", "5550.00"), ("professional", "99223", None, "380.00")]
    rejected = {p["source_charge_id"]: [(r["code"], r["field"]) for r in p["reasons"]]
                for n, p in got if n == "ChargeRejected"}
    assert rejected == {"stay-3": [("CHG_SERVICE_OUTSIDE_STATEMENT", "service_date")],
                        "stay-4": [("CHG_CLAIM_TYPE_REQUIRED", "claim_type")]}
    ready = got[-1][1]
    assert ready["bills"] == "both" and ready["institutional"] == ex.INSTITUTIONAL
    # Lines posted in one transaction share posted_at (a fixed clock here): their order in
    # charge_ids is the ids' order, not arrival (CI found it).
    assert sorted(ready["charge_ids"]) == sorted(p["charge_id"] for p in posted)
    # A later change may not leave the posted room and board outside the statement period.
    shorter = copy.deepcopy(ex.INSTITUTIONAL) | {"statement_from": "2026-03-03"}
    await publish(platform, intake.inpatient_encounter(sei, kind="EncounterUpdated", admission_date="2026-03-03",
                                                       institutional=shorter))
    got = await wait_events(platform, sei, lambda names: "EncounterRejected" in names, "the update refused")
    reasons = next(p for n, p in got if n == "EncounterRejected")["reasons"]
    assert [(r["code"], r["field"]) for r in reasons] == [
        ("ENC_POSTED_LINE_OUTSIDE_STATEMENT", "institutional.statement_from")]
    assert [n for n, _ in got].count("EncounterReadyToBill") == 1  # nothing re-billed


async def test_an_interim_line_past_the_statement_period_waits_for_the_update_that_widens_it(
    platform: Settings, charges: Runtime
) -> None:
    """A hospital's interim feed: the stay so far runs to day 3, and the day-4 room charge comes
    before the update that extends the period to day 4 (two topics): it waits, then posts. A
    day-5 line the period never reaches is refused when the stay closes."""
    sei = intake.new_encounter_id()
    so_far = copy.deepcopy(ex.INSTITUTIONAL) | {"statement_through": "2026-03-03", "discharge_hour": None,
                                                  "patient_status": "30"}
    await publish(platform, intake.inpatient_encounter(sei, discharge_date=None, institutional=so_far))
    room = {"procedure_code": None, "modifiers": [], "unit_price": "1850.00", "amount": None, "units": "1",
            "revenue_code": "0120", "claim_type": "institutional", "diagnosis_pointers": [1]}

    async def waiting_past_the_period() -> bool:
        return await count(platform, "charges", "SELECT count(*) FROM parked WHERE park_key LIKE $1 AND reason = $2",
                           f"%{sei}", "dated after the encounter's statement period: waits for the update that "
                           "widens it") == 1

    await publish(platform, intake.charge(sei, "day-4", **room | {"service_date": "2026-03-04"}))
    await eventually(waiting_past_the_period, what="the day-4 line to wait for the update")
    assert not await events_for(platform, sei)  # neither posted nor refused

    await publish(platform, intake.inpatient_encounter(
        sei, kind="EncounterUpdated", discharge_date=None, institutional=so_far | {"statement_through": "2026-03-04"}))
    got = await wait_events(platform, sei, lambda names: "ChargePosted" in names, "the day-4 line to post")
    ((name, posted),) = got
    assert name == "ChargePosted"
    assert posted == {
        "encounter_id": posted["encounter_id"], "charge_id": posted["charge_id"],
        "patient_account_id": posted["patient_account_id"], "source_system": intake.SYSTEM,
        "source_encounter_id": sei, "source_charge_id": "day-4", "idempotency_key": f"{intake.SYSTEM}:day-4",
        "service_date": "2026-03-04", "service_end_date": None, "procedure_code": None, "modifiers": [],
        "chargemaster_code": None, "revenue_code": "0120", "claim_type": "institutional", "description": None,
        "units": "1", "unit_price": "1850.00", "amount": "1850.00", "diagnosis_pointers": [1],
        "diagnosis_codes": ["J189"], "place_of_service": "21", "rendering_provider_npi": "1999999984",
        "rendering_provider": None, "ordering_provider": None, "ndc": None, "ndc_quantity": None, "ndc_unit": None,
        "replaces_charge_id": None, "posted_at": "2026-03-10T15:00:00Z", "findings": [],
    }

    await publish(platform, intake.charge(sei, "day-5", **room | {"service_date": "2026-03-05"}))
    await eventually(waiting_past_the_period, what="the day-5 line to wait for an update")
    # An update that does not reach day 5 judges the line again, and it waits again (a new row).
    first = await count(platform, "charges", "SELECT max(id) FROM parked WHERE park_key LIKE $1", f"%{sei}")
    await publish(platform, intake.inpatient_encounter(
        sei, kind="EncounterUpdated", discharge_date=None, institutional=so_far | {"statement_through": "2026-03-04"}))

    async def parked_again() -> bool:
        return await count(platform, "charges", "SELECT count(*) FROM parked WHERE park_key LIKE $1 AND id > $2",
                           f"%{sei}", first) == 1

    await eventually(parked_again, what="the day-5 line to wait again after an update short of it")
    assert await waiting_past_the_period()
    await publish(platform, intake.closed(sei, "day-4", "day-5"))
    got = await wait_events(platform, sei, lambda names: "EncounterReadyToBill" in names, "the stay released")
    assert [n for n, _ in got] == ["ChargePosted", "ChargeRejected", "EncounterReadyToBill"]
    rejected = got[1][1]
    assert (rejected["source_charge_id"], [(r["code"], r["field"], r["message"]) for r in rejected["reasons"]]) == (
        "day-5", [("CHG_SERVICE_OUTSIDE_STATEMENT", "service_date", "an institutional line's service dates must fall "
                   "inside the encounter's statement covers period")])
    ready = got[2][1]
    assert (ready["charge_ids"], ready["institutional"]["statement_through"]) == ([posted["charge_id"]], "2026-03-04")
    assert await count(platform, "charges", "SELECT count(*) FROM parked WHERE park_key LIKE $1", f"%{sei}") == 0


async def test_an_institutional_encounter_without_its_data_is_rejected(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei, bills="institutional"))
    backwards = copy.deepcopy(ex.INSTITUTIONAL) | {"statement_from": "2026-03-06"}
    other = intake.new_encounter_id()
    await publish(platform, intake.inpatient_encounter(other, institutional=backwards))
    got = await wait_events(platform, sei, lambda names: "EncounterRejected" in names, "an encounter rejection")
    reasons = next(p for n, p in got if n == "EncounterRejected")["reasons"]
    assert [(r["code"], r["field"]) for r in reasons] == [("ENC_INSTITUTIONAL_MISSING", "institutional")]
    got = await wait_events(platform, other, lambda names: "EncounterRejected" in names, "a rejected stay")
    reasons = next(p for n, p in got if n == "EncounterRejected")["reasons"]
    assert ("ENC_STATEMENT_PERIOD_ORDER", "institutional.statement_through") in [(r["code"], r["field"])
                                                                                 for r in reasons]


async def test_same_source_charge_twice_posts_once(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    twice = intake.charge(sei, "dup-1")
    await publish(platform, twice)
    await publish(platform, twice)  # a new ce_id, the same idempotency key
    await publish(platform, intake.charge(sei, "dup-2"))
    got = await wait_events(platform, sei, lambda names: names.count("ChargePosted") >= 2, "two postings")
    keys = [p["idempotency_key"] for n, p in got if n == "ChargePosted"]
    assert keys == [f"{intake.SYSTEM}:dup-1", f"{intake.SYSTEM}:dup-2"]
    posted = "SELECT count(*) FROM charges WHERE idempotency_key = $1"
    assert await count(platform, "charges", posted, f"{intake.SYSTEM}:dup-1") == 1


async def test_bad_charge_is_rejected_with_reasons_and_the_senders_ids(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "bad-1", diagnosis_pointers=[3], service_date="2026-04-01"))
    got = await wait_events(platform, sei, lambda names: "ChargeRejected" in names, "a rejection")
    rejected = next(p for n, p in got if n == "ChargeRejected")
    assert rejected["source_charge_id"] == "bad-1" and rejected["source_encounter_id"] == sei
    assert rejected["idempotency_key"] == f"{intake.SYSTEM}:bad-1"
    codes = {r["code"] for r in rejected["reasons"]}
    assert {"CHG_DX_POINTER_RANGE", "CHG_SERVICE_DATE_FUTURE"} <= codes
    assert await count(platform, "charges", "SELECT count(*) FROM charges WHERE idempotency_key = $1",
                       f"{intake.SYSTEM}:bad-1") == 0


async def test_bad_encounter_is_rejected(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei, diagnoses=["J02"]))  # a category, not billable
    got = await wait_events(platform, sei, lambda names: "EncounterRejected" in names, "an encounter rejection")
    reasons = next(p for n, p in got if n == "EncounterRejected")["reasons"]
    assert any(r["code"] == "ENC_DX_NOT_BILLABLE" and r["field"] == "diagnoses[0]" for r in reasons)


@pytest.fixture
def fy2025_edition() -> Iterator[None]:
    """A loaded FY2025 edition that lacks R509 (valid in FY2026): a stand-in for a code added on
    October 1, 2025. Written where the service reads editions, removed after the test."""
    edition = write_edition(get_settings().codesets_path, 2025,
                            parse_code_file("J020    Streptococcal pharyngitis\n"), "icd10cm_codes_2025.txt")
    yield
    edition.unlink()


async def test_diagnoses_are_valid_on_each_charges_date_of_service(
    platform: Settings, charges: Runtime, fy2025_edition: None
) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))  # J020, R509: both valid in FY2026, the encounter's year
    await publish(platform, intake.charge(sei, "sep30", service_date="2025-09-30"))  # FY2025: R509 unknown
    await publish(platform, intake.charge(sei, "oct01", service_date="2025-10-01"))  # FY2026: both valid
    await publish(platform, intake.charge(sei, "fy24", service_date="2024-09-30", diagnosis_pointers=[1]))
    got = await wait_events(platform, sei, lambda n: n.count("ChargePosted") == 2 and "ChargeRejected" in n,
                            "two postings and a rejection")
    (rejected,) = [p for n, p in got if n == "ChargeRejected"]
    assert rejected["source_charge_id"] == "sep30"
    (reason,) = rejected["reasons"]
    assert (reason["code"], reason["field"]) == ("CHG_ICD_UNKNOWN", "diagnosis_pointers[1]")
    assert "ICD-10-CM FY2025" in reason["message"]
    assert "R509" not in reason["message"] and "2025-09-30" not in reason["message"]
    posted = {p["source_charge_id"]: p for n, p in got if n == "ChargePosted"}
    assert posted["oct01"]["findings"] == []
    # before every loaded edition: judged with the oldest (FY2025), and the posting says so
    (finding,) = posted["fy24"]["findings"]
    assert finding["code"] == "ICD10_EDITION_EARLIER" and "FY2025" in finding["message"]
    assert "2024-09-30" not in finding["message"]


async def test_charge_before_its_encounter_is_parked_then_posted(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.charge(sei, "early-1"))

    async def parked() -> bool:
        return await count(platform, "charges", "SELECT count(*) FROM parked WHERE park_key LIKE $1", f"%{sei}") == 1

    await eventually(parked, what="the early charge to be parked")
    assert not await events_for(platform, sei)
    await publish(platform, intake.encounter(sei))
    got = await wait_events(platform, sei, lambda names: "ChargePosted" in names, "the parked charge to post")
    assert [n for n, _ in got] == ["ChargePosted"]


async def test_correction_and_void_reverse_and_rebill_with_higher_revisions(
    platform: Settings, charges: Runtime
) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "k1"))
    await publish(platform, intake.charge(sei, "k2", procedure_code="36415", modifiers=[], unit_price="12.00",
                                          amount="12.00", diagnosis_pointers=[1]))
    await publish(platform, intake.closed(sei, "k1", "k2"))
    await wait_events(platform, sei, lambda n: "EncounterReadyToBill" in n, "first release")
    await publish(platform, intake.correction(sei, "k1c", "k1", procedure_code="99214", unit_price="210.00",
                                              amount="210.00"))
    await publish(platform, intake.void(sei, "k2v", "k2"))
    got = await wait_events(platform, sei, lambda n: n.count("EncounterReadyToBill") == 3, "two re-releases")
    names = [n for n, _ in got]
    assert names == ["ChargePosted", "ChargePosted", "EncounterReadyToBill", "ChargeReversed", "ChargePosted",
                     "EncounterReadyToBill", "ChargeReversed", "EncounterReadyToBill"]
    first, second = (p for n, p in got if n == "ChargePosted" and p["replaces_charge_id"] is None)
    replacement = next(p for n, p in got if n == "ChargePosted" and p["replaces_charge_id"])
    reversed_ = [p for n, p in got if n == "ChargeReversed"]
    assert replacement["replaces_charge_id"] == first["charge_id"]
    assert reversed_[0] | {"reversal_id": None, "reversed_at": None} == {
        "encounter_id": first["encounter_id"], "charge_id": first["charge_id"], "reversal_id": None,
        "reason": "corrected", "idempotency_key": f"{intake.SYSTEM}:k1c",
        "replacement_charge_id": replacement["charge_id"], "amount": "150.00", "reversed_at": None,
    }
    assert reversed_[1]["reason"] == "voided" and reversed_[1]["charge_id"] == second["charge_id"]
    revisions = [(p["revision"], p["charge_ids"]) for n, p in got if n == "EncounterReadyToBill"]
    assert revisions == [
        (1, [first["charge_id"], second["charge_id"]]),
        (2, [second["charge_id"], replacement["charge_id"]]),
        (3, [replacement["charge_id"]]),
    ]
    # Append-only ledger: 3 postings, 2 reversals, and it sums to what is billable now.
    encounter_id = first["encounter_id"]
    entries = "SELECT count(*) FROM ledger_entries l JOIN charges c USING (charge_id) WHERE c.encounter_id = $1"
    assert await count(platform, "charges", entries, encounter_id) == 5
    total = (
        "SELECT sum(l.amount) * 100 FROM ledger_entries l JOIN charges c USING (charge_id) WHERE c.encounter_id = $1"
    )
    assert Decimal(await count(platform, "charges", total, encounter_id)) == Decimal(21000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
mutations = st.dictionaries(st.sampled_from([*sorted(intake.CHARGE_EXAMPLE), "source_charge_id", "junk"]),
                            json_values, min_size=1, max_size=3)


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(mutations, min_size=8, max_size=8), raw=st.lists(st.binary(max_size=40), min_size=2, max_size=2))
async def test_fuzzed_records_are_each_applied_or_dead_lettered_never_lost(
    platform: Settings, charges: Runtime, batch: list[dict[str, Any]], raw: list[bytes]
) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    sent = []
    valid = intake.charge(sei, "fz-0")
    for n, mutation in enumerate(batch):
        body = json.loads(valid.model_dump_json()) | {"source_charge_id": f"fz-{n}",
                                                      "idempotency_key": f"{intake.SYSTEM}:fz-{n}"} | mutation
        sent.append(await publish(platform, valid, raw_value=json.dumps(body).encode()))
    for blob in raw:
        sent.append(await publish(platform, valid, raw_value=blob))
    marker = await publish(platform, intake.charge(sei, "fz-marker"))

    async def marker_done() -> bool:
        return await count(platform, "charges", "SELECT count(*) FROM inbox WHERE event_id = $1", marker.id) == 1

    await eventually(marker_done, what="the marker after the fuzzed records")
    dead = {dict(h)["ce_id"].decode() for _, _, h in await read_topic(platform, "rcm.charges.dlq.v1")}
    for envelope in sent:
        inboxed = await count(platform, "charges", "SELECT count(*) FROM inbox WHERE event_id = $1", envelope.id)
        assert inboxed + (str(envelope.id) in dead) == 1, "each record is applied or dead-lettered, exactly one"
    # Nothing half-posted: every charge row has exactly its one posting entry, every key one outcome.
    unbalanced = ("SELECT count(*) FROM charges c WHERE (SELECT count(*) FROM ledger_entries l"
                  " WHERE l.charge_id = c.charge_id AND l.kind = 'post') <> 1")
    assert await count(platform, "charges", unbalanced) == 0


async def test_charges_show_prints_an_encounters_history_by_any_id(
    platform: Settings, charges: Runtime, cli_env: None
) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "s1"))
    await publish(platform, intake.void(sei, "s1v", "s1"))
    got = await wait_events(platform, sei, lambda n: "ChargeReversed" in n, "the void")
    charge_id = next(p["charge_id"] for n, p in got if n == "ChargePosted")
    for ident in (sei, charge_id, f"{intake.SYSTEM}:s1"):
        result = await asyncio.to_thread(CliRunner().invoke, rcm, ["charges", "show", ident, "--json"])
        assert result.exit_code == 0, result.output
        history = json.loads(result.output)
        assert [(e["kind"], e["amount"]) for e in history["ledger"]] == [("post", "150.00"), ("reverse", "-150.00")]
        assert history["ledger_total"] == "0.00"
        assert [e["event_type"].split(".")[2] for e in history["events"]] == ["ChargePosted", "ChargeReversed"]
    missing = await asyncio.to_thread(CliRunner().invoke, rcm, ["charges", "show", "no-such-id"])
    assert missing.exit_code == 1


async def test_chargemaster_load_is_all_or_nothing_with_line_numbers(
    platform: Settings, charges: Runtime, cli_env: None, tmp_path: Path
) -> None:
    good = await asyncio.to_thread(CliRunner().invoke, rcm, ["chargemaster", "load", "deploy/local/chargemaster.csv",
                                                           "--json"])
    assert good.exit_code == 0, good.output
    loaded = json.loads(good.output)["loaded"]
    assert loaded == await count(platform, "charges", "SELECT count(*) FROM chargemaster") > 0
    bad = tmp_path / "cdm.csv"
    bad.write_text("cdm_code,procedure_code,modifiers,revenue_code,description,unit_price,effective_date\n"
                   "CDM-1,99213,,0510,Visit,150.00,2026-01-01\n"
                   "CDM-2,9921,,0510,Visit,abc,2026-01-01\n")
    result = await asyncio.to_thread(CliRunner().invoke, rcm, ["chargemaster", "load", str(bad)])
    assert result.exit_code == 1
    assert "line 3" in result.output and "nothing loaded" in result.output
    assert await count(platform, "charges", "SELECT count(*) FROM chargemaster") == loaded  # untouched
    # A charge given only a CDM code is priced and coded from the chargemaster.
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "cdm-1", procedure_code=None, modifiers=[], unit_price=None,
                                          amount=None, chargemaster_code="CDM-510-0213"))
    got = await wait_events(platform, sei, lambda n: "ChargePosted" in n or "ChargeRejected" in n, "the CDM charge")
    posted = got[0][1]
    assert (got[0][0], posted["procedure_code"], posted["amount"], posted["revenue_code"]) == (
        "ChargePosted", "99213", "150.00", "0510")
    # A facility item a revenue code alone describes, on the institutional claim of a stay.
    stay = intake.new_encounter_id()
    await publish(platform, intake.inpatient_encounter(stay, bills="institutional"))
    await publish(platform, intake.charge(stay, "cdm-room", procedure_code=None, modifiers=[], unit_price=None,
                                          amount=None, units="3", chargemaster_code="CDM-120-0001",
                                          diagnosis_pointers=[1]))
    got = await wait_events(platform, stay, lambda n: "ChargePosted" in n or "ChargeRejected" in n, "the room")
    posted = got[0][1]
    assert (got[0][0], posted["procedure_code"], posted["revenue_code"], posted["claim_type"], posted["amount"]) == (
        "ChargePosted", None, "0120", "institutional", "5550.00")
