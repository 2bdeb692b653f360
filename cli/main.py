"""The root `rcm` command: platform commands plus each service's own command group."""

from __future__ import annotations

import logging

import typer

from cli import audit, codesets, demo, dlq, docs, mail, outbox, publish, schemas, stack, tokens, x12
from services.charges.commands import app as charges_app
from services.charges.commands import chargemaster_app
from services.claims.commands import app as claims_app
from services.claims.commands import feeschedule_app, payers_app
from services.notifications.commands import app as notifications_app
from services.notifications.commands import webhooks_app
from services.remits.commands import app as remits_app
from services.remits.commands import balances_app, payments_app, report_app

app = typer.Typer(
    name="rcm",
    help="Revcycle: an event-driven revenue-cycle platform. Start with `rcm up`, then `rcm status`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Markdown: docstrings wrap as prose (a one-line summary in command lists) and `code` renders.
    rich_markup_mode="markdown",
)
stack.register(app)
app.add_typer(dlq.app, name="dlq")
app.add_typer(tokens.app, name="tokens")
app.add_typer(outbox.app, name="outbox")
app.add_typer(schemas.app, name="schemas")
app.add_typer(x12.app, name="x12")
docs.register(app)
demo.register(app)
audit.register(app)
publish.register(app)
app.add_typer(charges_app, name="charges")
app.add_typer(chargemaster_app, name="chargemaster")
app.add_typer(claims_app, name="claims")
app.add_typer(payers_app, name="payers")
app.add_typer(feeschedule_app, name="feeschedule")
app.add_typer(codesets.app, name="codesets")
app.add_typer(remits_app, name="remits")
app.add_typer(payments_app, name="payments")
app.add_typer(balances_app, name="balances")
app.add_typer(report_app, name="report")
app.add_typer(notifications_app, name="notifications")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(mail.app, name="mail")


def main() -> None:
    # aiokafka reports its own retries (a coordinator not ready yet) on stderr; our commands
    # report what finally failed, once, in their own words.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
