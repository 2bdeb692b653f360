"""The demo traffic generator: contract-valid events, deterministic from the seed and the day, a
clinic's month (dates, ages, sexes, codes), and deliberate errors that are few, labelled and
caught where their kind says: each encounter is run through the charges rules, claim assembly,
the scrubber, the 837P (pyx12) and the sandbox payers' front end, as the platform runs it."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from edi.validate import pyx12_validate
from edi.x837 import Claim
from sandbox.adjudication import SandboxState, front_end
from sandbox.demo_data import (
    CHARGEMASTER,
    DAYS,
    ERRORS,
    MEDICARE_PART_A,
    DemoEncounter,
    events,
    generate,
    preventive_code,
    read_chargemaster,
)
from sandbox.payers import load_payers
from schemas import registry
from schemas.intake import ChargeSubmitted, EncounterClosed, EncounterRegistered
from services.charges.domain.chargemaster import parse_chargemaster_csv
from services.charges.domain.reference import shipped_reference
from services.charges.domain.validation import assess_charge, validate_encounter
from services.charges.service.charges import charge_facts
from services.charges.service.encounters import encounter_facts
from services.claims.domain.assembly import PostedCharge, assemble
from services.claims.domain.payers import FeeSchedule
from services.claims.domain.scrubber import ScrubInput, scrub
from services.claims.domain.x837 import build_claim, render_batch
from services.claims.domain.x837parts import Submission

TODAY = date(2026, 12, 6)  # FY2027: the diagnosis code set of the year is newer than the one shipped
IN_YEAR = date(2026, 6, 15)  # FY2026, the shipped ICD-10-CM year
PAYERS = load_payers()
CODES = {item.cdm_code: code for (code, _), item in read_chargemaster().items()}  # chargemaster code -> procedure
LOADED = parse_chargemaster_csv(CHARGEMASTER.read_text(), reference=shipped_reference()).chargemaster
assert LOADED is not None
REFERENCE = shipped_reference().with_chargemaster(LOADED)


def registered(encounter: DemoEncounter) -> EncounterRegistered:
    event = encounter.events[0].event
    assert isinstance(event, EncounterRegistered)
    return event


def charges(encounter: DemoEncounter) -> list[ChargeSubmitted]:
    return [e.event for e in encounter.events if isinstance(e.event, ChargeSubmitted)]


def age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def caught(encounter: DemoEncounter, today: date, claims: list[Claim]) -> list[str]:
    """Where the platform stops the encounter, labelled as `rcm demo` labels it; the claims that
    pass every check are appended to ``claims`` (for one pyx12 run over all of them)."""
    enc = registered(encounter)
    result = validate_encounter(encounter_facts(enc), today, REFERENCE)
    if not result.ok:
        return [f"charges {r.code.value}" for r in result.rejections]
    out: list[str] = []
    posted: list[PostedCharge] = []
    for n, charge in enumerate(charges(encounter)):
        assessed = assess_charge(charge_facts(charge), encounter_facts(enc), today, REFERENCE)
        if assessed.line is None:
            out += [f"charges {r.code.value}" for r in assessed.result.rejections]
            continue
        line = assessed.line
        assert line.procedure_code is not None  # the demo bills professional claims only
        posted.append(PostedCharge(
            charge_id=f"chg_{n}", procedure_code=line.procedure_code, modifiers=list(line.modifiers),
            description=line.description, revenue_code=line.revenue_code, service_date=charge.service_date,
            service_end_date=None, units=charge.units, amount=line.amount,
            diagnosis_codes=[enc.diagnoses[p - 1] for p in charge.diagnosis_pointers],
            place_of_service=enc.place_of_service,
            rendering_npi=charge.rendering_provider.npi if charge.rendering_provider else None,
            rendering_provider=charge.rendering_provider, ordering_provider=charge.ordering_provider,
            ndc=charge.ndc, ndc_quantity=charge.ndc_quantity, ndc_unit=charge.ndc_unit,
        ))
    primary = enc.coverages[0]
    rule = PAYERS[primary.payer_id].behaviour.eligibility.rule_for(primary.member_id)
    if posted and rule is not None and rule.answer == "inactive":  # the payer's 271 (EB*6) holds the claim
        return [*out, "scrubber ELIG-INACTIVE"]
    for draft in assemble(enc, "enc_1", "acct_1", posted, FeeSchedule()) if posted else []:
        held = [f for f in scrub(ScrubInput(draft=draft, today=today, timely_filing_days=90)) if f.severity == "error"]
        out += [f"scrubber {f.edit_id}" for f in held]
        if held:
            continue
        claim = build_claim(draft, Submission(f"S{len(claims) + 1:06d}", "1", draft.coverage.payer_id,
                                              draft.coverage.payer_name))
        decision = front_end(claim, PAYERS, SandboxState())
        if decision.accepted:
            claims.append(claim)
        else:
            assert decision.status is not None
            out.append(f"277CA {decision.status.category}:{decision.status.status}")
    return out


@pytest.mark.parametrize("today", [TODAY, IN_YEAR])
def test_clean_encounters_pass_every_check_and_each_error_is_caught_where_its_kind_says(today: date) -> None:
    claims: list[Claim] = []
    where: dict[str, Counter[str]] = {}
    for seed in (1, 2):
        for encounter in generate(150, seed, today=today, error_rate=0.2):
            found = caught(encounter, today, claims)
            if encounter.error is None:
                lines = [(c.procedure_code or c.chargemaster_code, c.modifiers) for c in charges(encounter)]
                assert found == [], (encounter.specialty, found, registered(encounter).diagnoses, lines)
            else:
                expected = ERRORS[encounter.error].caught_by
                assert found and set(found) <= set(expected), (encounter.error, found)
                where.setdefault(encounter.error, Counter()).update(found)
    assert set(where) == set(ERRORS)
    # Every claim that passed goes out in an 837P pyx12 finds nothing wrong with.
    text = render_batch(claims, 1, datetime(2026, 12, 6, 9, 0))
    assert [str(i) for i in pyx12_validate(text)] == []
    segments = text.split("~")
    assert any(s.startswith("NM1*77*2*Alameda Bay Hospital") for s in segments)  # the ED as service facility
    assert any(s.startswith("CLM*") and s.endswith("**OA") for s in segments)  # an accident (CLM11)
    assert any(s.startswith("DTP*439*D8*") for s in segments)  # its date
    assert any(s.startswith("LIN**N4*") for s in segments)  # an NDC
    assert any(s.startswith("REF*X4*05D2093517") for s in segments)  # the lab's CLIA number
    assert any(s.startswith("NM1*DK*1*") for s in segments)  # an ordering provider
    assert any(s.startswith("REF*9F*") for s in segments)  # a referral number
    assert any(s.startswith("NM1*DN*1*") for s in segments)  # a referring provider
    assert any(s.startswith("REF*G1*") for s in segments)  # a prior authorization


def test_dates_of_service_are_the_30_days_before_today() -> None:
    out = generate(400, 5, today=TODAY, error_rate=0)
    days = {c.service_date for e in out for c in charges(e)}
    assert min(days) == TODAY - timedelta(days=DAYS) and max(days) == TODAY - timedelta(days=1)
    assert len(days) == DAYS
    with_error = generate(400, 5, today=TODAY, error_rate=1)
    for e in with_error:
        late = [c.service_date for c in charges(e) if c.service_date > TODAY]
        assert bool(late) == (e.error == "future_service_date")


@pytest.mark.parametrize("seed", range(12))
def test_codes_fit_the_patients_age_and_sex(seed: int) -> None:
    for e in generate(150, seed, today=TODAY, error_rate=0):
        enc = registered(e)
        patient, day = enc.patient, charges(e)[0].service_date
        years = age(patient.birth_date, day)
        codes = {c.procedure_code or CODES[c.chargemaster_code or ""] for c in charges(e)}
        for code in codes & {f"993{n}" for n in (81, 82, 83, 84, 85, 86, 87, 91, 92, 93, 94, 95, 96, 97)}:
            assert code in {preventive_code(years, new=True), preventive_code(years, new=False)}, (code, years)
        if codes & {"76801", "76805", "G0101", "Q0091"} or any(d.startswith(("O", "Z3")) for d in enc.diagnoses):
            assert patient.sex == "F"
        if codes & {"G0102", "G0103", "84153"} or any(d.startswith(("N40", "C61")) for d in enc.diagnoses):
            assert patient.sex == "M" and years >= 50
        if codes & {"90700", "90707", "90716", "90460"}:
            assert years < 18
        if enc.coverages[0].payer_id == "01182":
            assert years >= 65
        if enc.coverages[0].relationship_to_subscriber == "19":
            assert years < 18 and enc.coverages[0].subscriber is not None
        assert not enc.diagnoses[0].startswith(("V", "W", "X", "Y"))


def test_the_error_rate_is_close_to_the_requested_one_and_every_error_is_labelled() -> None:
    for rate in (0.05, 0.2):
        out = generate(1000, 9, today=TODAY, error_rate=rate)
        errors = Counter(e.error for e in out if e.error)
        assert abs(sum(errors.values()) / 1000 - rate) < 0.02
        assert set(errors) == set(ERRORS) or rate < 0.1  # at 5%, one of the 8 kinds may not come up
    assert all(e.error is None for e in generate(200, 9, today=TODAY, error_rate=0))
    with pytest.raises(ValueError, match="error_rate"):
        generate(1, today=TODAY, error_rate=1.5)


def test_every_event_validates_against_its_contract() -> None:
    out = events(60, seed=3, today=TODAY)
    for e in out:
        again = registry.validate(e.event_type, registry.encode(e.event).decode())
        assert again == e.event
        assert registry.key_of(e.event) == e.key
    kinds = Counter(type(e.event) for e in out)
    assert kinds[EncounterRegistered] == kinds[EncounterClosed] == 60
    assert kinds[ChargeSubmitted] >= 60


def test_same_seed_and_day_same_events_other_seed_or_day_other_events() -> None:
    def dump(seed: int, today: date = TODAY) -> list[bytes]:
        return [registry.encode(e.event) for e in events(25, seed=seed, today=today)]

    assert dump(7) == dump(7)
    assert dump(7) != dump(8)
    assert dump(7) != dump(7, TODAY + timedelta(days=1))


def test_each_encounter_closes_with_its_own_charge_ids() -> None:
    for encounter in generate(30, seed=1, today=TODAY):
        registered_, *lines, closed = encounter.events
        assert isinstance(registered_.event, EncounterRegistered) and isinstance(closed.event, EncounterClosed)
        ids = [c.event.source_charge_id for c in lines if isinstance(c.event, ChargeSubmitted)]
        assert closed.event.expected_source_charge_ids == ids and len(set(ids)) == len(ids)
        assert {e.key for e in encounter.events} == {encounter.source_encounter_id}


def test_the_837p_details_the_contracts_carry_show_up() -> None:
    out = generate(400, 42, today=TODAY, error_rate=0)
    lines = [c for e in out for c in charges(e)]
    drugs = [c for c in lines if c.ndc is not None]
    assert drugs and all(c.ndc_quantity and c.ndc_unit for c in drugs)
    assert any(c.rendering_provider for c in lines) and not any(c.rendering_provider_npi for c in lines)
    emergency = [registered(e) for e in out if e.specialty == "emergency"]
    assert emergency and all(enc.place_of_service == "23" and enc.facility and enc.facility.npi for enc in emergency)
    assert any(registered(e).referring_provider for e in out)
    injuries = [e for e in out if registered(e).diagnoses[0].startswith("S")]
    assert injuries and all(registered(e).diagnoses[1][0] in "VWXY" for e in injuries)
    for e in out:
        enc = registered(e)
        accident = enc.accident
        assert (accident is not None) == (e in injuries)
        assert accident is None or accident.occurred_on == charges(e)[0].service_date
        referred = enc.referring_provider is not None and enc.coverages[0].claim_filing_indicator in {"CI", "BL"}
        assert (enc.coverages[0].referral_number is not None) == referred
        for c in charges(e):
            lab = (c.procedure_code or CODES[c.chargemaster_code or ""]).startswith("8")
            assert (c.ordering_provider is not None) == (lab and enc.referring_provider is not None)
    assert any(c.ordering_provider for c in lines)
    assert all(registered(e).billing_provider.clia_number == "05D2093517" for e in out)
    with_auth = [registered(e).coverages for e in out if registered(e).coverages[0].prior_authorization_numbers]
    assert with_auth and {c[0].payer_id for c in with_auth} == {"60054", "610442", "01182"}
    # Medicare needs none: its claims carry the number Medi-Cal needs when they cross over to it.
    assert all(c[1].prior_authorization_numbers == c[0].prior_authorization_numbers
               for c in with_auth if c[0].payer_id == "01182")


def test_payers_and_members_match_what_the_sandbox_plays() -> None:
    encounters = generate(300, seed=42, today=TODAY, error_rate=0)
    secondaries = 0
    for encounter in encounters:
        enc = registered(encounter)
        for coverage in enc.coverages:
            payer = PAYERS[coverage.payer_id]
            assert coverage.claim_filing_indicator == payer.claim_filing_indicator
            assert payer.behaviour.reject_if.member_id_ok(coverage.member_id)
        secondaries += len(enc.coverages) > 1
    # The Part A payer bills no clinic visit: it is a hospital claim's facility payer only.
    assert {e.payer_id for e in encounters} == set(PAYERS) - {MEDICARE_PART_A.payer_id}
    assert secondaries > 10
    assert sum(registered(e).patient.contact_preference == "email" for e in encounters) > 200
    assert {e.specialty for e in encounters} >= {"family medicine", "preventive", "emergency", "orthopedics",
                                                   "physical therapy", "lab", "women's health", "men's health"}


def test_prices_and_codes_come_from_the_chargemaster() -> None:
    items = read_chargemaster()
    by_cdm = {item.cdm_code: item for item in items.values()}
    for encounter in generate(100, seed=4, today=TODAY):
        for c in charges(encounter):
            if c.chargemaster_code is not None:
                assert c.chargemaster_code in by_cdm
            else:
                assert c.procedure_code is not None and c.unit_price is not None
                item = items[(c.procedure_code, tuple(m for m in c.modifiers if m in {"QW", "GP", "26"}))]
                assert c.unit_price == item.unit_price and c.amount == item.unit_price * c.units
                assert c.amount == Decimal(c.amount).quantize(Decimal("0.01"))
