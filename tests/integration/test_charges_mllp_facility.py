"""A hospital's feed over MLLP against real Kafka and Postgres: ADT^A01 admit, DFT^P03 facility
charges, ADT^A03 discharge -> institutional lines posted with their revenue codes and the stay
released to billing with its institutional data."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import hl7.mllp
import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.integration.test_charges_kafka import wait_events
from tests.integration.test_charges_mllp import errs, free_port, msa, send, serving_mllp

pytestmark = pytest.mark.integration

INTERFACES = """
timezone: America/Los_Angeles
billing_provider:
  npi: "1234567893"
  tax_id: "521234567"
  taxonomy: 207Q00000X
  name: Bayview Hospitalist Group
  address: {line1: 500 Harbor Way, city: Oakland, state: CA, postal_code: "94607-1234"}
facility:
  name: Bayview Community Hospital
  npi: "1578901237"
  address: {line1: 500 Harbor Way, city: Oakland, state: CA, postal_code: "94607-1234"}
interfaces:
  - sending_application: BAYVIEW
    source_system: bayview
    bills: both
    institutional_billing_provider:
      npi: "1578901237"
      tax_id: "941234567"
      taxonomy: 282N00000X
      name: Bayview Community Hospital
      address: {line1: 500 Harbor Way, city: Oakland, state: CA, postal_code: "94607-1234"}
