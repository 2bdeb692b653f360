"""`rcm codesets ...`: the CMS code sets the edits read, loaded from the files CMS publishes.

NCCI PTP and MUE files go into the claims service's schema (its own store, audited); ICD-10-CM
editions go into the code-set directory that charges and claims both read
(services/chassis/icd10cm.py says why a directory).
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from services.chassis.icd10cm import (
    CodeFileError,
    fiscal_year,
    fiscal_year_from_file_name,
    parse_code_file,
    read_editions,
    write_edition,
)
from services.chassis.settings import get_settings
from services.claims import commands as claims
from services.claims.domain.codesets import parse_mue, parse_ptp, quarter_from_file_name, quarter_start

__all__ = ["app"]

app = typer.Typer(help="Code sets: NCCI PTP and MUE quarterly files, ICD-10-CM fiscal-year editions.",
                  no_args_is_help=True)
err = Console(stderr=True)
_CHUNK = 1 << 20


class Kind(StrEnum):
    ncci = "ncci"
    mue = "mue"
    icd10cm = "icd10cm"


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _read(file: Path, quiet: bool) -> str:
    """The file as text, with a progress bar for a large one (the PTP files run to 100 MB)."""
    if file.suffix.lower() in {".xlsx", ".xls", ".zip"}:
        raise _fail(f"{file.name}: unzip the CMS download and give the .txt file, or save the sheet as CSV", 2)
    size = file.stat().st_size
    data = bytearray()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  console=err, transient=True, disable=quiet or size < 8 * _CHUNK) as progress:
        task = progress.add_task(f"reading {file.name}", total=size)
        with file.open("rb") as stream:
            while chunk := stream.read(_CHUNK):
                data += chunk
                progress.advance(task, len(chunk))
    for encoding in ("utf-8-sig", "cp1252"):  # CMS text files are Windows-1252 when not UTF-8
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail(f"{file.name}: not a text file", 2)


def _step(description: str, quiet: bool) -> Progress:
    progress = Progress(SpinnerColumn(), TextColumn(description), console=err, transient=True, disable=quiet)
    progress.add_task(description, total=None)
    return progress


@app.command("load")
def load(
    kind: Kind = typer.Argument(..., help="ncci (practitioner PTP edits), mue (practitioner MUEs) or icd10cm."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The CMS file."),
    quarter: str | None = typer.Option(None, "--quarter", help="ncci/mue: the quarter the file covers (2026Q2); "
                                       "read from the CMS file name when omitted (ccipra_v321r0_f1.txt, "
                                       "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv)."),
    year: int | None = typer.Option(None, "--fiscal-year", help="icd10cm: the fiscal year of the edition (FY N: "
                                    "October 1 of N-1 to September 30 of N); read from the file name when omitted "
                                    "(icd10cm_codes_2027.txt)."),
    reason: str = typer.Option("CMS code set update", "--reason", help="Why (kept in the audit log)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Load a CMS code-set file: it replaces what was loaded (or shipped) for its quarter or year.

    Formats accepted (tab-delimited text as CMS publishes it, or CSV saved from the CMS spreadsheet;
    xlsx is not read):

    - `ncci`: a practitioner PTP file (Column 1, Column 2, *=in existence prior to 1996, Effective Date,
      Deletion Date, Modifier indicator, PTP Edit Rationale). CMS splits a quarter over four files:
      load each; loading one again replaces its rows.
    - `mue`: the practitioner MUE file (HCPCS/CPT Code, Practitioner Services MUE Values, MUE
      Adjudication Indicator, MUE Rationale); it replaces the quarter's MUEs.
    - `icd10cm`: the ICD-10-CM code file of one fiscal year, either `icd10cm_codes_YYYY.txt`
      (CODE, spaces, description) or the fixed-width `icd10cm_order_YYYY.txt`; the layout is detected.

    A malformed file loads nothing and names the line and column (exit 1); an unreadable file or a
    quarter/year that cannot be told exits 2.
    """
    text = _read(file, as_json)
    if kind is Kind.icd10cm:
        result = _load_icd10cm(file, text, year, as_json)
    else:
        result = _load_cms_quarter(kind, file, text, quarter, reason, as_json)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(result["summary"])


