"""The claims service bills a hospital stay through real Kafka and Postgres: an encounter that
bills both claims becomes an 837P (the hospitalist's visit) and an 837I (the facility's charges,
room and board summed to days), each in its own interchange; the 999s and the 277CA apply to the
institutional claim as to the professional one; a payment sends the secondary 837I with its COB
by revenue code; a replacement and a void carry frequency 7/8 and REF*F8."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from edi import x999
from edi.envelope import read_interchange
from edi.validate import pyx12_validate, validate
from edi.x837i import read_837i
from sandbox.acknowledgments import acknowledge_interchange
from schemas import examples as ex
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.integration.test_claims_flow import (
    TODAY,
    ack_params,
    cli,
    outbound_text,
    wait_for,
    write_277ca,
    write_999,
    write_ack,
)
from tests.support.kafka_io import count, eventually, publish
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
ADMIT = (TODAY - timedelta(days=6)).date()
DAY2, DAY3, DISCHARGE = (ADMIT + timedelta(days=n) for n in (1, 2, 3))


def _charge(enc: str, account: str, n: str, **fields: Any) -> Any:
    base = json.loads(example("rcm.charges.ChargePosted.v1").model_dump_json())
    return example("rcm.charges.ChargePosted.v1", **{
        **base, "encounter_id": enc, "patient_account_id": account, "charge_id": f"chg_{n}",
        "idempotency_key": f"t:{n}", "source_charge_id": n, "diagnosis_pointers": [1], "diagnosis_codes": ["J189"],
        "place_of_service": "21", "modifiers": [], "service_end_date": None, **fields})


def _facility(enc: str, account: str, n: str, revenue_code: str, price: str, units: int = 1,
              code: str | None = None, **fields: Any) -> Any:
    return _charge(enc, account, n, claim_type="institutional", procedure_code=code, revenue_code=revenue_code,
                   units=str(units), unit_price=price, amount=str(Decimal(price) * units), chargemaster_code=None,
                   description=None, **fields)


async def post_stay(platform: Settings, coverages: int | list[dict[str, Any]] = 1) -> tuple[str, dict[str, str]]:
    """A three-night stay billing both claims, to Aetna (then Medi-Cal with `coverages` 2, or the
    coverages given): the
    hospitalist's admission visit (837P) and the facility's room and board (two postings, 2 + 1
    days), two labs and a pharmacy line (837I). Returns the encounter id and the charge ids by role."""
    enc, account, tag = f"enc_{uuid.uuid4().hex[:12]}", f"PA-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
    ids = {role: f"{tag}{role}" for role in ("visit", "room1", "room2", "cmp", "cbc", "rx")}
    charges = [
        _charge(enc, account, ids["visit"], procedure_code="99223", revenue_code=None, units="1", unit_price="310.00",
                amount="310.00", service_date=ADMIT.isoformat(), chargemaster_code=None, description=None),
        _facility(enc, account, ids["room1"], "0120", "1850.00", 2, service_date=ADMIT.isoformat(),
                  service_end_date=DAY2.isoformat()),
        _facility(enc, account, ids["cmp"], "0300", "48.00", code="80053", service_date=ADMIT.isoformat()),
        _facility(enc, account, ids["cbc"], "0300", "28.00", code="85025", service_date=DAY2.isoformat()),
        _facility(enc, account, ids["rx"], "0250", "2.50", 5, service_date=DAY2.isoformat()),
        _facility(enc, account, ids["room2"], "0120", "1850.00", service_date=DAY3.isoformat()),
    ]
    for c in charges:
        await publish(platform, c)
    institutional = {**ex.INSTITUTIONAL, "statement_from": ADMIT.isoformat(),
                     "statement_through": DISCHARGE.isoformat(),
                     "principal_procedure": {"code": "0BJ08ZZ", "performed_on": DAY2.isoformat()},
                     "occurrence_codes": []}
    covered = ex.COVERAGES[:coverages] if isinstance(coverages, int) else coverages
    ready = example("rcm.charges.EncounterReadyToBill.v1", **{
        **ex.INPATIENT_ENCOUNTER, "encounter_id": enc, "patient_account_id": account, "revision": 1,
        "charge_ids": [f"chg_{i}" for i in ids.values()], "coverages": covered,
        "admission_date": ADMIT.isoformat(), "discharge_date": DISCHARGE.isoformat(), "institutional": institutional})
    await publish(platform, ready)
    return enc, {role: f"chg_{i}" for role, i in ids.items()}


def _segments(text: str) -> list[str]:
    return text.split("~")


async def submitted_pair(platform: Settings, enc: str) -> tuple[dict[str, Any], dict[str, Any]]:
    subs = await wait_for(platform, enc, "ClaimSubmitted", 2)
    [prof] = [s for s in subs if s["claim_type"] == "professional"]
    [inst] = [s for s in subs if s["claim_type"] == "institutional"]
    return prof, inst


async def test_a_stay_billing_both_goes_out_as_an_837p_and_an_837i_then_is_accepted(
    platform: Settings, claims: Runtime, payers: None
) -> None:
    enc, ids = await post_stay(platform)
    created = await wait_for(platform, enc, "ClaimCreated", 2)
    assert sorted((c["claim_type"], tuple(c["charge_ids"]), c["total_charge"]) for c in created) == [
        ("institutional", (ids["room1"], ids["room2"], ids["rx"], ids["cmp"], ids["cbc"]), "5638.50"),
        ("professional", (ids["visit"],), "310.00"),
    ]
    prof, inst = await submitted_pair(platform, enc)
    assert prof["claim_family_id"] != inst["claim_family_id"]
    assert prof["interchange"]["file_name"] != inst["interchange"]["file_name"]
    assert (prof["type_of_bill"], inst["type_of_bill"], inst["total_charge"], inst["diagnoses"]) == (
        None, "11", "5638.50", ["J189", "E119", "I10"])
    sid = inst["submission_id"]
    assert [(line["line_number"], line["line_control_number"], line["charge_id"], line["summed_charge_ids"],
             line["procedure_code"], line["revenue_code"], line["service_date"], line["service_end_date"],
             line["units"], line["charge"], line["diagnosis_pointers"], line["expected_allowed"])
            for line in inst["lines"]] == [
        (1, f"{sid}-1", ids["room1"], [ids["room2"]], None, "0120", ADMIT.isoformat(), DAY3.isoformat(), "3",
         "5550.00", [], None),
        (2, f"{sid}-2", ids["rx"], [], None, "0250", DAY2.isoformat(), None, "5", "12.50", [], None),
        (3, f"{sid}-3", ids["cmp"], [ids["cbc"]], None, "0300", ADMIT.isoformat(), DAY2.isoformat(), "2",
         "76.00", [], None),
    ]
    ptext, itext = await outbound_text(platform, prof), await outbound_text(platform, inst)
    assert "*005010X222A1~" in ptext and f"CLM*{prof['submission_id']}*310***21:B:1*" in ptext
    assert pyx12_validate(itext) == [] and validate(itext) == []
    segments = _segments(itext)
    assert f"GS*HC*REVCYCLE*RCMCLEARINGHSE*{TODAY:%Y%m%d}*{TODAY:%H%M}*{inst['interchange']['group_control_number']}"\
        "*X*005010X223A2" in segments
    assert f"CLM*{sid}*5638.5***11:A:1**A*Y*Y" in segments
    assert [s for s in segments if s.startswith(("SV2", "DTP*472", "REF*6R"))] == [
        "SV2*0120**5550*DA*3", f"DTP*472*RD8*{ADMIT:%Y%m%d}-{DAY3:%Y%m%d}", f"REF*6R*{sid}-1",
        "SV2*0250**12.5*UN*5", f"DTP*472*D8*{DAY2:%Y%m%d}", f"REF*6R*{sid}-2",
        "SV2*0300**76*UN*2", f"DTP*472*RD8*{ADMIT:%Y%m%d}-{DAY2:%Y%m%d}", f"REF*6R*{sid}-3",
    ]
    assert f"DTP*434*RD8*{ADMIT:%Y%m%d}-{DISCHARGE:%Y%m%d}" in segments and "CL1*1*1*01" in segments
    assert [c.submission_id for c in read_837i(itext).claims] == [sid]
    # The clearinghouse accepts both interchanges (the 837I's 999 names X223A2), the payer the facility claim.
    write_999(platform, ptext)
    interchange = read_interchange(itext)
    ack = x999.write_999(acknowledge_interchange(interchange, {}), ack_params(int(interchange.control_number)))
    assert f"AK1*HC*{inst['interchange']['group_control_number']}*005010X223A2~AK2*837*0001*005010X223A2~" in ack
    write_ack(platform, f"999-{uuid.uuid4().hex[:8]}.x12", ack)
    history = "SELECT count(*) FROM claim_history WHERE claim_id = $1 AND trigger = '999_accepted'"

    async def both_noted() -> bool:
        return [await count(platform, "claims", history, s["claim_id"]) for s in (prof, inst)] == [1, 1]

    await eventually(both_noted, what="each claim's 999 acceptance matched by its own interchange")
    write_277ca(platform, inst, accept=True, pccn="PCN-UB-1")
    accepted = await wait_for(platform, enc, "ClaimAccepted")
    [facility] = [a for a in accepted if a["claim_id"] == inst["claim_id"]]
    assert (facility["source"], facility["payer_claim_control_number"]) == ("277CA", "PCN-UB-1")


def facility_payment(inst: dict[str, Any]) -> Any:
    """Aetna's 835 answer to the facility claim: room and board paid per diem (CO-45 and a PR-1
    deductible), pharmacy in full, the labs reduced (CO-45)."""
    sid = inst["submission_id"]

    def line(n: int, charge: str, paid: str, allowed: str, *adjustments: tuple[str, str, str]) -> dict[str, Any]:
        return {"line_control_number": f"{sid}-{n}", "procedure_code": "99999", "charge": charge, "paid": paid,
                "allowed": allowed, "units_paid": None, "adjustments": [
                    {"group": g, "reason_code": r, "amount": a, "quantity": None} for g, r, a in adjustments]}

    return example(
        "rcm.remittances.ClaimPaymentPosted.v1", claim_id=inst["claim_id"], claim_family_id=inst["claim_family_id"],
        encounter_id=inst["encounter_id"], submission_id=sid, remittance_id=f"rem_{uuid.uuid4().hex[:10]}",
        payer_claim_control_number="UB2026000001", adjudication_date=TODAY.date().isoformat(),
        total_charge="5638.50", total_paid="3964.50", patient_responsibility="200.00",
        patient_share={"deductible": "200.00", "coinsurance": "0.00", "copay": "0.00", "other": "0.00"},
        lines=[line(1, "5550.00", "3900.00", "4100.00", ("CO", "45", "1450.00"), ("PR", "1", "200.00")),
               line(2, "12.50", "12.50", "12.50"),
               line(3, "76.00", "52.00", "52.00", ("CO", "45", "24.00"))])


async def test_the_paid_facility_claim_bills_the_secondary_with_cob_then_is_replaced_and_voided(
    platform: Settings, claims: Runtime, payers: None, cli_env: None
) -> None:
    enc, _ = await post_stay(platform, coverages=2)
    _, inst = await submitted_pair(platform, enc)
    await publish(platform, facility_payment(inst))
    subs = await wait_for(platform, enc, "ClaimSubmitted", 3)
    [secondary] = [s for s in subs if s["coverage_rank"] == 2]
    assert (secondary["claim_type"], secondary["type_of_bill"], secondary["claim_family_id"]) == (
        "institutional", "11", inst["claim_family_id"])
    assert (secondary["payer"]["payer_id"], secondary["total_charge"]) == ("610442", "5638.50")
    text = await outbound_text(platform, secondary)
    assert pyx12_validate(text) == [] and validate(text) == []
    segments = _segments(text)
    assert f"CLM*{secondary['submission_id']}*5638.5***11:A:1**A*Y*Y" in segments
    assert "SBR*S*18*******MC" in segments and "SBR*P*18*GRP-0042******CI" in segments
    assert "AMT*D*3964.5" in segments
    cob = [s for s in segments if s.startswith(("SVD", "CAS", "DTP*573", "AMT*EAF"))]
    assert cob == [
        "SVD*60054*3900**0120*3", "CAS*CO*45*1450", "CAS*PR*1*200", f"DTP*573*D8*{TODAY:%Y%m%d}", "AMT*EAF*200",
        "SVD*60054*12.5**0250*5", f"DTP*573*D8*{TODAY:%Y%m%d}", "AMT*EAF*0",
        "SVD*60054*52**0300*2", "CAS*CO*45*24", f"DTP*573*D8*{TODAY:%Y%m%d}", "AMT*EAF*0",
    ]
    # Replace the paid facility claim (frequency 7), then void the replacement once paid (8).
    result = await cli(["claims", "correct", inst["claim_id"], "--reason", "late charge added"])
    assert result.exit_code == 0, result.output
    subs = await wait_for(platform, enc, "ClaimSubmitted", 4)
    [replacement] = [s for s in subs if s["frequency"] == "7"]
    assert (replacement["claim_type"], replacement["type_of_bill"], replacement["payer_claim_control_number"]) == (
        "institutional", "11", "UB2026000001")
    rtext = await outbound_text(platform, replacement)
    assert pyx12_validate(rtext) == [] and validate(rtext) == []
    assert f"CLM*{replacement['submission_id']}*5638.5***11:A:7**A*Y*Y" in _segments(rtext)
    assert "REF*F8*UB2026000001" in _segments(rtext)
    paid = json.loads(facility_payment(replacement).model_dump_json())
    await publish(platform, example("rcm.remittances.ClaimPaymentPosted.v1",
                                    **{**paid, "payer_claim_control_number": "UB2026000002"}))
    await wait_for(platform, enc, "ClaimAdjudicated", 2)
    result = await cli(["claims", "void", replacement["claim_id"], "--reason", "wrong patient"])
    assert result.exit_code == 0, result.output
    subs = await wait_for(platform, enc, "ClaimSubmitted", 5)
    [void] = [s for s in subs if s["frequency"] == "8"]
    vtext = await outbound_text(platform, void)
    assert pyx12_validate(vtext) == [] and validate(vtext) == []
    assert f"CLM*{void['submission_id']}*5638.5***11:A:8**A*Y*Y" in _segments(vtext)
    assert "REF*F8*UB2026000002" in _segments(vtext)
