"""The billing cases a billing manager checks, each pushed through the real stack (four services,
the sandbox clearinghouse and payers, Kafka, Postgres) and checked to the cent.

Every visit has its own patient, guarantor and member ids, so each scenario's numbers are a
function of the payers' contracts only (deploy/local/payers.yaml and its fee schedules; random
interest and recoupments are switched off here so nothing depends on the seed or the date). The
expected amounts are worked out by hand in each test from those contracts:

* Aetna: 20% coinsurance after a $500 deductible, $25 office-visit copay; 72100 needs prior auth.
* Blue Shield: pays 8% below contract; $250 deductible, $20 office-visit copay, 10% coinsurance.
* Medicare: 20% after the $257 Part B deductible, 2% sequestration (CO-253), crosses over to Medi-Cal.
* Medi-Cal: pays its fee schedule with no patient share; as secondary it pays the patient's share
  up to its own allowed amount less what the primary paid.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from schemas import examples as ex
from schemas.registry import validate
from services.chassis.settings import Settings
from tests.e2e.support import Line, Rcm, Timeline, Visit, adjustments, coverage, money
from tests.support import intake
from tests.support.kafka_io import publish

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
D = money

ER = ("R0789",)
CLEAN = Visit("clean", (coverage(1, "610442", "90000001A"),), (Line("99213", "150.00"), Line("36415", "12.00")),
              diagnoses=("J020",))
HELD = Visit("held", (coverage(1, "610442", "90000002B"),), (Line("99213", "150.00"), Line("20610", "210.00")),
             diagnoses=("M1711",))
REJECTED = Visit("rejected", (coverage(1, "610442", "91234567"),), (Line("99214", "210.00"),))  # no check letter
DENIED = Visit("denied", (coverage(1, "60054", "W000000004"),), (Line("72100", "125.00"),), diagnoses=("M5450",))
# The ED physician reads the chest x-ray in the hospital (POS 23), which bills the technical part:
# 71046-26 (POS-COMPONENT), priced as the chargemaster's professional component.
ER_LINES = (Line("99284", "650.00"), Line("71046", "40.00", ("26",)), Line("96372", "45.00"))
# The emergency room the claim names (2310C): FACILITY-REQUIRED holds a POS 23 claim without it.
ER_FACILITY: dict[str, Any] = {"name": "Mission General ER", "npi": "1548154818", "address": {
    "line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA", "postal_code": "941101234"}}
PARTIAL = Visit("partial", (coverage(1, "60054", "W000000005"),), ER_LINES, diagnoses=ER, place_of_service="23",
                facility=ER_FACILITY)
SECONDARY = Visit("secondary", (coverage(1, "60054", "W000000006"), coverage(2, "610442", "90000006F")), ER_LINES,
                  diagnoses=ER, place_of_service="23", facility=ER_FACILITY)
CROSSOVER = Visit("crossover", (coverage(1, "01182", "1EG4TE5MK73"), coverage(2, "610442", "90000007G")),
                  (Line("99284", "650.00"),), diagnoses=ER, place_of_service="23", facility=ER_FACILITY)
CORRECTED = Visit("corrected", (coverage(1, "60054", "W000000008"),), ER_LINES, diagnoses=ER, place_of_service="23",
                  facility=ER_FACILITY)
UNDERPAID = Visit("underpaid", (coverage(1, "94036", "ABC000000010"),), (Line("99213", "150.00"),))
# The hospital's facility claims (837I), dated in days from the visit's first day.
_FACILITY: dict[str, Any] = {k: v for k, v in ex.INSTITUTIONAL.items() if k not in {
    "statement_from", "statement_through", "principal_procedure"}}
# A three-night pneumonia stay billed to Aetna on the facility claim alone: three room-and-board
# days from the chargemaster (1850.00 each), pharmacy and laboratory by revenue code.
STAY = Visit("stay", (coverage(1, "60054", "W000000011"),), (
    Line(None, "1850.00", chargemaster_code="CDM-120-0001", claim_type="institutional"),
    Line(None, "1850.00", chargemaster_code="CDM-120-0001", day=1, claim_type="institutional"),
    Line(None, "1850.00", chargemaster_code="CDM-120-0001", day=2, claim_type="institutional"),
    Line(None, "912.40", revenue_code="0250", day=1, claim_type="institutional"),
    Line(None, "45.00", revenue_code="0300", day=1, claim_type="institutional"),
), diagnoses=("J189", "E119", "I10"), place_of_service="21", bills="institutional",
    institutional=_FACILITY | {"statement_from": 0, "statement_through": 3, "admission_day": 0, "discharge_day": 3})
# An emergency visit billed to Medi-Cal on both claims: the hospital's (ED level 4 and a blood count
# from the chargemaster, type of bill 13) and the ED physician's 99284.
ED = Visit("edvisit", (coverage(1, "610442", "90000012L"),), (
    Line(None, "650.00", chargemaster_code="CDM-450-0284", claim_type="institutional"),
    Line(None, "28.00", chargemaster_code="CDM-305-5025", claim_type="institutional"),
    Line("99284", "650.00", claim_type="professional"),
), diagnoses=ER, place_of_service="23", facility=ER_FACILITY, bills="both",
    institutional=_FACILITY | {"type_of_bill": "13", "statement_from": 0, "statement_through": 0,
                               "admission_hour": None, "admission_type": None, "admission_source": None,
                               "discharge_hour": None, "admitting_diagnosis": None, "other_diagnoses": [],
                               "occurrence_codes": [], "value_codes": [],
                               "principal_diagnosis": {"code": "R0789", "present_on_admission": None}})
# Aetna's sandbox 271 says member ids ending 0000 are inactive (deploy/local/payers.yaml
# sandbox.eligibility.rules); W000000919 is a silent claim: adjudicated, its 835 withheld until a
# 276 asks about it (sandbox.claim_status.silent_members).
INACTIVE = Visit("inactive", (coverage(1, "60054", "W000010000"),), (Line("99213", "150.00"),), diagnoses=("J020",))
SILENT = Visit("silent", (coverage(1, "60054", "W000000919"),), (Line("99213", "150.00"),), diagnoses=("J020",))
VISITS = (CLEAN, HELD, REJECTED, DENIED, PARTIAL, SECONDARY, CROSSOVER, CORRECTED, UNDERPAID, STAY, ED, INACTIVE,
          SILENT)


@pytest.fixture(scope="module")
def stack_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The local payer master with its random interest and recoupments switched off."""
    folder = tmp_path_factory.mktemp("payers")
    shutil.copytree(REPO / "deploy" / "local" / "fee_schedules", folder / "fee_schedules")
    master = yaml.safe_load((REPO / "deploy" / "local" / "payers.yaml").read_text())
    for payer in master["payers"]:
        payer.get("sandbox", {}).update(interest_probability="0", recoupment_probability="0")
    path = folder / "payers.yaml"
    path.write_text(yaml.safe_dump(master))
    return {"RCM_SANDBOX_PAYERS_FILE": str(path), "RCM_CLAIMS_PAYERS_FILE": str(path)}