def _load_cms_quarter(kind: Kind, file: Path, text: str, quarter: str | None, reason: str,
                      quiet: bool) -> dict[str, Any]:
    quarter = (quarter or quarter_from_file_name(file.name) or "").upper()
    try:
        quarter_start(quarter)
    except ValueError:
        raise _fail(f"{file.name}: cannot tell the quarter from the file name: pass --quarter, e.g. 2026Q2",
                    2) from None
    try:
        with _step(f"checking {file.name}", quiet):
            rows = parse_ptp(text, file.name, quarter) if kind is Kind.ncci else parse_mue(text, file.name, quarter)
    except CodeFileError as exc:
        raise _fail(f"{file.name}: {exc}; nothing loaded", 1) from None
    if not rows:
        raise _fail(f"{file.name}: the file has a header but no data rows; nothing loaded", 1)
    with _step(f"loading {len(rows)} rows", quiet):
        count = claims.load_code_set("ncci" if kind is Kind.ncci else "mue", rows, quarter, file.name, reason)
    label = "PTP edits" if kind is Kind.ncci else "MUEs"
    return {"kind": kind.value, "quarter": quarter, "file": file.name, "rows": count,
            "summary": f"{label} loaded for {quarter} from {file.name}: {count} rows"}


def _load_icd10cm(file: Path, text: str, year: int | None, quiet: bool) -> dict[str, Any]:
    year = year or fiscal_year_from_file_name(file.name)
    if year is None or not 2016 <= year <= 2100:
        raise _fail(f"{file.name}: cannot tell the fiscal year from the file name: pass --fiscal-year, e.g. 2027", 2)
    try:
        with _step(f"checking {file.name}", quiet):
            parsed = parse_code_file(text)
    except CodeFileError as exc:
        raise _fail(f"{file.name}: {exc}; nothing loaded", 1) from None
    directory = get_settings().codesets_path
    write_edition(directory, year, parsed, file.name)
    return {"kind": "icd10cm", "fiscal_year": year, "file": file.name, "format": parsed.format,
            "billable_codes": parsed.billable, "directory": str(directory),
            "summary": f"ICD-10-CM FY{year} loaded from {file.name} ({parsed.format} file layout): "
                       f"{parsed.billable} billable codes, for dates of service {year - 1}-10-01 to {year}-09-30"}


@app.command("list")
def listing(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """What the edits read: ICD-10-CM editions (shipped and loaded) and the CMS files loaded by quarter."""
    editions = read_editions(get_settings().codesets_path)
    today = date.today()
    rows = [{"kind": "icd10cm", "edition": e.name, "source": e.source, "valid_from": e.valid_from.isoformat(),
             "valid_through": e.valid_through.isoformat()} for e in editions.listing()]
    loads = claims.code_set_loads()
    stale = fiscal_year(today) > editions.newest.fiscal_year
    if as_json:
        typer.echo(json.dumps({"icd10cm": rows, "icd10cm_stale": stale, "cms_files": loads}, default=str))
        return
    table = Table(title="code sets")
    for col in ("kind", "version", "source", "covers"):
        table.add_column(col)
    for r in rows:
        table.add_row("icd10cm", r["edition"], r["source"], f"{r['valid_from']} .. {r['valid_through']}")
    for load_row in loads:
        table.add_row(load_row["kind"], load_row["quarter"], load_row["source_file"], f"{load_row['rows']} rows")
    Console().print(table)
    if stale:
        err.print(f"[yellow]warning:[/yellow] today is past {editions.newest.name}: dates of service from "
                  f"{editions.newest.valid_through.isoformat()} on are judged with it; load the FY{fiscal_year(today)} "
                  "code file with `rcm codesets load icd10cm FILE`")
