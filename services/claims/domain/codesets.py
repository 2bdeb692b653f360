"""NCCI procedure-to-procedure edits and MUE unit limits: shipped dated samples, and loaders
for the CMS quarterly file layouts.

CMS publishes the practitioner PTP file as tab-separated (or spreadsheet-exported) rows
after a few title lines: Column 1, Column 2, "*=in existence prior to 1996", Effective Date
(YYYYMMDD), Deletion Date (YYYYMMDD or *), Modifier indicator (0/1/9), PTP Edit Rationale.
The practitioner MUE file has: HCPCS/CPT Code, Practitioner Services MUE Values, MUE
Adjudication Indicator (text starting with the digit), MUE Rationale. Title and header rows
are skipped: a data row starts with a 5-character procedure code.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
SAMPLE_QUARTER = "2026Q1"
_CODE = re.compile(r"^[A-Z0-9]{5}$")


@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    effective: date
    deleted: date | None
    modifier_indicator: str  # 0 never, 1 allowed with a modifier, 9 not applicable

    def in_force(self, on: date) -> bool:
        return self.effective <= on and (self.deleted is None or on < self.deleted)


@dataclass(frozen=True)
class Mue:
    procedure_code: str
    max_units: int
    adjudication_indicator: str


def _rows(text: str) -> list[list[str]]:
    body = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    dialect = "excel-tab" if any("\t" in line for line in body[:20]) else "excel"
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO("\n".join(body)), dialect=dialect)]


def _cms_date(value: str) -> date | None:
    value = value.strip()
    if not value or value == "*":
        return None
    return date.fromisoformat(value) if "-" in value else date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def load_cms_ptp(text: str) -> list[PtpEdit]:
    """The CMS quarterly PTP layout (see the module docstring)."""
    edits: list[PtpEdit] = []
    for row in _rows(text):
        if len(row) < 6 or not _CODE.match(row[0].upper()) or not _CODE.match(row[1].upper()):
            continue
        effective = _cms_date(row[3])
        if effective is None or row[5] not in {"0", "1", "9"}:
            raise ValueError(f"PTP row for {row[0]}/{row[1]} has no effective date or modifier indicator")
        edits.append(PtpEdit(row[0].upper(), row[1].upper(), effective, _cms_date(row[4]), row[5]))
    return edits


def load_cms_mue(text: str) -> list[Mue]:
    """The CMS quarterly practitioner MUE layout (see the module docstring)."""
    out: list[Mue] = []
    for row in _rows(text):
        if len(row) < 3 or not _CODE.match(row[0].upper()) or not row[1].isdigit():
            continue
        out.append(Mue(row[0].upper(), int(row[1]), row[2][:1]))
    return out


def load_sample_ptp(text: str) -> list[PtpEdit]:
    """Our sample layout: column1,column2,effective_date,deletion_date,modifier_indicator."""
    out: list[PtpEdit] = []
    for row in _rows(text)[1:]:
        effective = _cms_date(row[2])
        assert effective is not None
        out.append(PtpEdit(row[0], row[1], effective, _cms_date(row[3]), row[4]))
    return out


@dataclass(frozen=True)
class CodeSets:
    ptp: tuple[PtpEdit, ...]
    mue: dict[str, Mue]
    quarter: str


@lru_cache(maxsize=1)
def shipped() -> CodeSets:
    ptp = load_sample_ptp((DATA / f"ncci_ptp_practitioner_{SAMPLE_QUARTER.lower()}_sample.csv").read_text())
    mue = load_cms_mue((DATA / f"mue_practitioner_{SAMPLE_QUARTER.lower()}_sample.csv").read_text())
    return CodeSets(tuple(ptp), {m.procedure_code: m for m in mue}, SAMPLE_QUARTER)
