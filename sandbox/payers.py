"""The simulated payers: deploy/local/payers.yaml (the same file and fee schedules claims loads)
plus each payer's `sandbox:` behaviour section. Pure: reads files, no I/O beyond that.

Behaviour keys (all optional; amounts and percents are strings or numbers, read as Decimal):

* ``underpay_percent``: pay below contract: the allowed amount is the fee schedule x (1 - p/100).
* ``deductible``, ``coinsurance_percent``, ``copay`` and ``copay_codes`` (procedure codes that
  carry the per-claim copay) and ``out_of_pocket_max``: the member's plan. The deductible and
  the patient's share accumulate per member; past the maximum the plan pays in full.
* ``sequestration_percent``: Medicare-style CO-253 reduction of the payment.
* ``cost_share_exempt``: procedure codes, or ranges of five-digit codes like "80000-89999", that
  carry no deductible, coinsurance or copay (Medicare's clinical laboratory fee schedule).
* ``crossover_to``: payer id of a secondary the payer forwards claims to itself (CLP02 19).
* ``auth_required``: procedure codes denied CO-197 when the claim has no prior authorization.
* ``non_covered`` and ``non_covered_patient_pays``: codes denied CO-96 (PR-96 when the plan says
  the patient pays).
* ``unlisted_non_covered`` (default true): a code missing from the fee schedule is non-covered.
* ``reject_if``: front-end 277CA rules: ``missing_prior_auth`` (codes rejected A6 without
  REF*G1), ``member_id_pattern`` (a regular expression the member id must match, else A7),
  ``missing_ndc`` (true: a drug line, J code or Q51xx, without 2410 LIN is rejected A7:218) and
  ``missing_clia`` (true: a lab line, 80000-89999 or modifier QW, without REF*X4 is rejected
  A7:21:85).
* ``interest_probability`` / ``interest_percent``: occasional PLB L6 interest on a claim.
* ``recoupment_probability`` / ``recoupment_percent``: occasional PLB WO recovery of part of an
  earlier claim's payment.
* ``remit_delay_s``: seconds between the acknowledgments and this payer's 835.
* ``trace_payer_id`` (TRN03, "1" + EIN) and ``address``: how the payer signs its 835s.
* ``eligibility``: how the payer answers 270s (``sandbox.eligibility`` has the 271 it builds):
  ``coverage_level`` (EB02, default IND), ``insurance_type`` (EB04), ``plan_description`` (EB05),
  ``plan_begin``/``plan_end`` (ISO dates; default the calendar year of the service date) and
  ``rules``: a list of ``{member_id_pattern, answer}`` tried in order against the subscriber's
  member id (``re.search``), ``answer`` one of ``inactive`` (EB*6, the plan ended the year
  before), ``not_found`` (AAA*N**75*C) or ``other_payer`` (EB*R naming ``other_payer:
  {payer_id, name, role (PRP primary, SEP secondary, TTP tertiary; default PRP),
  insurance_type}``). Every other member is active with the plan's cost sharing as the payer's
  own adjudication will apply it.
* ``institutional``: how the payer prices 837I claims (``sandbox.institutional`` has the
  formulas): ``drg_base_rate`` (inpatient DRG case rate: base rate x MS-DRG weight), else
  ``per_diem`` (inpatient: per day of the statement period), ``outlier_threshold`` and
  ``outlier_percent`` (inpatient charges above the case or per-diem amount plus the threshold
  are paid at that percent), ``outpatient_percent`` (outpatient: percent of each line's
  charge). A claim the section gives no method for is denied CO-96.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PAYERS_FILE = REPO / "deploy" / "local" / "payers.yaml"


CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class PayerConfigError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class RejectRules:
    missing_prior_auth: frozenset[str] = frozenset()
    member_id_pattern: str | None = None
    missing_ndc: bool = False
    missing_clia: bool = False

    def member_id_ok(self, member_id: str) -> bool:
        return self.member_id_pattern is None or re.fullmatch(self.member_id_pattern, member_id) is not None


@dataclass(frozen=True, kw_only=True)
class PayerAddress:
    line1: str = "1 Claims Way"
    city: str = "Sacramento"
    state: str = "CA"
    postal_code: str = "95814"


@dataclass(frozen=True, kw_only=True)
class InstitutionalTerms:
    """How the payer prices institutional (837I) claims; None: no such method."""

    drg_base_rate: Decimal | None = None
    per_diem: Decimal | None = None
    outlier_threshold: Decimal | None = None
    outlier_percent: Decimal = Decimal(0)
    outpatient_percent: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class OtherPayer:
    """The payer a 271 names in EB*R (loop 2120C NM1): who pays first, second or third."""

    payer_id: str
    name: str
    role: str = "PRP"  # NM101: PRP primary, SEP secondary, TTP tertiary
    insurance_type: str = ""  # EB04: MB Medicare Part B, MC Medicaid, ...


EligibilityAnswer = Literal["inactive", "not_found", "other_payer"]


@dataclass(frozen=True, kw_only=True)
class EligibilityRule:
    member_id_pattern: str  # re.search against the subscriber's member id
    answer: EligibilityAnswer
    other_payer: OtherPayer | None = None


@dataclass(frozen=True, kw_only=True)
class EligibilityTerms:
    """How the payer answers a 270 (``sandbox.eligibility``)."""

    coverage_level: str = "IND"
    insurance_type: str = ""
    plan_description: str = ""
    plan_begin: date | None = None  # None: January 1 of the service date's year
    plan_end: date | None = None  # None: December 31 of the service date's year
    rules: tuple[EligibilityRule, ...] = ()

    def rule_for(self, member_id: str) -> EligibilityRule | None:
        return next((r for r in self.rules if re.search(r.member_id_pattern, member_id)), None)


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    underpay_percent: Decimal = Decimal(0)
    deductible: Decimal = Decimal(0)
    coinsurance_percent: Decimal = Decimal(0)
    copay: Decimal = Decimal(0)
    copay_codes: frozenset[str] = frozenset()
    out_of_pocket_max: Decimal | None = None
    sequestration_percent: Decimal = Decimal(0)
    crossover_to: str | None = None
    auth_required: frozenset[str] = frozenset()
    cost_share_exempt_codes: frozenset[str] = frozenset()
    cost_share_exempt_ranges: tuple[tuple[str, str], ...] = ()
    non_covered: frozenset[str] = frozenset()
    non_covered_patient_pays: bool = False
    unlisted_non_covered: bool = True
    reject_if: RejectRules = field(default_factory=RejectRules)
    interest_probability: Decimal = Decimal(0)
    interest_percent: Decimal = Decimal(1)
    recoupment_probability: Decimal = Decimal(0)
    recoupment_percent: Decimal = Decimal(25)
    remit_delay_s: float | None = None
    trace_payer_id: str = "1999999999"
    address: PayerAddress = field(default_factory=PayerAddress)
    institutional: InstitutionalTerms = field(default_factory=InstitutionalTerms)
    eligibility: EligibilityTerms = field(default_factory=EligibilityTerms)

    def cost_share_exempt(self, code: str) -> bool:
        return code in self.cost_share_exempt_codes or any(
            len(code) == len(low) and code.isdigit() and low <= code <= high
            for low, high in self.cost_share_exempt_ranges)


@dataclass(frozen=True, kw_only=True)
class PayerConfig:
    payer_id: str
    name: str
    claim_filing_indicator: str
    fee_schedule: Mapping[tuple[str, str], Decimal]  # (procedure code, modifier or "") -> allowed per unit
    behaviour: Behaviour

    def contracted_rate(self, procedure_code: str, modifiers: tuple[str, ...] | list[str]) -> Decimal | None:
        """Allowed amount per unit: the first modifier with its own row wins, else the plain code."""
        for modifier in modifiers:
            rate = self.fee_schedule.get((procedure_code, modifier))
            if rate is not None:
                return rate
        return self.fee_schedule.get((procedure_code, ""))


def _decimal(value: Any, key: str) -> Decimal:
    try:
        return Decimal(str(value))
    except Exception as exc:
        raise PayerConfigError(f"sandbox.{key} is not a number") from exc


def _codes(value: Any, key: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise PayerConfigError(f"sandbox.{key} must be a list of procedure codes")
    return frozenset(str(v) for v in value)


_DECIMALS = ("underpay_percent", "deductible", "coinsurance_percent", "copay", "out_of_pocket_max",
             "sequestration_percent",
             "interest_probability", "interest_percent", "recoupment_probability", "recoupment_percent")
_CODES = ("copay_codes", "auth_required", "non_covered")
_KNOWN = {*_DECIMALS, *_CODES, "crossover_to", "non_covered_patient_pays", "unlisted_non_covered", "reject_if",
          "remit_delay_s", "trace_payer_id", "address", "cost_share_exempt", "institutional", "eligibility"}
_INSTITUTIONAL = ("drg_base_rate", "per_diem", "outlier_threshold", "outlier_percent", "outpatient_percent")


def _institutional(raw: Any) -> InstitutionalTerms:
    if not isinstance(raw, Mapping):
        raise PayerConfigError("sandbox.institutional must be a mapping")
    unknown = set(raw) - set(_INSTITUTIONAL)
    if unknown:
        raise PayerConfigError(f"unknown sandbox.institutional keys: {sorted(unknown)}")
    values = {k: _decimal(raw[k], f"institutional.{k}") for k in _INSTITUTIONAL if raw.get(k) is not None}
    for key, value in values.items():
        if value < 0:
            raise PayerConfigError(f"sandbox.institutional.{key} must not be negative")
    for key in ("outlier_percent", "outpatient_percent"):
        if values.get(key, Decimal(0)) > 100:
            raise PayerConfigError(f"sandbox.institutional.{key} must be between 0 and 100")
    if "outlier_percent" in values and "outlier_threshold" not in values:
        raise PayerConfigError("sandbox.institutional.outlier_percent needs outlier_threshold")
    return InstitutionalTerms(**values)


_ELIGIBILITY = {"coverage_level", "insurance_type", "plan_description", "plan_begin", "plan_end", "rules"}
_ANSWERS = ("inactive", "not_found", "other_payer")


def _iso_date(value: Any, key: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PayerConfigError(f"sandbox.eligibility.{key} is not an ISO date (YYYY-MM-DD)") from None


def _eligibility_rule(raw: Any, n: int) -> EligibilityRule:
    where = f"sandbox.eligibility.rules[{n}]"
    if not isinstance(raw, Mapping) or set(raw) - {"member_id_pattern", "answer", "other_payer"}:
        raise PayerConfigError(f"{where} must be a mapping of member_id_pattern, answer and other_payer")
    pattern = str(raw.get("member_id_pattern") or "")
    try:
        re.compile(pattern)
    except re.error:
        raise PayerConfigError(f"{where}.member_id_pattern is not a regular expression") from None
    answer = raw.get("answer")
    if not pattern or answer not in _ANSWERS:
        raise PayerConfigError(f"{where} needs member_id_pattern and answer (one of {', '.join(_ANSWERS)})")
    other = raw.get("other_payer")
    if (answer == "other_payer") != (other is not None):
        raise PayerConfigError(f"{where}: other_payer goes with answer other_payer, and only with it")
    other_payer = None
    if other is not None:
        if not isinstance(other, Mapping) or not other.get("payer_id") or not other.get("name") or (
                set(other) - {"payer_id", "name", "role", "insurance_type"}):
            raise PayerConfigError(f"{where}.other_payer needs payer_id and name (role, insurance_type optional)")
        other_payer = OtherPayer(**{k: str(v) for k, v in other.items()})
    return EligibilityRule(member_id_pattern=pattern, answer=answer, other_payer=other_payer)


def _eligibility(raw: Any) -> EligibilityTerms:
    if not isinstance(raw, Mapping):
        raise PayerConfigError("sandbox.eligibility must be a mapping")
    unknown = set(raw) - _ELIGIBILITY
    if unknown:
        raise PayerConfigError(f"unknown sandbox.eligibility keys: {sorted(unknown)}")
    kwargs: dict[str, Any] = {k: str(raw[k]) for k in ("coverage_level", "insurance_type", "plan_description")
                              if k in raw}
    kwargs.update({k: _iso_date(raw[k], k) for k in ("plan_begin", "plan_end") if raw.get(k) is not None})
    rules = raw.get("rules") or []
    if not isinstance(rules, list):
        raise PayerConfigError("sandbox.eligibility.rules must be a list")
    terms = EligibilityTerms(**kwargs, rules=tuple(_eligibility_rule(r, n) for n, r in enumerate(rules)))
    if (terms.plan_begin is None) != (terms.plan_end is None) or (
            terms.plan_begin and terms.plan_end and terms.plan_end < terms.plan_begin):
        raise PayerConfigError("sandbox.eligibility.plan_begin and plan_end go together, begin first")
    return terms


def _exempt(value: Any) -> dict[str, Any]:
    """cost_share_exempt: codes and "low-high" ranges of five-digit codes."""
    codes, ranges = [], []
    for item in _codes(value, "cost_share_exempt"):
        low, sep, high = item.partition("-")
        if not sep:
            codes.append(item)
        elif len(low) == len(high) == 5 and low.isdigit() and high.isdigit() and low <= high:
            ranges.append((low, high))
        else:
            raise PayerConfigError(f"sandbox.cost_share_exempt: {item!r} is not a code or a range like 80000-89999")
    return {"cost_share_exempt_codes": frozenset(codes), "cost_share_exempt_ranges": tuple(sorted(ranges))}


def _flag(rules: Mapping[str, Any], key: str) -> bool:
    value = rules.get(key, False)
    if not isinstance(value, bool):
        raise PayerConfigError(f"sandbox.reject_if.{key} must be true or false")
    return value


def parse_behaviour(raw: Mapping[str, Any] | None) -> Behaviour:
    raw = raw or {}
    unknown = set(raw) - _KNOWN
    if unknown:
        raise PayerConfigError(f"unknown sandbox keys: {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    for key in _DECIMALS:
        if key in raw:
            kwargs[key] = _decimal(raw[key], key)
    for key in _CODES:
        if key in raw:
            kwargs[key] = _codes(raw[key], key)
    if "cost_share_exempt" in raw:
        kwargs.update(_exempt(raw["cost_share_exempt"]))
    if raw.get("crossover_to") is not None:
        kwargs["crossover_to"] = str(raw["crossover_to"])
    for key in ("non_covered_patient_pays", "unlisted_non_covered"):
        if key in raw:
            kwargs[key] = bool(raw[key])
    if raw.get("remit_delay_s") is not None:
        kwargs["remit_delay_s"] = float(raw["remit_delay_s"])
    if "trace_payer_id" in raw:
        trace = str(raw["trace_payer_id"])
        if not re.fullmatch(r"1\d{9}", trace):
            raise PayerConfigError("sandbox.trace_payer_id must be 1 followed by a 9-digit EIN")
        kwargs["trace_payer_id"] = trace
    if "address" in raw:
        kwargs["address"] = PayerAddress(**{k: str(v) for k, v in dict(raw["address"]).items()})
    if "institutional" in raw:
        kwargs["institutional"] = _institutional(raw["institutional"])
    if "eligibility" in raw:
        kwargs["eligibility"] = _eligibility(raw["eligibility"])
    rules = raw.get("reject_if") or {}
    if rules:
        pattern = rules.get("member_id_pattern")
        if pattern is not None:
            re.compile(str(pattern))
        unknown_rules = set(rules) - {"missing_prior_auth", "member_id_pattern", "missing_ndc", "missing_clia"}
        if unknown_rules:
            raise PayerConfigError(f"unknown sandbox.reject_if keys: {sorted(unknown_rules)}")
        kwargs["reject_if"] = RejectRules(
            missing_prior_auth=_codes(rules.get("missing_prior_auth"), "reject_if.missing_prior_auth"),
            member_id_pattern=None if pattern is None else str(pattern),
            missing_ndc=_flag(rules, "missing_ndc"), missing_clia=_flag(rules, "missing_clia"),
        )
    behaviour = Behaviour(**kwargs)
    for key in ("underpay_percent", "coinsurance_percent", "sequestration_percent"):
        if not Decimal(0) <= getattr(behaviour, key) < Decimal(100):
            raise PayerConfigError(f"sandbox.{key} must be between 0 and 100")
    for key in ("interest_probability", "recoupment_probability"):
        if not Decimal(0) <= getattr(behaviour, key) <= Decimal(1):
            raise PayerConfigError(f"sandbox.{key} must be between 0 and 1")
    return behaviour


def read_fee_schedule(path: Path) -> dict[tuple[str, str], Decimal]:
    """The claims service's fee schedule CSV: procedure_code, modifier, allowed_amount, ...;
    lines starting with # are comments."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    out: dict[tuple[str, str], Decimal] = {}
    for row in csv.DictReader(lines):
        out[(row["procedure_code"].strip(), (row.get("modifier") or "").strip())] = Decimal(
            row["allowed_amount"].strip()
        )
    return out


def load_payers(path: Path = DEFAULT_PAYERS_FILE) -> dict[str, PayerConfig]:
    """Every payer of payers.yaml with its fee schedule and sandbox behaviour, by payer id."""
    doc = yaml.safe_load(path.read_text()) or {}
    out: dict[str, PayerConfig] = {}
    for entry in doc.get("payers", []):
        payer_id = str(entry["payer_id"])
        schedule_file = entry.get("fee_schedule")
        schedule = read_fee_schedule(path.parent / schedule_file) if schedule_file else {}
        out[payer_id] = PayerConfig(
            payer_id=payer_id,
            name=str(entry["name"]),
            claim_filing_indicator=str(entry.get("claim_filing_indicator", "CI")),
            fee_schedule=schedule,
            behaviour=parse_behaviour(entry.get("sandbox")),
        )
    for payer in out.values():
        target = payer.behaviour.crossover_to
        if target is not None and target not in out:
            raise PayerConfigError(f"payer {payer.payer_id} crosses over to unknown payer {target}")
    return out
