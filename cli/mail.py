"""`rcm mail list|show`: what the local mail catcher received from the notifications service."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.console import Console
from rich.table import Table

from devstack.mailcatcher import list_mail, mail_folder, read_mail
from services.chassis.settings import get_settings

app = typer.Typer(help="The local mail catcher: what the notifications service sent.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("list")
def mail_list(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Messages the local mail catcher received (one per Message-ID), oldest first."""
    items = list_mail(mail_folder(get_settings().state_dir))
    if as_json:
        typer.echo(json.dumps([asdict(i) for i in items], indent=2))
        return
    table = Table(title=f"mail catcher: {len(items)} message(s)")
    for col in ("date", "to", "subject", "message id"):
        table.add_column(col)
    for i in items:
        table.add_row(i.date, i.to, i.subject, i.message_id)
    console.print(table)


@app.command("show")
def mail_show(ident: str = typer.Argument(..., metavar="MESSAGE_ID", help="Message-ID or file name.")) -> None:
    """Print one stored message as received."""
    text = read_mail(mail_folder(get_settings().state_dir), ident)
    if text is None:
        err.print("[red]error:[/red] no stored message has that id")
        raise typer.Exit(1)
    typer.echo(text)
