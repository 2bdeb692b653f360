"""Validation entry points: the encounter as a whole, and one charge line against it.

Encounter-level findings (providers, diagnoses, coverage) and charge-level ones are kept
apart so an encounter problem is reported once, on the encounter, not on every charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.charges.domain.chargemaster import ResolvedCode, resolve_charge_code
from services.charges.domain.facts import ChargeFacts, ClaimType, EncounterFacts
from services.charges.domain.findings import Finding, Reason, Rejection, ValidationResult
from services.charges.domain.institutional import (
    check_institutional,
    check_line_for_claim,
    claim_type_of,
    dated_past_statement,
)
from services.charges.domain.money import extended_amount
from services.charges.domain.reference import ReferenceData, shipped_reference
from services.charges.domain.rules import (
    ENCOUNTER_DIAGNOSIS,
    MAX_MODIFIERS,
    check_admission_date,
    check_amount_agreement,
    check_coverages,
    check_diagnosis_code,
    check_diagnosis_list,
    check_diagnosis_pointers,
    check_edition,
    check_modifiers,
    check_money,
    check_npi,
    check_place_of_service,
    check_pointed_diagnoses,
    check_principal_diagnosis,
    check_procedure_code,
    check_service_dates,
    check_units,
)


def validate_encounter(
    encounter: EncounterFacts, today: date, reference: ReferenceData | None = None
) -> ValidationResult:
    """Is the encounter billable: valid NPIs, place of service, diagnoses and coverage.

    Diagnoses are judged with the ICD-10-CM edition of the admission date when there is one, else
    of ``today`` (the encounter carries no other date of service; each charge is checked again
    with the edition of its own date of service).
    """
    ref = reference or shipped_reference()
    findings: list[Finding] = []
    findings += check_npi(encounter.billing_npi, "billing_provider.npi", Reason.ENC_NPI_CHECK_DIGIT)
    findings += check_npi(encounter.rendering_npi, "rendering_provider.npi", Reason.ENC_NPI_CHECK_DIGIT)
    findings += check_npi(encounter.referring_npi, "referring_provider.npi", Reason.ENC_NPI_CHECK_DIGIT)
    findings += check_place_of_service(
        encounter.place_of_service, "place_of_service", Reason.ENC_POS_INVALID, ref.places_of_service
    )
    findings += check_admission_date(encounter.admission_date, today)
    findings += check_diagnosis_list(encounter.diagnoses)
    choice = ref.diagnoses.for_day(encounter.admission_date or today)
    for i, code in enumerate(encounter.diagnoses):
        findings += check_diagnosis_code(code, f"diagnoses[{i}]", choice, ENCOUNTER_DIAGNOSIS)
    findings += check_principal_diagnosis(encounter.diagnoses)
    if encounter.diagnoses:
        findings += check_edition(choice, "diagnoses")
    findings += check_coverages(encounter.coverage_ranks)
    findings += check_institutional(encounter, today, ref.diagnoses)
    return ValidationResult.of(findings)


@dataclass(frozen=True, slots=True)
class PricedLine:
    """The charge as it will be posted: codes resolved through the chargemaster, amount known."""

    procedure_code: str | None
    """None only on an institutional line that has a revenue code alone."""
    modifiers: tuple[str, ...]
    revenue_code: str | None
    description: str | None
    unit_price: Decimal | None
    amount: Decimal
    claim_type: ClaimType


@dataclass(frozen=True, slots=True)
class ChargeAssessment:
    result: ValidationResult
    line: PricedLine | None
    """Set exactly when ``result.ok``."""


def _resolve(charge: ChargeFacts, reference: ReferenceData) -> ResolvedCode | Rejection | None:
    """The chargemaster part of a charge, or None when it names a procedure code directly."""
    if charge.chargemaster_code is None:
        return None
    if reference.chargemaster is None:
        return Rejection(Reason.CDM_NOT_LOADED, "chargemaster_code", "no chargemaster is loaded to resolve this code")
    return resolve_charge_code(charge, reference.chargemaster)


def _price(charge: ChargeFacts, resolved: ResolvedCode | None) -> tuple[list[Finding], Decimal | None, Decimal | None]:
    """Findings, unit price and amount. A sender's own price wins; the chargemaster price
    fills in only when the charge carries neither a unit price nor an amount."""
    findings = (
        check_units(charge.units) + check_money(charge.unit_price, "unit_price") + check_money(charge.amount, "amount")
    )
    if findings:
        return findings, None, None
    unit_price, amount = charge.unit_price, charge.amount
    if unit_price is not None and amount is not None:
        return check_amount_agreement(charge.units, unit_price, amount), unit_price, amount
    if unit_price is None and amount is None:
        if resolved is None:
            # A chargemaster code that did not resolve is already rejected for that reason;
            # a missing price on top would send the sender after the wrong field.
            if charge.chargemaster_code is not None:
                return [], None, None
            return [Rejection(Reason.CHG_PRICE_MISSING, "unit_price", "unit_price or amount is required")], None, None
        unit_price = resolved.unit_price
    if amount is None and unit_price is not None:
        amount = extended_amount(charge.units, unit_price)
    return [], unit_price, amount


def assess_charge(
    charge: ChargeFacts, encounter: EncounterFacts, today: date, reference: ReferenceData
) -> ChargeAssessment:
    """Validate one charge against its encounter and, when it passes, price it."""
    findings: list[Finding] = []
    resolved: ResolvedCode | None = None
    procedure_code = charge.procedure_code
    modifiers = charge.modifiers
    # False once the line's codes are refused (no code, or a chargemaster code that did not
    # resolve): what a claim needs of the codes is then not judged on top.
    codes_known = False

    if (charge.procedure_code is not None and charge.chargemaster_code is not None) or (
        charge.procedure_code is None and charge.chargemaster_code is None and charge.revenue_code is None
    ):
        findings.append(
            Rejection(Reason.CHG_CODE_CHOICE, "procedure_code", "exactly one of procedure_code and chargemaster_code "
                      "(or a revenue_code alone on a facility line)")
        )
    elif charge.chargemaster_code is not None:
        outcome = _resolve(charge, reference)
        if isinstance(outcome, Rejection):
            findings.append(outcome)
        elif outcome is not None:
            resolved, procedure_code, modifiers = outcome, outcome.procedure_code, outcome.modifiers
        codes_known = resolved is not None
    else:
        codes_known = True

    if procedure_code is not None:
        findings += check_procedure_code(procedure_code, "procedure_code", charge.service_date, reference)
    # The sender's modifiers are checked where the sender can find them; the chargemaster's
    # were checked when it was loaded, and only the merged count is new here.
    findings += check_modifiers(charge.modifiers, reference.modifiers)
    if len(charge.modifiers) <= MAX_MODIFIERS < len(modifiers):
        findings.append(
            Rejection(
                Reason.CHG_MODIFIER_COUNT,
                "modifiers",
                "with the chargemaster item's own modifiers the line would carry more than 4",
            )
        )
    findings += check_place_of_service(
        charge.place_of_service, "place_of_service", Reason.CHG_POS_INVALID, reference.places_of_service
    )
    findings += check_npi(charge.rendering_npi, "rendering_provider_npi", Reason.CHG_NPI_CHECK_DIGIT)
    money_findings, unit_price, amount = _price(charge, resolved)
    findings += money_findings
    findings += check_service_dates(charge.service_date, charge.service_end_date, today)
    findings += check_diagnosis_pointers(charge.diagnosis_pointers, len(encounter.diagnoses))
    findings += check_pointed_diagnoses(
        charge.diagnosis_pointers, encounter.diagnoses, charge.service_date, reference.diagnoses
    )
    # The sender's revenue code wins over the chargemaster item's, as its price does.
    revenue_code = charge.revenue_code or (resolved.revenue_code if resolved else None)
    claim_type = claim_type_of(charge, encounter)
    if isinstance(claim_type, Rejection):
        findings.append(claim_type)
    elif codes_known:
        findings += check_line_for_claim(claim_type, procedure_code, revenue_code, charge, encounter)

    result = ValidationResult.of(findings)
    if not result.ok or isinstance(claim_type, Rejection) or amount is None:
        return ChargeAssessment(result, None)
    line = PricedLine(
        procedure_code=procedure_code,
        modifiers=modifiers,
        revenue_code=revenue_code,
        claim_type=claim_type,
        description=resolved.description if resolved else None,
        unit_price=unit_price,
        amount=amount,
    )
    return ChargeAssessment(result, line)


def validate_charge(
    charge: ChargeFacts, encounter: EncounterFacts, today: date, reference: ReferenceData
) -> ValidationResult:
    return assess_charge(charge, encounter, today, reference).result


@dataclass(frozen=True, slots=True)
class Post:
    line: PricedLine


@dataclass(frozen=True, slots=True)
class Park:
    """The line waits (parked) for the encounter's next change, which judges it again."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    rejections: tuple[Rejection, ...]


ChargeDecision = Post | Park | Refuse

AWAIT_WIDER_STATEMENT = Park("dated after the encounter's statement period: waits for the update that widens it")


def decide_charge(
    assessment: ChargeAssessment, charge: ChargeFacts, encounter: EncounterFacts, *, encounter_open: bool
) -> ChargeDecision:
    """Post a line that passed, refuse one that did not, except an institutional line of an open
    encounter refused only for dates after its statement period: a hospital's interim feed sends
    the update that widens the period and the day's charges on two topics, so the line may come
    first, and it waits for that update. Once the encounter is closed nothing widens the period
    any more: the line is refused as any other."""
    if assessment.line is not None:
        return Post(assessment.line)
    rejections = assessment.result.rejections
    if encounter_open and dated_past_statement(charge, encounter, rejections):
        return AWAIT_WIDER_STATEMENT
    return Refuse(rejections)
