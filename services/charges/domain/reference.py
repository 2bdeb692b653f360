"""Reference data the charge rules consult: HCPCS Level II, modifiers, places of service,
an optional licensed CPT list, the chargemaster and the ICD-10-CM code set.

The shipped lists in ``data/`` are dated samples, clearly labelled inside each file; a
deployment loads the full CMS HCPCS quarterly file (hcpcs_file.py) and, when it holds an
AMA license, its CPT list. The only file reading here is of this package's own data files,
and only when ``shipped_reference()`` is called.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING

from services.charges.domain.codes import (
    ProcedureKind,
    is_modifier_shape,
    is_place_of_service_shape,
    procedure_kind,
)
from services.charges.domain.findings import LineError
from services.chassis.icd10cm import SHIPPED, Editions

if TYPE_CHECKING:
    from services.charges.domain.chargemaster import Chargemaster

HCPCS_SAMPLE_FILE = "hcpcs_sample_2026q4.csv"
MODIFIERS_FILE = "modifiers_2026.csv"
PLACES_OF_SERVICE_FILE = "place_of_service_2026.csv"


@dataclass(frozen=True, slots=True)
class HcpcsCode:
    code: str
    description: str
    added: date | None = None
    """First date the code may be billed, when the source says (the CMS file does)."""
    terminated: date | None = None
    """Last date the code may be billed, when it has been discontinued."""

    def in_effect_on(self, day: date) -> bool:
        if self.added is not None and day < self.added:
            return False
        return self.terminated is None or day <= self.terminated


@dataclass(frozen=True, slots=True)
class ReferenceData:
    hcpcs: Mapping[str, HcpcsCode]
    modifiers: frozenset[str]
    places_of_service: frozenset[str]
    cpt_codes: frozenset[str] | None = None
    """A licensed CPT list when configured; None means CPT codes are checked by shape only."""
    chargemaster: Chargemaster | None = None
    diagnoses: Editions = SHIPPED
    """The ICD-10-CM editions by fiscal year: the shipped one, and those an operator loaded."""
    hcpcs_source: str = "shipped sample"
    """Where the HCPCS list came from, for operators reading an unknown-code rejection."""

    def with_chargemaster(self, chargemaster: Chargemaster) -> ReferenceData:
        return replace(self, chargemaster=chargemaster)

    def with_diagnoses(self, editions: Editions) -> ReferenceData:
        return replace(self, diagnoses=editions)


class ReferenceFileError(ValueError):
    """A reference file that cannot be used; lists every bad line (nothing is half-loaded)."""

    def __init__(self, source: str, errors: list[LineError]) -> None:
        self.source = source
        self.errors = tuple(errors)
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{source}: {shown}{more}")


def parse_code_list_csv(text: str, *, source: str, valid_code: Callable[[str], bool]) -> dict[str, str]:
    """A ``code,description`` CSV with ``#`` comment lines (the shipped lists' format)."""
    codes: dict[str, str] = {}
    errors: list[LineError] = []
    header_seen = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        # One record per line: these lists never need quoted line breaks, and reading line by
        # line keeps error line numbers exact.
        row = next(csv.reader([line]))
        if not header_seen:
            header_seen = True
            if row != ["code", "description"]:
                errors.append(LineError(number, None, "header must be code,description"))
                break
        elif len(row) != 2 or not valid_code(row[0]) or not row[1].strip():
            errors.append(LineError(number, None, "expected a valid code and a description"))
        elif row[0] in codes:
            errors.append(LineError(number, "code", "code is listed twice"))
        else:
            codes[row[0]] = row[1].strip()
    if not header_seen:
        errors.append(LineError(1, None, "the file has no header and no codes"))
    if errors:
        raise ReferenceFileError(source, errors)
    return codes


def _is_hcpcs(code: str) -> bool:
    return procedure_kind(code) is ProcedureKind.HCPCS


def parse_hcpcs_sample_csv(text: str) -> dict[str, HcpcsCode]:
    listed = parse_code_list_csv(text, source=HCPCS_SAMPLE_FILE, valid_code=_is_hcpcs)
    return {code: HcpcsCode(code, description) for code, description in listed.items()}


def _read_shipped(name: str) -> str:
    return (resources.files(__package__) / "data" / name).read_text(encoding="utf-8")


@cache
def shipped_reference() -> ReferenceData:
    """The shipped samples: enough for local runs, demos and tests, not for production billing."""
    hcpcs = parse_hcpcs_sample_csv(_read_shipped(HCPCS_SAMPLE_FILE))
    modifiers = parse_code_list_csv(_read_shipped(MODIFIERS_FILE), source=MODIFIERS_FILE, valid_code=is_modifier_shape)
    places = parse_code_list_csv(
        _read_shipped(PLACES_OF_SERVICE_FILE), source=PLACES_OF_SERVICE_FILE, valid_code=is_place_of_service_shape
    )
    return ReferenceData(
        hcpcs=MappingProxyType(hcpcs),
        modifiers=frozenset(modifiers),
        places_of_service=frozenset(places),
        hcpcs_source=f"shipped sample {HCPCS_SAMPLE_FILE}",
    )
