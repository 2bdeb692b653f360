"""Patient estimates against the 835s on the real stack (the remits service, Kafka, Postgres): the
PatientEstimated of an encounter is kept (the latest one), the EligibilityChecked beside it on
rcm.eligibility.v1 is skipped (not dead-lettered), and once the payer's 835 posted the claim,
`rcm report estimates` and the account card show the estimate, the posted patient responsibility
and the difference."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from edi.x835 import write_835
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support.kafka_io import consumed, publish, read_topic
from tests.support.remits_io import params, sql, submitted, wait_sql
from tests.support.testsvc import example
from tests.unit.remits.builders import adj, claim, line, remittance

pytestmark = pytest.mark.integration
ACCOUNT = "PA-EST-1"
D = Decimal


def estimated(key: str, estimate_id: str, deductible: str, coinsurance: str, copay: str, total: str, *,
              at: str = "2026-03-03T09:00:01Z") -> Any:
    """The claims service's estimate for enc_`key` (Aetna, rank 1), parts adding up to `total`."""
    return example("rcm.eligibility.PatientEstimated.v1", encounter_id=f"enc_{key}", estimate_id=estimate_id,
                   check_id=f"elg_{key}", patient_account_id=ACCOUNT, total_charge="185.00",
                   expected_allowed="114.50", deductible=deductible, coinsurance=coinsurance, copay=copay,
                   patient_estimate=total, estimated_at=at)


def answered(key: str, sub: str, deductible: str, coinsurance: str, copay: str) -> Any:
    """Aetna's 835 claim payment of `sub` (99213 150.00 allowed 98.00, 87880 35.00 allowed 16.50) with
    that PR-1 / PR-2 / PR-3 on the office visit."""
    pr = [adj("PR", code, amount) for code, amount in (("1", deductible), ("2", coinsurance), ("3", copay))
          if D(amount) != 0]
    visit_paid = D("98.00") - sum((a.amount for a in pr), D("0.00"))
    return claim(sub, "1", "185.00", str(visit_paid + D("16.50")),
                 line("150.00", str(visit_paid), adj("CO", "45", "52.00"), *pr, lcn=f"{sub}-1"),
                 line("35.00", "16.50", adj("CO", "45", "18.50"), lcn=f"{sub}-2"), pccn=f"PCN{key}")


async def post_835(platform: Settings, n: int, *claims: Any) -> None:
    text = write_835([remittance(f"EFTEST{n}", *claims)], params(700 + n))
    await FolderClearinghouse(platform.clearinghouse).write("inbound/remits", f"estimates-{n}.835", text.encode())
    await wait_sql(platform, f"SELECT count(*) FROM remittances WHERE trace_number = 'EFTEST{n}'", 1, f"835 {n}")


def rcm_json(*args: str) -> Any:
    result = CliRunner().invoke(rcm, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


async def test_the_estimate_beside_the_835s_patient_responsibility(platform: Settings, remits: Runtime,
                                                                   cli_env: None) -> None:
    for sub, key in (("SEST1", "E1"), ("SEST2", "E2"), ("SEST3", "E3")):
        await publish(platform, submitted(sub, key, ACCOUNT))
    await wait_sql(platform, "SELECT count(*) FROM submissions", 3, "the ClaimSubmitted projection")
    # E1 told 52.00 (deductible 40.00, co-insurance 12.00); E2 told 25.00 (the copay) but the payer
    # applies its deductible too; E3's payer has not answered. E1's older estimate arrives late.
    await publish(platform, estimated("E1", "est_E1b", "40.00", "12.00", "0.00", "52.00"))
    await publish(platform, estimated("E2", "est_E2", "0.00", "0.00", "25.00", "25.00"))
    await publish(platform, estimated("E3", "est_E3", "0.00", "0.00", "25.00", "25.00"))
    await publish(platform, estimated("E1", "est_E1a", "0.00", "0.00", "25.00", "25.00", at="2026-03-02T09:00:00Z"))
    await publish(platform, example("rcm.eligibility.EligibilityChecked.v1", encounter_id="enc_E1"))
    await consumed(platform, "remits", "rcm.eligibility.v1")
    assert await read_topic(platform, "rcm.remits.dlq.v1") == []
    kept = await sql(platform, "SELECT encounter_id, estimate_id FROM estimates ORDER BY encounter_id")
    assert [tuple(r) for r in kept] == [("enc_E1", "est_E1b"), ("enc_E2", "est_E2"), ("enc_E3", "est_E3")]

    waiting = await asyncio.to_thread(rcm_json, "report", "estimates")
    assert [w["encounter_id"] for w in waiting["waiting"]] == ["enc_E1", "enc_E2", "enc_E3"]
    assert waiting["adjudicated"] == []

    await post_835(platform, 1, answered("E1", "SEST1", "40.00", "12.00", "0.00"),
                   answered("E2", "SEST2", "30.50", "0.00", "25.00"))
    report = await asyncio.to_thread(rcm_json, "report", "estimates")
    assert [(r["encounter_id"], r["patient_estimate"], r["posted_patient_responsibility"], r["difference"])
            for r in report["adjudicated"]] == [("enc_E1", "52.00", "52.00", "0.00"),
                                                 ("enc_E2", "25.00", "55.50", "30.50")]
    assert report["adjudicated"][0] == {
        "encounter_id": "enc_E1", "patient_account_id": ACCOUNT, "state": "adjudicated", "estimate_id": "est_E1b",
        "coverage_rank": 1, "payer_id": "60054", "service_date": "2026-03-02", "patient_estimate": "52.00",
        "deductible": "40.00", "coinsurance": "12.00", "copay": "0.00", "complete": True,
        "estimated_at": "2026-03-03T09:00:01+00:00", "posted_patient_responsibility": "52.00",
        "difference": "0.00"}
    assert [w["encounter_id"] for w in report["waiting"]] == ["enc_E3"]
    assert report["totals"] == {"adjudicated": 2, "waiting": 1, "exact": 1, "estimated": "77.00",
                                "posted": "107.50", "difference": "30.50"}

    card = await asyncio.to_thread(rcm_json, "report", "account", "enc_E2")
    assert card["patient_responsibility"] == "55.50"
    assert (card["estimate"]["patient_estimate"], card["estimate"]["difference"]) == ("25.00", "30.50")
    text = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "account", "enc_E3"])
    assert text.exit_code == 0, text.output
    assert "patient estimate (payer 60054, rank 1)" in text.output and "waiting for the payer" in text.output
    table = await asyncio.to_thread(CliRunner().invoke, rcm, ["report", "estimates"])
    assert table.exit_code == 0, table.output
    assert "30.50" in table.output and "1 exact" in table.output and "enc_E3" in table.output
