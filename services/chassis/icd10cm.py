"""ICD-10-CM editions by fiscal year: which code set judges a date of service.

CMS publishes one ICD-10-CM edition per federal fiscal year: FY N is in force for dates of
service from October 1 of N-1 through September 30 of N. The platform ships FY2026 (the
simple-icd-10-cm package: the April 1, 2026 update); an operator adds newer years with
`rcm codesets load icd10cm FILE` (the CMS code file of that year), which writes a normalized
edition file into the code-set directory (RCM_CODESETS_DIR). Charges and claims both read that
directory: ICD-10-CM is public reference data identical for every service, read-only and
versioned by year, like the package data both already read, so it is not any service's own data
and needs no table in either schema.

A date of service past every edition is judged with the newest and the choice says so (stale);
a date before every edition is judged with the oldest and says so too. Never a silent pass.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

ICD10_START = date(2015, 10, 1)
SHIPPED_FISCAL_YEAR = 2026
_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
_ORDER_LINE = re.compile(r"^(\d{5}) ([A-Z0-9 ]{7}) ([01]) (.*)$")
_CODES_LINE = re.compile(r"^([A-Z][0-9][0-9A-Z]{1,5})\s+(\S.*)$")
_EDITION_FILE = re.compile(r"^icd10cm_fy(\d{4})\.tsv$")
FileFormat = Literal["codes", "order"]


class Status(Enum):
    BILLABLE = "billable"
    NOT_BILLABLE = "not_billable"
    """A category or subcategory with more specific codes below it (a header in the order file)."""
    UNKNOWN = "unknown"


def fiscal_year(day: date) -> int:
    """The fiscal year whose edition is in force on a date: October 1 starts the next one."""
    return day.year + 1 if day.month >= 10 else day.year


def is_external_cause(code: str) -> bool:
    """Chapter 20, V00-Y99: how an injury happened; never the first-listed diagnosis."""
    return code[:1] in {"V", "W", "X", "Y"}


@dataclass(frozen=True)
class Edition:
    fiscal_year: int
    source: str
    """Where its codes come from: the package, or the CMS file name that was loaded."""

    @property
    def name(self) -> str:
        return f"ICD-10-CM FY{self.fiscal_year}"

    @property
    def valid_from(self) -> date:
        return date(self.fiscal_year - 1, 10, 1)

    @property
    def valid_through(self) -> date:
        return date(self.fiscal_year, 9, 30)

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_through


class CodeSet(Protocol):
    @property
    def edition(self) -> Edition: ...

    def status(self, code: str) -> Status: ...


@cache
def _library() -> Any:
    # Importing parses a 10 MB XML file (about 4 s): paid on first use, which the services make
    # their start (load_shipped) and the CLI a command that checks a code. Its loader uses
    # importlib.resources APIs deprecated in 3.11+: known, harmless, not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def load_shipped() -> None:
    """Parse the shipped code set now, so that the first event that checks a code does not wait
    seconds for it (and the batch it is in, and every record behind that batch)."""
    _library()


class ShippedCodeSet:
    """FY2026 from simple-icd-10-cm 1.5.0 (the April 1, 2026 update: codes it added also pass
    for October 2025 to March 2026 dates, the October release is not shipped to tell them apart)."""

    edition = Edition(SHIPPED_FISCAL_YEAR, "simple-icd-10-cm 1.5.0 (April 1, 2026 update)")

    def status(self, code: str) -> Status:
        # The library also knows chapters ("1") and blocks ("A00-A09"): the shape check keeps them out.
        if not _SHAPE.fullmatch(code) or not _library().is_valid_item(code):
            return Status.UNKNOWN
        return Status.BILLABLE if _library().is_leaf(code) else Status.NOT_BILLABLE


@dataclass(frozen=True)
class LoadedCodeSet:
    edition: Edition
    codes: Mapping[str, bool]
    """Every code of the edition: True when valid for submission, False for a header."""

    def status(self, code: str) -> Status:
        billable = self.codes.get(code)
        if billable is None:
            return Status.UNKNOWN
        return Status.BILLABLE if billable else Status.NOT_BILLABLE


@dataclass(frozen=True)
class Choice:
    """The edition that judges one date of service, and how it relates to that date."""

    code_set: CodeSet
    day: date
    relation: Literal["in_force", "stale", "earlier"]

    @property
    def edition(self) -> Edition:
        return self.code_set.edition

    def note(self) -> str | None:
        """What the operator must know when the edition is not the one in force on the date."""
        e = self.edition
        if self.relation == "stale":
            return (f"the date of service is past every loaded ICD-10-CM edition: judged with "
                    f"{e.name} (valid through {e.valid_through.isoformat()}); load the FY{fiscal_year(self.day)} "
                    "code file with `rcm codesets load icd10cm FILE`")
        if self.relation == "earlier":
            return (f"the date of service is before every loaded ICD-10-CM edition: judged "
                    f"with {e.name} (valid from {e.valid_from.isoformat()}); load the FY{fiscal_year(self.day)} "
                    "code file with `rcm codesets load icd10cm FILE`")
        return None


@dataclass(frozen=True)
class Editions:
    by_year: Mapping[int, CodeSet]

    def for_day(self, day: date) -> Choice:
        year = fiscal_year(day)
        if year in self.by_year:
            return Choice(self.by_year[year], day, "in_force")
        newest, oldest = max(self.by_year), min(self.by_year)
        if year > newest:
            return Choice(self.by_year[newest], day, "stale")
        if year < oldest:
            return Choice(self.by_year[oldest], day, "earlier")
        # A year missing between two loaded ones: the nearest earlier edition, called stale.
        return Choice(self.by_year[max(y for y in self.by_year if y < year)], day, "stale")

    @property
    def newest(self) -> Edition:
        return self.by_year[max(self.by_year)].edition

    def listing(self) -> list[Edition]:
        return [self.by_year[y].edition for y in sorted(self.by_year)]


SHIPPED = Editions({SHIPPED_FISCAL_YEAR: ShippedCodeSet()})


# --- the CMS files and the directory --------------------------------------------------------


class CodeFileError(ValueError):
    """A code-set file that cannot be used (ICD-10-CM here, NCCI and MUE in claims): where
    (line, column) and why."""

    def __init__(self, line: int, column: int | None, message: str) -> None:
        self.line, self.column, self.message = line, column, message
        where = f"line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ParsedCodeFile:
    format: FileFormat
    codes: dict[str, bool]

    @property
    def billable(self) -> int:
        return sum(self.codes.values())


def fiscal_year_from_file_name(name: str) -> int | None:
    """icd10cm_codes_2027.txt, icd10cm_order_2027.txt, icd10cm-codes-April-2027.txt -> 2027."""
    found = re.search(r"(20\d{2})", name)
    return int(found[1]) if found else None


def parse_code_file(text: str) -> ParsedCodeFile:
    """The CMS code file of one fiscal year, in either layout CMS publishes:

    * the codes file (icd10cm_codes_YYYY.txt): `CODE<spaces>DESCRIPTION`, billable codes only;
      the categories above them are derived (a proper prefix of 3+ characters is a header);
    * the order file (icd10cm_order_YYYY.txt), fixed width: order number (columns 1-5), code
      (7-13), 1 valid for submission / 0 header (15), short (17-76) and long description (78-).

    The layout is detected from the first line and every line must follow it.
    """
    lines = [(n, line.rstrip("\r\n")) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise CodeFileError(1, None, "the file is empty")
    fmt: FileFormat = "order" if re.match(r"^\d{5} ", lines[0][1]) else "codes"
    codes: dict[str, bool] = {}
    for n, line in lines:
        if fmt == "order":
            found = _ORDER_LINE.fullmatch(line)
            if found is None:
                raise CodeFileError(n, _order_column(line), "not an order-file line (NNNNN CODE    0|1 description)")
            code = found[2].strip()
            if not _SHAPE.fullmatch(code):
                raise CodeFileError(n, 7, f"{code!r} is not an ICD-10-CM code")
            codes[code] = found[3] == "1"
        else:
            found = _CODES_LINE.fullmatch(line)
            if found is None:
                raise CodeFileError(n, 1, "not a code-file line (CODE, spaces, description; codes uppercase, no dot)")
            codes[found[1]] = True
    if fmt == "codes":
        for code in list(codes):
            for end in range(3, len(code)):
                codes.setdefault(code[:end], False)
    return ParsedCodeFile(fmt, codes)


def _order_column(line: str) -> int:
    """The first column where an order-file line departs from its layout."""
    checks = [(0, 5, r"\d{5}"), (5, 6, " "), (6, 13, r"[A-Z0-9 ]{7}"), (13, 14, " "), (14, 15, "[01]"), (15, 16, " ")]
    for start, end, pattern in checks:
        if not re.fullmatch(pattern, line[start:end]):
            return start + 1
    return 17


def write_edition(directory: Path, year: int, parsed: ParsedCodeFile, source: str) -> Path:
    """Write (or replace) one fiscal year's edition; readers see the old file or the new one."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"icd10cm_fy{year}.tsv"
    scratch = target.with_suffix(".tmp")
    loaded = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(f"{code}\t{int(billable)}\n" for code, billable in sorted(parsed.codes.items()))
    scratch.write_text(f"# source: {source}\n# format: {parsed.format}\n# loaded_at: {loaded}\n{body}",
                       encoding="utf-8")
    scratch.replace(target)
    return target


def read_editions(directory: Path) -> Editions:
    """The shipped edition plus every edition file in the directory (a loaded FY2026 replaces
    the shipped one). Re-read only when a file changed."""
    files: list[tuple[str, int, int]] = []
    if directory.is_dir():
        files = sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.iterdir()
                       if _EDITION_FILE.fullmatch(p.name))
    return _read(directory, tuple(files))


@lru_cache(maxsize=2)
def _read(directory: Path, files: tuple[tuple[str, int, int], ...]) -> Editions:
    by_year: dict[int, CodeSet] = dict(SHIPPED.by_year)
    for name, *_ in files:
        found = _EDITION_FILE.fullmatch(name)
        assert found is not None
        by_year[int(found[1])] = _read_edition(directory / name, int(found[1]))
    return Editions(by_year)


def _read_edition(path: Path, year: int) -> LoadedCodeSet:
    source = path.name
    codes: dict[str, bool] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# source: "):
            source = line.removeprefix("# source: ")
        elif line and not line.startswith("#"):
            code, _, flag = line.partition("\t")
            codes[code] = flag == "1"
    return LoadedCodeSet(Edition(year, source), codes)
