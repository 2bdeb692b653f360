"""Loader for the CMS HCPCS Level II quarterly release ("HCPC2026_<MONTH>_ANWEB" files).

CMS ships each quarter's alpha-numeric file as fixed-width text (``..._ANWEB.txt``, also
given as .xlsx). Positions below follow the CMS record layout ("HCPCS Contractor Record",
320 characters per record, unchanged in the 2016-2024 layouts we could read; 1-based,
inclusive):

====================  ========  ==========================================================
field                 columns   use here
====================  ========  ==========================================================
HCPCS code            1-5       procedure code; modifier records put the modifier in 4-5
sequence number       6-10      not needed: records are already in order
record id             11        3 procedure, 4 its continuation; 7 modifier, 8 continuation
long description      12-91     continued on the following 4/8 records
short description     92-119
code added date       269-276   YYYYMMDD
action effective      277-284   YYYYMMDD (informational)
termination date      285-292   YYYYMMDD, blank while the code is active
action code           293       A add, D discontinue, N none, ... (informational)
====================  ========  ==========================================================

Continuation records are short lines (CMS trims trailing blanks), so every slice tolerates
a line that ends early. A CSV export of the .xlsx is read too when its header names the
CMS columns (HCPC, RECID, LONG DESCRIPTION, SHORT DESCRIPTION, ADD DT, TERM DT, ...).
Loading is all or nothing: any bad record fails the whole file with every line listed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType

from services.charges.domain.codes import ProcedureKind, is_modifier_shape, procedure_kind
from services.charges.domain.findings import LineError
from services.charges.domain.reference import HcpcsCode, ReferenceFileError

PROCEDURE_FIRST, PROCEDURE_MORE, MODIFIER_FIRST, MODIFIER_MORE = "3", "4", "7", "8"
_FIRST_LINES = {PROCEDURE_FIRST, MODIFIER_FIRST}


@dataclass(frozen=True, slots=True)
class _Record:
    line: int
    code: str
    record_id: str
    long_description: str
    short_description: str
    added: str
    terminated: str


@dataclass(frozen=True, slots=True)
class HcpcsRelease:
    """One quarterly release: Level II procedure codes and the modifiers it defines."""

    procedures: MappingProxyType[str, HcpcsCode]
    modifiers: MappingProxyType[str, HcpcsCode]


def _fixed_width_records(lines: list[str]) -> Iterator[_Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record_id = line[10:11]
        is_modifier = record_id in {MODIFIER_FIRST, MODIFIER_MORE}
        code = line[3:5] if is_modifier else line[0:5]
        yield _Record(
            line=number,
            code=code.strip(),
            record_id=record_id,
            long_description=line[11:91].strip(),
            short_description=line[91:119].strip(),
            added=line[268:276].strip(),
            terminated=line[284:292].strip(),
        )


_CSV_COLUMNS = {
    "code": "HCPC",
    "record_id": "RECID",
    "long_description": "LONG_DESCRIPTION",
    "short_description": "SHORT_DESCRIPTION",
    "added": "ADD_DT",
    "terminated": "TERM_DT",
}


def _normalize_header(name: str) -> str:
    return "_".join(name.strip().upper().replace("_", " ").split())


def _csv_records(lines: list[str]) -> Iterator[_Record]:
    reader = csv.reader(lines)
    header = [_normalize_header(h) for h in next(reader)]
    missing = [c for c in _CSV_COLUMNS.values() if c not in header]
    if missing:
        raise ReferenceFileError(
            "HCPCS file", [LineError(1, None, "CSV header lacks the CMS columns " + ", ".join(missing))]
        )
    at = {key: header.index(column) for key, column in _CSV_COLUMNS.items()}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {key: (row[i].strip() if i < len(row) else "") for key, i in at.items()}
        yield _Record(line=reader.line_num, **cells)


def _is_csv(first_line: str) -> bool:
    return _normalize_header(first_line.split(",", 1)[0].strip('"')) == "HCPC"


def _date(text: str) -> date | None:
    """YYYYMMDD, or None when blank; ValueError when it is neither."""
    if not text:
        return None
    if len(text) != 8 or not text.isdigit():
        raise ValueError("not YYYYMMDD")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def parse_hcpcs_release(text: str) -> HcpcsRelease:
    """Parse a quarterly HCPCS alpha-numeric file (fixed-width text or CSV export).

    CPT (Level I) rows, if a file ever carries them, are skipped: CPT is licensed separately
    and configured as its own list.
    """
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    records = _csv_records(lines) if _is_csv(first) else _fixed_width_records(lines)

    procedures: dict[str, HcpcsCode] = {}
    modifiers: dict[str, HcpcsCode] = {}
    errors: list[LineError] = []
    # A code's long description spans its first record and the continuations after it.
    current: tuple[_Record, list[str]] | None = None

    def finish() -> None:
        if current is None:
            return
        head, parts = current
        try:
            added, terminated = _date(head.added), _date(head.terminated)
        except ValueError:
            errors.append(LineError(head.line, None, "added and termination dates must be YYYYMMDD or blank"))
            return
        description = " ".join(p for p in parts if p) or head.short_description
        target = modifiers if head.record_id == MODIFIER_FIRST else procedures
        if head.code in target:
            errors.append(LineError(head.line, None, "code appears twice"))
        else:
            target[head.code] = HcpcsCode(head.code, description, added=added, terminated=terminated)

    for record in records:
        if record.record_id in _FIRST_LINES:
            finish()
            current = None
            valid = (
                is_modifier_shape(record.code)
                if record.record_id == MODIFIER_FIRST
                else procedure_kind(record.code) is not None
            )
            if not valid:
                errors.append(LineError(record.line, None, "code has neither a HCPCS nor a modifier shape"))
            elif record.record_id == MODIFIER_FIRST or procedure_kind(record.code) is ProcedureKind.HCPCS:
                current = (record, [record.long_description])
        elif record.record_id in {PROCEDURE_MORE, MODIFIER_MORE}:
            if current is not None and current[0].code == record.code:
                current[1].append(record.long_description)
            elif procedure_kind(record.code) is not ProcedureKind.CPT:
                errors.append(LineError(record.line, None, "continuation record without its first record"))
        else:
            errors.append(LineError(record.line, None, "record id must be 3, 4, 7 or 8"))
    finish()

    if errors:
        raise ReferenceFileError("HCPCS file", errors)
    if not procedures:
        raise ReferenceFileError("HCPCS file", [LineError(1, None, "the file holds no HCPCS Level II codes")])
    return HcpcsRelease(procedures=MappingProxyType(procedures), modifiers=MappingProxyType(modifiers))