"""


def seg(name: str, fields: dict[int, str]) -> str:
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, last + 1))])


def message(message_type: str, control_id: str, visit: str, *segments: str, discharged: bool = False) -> str:
    pv1 = {1: "1", 2: "I", 4: "E", 7: "1999999984^Okafor^Samuel", 14: "1", 19: visit, 44: "202603021415"}
    if discharged:
        pv1 |= {36: "01", 45: "202603051030"}
    return "\r".join([
        "MSH|^~\\&|BAYVIEW|BCH|REVCYCLE|CHARGES|20260305120000||" + f"{message_type}|{control_id}|P|2.5.1",
        "EVN||20260305120000",
        seg("PID", {1: "1", 3: "MRN90417^^^BCH^MR", 5: "Haddad^Omar", 7: "19570304", 8: "M",
                    11: "77 Broadway^^Oakland^CA^94607^USA^H", 18: "HAR500900417"}),
        seg("PV1", pv1),
        *segments,
        seg("IN1", {1: "1", 3: "01182", 4: "Medicare", 15: "MB", 17: "SEL", 36: "1EG4TE5MK73"}),
    ]) + "\r"


ADMITTING = seg("DG1", {1: "1", 3: "R06.02", 6: "A"})
CODED = [
    ADMITTING,
    seg("DG1", {1: "2", 3: "J18.9", 6: "F", 15: "1", 26: "Y"}),
    seg("DG1", {1: "3", 3: "E11.9", 6: "F", 15: "2", 26: "Y"}),
]
PR1 = seg("PR1", {1: "1", 3: "5A1955Z^Respiratory ventilation^I10P", 5: "20260303", 14: "1"})
# An interim feed: the A01 gives a period of the admission day alone, and the pharmacy line is
# dated two days later. The DFT's encounter update widens the period to that day, but it travels
# on another topic than the line: the charges service may judge the line first, and then it
# waits for the update instead of being refused (docs/integration.md).
FT1S = [
    seg("FT1", {1: "1", 2: "{v}-1", 4: "20260302", 6: "CG", 7: "CDM-120-0001", 10: "3"}),
    seg("FT1", {1: "2", 2: "{v}-2", 4: "20260304", 6: "CG", 7: "CDM-250-0001", 8: "Pharmacy", 10: "1",
                11: "312.40"}),
    # The hospitalist's admission visit: a procedure code, no facility item: the professional claim.
    seg("FT1", {1: "3", 2: "{v}-3", 4: "20260302", 6: "CG", 10: "1", 11: "380.00", 19: "J18.9", 25: "99223"}),
]


@pytest.fixture(scope="module")
def mllp_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    defaults = Path(tmp_path_factory.mktemp("hl7")) / "hl7.yaml"
    defaults.write_text(INTERFACES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CHARGES_MLLP_PORT", str(port))
        mp.setenv("RCM_CHARGES_HL7_DEFAULTS", str(defaults))
        yield port


@pytest.fixture(scope="module")
async def charges(platform: Settings, mllp_port: int) -> AsyncIterator[Runtime]:
    async with serving_mllp(platform, mllp_port) as runtime:
        yield runtime


@pytest.fixture
async def conn(charges: Runtime, mllp_port: int, cli_env: None) -> AsyncIterator[tuple[Any, Any]]:
    loaded = await asyncio.to_thread(CliRunner().invoke, rcm, ["chargemaster", "load", "deploy/local/chargemaster.csv"])
    assert loaded.exit_code == 0, loaded.output
    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", mllp_port)
    yield reader, writer
    writer.close()


async def test_admit_charges_discharge_bill_the_stay(platform: Settings, conn: tuple[Any, Any]) -> None:
    visit = f"V-{uuid.uuid4().hex[:12]}"
    ft1s = [f.replace("{v}", visit) for f in FT1S]
    assert msa(await send(conn, message("ADT^A01^ADT_A01", "A01-1", visit, ADMITTING))) == ("AA", "A01-1")
    assert msa(await send(conn, message("DFT^P03^DFT_P03", "P03-1", visit, *CODED, PR1, *ft1s))) == ("AA", "P03-1")
    ack = await send(conn, message("ADT^A03^ADT_A03", "A03-1", visit, *CODED, PR1, discharged=True))
    assert (msa(ack), errs(ack)) == (("AA", "A03-1"), [])

    # The A03 lists no charges: when the encounters topic is applied ahead of the charges topic,
    # the stay is closed before its lines post, and each line re-bills it (a revision per line).
    got = await wait_events(platform, visit, lambda names: names.count("ChargePosted") == 3
                            and names[-1] == "EncounterReadyToBill", "the stay released with its three lines")
    # A line that waited for the update posts after the lines that did not: by the sender's ids.
    posted = sorted((p for n, p in got if n == "ChargePosted"), key=lambda p: str(p["source_charge_id"]))
    assert [(p["source_charge_id"], p["claim_type"], p["procedure_code"], p["revenue_code"], p["service_date"],
             p["units"], p["amount"]) for p in posted] == [
        (f"{visit}-1", "institutional", None, "0120", "2026-03-02", "3", "5550.00"),
        (f"{visit}-2", "institutional", None, "0250", "2026-03-04", "1", "312.40"),
        (f"{visit}-3", "professional", "99223", None, "2026-03-02", "1", "380.00"),
    ]
    assert "ChargeRejected" not in [n for n, _ in got]
    ready = got[-1][1]
    assert ready["bills"] == "both"
    hospital = {"npi": "1578901237", "tax_id": "941234567", "taxonomy": "282N00000X",
                "name": "Bayview Community Hospital", "clia_number": None,
                "address": {"line1": "500 Harbor Way", "line2": None, "city": "Oakland", "state": "CA",
                            "postal_code": "946071234"}}
    assert ready["institutional"] == {
        "type_of_bill": "11",
        "billing_provider": hospital,
        "statement_from": "2026-03-02",
        "statement_through": "2026-03-05",
        "admission_hour": 14,
        "admission_type": "1",
        "admission_source": "1",
        "discharge_hour": 10,
        "patient_status": "01",
        "attending_provider": {"npi": "1999999984", "name": {"family": "Okafor", "given": "Samuel", "middle": None,
                                                             "suffix": None}, "taxonomy": None},
        "operating_provider": None,
        "other_operating_provider": None,
        "principal_diagnosis": {"code": "J189", "present_on_admission": "Y"},
        "admitting_diagnosis": "R0602",
        "reason_for_visit": [],
        "other_diagnoses": [{"code": "E119", "present_on_admission": "Y"}],
        "principal_procedure": {"code": "5A1955Z", "performed_on": "2026-03-03"},
        "other_procedures": [],
        "condition_codes": [],
        "occurrence_codes": [],
        "occurrence_spans": [],
        "value_codes": [],
    }
    assert sorted(ready["charge_ids"]) == sorted(p["charge_id"] for p in posted)
