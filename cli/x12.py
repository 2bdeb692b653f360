"""`rcm x12`: parse, validate and render X12 5010 files (837P, 835, 999, 277CA)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from edi.errors import X12Error

app = typer.Typer(
    help="X12 5010 tools: parse and validate 837P/835/999/277CA files, render 837P claims.", no_args_is_help=True
)
_out = Console()
_err = Console(stderr=True)

EXIT_INVALID = 1  # the file parsed but has validation findings
EXIT_MALFORMED = 2  # the file could not be read or parsed at all


def _fail(message: str) -> NoReturn:
    _err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_MALFORMED)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or type(exc).__name__}")
    if not raw.strip():
        _fail(f"{path} is empty")
    try:
        # X12 is ASCII; UTF-8 is accepted because non-ASCII data shows up in the wild and the
        # validator should report it at its segment rather than refuse the whole file.
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail(f"{path} is not UTF-8/ASCII text (undecodable byte at offset {exc.start})")


def _kind(interchange: Any) -> str:
    transactions = interchange.transactions()
    if not transactions:
        _fail("interchange holds no transaction set")
    ts = transactions[0]
    implementation = ts.implementation
    if ts.id == "837" and "X222" in implementation:
        return "837P"
    if ts.id == "835":
        return "835"
    if ts.id == "999":
        return "999"
    if ts.id == "277" and "X214" in implementation:
        return "277CA"
    _fail(f"unsupported transaction set {ts.id} ({implementation or 'no version'})")


def _json_out(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, default=str))


def _print_837p(batch: Any) -> None:
    _out.print(f"[bold]837P[/bold] interchange, {len(batch.claims)} claim(s), reference {batch.reference}")
    for claim in batch.claims:
        table = Table(
            title=f"claim {claim.submission_id}  total {claim.charge}  frequency {claim.frequency}",
            title_justify="left",
        )
        for column in ("line", "procedure", "modifiers", "charge", "units", "date", "control #"):
            table.add_column(column)
        for n, line in enumerate(claim.lines, start=1):
            table.add_row(
                str(n),
                line.procedure_code,
                ":".join(line.modifiers),
                str(line.charge),
                str(line.units),
                line.service_date.isoformat(),
                line.line_control_number or "",
            )
        _out.print(table)


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _print_summary(kind: str, doc: dict[str, Any], depth: int = 0, title: str | None = None) -> None:
    """Generic view of a reader's JSON document: scalars, then each list of records as a table."""
    indent = "  " * depth
    if title is None:
        _out.print(f"[bold]{kind}[/bold]")
    for key, value in doc.items():
        if _scalar(value) and value not in (None, ""):
            _out.print(f"{indent}  {key}: {value}", markup=False, highlight=False)
    for key, value in doc.items():
        if isinstance(value, dict) and depth < 2:
            _out.print(f"{indent}  {key}:", markup=False)
            _print_summary(kind, value, depth + 1, key)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            columns = [k for k, v in value[0].items() if _scalar(v)][:8]
            table = Table(title=f"{key} ({len(value)})", title_justify="left")
            for column in columns:
                table.add_column(column)
            for item in value:
                table.add_row(*("" if item.get(c) is None else str(item.get(c)) for c in columns))
            _out.print(table)
            if depth < 1:
                for n, item in enumerate(value, start=1):
                    nested = {k: v for k, v in item.items() if isinstance(v, list) and v}
                    if nested:
                        _print_summary(kind, nested, depth + 1, f"{key} {n}")
        elif isinstance(value, list):
            _out.print(f"{indent}  {key}: {len(value)} item(s)", markup=False)


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(help="X12 file to read")],
    as_json: Annotated[bool, typer.Option("--json", help="print a normalized JSON document")] = False,
) -> None:
    """Detect the transaction (837P, 835, 999, 277CA) and print a summary."""
    from edi.envelope import read_interchange

    text = _read_text(file)
    try:
        interchange = read_interchange(text)
        kind = _kind(interchange)
        if kind == "837P":
            from edi.x837 import read_837p_interchange

            batch = read_837p_interchange(interchange)
            if as_json:
                _json_out({"transaction": "837P", **batch.model_dump(mode="json")})
            else:
                _print_837p(batch)
            return
        doc = _read_other(kind, text)
    except X12Error as exc:
        _fail(str(exc))
    if as_json:
        _json_out(doc)
    else:
        _print_summary(kind, doc)


def _read_other(kind: str, text: str) -> dict[str, Any]:
    """835/999/277CA readers live in their own modules; they own the JSON field names."""
    import importlib

    module_name, reader = {
        "835": ("edi.x835", "read_835"),
        "999": ("edi.x999", "read_999"),
        "277CA": ("edi.x277ca", "read_277ca"),
    }[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        _fail(f"{kind} reader is not available")
    document = getattr(module, reader)(text)
    result: dict[str, Any] = module.to_json_dict(document)
    return result


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="X12 file to validate")],
    as_json: Annotated[bool, typer.Option("--json", help="print issues as JSON")] = False,
    skip_pyx12: Annotated[bool, typer.Option("--no-pyx12", help="only our own checks (faster)")] = False,
) -> None:
    """pyx12 implementation-guide validation plus our checks; exit 0 only when clean."""
    from edi.envelope import read_interchange
    from edi.validate import pyx12_validate
    from edi.validate import validate as own_validate

    text = _read_text(file)
    try:
        read_interchange(text)
    except X12Error as exc:
        _fail(str(exc))
    issues = own_validate(text) if skip_pyx12 else pyx12_validate(text) + own_validate(text)
    issues.sort(key=lambda i: i.position or 0)
    errors = [i for i in issues if i.severity == "error"]
    if as_json:
        _json_out({"valid": not errors, "issues": [i.to_dict() for i in issues]})
    elif not issues:
        _out.print("valid: no issues")
    else:
        for issue in issues:
            _out.print(f"{issue.severity}: {issue} [{issue.code}]", markup=False, highlight=False)
    if errors:
        raise typer.Exit(EXIT_INVALID)


_SCHEMA_HELP = (
    "Render an 837P interchange from CLAIM.json (a ClaimBatch: sender_id, receiver_id, created, reference, "
    "submitter, receiver and claims[] or a single claim{}; each claim has submission_id, billing_provider, "
    "subscriber, optional patient (dependent), payer, claim_filing_indicator, place_of_service, frequency, "
    "diagnoses[] and lines[]). Run with --schema for the full JSON schema."
)


@app.command("render-837", help=_SCHEMA_HELP)
def render_837(
    claim_file: Annotated[Path | None, typer.Argument(metavar="CLAIM.json", help="claim batch JSON")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="print the claim JSON schema and exit")] = False,
    line_breaks: Annotated[bool, typer.Option("--line-breaks", help="newline after each segment")] = False,
) -> None:
    from pydantic import ValidationError

    from edi.x837 import ClaimBatch, render_837p

    if schema:
        _json_out(ClaimBatch.model_json_schema())
        return
    if claim_file is None:
        _fail("CLAIM.json is required (or --schema)")
    text = _read_text(claim_file)
    try:
        batch = ClaimBatch.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        _fail(f"{claim_file}: {where}: {first['msg']} ({exc.error_count()} error(s))")
    try:
        typer.echo(render_837p(batch, line_breaks=line_breaks), nl=False)
    except X12Error as exc:
        _fail(str(exc))
