"""The code sets the scrubber reads: NCCI procedure-to-procedure (PTP) edits, Medically Unlikely
Edits (MUE) and the Physician Fee Schedule indicators (PC/TC, global days). Shipped as small dated
samples (each row names the CMS file and quarter it comes from); the full CMS quarterly files
are loaded with `rcm codesets load ncci|mue FILE`.

CMS layouts read here (tab-delimited text, or CSV as exported from the CMS spreadsheets):

* practitioner PTP file (ccipra_v{VV}{R}r{N}_f{1-4}): title lines, then the header row
  "Column 1, Column 2, *=in existence prior to 1996, Effective Date, Deletion Date *=no data,
  Modifier 0=not allowed 1=allowed 9=not applicable, PTP Edit Rationale"; dates YYYYMMDD,
  deletion "*" when in force;
* practitioner MUE file (MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY): title lines, then
  "HCPCS/CPT Code, Practitioner Services MUE Values, MUE Adjudication Indicator, MUE Rationale";
  the indicator is text that starts with its digit ("2 Date of Service Edit: Policy").

Rows before the header are titles and copyright notes; every row after it must be a data row,
and a bad one stops the load with its line and column (nothing is half-loaded).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from edi.segments import is_digits
from services.chassis.icd10cm import CodeFileError
from services.claims.domain.payers import NOT_CSV

DATA = Path(__file__).with_name("data")
SAMPLE_QUARTER = "2026Q1"
PTP_SAMPLE = "ncci_ptp_practitioner_2026q1_sample.csv"
MUE_SAMPLE = "mue_practitioner_2026q1_sample.csv"
PFS_SAMPLE = "pfs_rvu26a_indicators_sample.csv"
_CODE = re.compile(r"^[A-Z0-9]{5}$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
ModifierIndicator = Literal["0", "1", "9"]
AdjudicationIndicator = Literal["1", "2", "3"]



@dataclass(frozen=True)
class PtpEdit:
    column1: str
    column2: str
    effective: date
    deleted: date | None
    modifier_indicator: ModifierIndicator
    """0: never paid together; 1: an NCCI-associated modifier may bypass; 9: not applicable."""
    source_file: str
    quarter: str

    def in_force(self, on: date) -> bool:
        return self.effective <= on and (self.deleted is None or on < self.deleted)


@dataclass(frozen=True)
class Mue:
    procedure_code: str
    max_units: int
    adjudication_indicator: AdjudicationIndicator
    """1: line edit; 2: date-of-service edit, policy (absolute); 3: date-of-service edit, clinical."""
    source_file: str
    quarter: str


@dataclass(frozen=True)
class FeeScheduleIndicators:
    """What the CMS PFS Relative Value File says of a code: the PC/TC indicator (1: professional
    and technical components billed with 26/TC; 2: professional only; 3: technical only;
    4: global test only, its components have their own codes) and the global days (000, 010,
    090, XXX, YYY, ZZZ, MMM)."""

    procedure_code: str
    pctc_indicator: str | None
    global_days: str | None
    professional_code: str | None
    """For a global-test-only code (indicator 4): the code of its professional component."""
    source: str


@dataclass(frozen=True)
class CodeSets:
    ptp: tuple[PtpEdit, ...]
    mue: Mapping[str, Mue]
    pfs: Mapping[str, FeeScheduleIndicators] = field(default_factory=dict)
    quarter: str = SAMPLE_QUARTER

    def only(self, codes: Iterable[str]) -> CodeSets:
        """The rows about these procedure codes (what one claim needs)."""
        wanted = set(codes)
        return replace(self, ptp=tuple(e for e in self.ptp if e.column1 in wanted and e.column2 in wanted),
                       mue={c: m for c, m in self.mue.items() if c in wanted},
                       pfs={c: p for c, p in self.pfs.items() if c in wanted})


# --- quarters -------------------------------------------------------------------------------


def quarter_start(quarter: str) -> date:
    found = _QUARTER.fullmatch(quarter)
    if found is None:
        raise ValueError("a quarter is written YYYYQn, e.g. 2026Q2")
    return date(int(found[1]), 3 * int(found[2]) - 2, 1)


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_from_file_name(name: str) -> str | None:
    """The quarter a CMS file name says it covers: ccipra_v321r0_f1 is version 32.1, April 2026
    (version NN.R: year 1994 + NN, quarter R + 1); MCR_MUE_..._Eff_04-01-2026 is 2026Q2."""
    lowered = name.lower()
    version = re.search(r"_v(\d{2})([0-3])r\d", lowered)
    if version:
        return f"{1994 + int(version[1])}Q{int(version[2]) + 1}"
    effective = re.search(r"eff_(\d{2})-\d{2}-(\d{4})", lowered)
    if effective and 1 <= int(effective[1]) <= 12:
        return quarter_of(date(int(effective[2]), int(effective[1]), 1))
    plain = re.search(r"(\d{4})q([1-4])", lowered)
    return f"{plain[1]}Q{plain[2]}" if plain else None


def quarter_for(day: date, quarters: Iterable[str]) -> str | None:
    """Which loaded quarter judges a date of service: the newest that starts on or before it,
    else (a date before every loaded quarter) the oldest."""
    ordered = sorted(set(quarters), key=quarter_start)
    if not ordered:
        return None
    started = [q for q in ordered if quarter_start(q) <= day]
    return started[-1] if started else ordered[0]


# --- reading the files ----------------------------------------------------------------------


def _cells(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank, non-comment line; tab-delimited when the line
    has a tab, else CSV."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = line.split("\t") if "\t" in line else next(csv.reader([line]))
        except csv.Error:  # found by fuzzing: it ended `rcm codesets load` in a traceback
            raise CodeFileError(number, None, NOT_CSV) from None
        yield number, [cell.strip().strip('"').strip() for cell in row]


def _data_rows(text: str, header_starts: tuple[str, ...], what: str) -> Iterator[tuple[int, list[str]]]:
    rows = _cells(text)
    for _, row in rows:
        first = re.sub(r"[\s_]", "", row[0].lower()) if row else ""
        if first.startswith(header_starts):
            break
    else:
        raise CodeFileError(1, None, f"no header row found: is this the CMS {what} file?")
    started = False
    for number, row in rows:
        # CMS headers may run over a second line whose first cell is empty: skip it before the data.
        if any(row) and (started or row[0]):
            started = True
            yield number, row


def _code(value: str, line: int, column: int) -> str:
    code = value.upper()
    if not _CODE.fullmatch(code):
        raise CodeFileError(line, column, f"{value!r} is not a 5-character HCPCS/CPT code")
    return code


def _cms_date(value: str, line: int, column: int, *, optional: bool) -> date | None:
    value = value.strip()
    if optional and value in {"", "*"}:
        return None
    try:
        if re.fullmatch(r"\d{8}", value):
            return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
        if found:
            return date(int(found[3]), int(found[1]), int(found[2]))
    except ValueError:
        pass
    raise CodeFileError(line, column, f"{value!r} is not a date (YYYYMMDD)")


def parse_ptp(text: str, source_file: str, quarter: str) -> list[PtpEdit]:
    """The CMS practitioner PTP layout (see the module docstring). Two more columns, source file
    and quarter, are read when present (the shipped sample names its origin on every row)."""
    edits: list[PtpEdit] = []
    for n, row in _data_rows(text, ("column1",), "practitioner PTP"):
        if len(row) < 6:
            raise CodeFileError(n, len(row) + 1, "a PTP row has at least 6 columns (Column 1 .. Modifier)")
        effective = _cms_date(row[3], n, 4, optional=False)
        assert effective is not None
        indicator = row[5][:1]
        if indicator not in {"0", "1", "9"}:
            raise CodeFileError(n, 6, "the modifier indicator is 0, 1 or 9")
        edits.append(PtpEdit(_code(row[0], n, 1), _code(row[1], n, 2), effective,
                             _cms_date(row[4], n, 5, optional=True), _modifier_indicator(indicator),
                             row[7] if len(row) > 8 and row[7] else source_file,
                             row[8] if len(row) > 8 and row[8] else quarter))
    return edits


def parse_mue(text: str, source_file: str, quarter: str) -> list[Mue]:
    """The CMS practitioner MUE layout (see the module docstring); source file and quarter
    columns after the rationale are read when present."""
    out: list[Mue] = []
    for n, row in _data_rows(text, ("hcpcs",), "practitioner MUE"):
        if len(row) < 3:
            raise CodeFileError(n, len(row) + 1, "an MUE row has at least 3 columns (code, value, indicator)")
        if not is_digits(row[1]):
            raise CodeFileError(n, 2, f"{row[1]!r} is not a whole number of units")
        indicator = row[2][:1]
        if indicator not in {"1", "2", "3"}:
            raise CodeFileError(n, 3, "the MUE adjudication indicator starts with 1, 2 or 3")
        out.append(Mue(_code(row[0], n, 1), int(row[1]), _adjudication_indicator(indicator),
                       row[4] if len(row) > 5 and row[4] else source_file,
                       row[5] if len(row) > 5 and row[5] else quarter))
    return out


def parse_pfs_indicators(text: str, source: str) -> dict[str, FeeScheduleIndicators]:
    """The shipped sample: code, pctc_indicator, global_days, professional_code."""
    out: dict[str, FeeScheduleIndicators] = {}
    for n, row in _data_rows(text, ("code",), "PFS indicators"):
        if len(row) != 4:
            raise CodeFileError(n, None, "expected code, pctc_indicator, global_days, professional_code")
        out[_code(row[0], n, 1)] = FeeScheduleIndicators(row[0], row[1] or None, row[2] or None, row[3] or None,
                                                         source)
    return out


def _modifier_indicator(value: str) -> ModifierIndicator:
    return "0" if value == "0" else "1" if value == "1" else "9"


def _adjudication_indicator(value: str) -> AdjudicationIndicator:
    return "1" if value == "1" else "2" if value == "2" else "3"


def _source_of(text: str) -> str:
    """The first comment line of a shipped sample: which CMS file it excerpts."""
    return next(line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#"))


@lru_cache(maxsize=1)
def shipped() -> CodeSets:
    ptp = parse_ptp((DATA / PTP_SAMPLE).read_text(), PTP_SAMPLE, SAMPLE_QUARTER)
    mue = parse_mue((DATA / MUE_SAMPLE).read_text(), MUE_SAMPLE, SAMPLE_QUARTER)
    pfs_text = (DATA / PFS_SAMPLE).read_text()
    pfs = parse_pfs_indicators(pfs_text, _source_of(pfs_text))
    return CodeSets(tuple(ptp), {m.procedure_code: m for m in mue}, pfs, SAMPLE_QUARTER)
