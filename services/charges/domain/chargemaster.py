"""The chargemaster (CDM): the hospital's price list, from item code to procedure and price.

Uploaded as CSV with a header row; columns in any order:

    cdm_code, procedure_code, revenue_code, description, unit_price   (required)
    modifiers, effective_date                                         (optional)

``modifiers`` holds up to 4 space-separated modifiers; ``effective_date`` is YYYY-MM-DD.
``procedure_code`` may be empty on a facility item that a revenue code alone describes (room and
board, pharmacy, supplies): such an item can only be billed on an institutional claim.
Lines starting with ``#`` and blank lines are ignored. Every row is checked and every problem
is reported with its line number; a file with any bad row loads nothing, so a half-updated
price list never reaches billing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from services.charges.domain.codes import is_chargemaster_code, is_revenue_code
from services.charges.domain.facts import ChargeFacts
from services.charges.domain.findings import LineError, Reason, Rejection
from services.charges.domain.money import parse_amount_text
from services.charges.domain.rules import check_modifiers, check_procedure_code

if TYPE_CHECKING:
    from services.charges.domain.reference import ReferenceData

REQUIRED_COLUMNS = ("cdm_code", "procedure_code", "revenue_code", "description", "unit_price")
OPTIONAL_COLUMNS = ("modifiers", "effective_date")
MAX_DESCRIPTION = 80  # the contracts' Text80, so a CDM description fits every event it is copied into

NOT_CSV = "cannot be read as CSV (a cell over the 131,072 characters the CSV reader takes)"


@dataclass(frozen=True, slots=True)
class ChargemasterItem:
    cdm_code: str
    procedure_code: str | None
    """None on a facility item a revenue code alone describes."""
    modifiers: tuple[str, ...]
    revenue_code: str
    description: str
    unit_price: Decimal
    effective_date: date | None = None


@dataclass(frozen=True, slots=True)
class Chargemaster:
    items: Mapping[str, ChargemasterItem]

    def get(self, cdm_code: str) -> ChargemasterItem | None:
        return self.items.get(cdm_code)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class ChargemasterParseResult:
    chargemaster: Chargemaster | None
    """None whenever errors is not empty: all or nothing."""
    errors: tuple[LineError, ...]

    @property
    def ok(self) -> bool:
        return self.chargemaster is not None


@dataclass(frozen=True, slots=True)
class ResolvedCode:
    """What a chargemaster item contributes to a charge that named it."""

    procedure_code: str | None
    modifiers: tuple[str, ...]
    revenue_code: str
    unit_price: Decimal
    description: str


# --------------------------------------------------------------------------- parsing


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


class _Row:
    """One data row being checked; collects errors instead of stopping at the first."""

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.errors: list[LineError] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append(LineError(self.line, field, message))

    def text(self, field: str, ok: Callable[[str], bool], message: str) -> str:
        value = self.cells.get(field, "")
        if not ok(value):
            self.fail(field, message)
        return value


def _description_ok(text: str) -> bool:
    return 0 < len(text) <= MAX_DESCRIPTION and text.isprintable()


def _check_row(row: _Row, reference: ReferenceData | None) -> ChargemasterItem | None:
    cdm_code = row.text("cdm_code", is_chargemaster_code, "cdm_code must be 1 to 30 letters, digits, '_', '.' or '-'")
    procedure_code = row.cells.get("procedure_code", "") or None
    if procedure_code is not None:
        for finding in check_procedure_code(procedure_code, "procedure_code", None, reference):
            row.fail("procedure_code", finding.message)
    modifiers = tuple(row.cells.get("modifiers", "").split())
    if procedure_code is None and modifiers:
        row.fail("modifiers", "modifiers need a procedure_code to modify")
    for finding in check_modifiers(modifiers, reference.modifiers if reference else None):
        row.fail("modifiers", finding.message)
    revenue_code = row.text("revenue_code", is_revenue_code, "revenue_code must be 4 digits")
    description = row.text("description", _description_ok, "description must be 1 to 80 printable characters")
    price = parse_amount_text(row.cells.get("unit_price", ""))
    if price is None:
        row.fail("unit_price", "unit_price must be a positive amount with at most two decimals")
    effective_text = row.cells.get("effective_date", "")
    effective = _parse_date(effective_text) if effective_text else None
    if effective_text and effective is None:
        row.fail("effective_date", "effective_date must be a date written YYYY-MM-DD, or empty")
    if row.errors or price is None:
        return None
    return ChargemasterItem(cdm_code, procedure_code, modifiers, revenue_code, description, price, effective)


def _header_errors(header: list[str], line: int) -> list[LineError]:
    errors = [LineError(line, None, f"missing column {c}") for c in REQUIRED_COLUMNS if c not in header]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    errors += [LineError(line, None, f"unknown column number {i + 1}") for i, c in enumerate(header) if c not in known]
    if len(set(header)) != len(header):
        errors.append(LineError(line, None, "a column is named twice"))
    return errors


def parse_chargemaster_csv(text: str, *, reference: ReferenceData | None = None) -> ChargemasterParseResult:
    """Parse and check a chargemaster CSV. With ``reference``, procedure codes and modifiers
    must also be known (HCPCS list, licensed CPT list when configured, modifier list)."""
    errors: list[LineError] = []
    items: dict[str, ChargemasterItem] = {}
    first_line_of: dict[str, int] = {}
    header: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        # One record per physical line keeps reported line numbers exact; a quoted line
        # break would only ever be a broken description anyway.
        try:
            cells = [c.strip() for c in next(csv.reader([line]))]
        except csv.Error:  # found by fuzzing: it ended `rcm chargemaster load` in a traceback
            errors.append(LineError(number, None, NOT_CSV))
            continue
        if header is None:
            header = [c.lower() for c in cells]
            errors += _header_errors(header, number)
            if errors:
                break
            continue
        if len(cells) != len(header):
            errors.append(LineError(number, None, f"expected {len(header)} columns, found {len(cells)}"))
            continue
        row = _Row(number, dict(zip(header, cells, strict=True)))
        item = _check_row(row, reference)
        errors += row.errors
        cdm_code = row.cells["cdm_code"]
        if cdm_code in first_line_of:
            errors.append(LineError(number, "cdm_code", f"cdm_code already used on line {first_line_of[cdm_code]}"))
        else:
            first_line_of[cdm_code] = number
            if item is not None:
                items[cdm_code] = item
    if header is None:
        errors.append(LineError(1, None, "the file has no header row"))
    elif not errors and not items:
        errors.append(LineError(1, None, "the chargemaster has no items"))
    if errors:
        return ChargemasterParseResult(None, tuple(sorted(errors, key=lambda e: e.line)))
    return ChargemasterParseResult(Chargemaster(MappingProxyType(items)), ())


# --------------------------------------------------------------------------- resolution


def merge_modifiers(item_modifiers: tuple[str, ...], charge_modifiers: tuple[str, ...]) -> tuple[str, ...]:
    """The item's own modifiers (QW, TC, 26: they describe the item) first, then the charge's,
    dropping repeats; the modifier rule then enforces the limit of 4 on the result."""
    merged = list(item_modifiers)
    merged += [m for m in charge_modifiers if m not in merged]
    return tuple(merged)


def resolve_charge_code(charge: ChargeFacts, chargemaster: Chargemaster) -> ResolvedCode | Rejection:
    """Map a charge's chargemaster code to procedure, modifiers, revenue code and unit price."""
    if charge.chargemaster_code is None:
        raise ValueError("resolve_charge_code needs a charge that names a chargemaster code")
    item = chargemaster.get(charge.chargemaster_code)
    if item is None:
        return Rejection(Reason.CDM_UNKNOWN, "chargemaster_code", "chargemaster code is not in the loaded chargemaster")
    if item.effective_date is not None and charge.service_date < item.effective_date:
        return Rejection(
            Reason.CDM_NOT_EFFECTIVE, "chargemaster_code", "chargemaster item is not yet effective on the service date"
        )
    return ResolvedCode(
        procedure_code=item.procedure_code,
        modifiers=merge_modifiers(item.modifiers, charge.modifiers),
        revenue_code=item.revenue_code,
        unit_price=item.unit_price,
        description=item.description,
    )