@dataclass
class World:
    rcm: Rcm
    settings: Settings
    timeline: Timeline
    service_date: date
    clearinghouse: Path

    async def encounter_id(self, visit: Visit) -> str:
        return str(await self.timeline.until(lambda: self.timeline.encounter_id(visit),
                                             f"{visit.name}: charges posted"))

    async def event(self, name: str, what: str, timeout_s: float = 120, **match: Any) -> dict[str, Any]:
        found = await self.timeline.until(lambda: self.timeline.of(name, **match), what, timeout_s)
        return dict(found[-1])

    def json(self, *args: str) -> Any:
        result = self.rcm(*args, "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)

    async def card(self, encounter_id: str, ready: Any) -> dict[str, Any]:
        """The encounter's account card (`rcm report account`), once `ready(card)` holds."""
        def read() -> dict[str, Any] | None:
            result = self.rcm("report", "account", encounter_id, "--json")
            found = json.loads(result.stdout) if result.returncode == 0 else None
            return found if found is not None and ready(found) else None

        found: dict[str, Any] = await self.timeline.until(read, f"{encounter_id}: account card")
        return found


@pytest.fixture(scope="module")
async def world(rcm: Rcm, platform: Settings, stack_state: Path) -> AsyncIterator[World]:
    timeline = Timeline(platform)
    service_date = datetime.now(UTC).date() - timedelta(days=6)
    # The hospital's facility charges are coded and priced by its chargemaster.
    loaded = rcm("chargemaster", "load", str(REPO / "deploy" / "local" / "chargemaster.csv"), "--reason", "e2e")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    try:
        await timeline.start()
        for visit in VISITS:
            for event in visit.events(service_date):
                await publish(platform, event)
        yield World(rcm, platform, timeline, service_date, stack_state / "clearinghouse")
    finally:
        await timeline.stop()


def totals(posted: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """(paid, contractual CO-45, patient responsibility) of a ClaimPaymentPosted/ClaimDenied."""
    return D(posted["total_paid"]), adjustments(posted["lines"], "CO", "45"), D(posted["patient_responsibility"])


async def test_a_clean_claim_is_paid_at_the_contracted_rate(world: World) -> None:
    encounter = await world.encounter_id(CLEAN)
    submitted = await world.event("ClaimSubmitted", "clean: submitted", encounter_id=encounter)
    assert D(submitted["total_charge"]) == D("162.00")
    # Medi-Cal's fee schedule: 99213 61.50, 36415 4.92.
    assert [D(ln["expected_allowed"]) for ln in submitted["lines"]] == [D("61.50"), D("4.92")]
    await world.event("ClaimAccepted", "clean: accepted by the 277CA", claim_id=submitted["claim_id"])
    posted = await world.event("ClaimPaymentPosted", "clean: paid", claim_id=submitted["claim_id"])
    assert totals(posted) == (D("66.42"), D("95.58"), D("0.00"))
    assert posted["claim_status"] == "1"
    assert not world.timeline.of("ClaimDenied", encounter_id=encounter)
    assert not world.timeline.of("UnderpaymentDetected", encounter_id=encounter)


async def test_a_scrubber_hold_fixed_upstream_is_released_and_paid(world: World) -> None:
    encounter = await world.encounter_id(HELD)
    held = await world.event("ClaimHeld", "held: E/M with a minor procedure", encounter_id=encounter)
    # 99213 on the day of 20610 (a 0-day global procedure) is part of it unless modifier 25 says otherwise.
    assert [e["edit_id"] for e in held["edits"] if e["severity"] == "error"] == ["EM-MODIFIER-25"], held["edits"]
    assert not world.timeline.of("ClaimSubmitted", encounter_id=encounter)
    # The visit was separately documented: the integration team corrects the charge (adds 25), the
    # claim is rebuilt, passes and goes out.
    fixed = intake.correction(HELD.source_encounter_id, "held-1b", "held-1",
                              **HELD.charge_fields(world.service_date, Line("99213", "150.00", ("25",))))
    await publish(world.settings, fixed)
    submitted = await world.event("ClaimSubmitted", "held: submitted after the fix", encounter_id=encounter)
    assert sorted((ln["procedure_code"], ln["modifiers"]) for ln in submitted["lines"]) == [
        ("20610", []), ("99213", ["25"])]
    posted = await world.event("ClaimPaymentPosted", "held: paid", encounter_id=encounter)
    # Medi-Cal: 99213 61.50, 20610 86.10.
    assert totals(posted) == (D("147.60"), D("212.40"), D("0.00"))


async def test_a_277ca_rejection_fixed_goes_again_as_a_new_original_and_is_paid(world: World) -> None:
    encounter = await world.encounter_id(REJECTED)
    first = await world.event("ClaimSubmitted", "rejected: first submission", encounter_id=encounter)
    rejected = await world.event("ClaimRejected", "rejected: 277CA A7", claim_id=first["claim_id"])
    assert rejected["submission_id"] == first["submission_id"]
    # The registration desk fixes the member id; the claim goes again as a new original.
    fixed = REJECTED.encounter("EncounterUpdated", coverages=[coverage(1, "610442", "91234567C")])
    await publish(world.settings, fixed)
    again = await world.timeline.until(
        lambda: [s for s in world.timeline.of("ClaimSubmitted", encounter_id=encounter)
                 if s["submission_id"] != first["submission_id"]], "rejected: resubmitted")
    assert again[0]["frequency"] == "1" and again[0]["payer_claim_control_number"] is None
    posted = await world.event("ClaimPaymentPosted", "rejected: paid after the fix", encounter_id=encounter)
    assert posted["submission_id"] == again[0]["submission_id"]
    assert totals(posted) == (D("86.10"), D("123.90"), D("0.00"))


async def test_a_missing_authorization_is_denied_with_a_category_and_never_written_off(world: World) -> None:
    encounter = await world.encounter_id(DENIED)
    denied = await world.event("ClaimDenied", "denied: CO-197", encounter_id=encounter)
    assert denied["denial_scope"] == "claim"
    assert D(denied["total_paid"]) == D("0.00") and D(denied["patient_responsibility"]) == D("0.00")
    assert [(d["group"], d["reason_code"], D(d["amount"])) for d in denied["denials"]] == [("CO", "197", D("125.00"))]
    assert denied["denials"][0]["category"] and denied["denials"][0]["recommended_action"]
    assert not world.timeline.of("PatientBalanceCreated", encounter_id=encounter)


async def test_a_partial_payment_bills_the_patient_who_pays_and_the_reminders_stop(world: World) -> None:
    encounter = await world.encounter_id(PARTIAL)
    posted = await world.event("ClaimPaymentPosted", "partial: paid", encounter_id=encounter)
    # Aetna allows 468.00 + 28.80 (71046-26) + 32.40: the $500 deductible takes 468.00 + 28.80 + 3.20,
    # 20% of the other 29.20 is coinsurance (5.84), Aetna pays 23.36; the patient owes 505.84.
    assert totals(posted) == (D("23.36"), D("205.80"), D("505.84"))
    assert posted["patient_share"] == {"deductible": "500.00", "coinsurance": "5.84", "copay": "0.00",
                                       "other": "0.00"}
    balance = await world.event("PatientBalanceCreated", "partial: balance", encounter_id=encounter)
    assert D(balance["amount_due"]) == D("505.84")
    statement = await world.event("NotificationSent", "partial: statement sent",
                                  related__balance_id=balance["balance_id"])
    assert statement["template"] == "patient-statement"
    mail = await world.timeline.until(lambda: [m for m in world.json("mail", "list") if PARTIAL.email in json.dumps(m)
                                               and "Your statement" in m["subject"]], "partial: statement mailed")
    assert len(mail) == 1
    # Before the claim went out, the patient was told the estimate the 835 then matched.
    [told] = [m for m in world.json("mail", "list") if PARTIAL.email in json.dumps(m)
              and "Your estimated share" in m["subject"]]
    assert told["subject"].endswith(": $505.84"), told["subject"]
    month_later = (datetime.now(UTC).date() + timedelta(days=31)).isoformat()
    due = world.json("notifications", "reminders", "--as-of", month_later)
    assert [r["reminder_days"] for r in due if r["balance_id"] == balance["balance_id"]] == [[30]]

    payment = validate("rcm.intake.PatientPaymentReceived.v1", json.dumps({
        "source_system": "portal", "source_payment_id": "partial-pay-1", "idempotency_key": "portal:partial-pay-1",
        "patient_account_id": balance["patient_account_id"], "amount": "505.84", "method": "card",
        "received_on": datetime.now(UTC).date().isoformat(), "encounter_id": None,
        "statement_id": statement["related"]["statement_id"], "reference": "AUTH-505"}))
    await publish(world.settings, payment)
    paid = await world.event("PatientPaymentPosted", "partial: patient payment posted",
                             patient_account_id=balance["patient_account_id"])
    assert paid["applications"] == [{"balance_id": balance["balance_id"], "encounter_id": encounter,
                                     "amount": "505.84"}]
    assert paid["unapplied_amount"] == "0.00"
    closed = await world.event("PatientBalanceUpdated", "partial: balance paid off", balance_id=balance["balance_id"],
                               reason="patient_payment")
    assert D(closed["amount_due"]) == D("0.00") and D(closed["patient_paid"]) == D("505.84")

    def reminder_gone() -> bool:
        due = world.json("notifications", "reminders", "--as-of", month_later)
        return all(r["balance_id"] != balance["balance_id"] for r in due)
    await world.timeline.until(reminder_gone, "partial: no reminder for a paid balance")


async def test_the_secondary_claim_goes_out_after_the_primary_pays(world: World) -> None:
    encounter = await world.encounter_id(SECONDARY)
    primary = await world.event("ClaimPaymentPosted", "secondary: primary paid", encounter_id=encounter,
                                payer__payer_id="60054")
    assert totals(primary) == (D("23.36"), D("205.80"), D("505.84"))
    second = await world.event("ClaimSubmitted", "secondary: claim to Medi-Cal", encounter_id=encounter,
                               coverage_rank=2)
    assert second["payer"]["payer_id"] == "610442" and D(second["total_charge"]) == D("735.00")
    paid = await world.event("ClaimPaymentPosted", "secondary: Medi-Cal paid", encounter_id=encounter,
                             payer__payer_id="610442")
    # Per line Medi-Cal pays the patient's share up to its allowed amount less Aetna's payment:
    # 99284 min(468.00, 266.50 - 0) = 266.50; 71046-26 min(28.80, 16.40 - 0) = 16.40;
    # 96372 min(9.04, 18.45 - 23.36) = 0.
    assert paid["claim_status"] == "2"
    assert D(paid["total_paid"]) == D("282.90") and D(paid["patient_responsibility"]) == D("0.00")
    # Medi-Cal shows what Aetna covered as the prior payer's impact: 650.00 - 468.00 + 40.00 - 28.80 + 45.00 - 9.04.
    assert adjustments(paid["lines"], "OA", "23") == D("229.16")
    # The books: Medi-Cal was billed Aetna's 505.84, paid 282.90 and adjusted the rest; nobody owes more.
    card = await world.card(encounter, lambda c: c["state"] == "closed")
    assert [(p["payer_id"], p["rank"], D(p["paid"]), D(p["contractual"]), D(p["patient_responsibility"]))
            for p in card["payers"]] == [("60054", 1, D("23.36"), D("205.80"), D("505.84")),
                                         ("610442", 2, D("282.90"), D("222.94"), D("0.00"))]
    assert (D(card["charge"]), D(card["patient_responsibility"]), D(card["insurance_balance"])) == (
        D("735.00"), D("0.00"), D("0.00"))


async def test_a_crossover_claim_is_paid_by_both_payers_and_no_secondary_is_sent(world: World) -> None:
    encounter = await world.encounter_id(CROSSOVER)
    medicare = await world.event("ClaimPaymentPosted", "crossover: Medicare paid", encounter_id=encounter,
                                 payer__payer_id="01182")
    # Medicare allows 338.00: deductible 257.00, 20% of 81.00 = 16.20, 64.80 less 2% sequestration.
    assert medicare["claim_status"] == "19"
    assert totals(medicare) == (D("63.50"), D("312.00"), D("273.20"))
    assert adjustments(medicare["lines"], "CO", "253") == D("1.30")
    medi_cal = await world.event("ClaimPaymentPosted", "crossover: Medi-Cal paid", encounter_id=encounter,
                                 payer__payer_id="610442")
    # min(273.20, 266.50 - 63.50) = 203.00
    assert D(medi_cal["total_paid"]) == D("203.00") and D(medi_cal["patient_responsibility"]) == D("0.00")
    assert world.timeline.of("ClaimForwarded", encounter_id=encounter)
    assert [s["coverage_rank"] for s in world.timeline.of("ClaimSubmitted", encounter_id=encounter)] == [1]
    # The books: the 650.00 booked once; Medi-Cal billed Medicare's 273.20, paid 203.00, adjusted 70.20.
    card = await world.card(encounter, lambda c: c["state"] == "closed")
    assert [(p["payer_id"], D(p["paid"]), D(p["contractual"]), D(p["patient_responsibility"]))
            for p in card["payers"]] == [("01182", D("63.50"), D("313.30"), D("273.20")),
                                         ("610442", D("203.00"), D("70.20"), D("0.00"))]
    assert (D(card["charge"]), D(card["patient_responsibility"])) == (D("650.00"), D("0.00"))
    # Sequestration is not an underpayment.
    assert not world.timeline.of("UnderpaymentDetected", encounter_id=encounter)


async def test_a_voided_charge_replaces_the_claim_and_the_balance_follows(world: World) -> None:
    encounter = await world.encounter_id(CORRECTED)
    balance = await world.event("PatientBalanceCreated", "corrected: balance", encounter_id=encounter)
    assert D(balance["amount_due"]) == D("505.84")
    # The chest x-ray was charged in error: voided upstream, the paid claim is replaced (frequency 7).
    await publish(world.settings, intake.void(CORRECTED.source_encounter_id, "corrected-2-void", "corrected-2"))
    replacement = await world.event("ClaimSubmitted", "corrected: replacement", encounter_id=encounter, frequency="7")
    assert [ln["procedure_code"] for ln in replacement["lines"]] == ["99284", "96372"]
    reversed_ = await world.event("ClaimPaymentReversed", "corrected: original reversed", encounter_id=encounter)
    assert D(reversed_["total_paid"]) == D("-23.36")
    # The payer's accumulators are reversed too: 99284 meets 468.00 of the deductible, 96372 the other
    # 32.00 and 20% of 0.40 is coinsurance (0.08): Aetna pays 0.32, the patient owes 500.08.
    posted = await world.event("ClaimPaymentPosted", "corrected: replacement paid",
                               submission_id=replacement["submission_id"])
    assert totals(posted) == (D("0.32"), D("194.60"), D("500.08"))
    updated = await world.event("PatientBalanceUpdated", "corrected: balance lowered", balance_id=balance["balance_id"],
                                amount_due="500.08")
    assert updated["revision"] > 1
    assert len(world.timeline.of("PatientBalanceCreated", encounter_id=encounter)) == 1


async def test_an_underpayment_is_detected_and_a_deductible_is_not_a_denial(world: World) -> None:
    encounter = await world.encounter_id(UNDERPAID)
    under = await world.event("UnderpaymentDetected", "underpaid: detected", encounter_id=encounter)
    # Blue Shield's contract allows 102.00 for 99213; it allowed 93.84 (8% below).
    assert (D(under["total_expected_allowed"]), D(under["total_allowed"]), D(under["total_variance"])) == (
        D("102.00"), D("93.84"), D("-8.16"))
    posted = await world.event("ClaimPaymentPosted", "underpaid: posted", encounter_id=encounter)
    # The $20 copay, then the deductible takes the rest of the allowed amount: nothing paid, nothing denied.
    assert totals(posted) == (D("0.00"), D("56.16"), D("93.84"))
    assert posted["patient_share"]["copay"] == "20.00" and posted["patient_share"]["deductible"] == "73.84"
    assert not world.timeline.of("ClaimDenied", encounter_id=encounter)


async def test_a_duplicate_835_posts_nothing_again(world: World, tmp_path: Path) -> None:
    encounter = await world.encounter_id(CLEAN)
    posted = await world.event("ClaimPaymentPosted", "clean: paid", encounter_id=encounter)
    remittance = await world.event("RemittanceReceived", "clean: remittance", remittance_id=posted["remittance_id"])
    archive = world.clearinghouse / "archive"
    original = await world.timeline.until(
        lambda: [p for p in archive.rglob("*.835") if remittance["trace_number"] in p.read_text()],
        "clean: 835 archived")
    text = original[0].read_text()
    same_file = world.rcm("remits", "import", str(original[0]))
    assert same_file.returncode == 1 and "duplicate" in (same_file.stdout + same_file.stderr).lower()
    # The same remittance (payer + TRN02) in a new envelope is the same money: refused too.
    renumbered = tmp_path / "resent.835"
    control = re.search(r"\*(\d{9})\*", text)
    assert control is not None
    renumbered.write_text(text.replace(control.group(1), "999999999"))
    again = world.rcm("remits", "import", str(renumbered))
    assert again.returncode == 1 and "duplicate" in (again.stdout + again.stderr).lower()
    await world.timeline.refresh()
    assert len(world.timeline.of("ClaimPaymentPosted", encounter_id=encounter)) == 1
    assert len(world.timeline.of("RemittanceReceived", trace_number=remittance["trace_number"])) == 1


async def test_an_inpatient_stay_is_billed_on_an_837i_paid_by_drg_and_its_card_closes_to_the_patient(
    world: World
) -> None:
    encounter = await world.encounter_id(STAY)
    submitted = await world.event("ClaimSubmitted", "stay: 837I submitted", encounter_id=encounter)
    assert (submitted["claim_type"], submitted["type_of_bill"], D(submitted["total_charge"])) == (
        "institutional", "11", D("6507.40"))
    # Inpatient lines are summed by revenue code: the three room-and-board days are one 0120 line.
    assert sorted((ln["revenue_code"], ln["procedure_code"], D(ln["units"]), D(ln["charge"]),
                   len(ln["summed_charge_ids"])) for ln in submitted["lines"]) == [
        ("0120", None, D("3"), D("5550.00"), 2), ("0250", None, D("1"), D("912.40"), 0),
        ("0300", None, D("1"), D("45.00"), 0)]
    file = world.clearinghouse / "archive" / "outbound" / submitted["interchange"]["file_name"]
    text = await world.timeline.until(lambda: file.exists() and file.read_text(), "stay: the 837I archived")
    assert "*005010X223A2~" in text and f"CLM*{submitted['submission_id']}*6507.4***11:A:1*" in text
    assert "SV2*0120**5550*DA*3~" in text
    await world.event("ClaimAccepted", "stay: accepted by the 277CA", claim_id=submitted["claim_id"])
    posted = await world.event("ClaimPaymentPosted", "stay: paid", claim_id=submitted["claim_id"])
    # Aetna pays J18.9 as MS-DRG 194 (weight 0.88) at a 7200.00 base rate: 6336.00 allowed, the
    # 500.00 deductible, 20% of 5836.00 coinsurance (1167.20); the payer answers at claim level.
    assert (posted["drg_code"], D(posted["drg_weight"]), D(posted["drg_amount"]), posted["covered_days"]) == (
        "194", D("0.88"), D("6336.00"), "3")
    assert posted["lines"] == []
    assert [(a["group"], a["reason_code"], D(a["amount"])) for a in posted["claim_adjustments"]] == [
        ("CO", "45", D("171.40")), ("PR", "1", D("500.00")), ("PR", "2", D("1167.20"))]
    assert (D(posted["total_paid"]), D(posted["patient_responsibility"])) == (D("4668.80"), D("1667.20"))
    balance = await world.event("PatientBalanceCreated", "stay: balance", encounter_id=encounter)
    assert D(balance["amount_due"]) == D("1667.20")
    card = await world.card(encounter, lambda c: c["payers"])
    assert [(p["payer_id"], D(p["paid"]), D(p["contractual"]), D(p["patient_responsibility"]))
            for p in card["payers"]] == [("60054", D("4668.80"), D("171.40"), D("1667.20"))]
    assert (D(card["charge"]), D(card["insurance_balance"])) == (D("6507.40"), D("0.00"))
    assert [(f["drg_code"], f["covered_days"]) for f in card["facility"]] == [("194", "3")]
    assert not world.timeline.of("UnderpaymentDetected", encounter_id=encounter)


async def test_an_emergency_visit_bills_the_facility_837i_and_the_physician_837p_and_both_are_paid(
    world: World
) -> None:
    encounter = await world.encounter_id(ED)
    subs = await world.timeline.until(lambda: len(found := world.timeline.of(
        "ClaimSubmitted", encounter_id=encounter)) == 2 and found, "edvisit: both claims submitted")
    [facility] = [s for s in subs if s["claim_type"] == "institutional"]
    [physician] = [s for s in subs if s["claim_type"] == "professional"]
    assert facility["type_of_bill"] == "13" and physician["type_of_bill"] is None
    # Outpatient facility lines keep their HCPCS, one line per charge, in revenue-code order (the UB-04's).
    assert [(ln["revenue_code"], ln["procedure_code"], D(ln["charge"])) for ln in facility["lines"]] == [
        ("0305", "85025", D("28.00")), ("0450", "99284", D("650.00"))]
    assert [(ln["procedure_code"], D(ln["charge"])) for ln in physician["lines"]] == [("99284", D("650.00"))]
    paid_facility = await world.event("ClaimPaymentPosted", "edvisit: facility paid", claim_id=facility["claim_id"])
    # Medi-Cal pays outpatient facility lines at 40% of charges (MOA01 0.4), no patient share;
    # the physician's 99284 at its fee schedule (266.50). The same code on both claims is no duplicate.
    assert [(ln["revenue_code"], D(ln["paid"])) for ln in paid_facility["lines"]] == [
        ("0305", D("11.20")), ("0450", D("260.00"))]
    assert totals(paid_facility) == (D("271.20"), D("406.80"), D("0.00"))
    assert D(paid_facility["reimbursement_rate"]) == D("0.4")
    paid_physician = await world.event("ClaimPaymentPosted", "edvisit: physician paid",
                                       claim_id=physician["claim_id"])
    assert totals(paid_physician) == (D("266.50"), D("383.50"), D("0.00"))
    assert not world.timeline.of("ClaimDenied", encounter_id=encounter)
    card = await world.card(encounter, lambda c: c["state"] == "closed")
    assert (D(card["charge"]), sum(D(p["paid"]) for p in card["payers"]),
            sum(D(p["contractual"]) for p in card["payers"]), D(card["patient_responsibility"])) == (
        D("1328.00"), D("537.70"), D("790.30"), D("0.00"))


async def test_an_inactive_plan_holds_the_claim_before_any_837_goes_out(world: World) -> None:
    encounter = await world.encounter_id(INACTIVE)
    checked = await world.event("EligibilityChecked", "inactive: 271 read", encounter_id=encounter)
    assert (checked["source"], checked["outcome"], checked["coverage_rank"]) == ("271", "inactive", 1)
    assert [b["code"] for b in checked["benefits"]][:1] == ["6"]  # EB*6: inactive coverage
    held = await world.event("ClaimHeld", "inactive: held by its 271", encounter_id=encounter)
    assert [(e["edit_id"], e["source"]) for e in held["edits"] if e["severity"] == "error"] == [
        ("ELIG-INACTIVE", "eligibility")]
    # Well after the batcher's passes: nothing went to the payer and no estimate was made.
    await world.event("ClaimPaymentPosted", "clean: paid (time passes)", encounter_id=await world.encounter_id(CLEAN))
    assert not world.timeline.of("ClaimSubmitted", encounter_id=encounter)
    assert not world.timeline.of("PatientEstimated", encounter_id=encounter)


async def test_the_estimate_before_the_claim_equals_what_the_835_leaves_to_the_patient(world: World) -> None:
    encounter = await world.encounter_id(PARTIAL)
    checked = await world.event("EligibilityChecked", "partial: 271 read", encounter_id=encounter)
    assert (checked["outcome"], checked["other_payers"]) == ("active", [])
    # Aetna's 271 for a new member: the whole 500.00 deductible remaining, 20% co-insurance.
    assert {(b["code"], b.get("time_period"), b.get("amount"), b.get("percent")) for b in checked["benefits"]
            if b["code"] in {"A", "C"}} == {("C", "23", "500.00", None), ("C", "29", "500.00", None),
                                            ("A", None, None, "0.2")}
    estimate = await world.event("PatientEstimated", "partial: estimate", encounter_id=encounter)
    submitted = await world.event("ClaimSubmitted", "partial: submitted", encounter_id=encounter)
    assert estimate["estimated_at"] <= submitted["submitted_at"]
    assert (D(estimate["expected_allowed"]), D(estimate["deductible"]), D(estimate["coinsurance"]),
            D(estimate["copay"]), D(estimate["patient_estimate"]), estimate["complete"]) == (
        D("529.20"), D("500.00"), D("5.84"), D("0.00"), D("505.84"), True)
    posted = await world.event("ClaimPaymentPosted", "partial: paid", encounter_id=encounter)
    assert D(posted["patient_responsibility"]) == D(estimate["patient_estimate"])

    def compared() -> dict[str, Any] | None:
        rows = [r for r in world.json("report", "estimates")["adjudicated"] if r["encounter_id"] == encounter]
        return rows[0] if rows else None
    row = await world.timeline.until(compared, "partial: estimate compared with the 835")
    assert (row["patient_estimate"], row["posted_patient_responsibility"], row["difference"]) == (
        "505.84", "505.84", "0.00")


async def test_a_silent_claim_followed_up_by_276_277_closes_when_its_835_arrives(world: World) -> None:
    encounter = await world.encounter_id(SILENT)
    submitted = await world.event("ClaimSubmitted", "silent: submitted", encounter_id=encounter)
    claim_id = submitted["claim_id"]
    await world.event("ClaimAccepted", "silent: accepted by the 277CA", claim_id=claim_id)
    # Long after the others' 835s came, this one has none: the biller asks the payer.
    await world.event("ClaimPaymentPosted", "clean: paid (time passes)", encounter_id=await world.encounter_id(CLEAN))
    assert not world.timeline.of("ClaimPaymentPosted", encounter_id=encounter)
    asked = world.rcm("claims", "status", claim_id, "--wait", "90", "--json")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["state"], answer["outcome"], answer["action"]) == ("answered", "finalized_paid", "era_missing")
    checked = await world.event("ClaimStatusChecked", "silent: 277 applied", claim_id=claim_id)
    # Aetna allows 108.00 for 99213: the 25.00 copay, then 83.00 of the deductible: Aetna pays nothing.
    assert (checked["category_code"], checked["status_code"], checked["outcome"], checked["action"],
            checked["trigger"]) == ("F1", "65", "finalized_paid", "era_missing", "on_demand")
    assert (D(checked["total_charge"]), D(checked["paid_amount"])) == (D("150.00"), D("0.00"))
    due = await world.event("ClaimFollowUpDue", "silent: ERA missing work item", claim_id=claim_id)
    assert due["reason"] == "era_missing"
    # The 277 released the withheld 835: it posts and the claim closes.
    posted = await world.event("ClaimPaymentPosted", "silent: 835 after the 277", claim_id=claim_id)
    assert totals(posted) == (D("0.00"), D("42.00"), D("108.00"))
    await world.event("ClaimClosed", "silent: closed", claim_id=claim_id)


async def test_the_audit_finds_every_scenario_reconciled(world: World) -> None:
    for visit in VISITS:
        await world.encounter_id(visit)
    audit = world.rcm("audit", "--json")
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    checks = json.loads(audit.stdout)
    assert all(check["differences"] == [] for check in checks), checks

    # Tampered books: a balance that claims a payment the ledger never saw; (with the database's own
    # balancing trigger switched off) a journal that does not sum to zero; the clean claim's charge
    # booked a second time; a payer's payment on the partial claim raised above its charge; payer
    # cash on an encounter remits never billed.
    balance = (await world.event("PatientBalanceCreated", "underpaid: balance",
                                 encounter_id=await world.encounter_id(UNDERPAID)))["balance_id"]
    clean, partial = await world.encounter_id(CLEAN), await world.encounter_id(PARTIAL)
    conn = await asyncpg.connect(world.settings.admin_url)
    try:
        await conn.execute("UPDATE remits.balances SET patient_paid = patient_paid + 1.00 WHERE balance_id = $1",
                           balance)
        await conn.execute("SET search_path TO remits")  # the ledger's own triggers name its tables unqualified
        await conn.execute(
            "INSERT INTO remits.ledger_entries (journal_id, kind, encounter_id, account, payer_rank, amount,"
            " entered_at) VALUES ('jnl_twice', 'books', $1, 'gross_charges', NULL, -162.00, now()),"
            " ('jnl_twice', 'books', $1, 'insurance_receivable', 1, 162.00, now()),"
            " ('jnl_ghost', 'claim', 'enc_ghost', 'payer_cash', 1, 5.00, now()),"
            " ('jnl_ghost', 'claim', 'enc_ghost', 'insurance_receivable', 1, -5.00, now())", clean)
        await conn.execute("UPDATE remits.postings SET paid = paid + 1000.00 WHERE encounter_id = $1", partial)
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("INSERT INTO remits.ledger_entries (journal_id, kind, account, amount, entered_at)"
                           " VALUES ('jnl_tampered', 'claim', 'payer_cash', 0.01, now())")
    finally:
        await conn.close()
    tampered = world.rcm("audit", "--json")
    assert tampered.returncode == 1
    found = {c["check"]: c["differences"] for c in json.loads(tampered.stdout) if c["differences"]}
    journals = "ledger: every journal's entries sum to zero"
    booked = "charge booked once: remits' books = the charges posted, per encounter billed"
    said = "835 claims: charge = paid + adjustments + patient responsibility, patient = CLP05"
    cards = "account cards: charge = payers' paid, adjusted and denied + patient + insurance balance"
    ledger = "ledger = account cards, per encounter and payer"
    kpis = "KPI inputs (payer payments, contractual adjustments) = the sums of the cards"
    balances = "patient balances: shares = the card's patient responsibility; payments and write-offs = ledger"
    assert set(found) == {journals, booked, said, cards, ledger, kpis, balances,
                          "patient money, per account: paid in - refunded = on balances + open credits = ledger",
                          "statements: amount due told to the patient = the balance"}, found
    assert found[journals] == ["journal jnl_tampered (claim): entries sum to 0.01"]
    assert found[booked] == [f"encounter {clean}: remits' ledger booked 324.00, charges posted 162.00"]
    # A payment above the charge: the payer's statement no longer balances, the card goes negative
    # (insurance balance) and above the charge (paid), the patient's share is cut to nothing.
    partial_claim = (await world.event("ClaimPaymentPosted", "partial: paid", encounter_id=partial))["claim_id"]
    assert [d.split(" posting ")[0] for d in found[said]] == [f"claim {partial_claim}"]
    assert len(found[cards]) == 1 and found[cards][0].startswith(f"encounter {partial}: ")
    assert "is negative" in found[cards][0] and "is above the charge" in found[cards][0]
    assert {d.split(":")[0] for d in found[ledger]} == {f"encounter {clean}", f"encounter {partial}"}
    assert [d.split(" ")[1] for d in found[kpis]] == ["payer", "contractual"]
    assert sorted(d.split(":")[0] for d in found[balances]) == [f"balance {balance}", f"encounter {partial}"]
