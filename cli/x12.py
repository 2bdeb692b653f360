"""`rcm x12`: parse, validate and render X12 5010 files (837P, 837I, 835, 999, 277CA, 270, 271)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from edi.envelope import Interchange
from edi.errors import X12Error
from edi.issues import X12Issue

if TYPE_CHECKING:
    from collections.abc import Callable

    from edi.x837common.model import BatchBase
    from edi.x837common.reader import Read837

app = typer.Typer(
    help="X12 5010 tools: parse and validate 837P/837I/835/999/277CA/270/271/TA1 files, render 837P/837I claims.",
    no_args_is_help=True,
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
        # validator should report it at its segment rather than refuse the whole file. A UTF-8
        # byte-order mark is decoded away.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(f"{path} is not UTF-8/ASCII text (undecodable byte at offset {exc.start})")


def _kind(interchanges: list[Interchange]) -> str:
    transactions = [ts for interchange in interchanges for ts in interchange.transactions()]
    if not transactions:
        if any(interchange.acknowledgments for interchange in interchanges):
            return "TA1"
        _fail("interchange holds no transaction set")
    ts = transactions[0]
    implementation = ts.implementation
    if ts.id == "837" and "X222" in implementation:
        return "837P"
    if ts.id == "837" and "X223" in implementation:
        return "837I"
    if ts.id == "835":
        return "835"
    if ts.id == "999":
        return "999"
    if ts.id == "277" and "X214" in implementation:
        return "277CA"
    if ts.id in {"270", "271"} and "X279" in implementation:
        return ts.id
    _fail(f"unsupported transaction set {ts.id} ({implementation or 'no version'})")


def _json_out(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, default=str))


def _print_837(kind: str, batch: dict[str, Any]) -> None:
    """One interchange's claims, from its JSON form (a ClaimBatch dump); an 837I line shows its
    revenue code and a claim its type of bill."""
    claims = batch["claims"]
    _out.print(f"[bold]{kind}[/bold] interchange, {len(claims)} claim(s), reference {batch.get('reference', '-')}")
    institutional = kind == "837I"
    for claim in claims:
        lines = claim["lines"]
        total = claim.get("total_charge") or str(sum(Decimal(line["charge"]) for line in lines))
        bill = f"type of bill 0{claim['type_of_bill']}{claim['frequency']}" if institutional else ""
        table = Table(
            title=f"claim {claim['submission_id']}  total {total}  frequency {claim['frequency']}  {bill}".rstrip(),
            title_justify="left",
        )
        columns = ("line", "revenue", "procedure", "modifiers", "charge", "units", "date", "control #")
        for column in columns if institutional else (c for c in columns if c != "revenue"):
            table.add_column(column)
        for n, line in enumerate(lines, start=1):
            row = [
                str(n),
                line.get("procedure_code") or "",
                ":".join(line["modifiers"]),
                line["charge"],
                line["units"],
                line.get("service_date") or "",
                line.get("line_control_number") or "",
            ]
            if institutional:
                row.insert(1, line["revenue_code"])
            table.add_row(*row)
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
    file: Annotated[Path, typer.Argument(help="X12 file to read (one interchange or several)")],
    as_json: Annotated[bool, typer.Option("--json", help="print a normalized JSON document")] = False,
) -> None:
    """Detect the transaction (837P, 837I, 835, 999, 277CA, 270, 271, TA1) and print what was read.

    What breaks a rule but still reads (a trailer count, our writer's rules in a partner's 837P,
    a missing PER*BL) is listed under "findings"; the exit code is 0 whenever data was read.
    """
    from edi.envelope import read_interchanges

    text = _read_text(file)
    try:
        interchanges = read_interchanges(text)
        kind = _kind(interchanges)
        doc, findings = _read_document(kind, text, interchanges)
        doc.update(_ta1_part(kind, interchanges))
    except X12Error as exc:
        _fail(str(exc))
    doc["findings"] = [issue.to_dict() for issue in findings]
    if as_json:
        _json_out(doc)
        return
    if kind in {"837P", "837I"}:
        for batch in doc.get("interchanges", [doc]):
            _print_837(kind, batch)
    else:
        _print_summary(kind, {k: v for k, v in doc.items() if k != "findings"})
    for issue in findings:
        _out.print(f"{issue.severity}: {issue} [{issue.code}]", markup=False, highlight=False)


def _read_document(kind: str, text: str, interchanges: list[Interchange]) -> tuple[dict[str, Any], list[X12Issue]]:
    """The JSON document of the file and its findings. Each reader owns its JSON field names; a
    file with several 837 interchanges or 999 sets lists them under "interchanges"/"acknowledgments"."""
    envelope = [f for interchange in interchanges for f in interchange.findings]
    if kind in {"837P", "837I"}:
        read_837: Callable[[Interchange], Read837[Any]]
        if kind == "837P":
            from edi.x837 import read_837p_document

            read_837 = read_837p_document
        else:
            from edi.x837i import read_837i_document

            read_837 = read_837i_document

        docs: list[dict[str, Any]] = []
        findings: list[X12Issue] = []
        for interchange in interchanges:
            read = read_837(interchange)
            findings += read.findings
            claims = read.batch.model_dump(mode="json") if read.batch else {"claims": []}
            docs.append({"transaction": kind, **claims})
        return (docs[0] if len(docs) == 1 else {"transaction": kind, "interchanges": docs}), findings
    if kind == "835":
        from edi import x835

        remittance = x835.read_835(text)
        return x835.to_json_dict(remittance), list(remittance.findings)
    if kind == "999":
        from edi import x999

        acks = [x999.to_json_dict(ack) for ack in x999.read_999_all(text)]
        return (acks[0] if len(acks) == 1 else {"transaction": "999", "acknowledgments": acks}), envelope
    if kind == "270":
        from edi import x270

        return x270.to_json_dict(x270.read_270(text)), envelope + x270.check_270(text)
    if kind == "271":
        from edi import x271

        return x271.to_json_dict(x271.read_271(text)), envelope + x271.check_271(text)
    if kind == "277CA":
        from edi import x277ca

        ack = x277ca.read_277ca(text)
        return x277ca.to_json_dict(ack), envelope + list(ack.findings)
    from edi import ta1

    return ta1.to_json_dict(ta1.read_ta1(text)), envelope


def _ta1_part(kind: str, interchanges: list[Interchange]) -> dict[str, Any]:
    """TA1 segments that came before the functional groups of a 999 or 277CA interchange."""
    if kind == "TA1" or not any(interchange.acknowledgments for interchange in interchanges):
        return {}  # the TA1 reader is not even imported: most files hold no TA1
    from edi import ta1

    acks = [ack for interchange in interchanges for ack in ta1.interchange_acks(interchange)]
    return {"interchange_acknowledgments": ta1.to_json_dict(acks)["acknowledgments"]}


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="X12 file to validate")],
    as_json: Annotated[bool, typer.Option("--json", help="print issues as JSON")] = False,
    skip_pyx12: Annotated[bool, typer.Option("--no-pyx12", help="only our own checks (faster)")] = False,
) -> None:
    """pyx12 implementation-guide validation plus our checks; every finding is listed (envelope
    counts and control numbers included), exit 0 only when there is no error. pyx12 4.0 maps only
    the 4010 270/271, so a 005010X279A1 270 or 271 gets our structural checks instead."""
    from edi.envelope import read_interchanges
    from edi.validate import pyx12_validate
    from edi.validate import validate as own_validate

    text = _read_text(file)
    try:
        read_interchanges(text)
    except X12Error as exc:
        _fail(str(exc))
    issues = own_validate(text)
    if not skip_pyx12 and not _x279(text):
        issues = pyx12_validate(text) + issues
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


def _x279(text: str) -> bool:
    """Whether every transaction set is a 005010X279A1 270 or 271 (no pyx12 map)."""
    from edi.envelope import read_interchanges

    sets = [ts for interchange in read_interchanges(text) for ts in interchange.transactions()]
    return bool(sets) and all(ts.id in {"270", "271"} and "X279" in ts.implementation for ts in sets)


_SCHEMA_HELP = (
    "Render an 837P interchange from CLAIM.json (a ClaimBatch: sender_id, receiver_id, created, reference, "
    "submitter, receiver and claims[] or a single claim{}; each claim has submission_id, billing_provider, "
    "subscriber, optional patient (dependent), payer, claim_filing_indicator, place_of_service, frequency, "
    "diagnoses[] and lines[]), or with --institutional an 837I (each claim has type_of_bill, frequency, "
    "statement_from/through, patient_status, principal_diagnosis and revenue-code lines[]). Run with --schema "
    "(and --institutional) for the full JSON schema."
)


@app.command("render-837", help=_SCHEMA_HELP)
def render_837(
    claim_file: Annotated[Path | None, typer.Argument(metavar="CLAIM.json", help="claim batch JSON")] = None,
    schema: Annotated[bool, typer.Option("--schema", help="print the claim JSON schema and exit")] = False,
    line_breaks: Annotated[bool, typer.Option("--line-breaks", help="newline after each segment")] = False,
    institutional: Annotated[bool, typer.Option("--institutional", help="an 837I (005010X223A2)")] = False,
) -> None:
    if institutional:
        from edi.x837i import ClaimBatch as InstitutionalBatch
        from edi.x837i import render_837i

        _render(InstitutionalBatch, render_837i, claim_file, schema=schema, line_breaks=line_breaks)
    else:
        from edi.x837 import ClaimBatch, render_837p

        _render(ClaimBatch, render_837p, claim_file, schema=schema, line_breaks=line_breaks)


def _render(
    model: type[BatchBase], render: Callable[..., str], claim_file: Path | None, *, schema: bool, line_breaks: bool
) -> None:
    from pydantic import ValidationError

    if schema:
        _json_out(model.model_json_schema())
        return
    if claim_file is None:
        _fail("CLAIM.json is required (or --schema)")
    text = _read_text(claim_file)
    try:
        batch = model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        _fail(f"{claim_file}: {where}: {first['msg']} ({exc.error_count()} error(s))")
    try:
        typer.echo(render(batch, line_breaks=line_breaks), nl=False)
    except X12Error as exc:
        _fail(str(exc))
