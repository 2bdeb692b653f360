"""Institutional claims: assembly (one facility claim per stay or visit, inpatient lines summed by
revenue code), the 837I they render (pyx12-clean, read back), the scrubber's claim types and the
ClaimSubmitted an institutional claim emits."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from edi.validate import pyx12_validate, validate
from edi.x837i import read_837i
from schemas import examples as ex
from schemas.charges import EncounterReadyToBill
from schemas.common import EncounterDetails, PayerRef, is_inpatient_bill
from services.claims.domain.assembly import PostedCharge, assemble, prior_payer_from_remit, secondary_draft
from services.claims.domain.claim import Claim
from services.claims.domain.model import ClaimDraft, is_room_and_board
from services.claims.domain.scrubber import ScrubInput, scrub
from services.claims.domain.x837i import build_claim, render_batch
from services.claims.domain.x837parts import Submission
from services.claims.service.assembly import assemble_encounter
from services.claims.service.scrubbing import findings_for
from services.claims.store import EncounterRow
from tests.support.testsvc import example
from tests.unit.claims.factory import FEES, charge, facility
from tests.unit.claims.fake_store import NOW as LATER
from tests.unit.claims.fake_store import FakeClaimsStore

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ADMIT, DAY2, DAY3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def stay(**institutional: Any) -> EncounterDetails:
    values = json.loads(json.dumps(ex.INPATIENT_ENCOUNTER))
    values["institutional"].update(institutional)
    return EncounterDetails.model_validate_json(json.dumps(values))


STAY_CHARGES = [
    facility(1, "0120", "3700.00", service_date=ADMIT, service_end_date=DAY2, units=Decimal(2)),
    facility(2, "0300", "48.00", "80053", service_date=ADMIT),
    facility(3, "0120", "1850.00", service_date=DAY3, units=Decimal(1)),
    facility(4, "0300", "28.00", "85025", service_date=DAY2),
    facility(5, "0250", "12.50", service_date=DAY2, units=Decimal(5)),
    charge(6, "99223", amount=Decimal("310.00"), service_date=ADMIT, diagnosis_codes=["J189"], place_of_service="21"),
]


def facility_draft(enc: EncounterDetails | None = None, charges: list[PostedCharge] | None = None,
                   rank: int = 1) -> ClaimDraft:
    drafts = assemble(enc or stay(), ex.INPATIENT_ENCOUNTER_ID, ex.PATIENT_ACCOUNT_ID, charges or STAY_CHARGES,
                      FEES, rank)
    return next(d for d in drafts if d.claim_type == "institutional")


def test_type_of_bill_and_revenue_code_rules() -> None:
    assert [tob for tob in ("11", "12", "13", "14", "21", "22", "23", "71", "83") if is_inpatient_bill(tob)] == [
        "11", "12", "21", "22"]
    assert [rc for rc in ("0099", "0100", "0120", "0219", "0220", "0450", None) if is_room_and_board(rc)] == [
        "0100", "0120", "0219"]


def test_a_stay_that_bills_both_gives_the_professional_claim_and_one_summed_facility_claim() -> None:
    drafts = assemble(stay(), ex.INPATIENT_ENCOUNTER_ID, ex.PATIENT_ACCOUNT_ID, STAY_CHARGES, FEES)
    assert [(d.claim_type, [line.charge_id for line in d.lines]) for d in drafts] == [
        ("professional", ["chg_0006"]),
        ("institutional", ["chg_0001", "chg_0005", "chg_0002"]),
    ]
    inst = drafts[1]
    assert inst.diagnoses == ["J189", "E119", "I10"]  # principal + other diagnoses of the institutional data
    assert [(line.revenue_code, line.procedure_code, line.units, line.unit_code, line.charge, line.service_date,
             line.service_end_date, line.summed_charge_ids, line.diagnosis_pointers, line.expected_allowed)
            for line in inst.lines] == [
        ("0120", None, Decimal(3), "DA", Decimal("5550.00"), ADMIT, DAY3, ["chg_0003"], [], None),
        ("0250", None, Decimal(5), "UN", Decimal("12.50"), DAY2, None, [], [], None),
        ("0300", None, Decimal(2), "UN", Decimal("76.00"), ADMIT, DAY2, ["chg_0004"], [], None),
    ]
    assert inst.total_charge == Decimal("5638.50")
    assert inst.charge_ids == ["chg_0001", "chg_0003", "chg_0005", "chg_0002", "chg_0004"]


def test_an_outpatient_visit_keeps_one_line_per_charge_with_its_hcpcs() -> None:
    enc = stay(type_of_bill="13", admission_type=None, admission_source=None, admission_hour=None,
               discharge_hour=None, admitting_diagnosis=None, principal_procedure=None,
               statement_from="2026-03-02", statement_through="2026-03-02")
    enc = enc.model_copy(update={"admission_date": None, "discharge_date": None, "place_of_service": "22"})
    charges = [facility(1, "0450", "650.00", "99284", modifiers=["25"]), facility(2, "0300", "48.00", "80053"),
               facility(3, "0300", "28.00", "85025")]
    d = facility_draft(enc, charges)
    assert [(line.charge_id, line.revenue_code, line.procedure_code, line.modifiers, line.summed_charge_ids)
            for line in d.lines] == [
        ("chg_0002", "0300", "80053", [], []), ("chg_0003", "0300", "85025", [], []),
        ("chg_0001", "0450", "99284", ["25"], [])]
    text = render_batch([build_claim(d, Submission("S2", "1", "60054", "Aetna"))], 7, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    assert "CLM*S2*726***13:A:1*" in text
    assert "SV2*0450*HC:99284:25*650*UN*1~DTP*472*D8*20260302~REF*6R*S2-3~" in text
    assert "CL1***01~" in text and "DTP*435" not in text
    # The secondary names the outpatient line by its revenue code and its HCPCS code with modifiers.
    remit = {"total_paid": "500.00", "adjudication_date": "2026-04-01", "claim_adjustments": [], "lines": [
        {"line_control_number": "S2-3", "procedure_code": "99284", "modifiers": [], "paid": "500.00",
         "units_paid": "1", "adjustments": [{"group": "CO", "reason_code": "45", "amount": "150.00"}]}]}
    second = secondary_draft(d, prior_payer_from_remit(d, remit, {"S2-3": "chg_0001"}), FEES)
    assert second is not None
    text = render_batch([build_claim(second, Submission("S3", "1", "610442", "Medi-Cal"))], 8, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    assert "SVD*60054*500*HC:99284:25*0450*1~CAS*CO*45*150~DTP*573*D8*20260401~AMT*EAF*0~" in text


def test_the_inpatient_837i_is_pyx12_clean_and_reads_back() -> None:
    d = facility_draft()
    text = render_batch([build_claim(d, Submission("S1", "1", "60054", "Aetna"))], 42, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    segments = text.split("~")
    for segment in [
        "GS*HC*REVCYCLE*RCMCLEARINGHSE*20260310*1200*42*X*005010X223A2", "ST*837*0001*005010X223A2",
        "NM1*85*2*Mission General Hospital*****XX*1123456786", "CLM*S1*5638.5***11:A:1**A*Y*Y",
        "DTP*096*TM*1100", "DTP*434*RD8*20260302-20260305", "DTP*435*DT*202603021400", "CL1*1*1*01",
        "HI*ABK:J189:::::::Y", "HI*ABJ:R509", "HI*ABF:E119:::::::Y*ABF:I10:::::::Y", "HI*BBR:0BJ08ZZ:D8:20260303",
        "HI*BH:11:D8:20260228", "HI*BE:80:::3", "NM1*71*1*Okafor*Samuel****XX*1999999984", "PRV*AT*PXC*207R00000X",
        "SV2*0120**5550*DA*3", "DTP*472*RD8*20260302-20260304", "REF*6R*S1-1",
        "SV2*0250**12.5*UN*5", "SV2*0300**76*UN*2", "REF*6R*S1-3",
    ]:
        assert segment in segments, segment
    [claim] = read_837i(text).claims
    assert (claim.type_of_bill, claim.frequency, claim.charge, claim.patient_status) == (
        "11", "1", Decimal("5638.50"), "01")
    assert [(line.revenue_code, line.unit_code, line.units, line.charge) for line in claim.lines] == [
        ("0120", "DA", Decimal(3), Decimal("5550.00")), ("0250", "UN", Decimal(5), Decimal("12.50")),
        ("0300", "UN", Decimal(2), Decimal("76.00"))]


def test_replacement_and_void_carry_the_frequency_and_ref_f8() -> None:
    d = facility_draft()
    for freq in ("7", "8"):
        text = render_batch([build_claim(d, Submission(f"S{freq}", freq, "60054", "Aetna", "PCN77"))], 9, NOW)
        assert pyx12_validate(text) == [] and validate(text) == []
        assert f"CLM*S{freq}*5638.5***11:A:{freq}**A*Y*Y~" in text and "REF*F8*PCN77~" in text


def test_a_secondary_institutional_claim_carries_the_primary_adjudication_by_revenue_code() -> None:
    primary = facility_draft()
    remit = {"total_paid": "4000.00", "adjudication_date": "2026-04-01", "claim_adjustments": [], "lines": [
        {"line_control_number": "S1-1", "procedure_code": "99999", "paid": "3900.00", "units_paid": "3",
         "adjustments": [{"group": "CO", "reason_code": "45", "amount": "1450.00"},
                         {"group": "PR", "reason_code": "1", "amount": "200.00"}]},
        {"line_control_number": "S1-3", "procedure_code": "99999", "paid": "100.00", "units_paid": None,
         "adjustments": [{"group": "CO", "reason_code": "45", "amount": "-24.00"}]},
    ]}
    prior = prior_payer_from_remit(primary, remit, {"S1-1": "chg_0001", "S1-3": "chg_0002"})
    assert [(lo.charge_id, lo.revenue_code, lo.procedure_code, lo.units) for lo in prior.lines] == [
        ("chg_0001", "0120", None, Decimal(3)), ("chg_0002", "0300", None, Decimal(2))]
    second = secondary_draft(primary, prior, FEES)
    assert second is not None and second.coverage_rank == 2 and second.lines == primary.lines
    text = render_batch([build_claim(second, Submission("S9", "1", "610442", "Medi-Cal"))], 11, NOW)
    assert pyx12_validate(text) == [] and validate(text) == []
    segments = text.split("~")
    assert "SBR*S*18*******MC" in segments and "SBR*P*18*GRP-0042******CI" in segments
    assert "AMT*D*4000" in segments
    assert "SVD*60054*3900**0120*3" in segments and "CAS*CO*45*1450" in segments
    assert "SVD*60054*100**0300*2" in segments and "DTP*573*D8*20260401" in segments


def test_the_scrubber_runs_the_institutional_edits_not_the_professional_ones() -> None:
    d = facility_draft()
    assert scrub(ScrubInput(draft=d, today=date(2026, 3, 10), timely_filing_days=365)) == []
    too_many = d.model_copy(update={"lines": [d.lines[1]] * 1000})
    [finding] = [f for f in scrub(ScrubInput(draft=too_many, today=date(2026, 3, 10), timely_filing_days=365))
                 if f.edit_id == "REQ-FIELDS"]
    assert finding.severity == "error"
    assert finding.message.startswith("1000 lines: an institutional claim (837I) carries at most 999")
    bare = d.model_copy(update={"encounter": d.encounter.model_copy(update={"institutional": None})})
    assert [(f.edit_id, f.source) for f in scrub(ScrubInput(draft=bare, today=date(2026, 3, 10),
                                                            timely_filing_days=365))] == [
        ("INST-DATA-MISSING", "institutional")]


def _without_poa(d: ClaimDraft) -> ClaimDraft:
    details = d.encounter.institutional
    assert details is not None
    no_poa = details.model_copy(update={"principal_diagnosis": details.principal_diagnosis.model_copy(
        update={"present_on_admission": None})})
    return d.model_copy(update={"encounter": d.encounter.model_copy(update={"institutional": no_poa})})


POA_MISSING = ("INST-POA-REQUIRED", "error", "principal diagnosis (J189) has no present-on-admission indicator and "
               "the payer requires one on inpatient bills: send Y, N, U, W, or 1 for a code exempt from POA reporting")


async def test_poa_on_an_inpatient_bill_is_required_when_the_payer_master_says_so() -> None:
    unknown = _without_poa(facility_draft())
    today = date(2026, 3, 10)
    # The edits of domain/institutional_edits.py run on the claim with the payer's flag.
    assert [(f.edit_id, f.severity, f.message) for f in scrub(ScrubInput(draft=unknown, today=today,
                                                                         timely_filing_days=365))] == [POA_MISSING]
    assert scrub(ScrubInput(draft=unknown, today=today, timely_filing_days=365, poa_required=False)) == []
    # The claims service reads the flag from the payer master, as it reads the filing limit.
    store = FakeClaimsStore()
    claim = Claim.create(unknown, claim_id="clm_poa", family_id="clf_poa", origin="original", origin_claim_id=None,
                         revision=1, payer=PayerRef(payer_id="60054", payer_name="Aetna"), timely_filing_days=365,
                         now=NOW)
    assert [(f.edit_id, f.severity, f.message) for f in await findings_for(store, claim, today)] == [POA_MISSING]
    store.payers["60054"] = dataclasses.replace(store.payers["60054"], poa_required=False)
    assert await findings_for(store, claim, today) == []
    # An outpatient bill carries no POA, whatever the payer wants.
    outpatient = stay(type_of_bill="13", admission_type=None, admission_source=None, admission_hour=None,
                      discharge_hour=None, admitting_diagnosis=None, principal_procedure=None,
                      statement_from="2026-03-02", statement_through="2026-03-02",
                      principal_diagnosis={"code": "J189", "present_on_admission": None})
    outpatient = outpatient.model_copy(update={"admission_date": None, "discharge_date": None})
    visit = facility_draft(outpatient, [facility(1, "0450", "650.00", "99284", modifiers=["25"])])
    assert scrub(ScrubInput(draft=visit, today=today, timely_filing_days=365, poa_required=True)) == []


def test_an_institutional_claim_is_created_and_submitted_with_its_type_and_lines() -> None:
    from schemas import claims as ev

    d = facility_draft()
    claim = Claim.create(d, claim_id="clm_1", family_id="clf_1", origin="original", origin_claim_id=None,
                         revision=1, payer=PayerRef(payer_id="60054", payer_name="Aetna"), timely_filing_days=365,
                         now=NOW)
    created = claim.changes[0].event
    assert isinstance(created, ev.ClaimCreated) and created.claim_type == "institutional"
    assert created.charge_ids == ["chg_0001", "chg_0003", "chg_0005", "chg_0002", "chg_0004"]
    claim.pass_scrub("S1", NOW)
    submitted = claim.submit(ev.InterchangeControl(interchange_control_number="000000042", group_control_number="42",
                                                   transaction_set_control_number="0001"), None, 30, NOW)
    assert (submitted.claim_type, submitted.type_of_bill, submitted.total_charge) == (
        "institutional", "11", Decimal("5638.50"))
    assert [(line.line_control_number, line.charge_id, line.summed_charge_ids, line.procedure_code,
             line.revenue_code, line.units, line.diagnosis_pointers) for line in submitted.lines] == [
        ("S1-1", "chg_0001", ["chg_0003"], None, "0120", Decimal(3), []),
        ("S1-2", "chg_0005", [], None, "0250", Decimal(5), []),
        ("S1-3", "chg_0002", ["chg_0004"], None, "0300", Decimal(2), []),
    ]


def stored_stay(db: FakeClaimsStore, encounter_id: str, encounter: dict[str, Any]) -> EncounterReadyToBill:
    """Revision 1 of `encounter` with STAY_CHARGES posted, released and due for assembly."""
    db.charges = {c.charge_id: c for c in STAY_CHARGES}
    ready = example("rcm.charges.EncounterReadyToBill.v1", **{
        **encounter, "encounter_id": encounter_id, "patient_account_id": ex.PATIENT_ACCOUNT_ID,
        "revision": 1, "charge_ids": [c.charge_id for c in STAY_CHARGES]})
    assert isinstance(ready, EncounterReadyToBill)
    db.encounters[encounter_id] = EncounterRow(encounter_id, ex.PATIENT_ACCOUNT_ID, 1, ready, LATER, 0)
    return ready


async def test_a_revision_of_a_stay_billing_both_rebuilds_each_claim_from_its_own_draft() -> None:
    """Families are matched by (claim type, position): the facility draft rebuilds the facility
    claim, whichever order the drafts come in."""
    db = FakeClaimsStore()
    ready = stored_stay(db, "enc_stay", ex.INPATIENT_ENCOUNTER)
    assert await assemble_encounter(db, "enc_stay", LATER) == 2
    before = {c.draft.claim_type: (c.claim_id, c.total_charge, c.state) for c in db.claims.values()}
    assert before == {"professional": (before["professional"][0], Decimal("310.00"), "ready"),
                      "institutional": (before["institutional"][0], Decimal("5638.50"), "ready")}
    # Revision 2 drops the hospitalist's visit and the pharmacy line: the one draft left is the
    # facility's, and it rebuilds the facility claim (the first family by position is the professional one).
    fewer = ready.model_copy(update={"revision": 2, "charge_ids": [
        c for c in ready.charge_ids if c not in {"chg_0005", "chg_0006"}]})
    db.encounters["enc_stay"] = EncounterRow("enc_stay", ex.PATIENT_ACCOUNT_ID, 2, fewer, LATER, 1)
    assert await assemble_encounter(db, "enc_stay", LATER) == 1
    after = {c.draft.claim_type: (c.claim_id, c.total_charge, c.encounter_revision) for c in db.claims.values()}
    assert after == {"professional": (before["professional"][0], Decimal("310.00"), 1),
                     "institutional": (before["institutional"][0], Decimal("5626.00"), 2)}
