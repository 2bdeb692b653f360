"""The payer master (deploy/local/payers.yaml) and fee schedules (CSV): parsing and lookups.

Claims owns every key except each payer's ``sandbox:`` section, which it ignores.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, get_args

import yaml

from edi.x837 import ClaimFilingIndicator

# One list of X12 SBR09 codes: the 837 model's.
FILING_INDICATORS = frozenset(get_args(ClaimFilingIndicator))
CENT = Decimal("0.01")


class PayerFileError(ValueError):
    """The payer master or a fee schedule is invalid; the messages say where."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class PayerConfig:
    payer_id: str
    name: str
    claim_filing_indicator: str
    bill_hold_days: int
    timely_filing_days: int
    follow_up_days: int
    fee_schedule: str | None = None
    poa_required: bool = True
    """The payer wants a present-on-admission indicator on every diagnosis of an inpatient
    837I: Medicare on IPPS hospitals' claims (Deficit Reduction Act of 2005, Section 5001(c)),
    and most commercial and Medicaid payers after it; a payer that does not says false."""
    eligibility: bool = True
    """Claims asks this payer about coverage (270) before billing it; false for a payer that
    answers no 270s."""


def parse_payers(text: str) -> list[PayerConfig]:
    """Parse and validate the payer master; every problem is listed, nothing half-loaded."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PayerFileError([f"not valid YAML ({type(exc).__name__})"]) from None
    items = raw.get("payers") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise PayerFileError(["the file needs a non-empty `payers:` list"])
    errors: list[str] = []
    out: list[PayerConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"payers[{i}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        payer_id = str(item.get("payer_id", "")).strip()
        if not re.fullmatch(r"[A-Za-z0-9]{2,80}", payer_id):
            errors.append(f"{where}.payer_id: 2 to 80 letters or digits required")
        elif payer_id in seen:
            errors.append(f"{where}.payer_id: {payer_id} is listed twice")
        seen.add(payer_id)
        name = str(item.get("name", "")).strip()
        if not name or len(name) > 60:
            errors.append(f"{where}.name: 1 to 60 characters required")
        cfi = str(item.get("claim_filing_indicator", ""))
        if cfi not in FILING_INDICATORS:
            errors.append(f"{where}.claim_filing_indicator: {cfi!r} is not an X12 SBR09 code")
        numbers: dict[str, int] = {}
        for key, default in (("bill_hold_days", 0), ("timely_filing_days", 365), ("follow_up_days", 30)):
            value = item.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3650:
                errors.append(f"{where}.{key}: a whole number of days (0..3650) required")
                value = default
            numbers[key] = value
        fee = item.get("fee_schedule")
        if fee is not None and (not isinstance(fee, str) or fee.startswith("/") or ".." in fee):
            errors.append(f"{where}.fee_schedule: a relative path inside deploy/local is required")
            fee = None
        poa_required = item.get("poa_required", True)
        if not isinstance(poa_required, bool):
            errors.append(f"{where}.poa_required: true or false required")
            poa_required = True
        eligibility = item.get("eligibility", True)
        if not isinstance(eligibility, bool):
            errors.append(f"{where}.eligibility: true or false required")
            eligibility = True
        out.append(
            PayerConfig(
                payer_id,
                name,
                cfi,
                numbers["bill_hold_days"],
                numbers["timely_filing_days"],
                numbers["follow_up_days"],
                fee,
                poa_required,
                eligibility,
            )
        )
    if errors:
        raise PayerFileError(errors)
    return out


NOT_CSV = "cannot be read as CSV (a cell over the 131,072 characters the CSV reader takes)"


@dataclass(frozen=True)
class FeeRow:
    procedure_code: str
    modifier: str
    allowed_amount: Decimal
    effective_date: date


def parse_fee_schedule(text: str) -> list[FeeRow]:
    """CSV with procedure_code, modifier, allowed_amount, effective_date; `#` lines are comments."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    need = {"procedure_code", "modifier", "allowed_amount", "effective_date"}
    try:
        header, read = reader.fieldnames, list(reader)
    except csv.Error:  # found by fuzzing: it ended `rcm feeschedule load` in a traceback
        raise PayerFileError([f"row {reader.line_num}: {NOT_CSV}"]) from None
    if header is None or not need <= set(header):
        raise PayerFileError([f"header must name {', '.join(sorted(need))}"])
    errors: list[str] = []
    rows: list[FeeRow] = []
    seen: set[tuple[str, str, date]] = set()
    for n, row in enumerate(read, start=2):
        code = (row["procedure_code"] or "").strip().upper()
        modifier = (row["modifier"] or "").strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{5}", code):
            errors.append(f"row {n}: procedure_code must be 5 letters or digits")
            continue
        if modifier and not re.fullmatch(r"[A-Z0-9]{2}", modifier):
            errors.append(f"row {n}: modifier must be 2 letters or digits or empty")
            continue
        try:
            amount = Decimal((row["allowed_amount"] or "").strip())
            if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
                raise InvalidOperation
        except InvalidOperation:
            errors.append(f"row {n}: allowed_amount must be a non-negative amount with at most 2 decimals")
            continue
        try:
            effective = date.fromisoformat((row["effective_date"] or "").strip())
        except ValueError:
            errors.append(f"row {n}: effective_date must be YYYY-MM-DD")
            continue
        if (code, modifier, effective) in seen:
            errors.append(f"row {n}: {code} {modifier or '(no modifier)'} {effective} is listed twice")
            continue
        seen.add((code, modifier, effective))
        rows.append(FeeRow(code, modifier, amount.quantize(CENT), effective))
    if errors:
        raise PayerFileError(errors)
    return rows


@dataclass
class FeeSchedule:
    """One payer's contracted allowed amount per unit, looked up by code, modifier and date."""

    rows: list[FeeRow] = field(default_factory=list)

    def allowed_per_unit(self, code: str, modifiers: list[str], on: date) -> Decimal | None:
        for modifier in [*modifiers, ""]:
            found = [
                r for r in self.rows if r.procedure_code == code and r.modifier == modifier and r.effective_date <= on
            ]
            if found:
                return max(found, key=lambda r: r.effective_date).allowed_amount
        return None

    def expected_allowed(self, code: str, modifiers: list[str], on: date, units: Decimal) -> Decimal | None:
        per_unit = self.allowed_per_unit(code, modifiers, on)
        return None if per_unit is None else (per_unit * units).quantize(CENT)
