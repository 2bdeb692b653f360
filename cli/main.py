"""The root `rcm` command: platform commands plus each service's own command group."""

from __future__ import annotations

import typer

from cli import dlq, docs, publish, schemas, stack, x12
from services.charges.commands import app as charges_app
from services.charges.commands import chargemaster_app
from services.claims.commands import app as claims_app
from services.notifications.commands import app as notifications_app
from services.remits.commands import app as remits_app

app = typer.Typer(
    name="rcm",
    help="Revcycle: an event-driven revenue-cycle platform. Start with `rcm up`, then `rcm status`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack.register(app)
app.add_typer(dlq.app, name="dlq")
app.add_typer(schemas.app, name="schemas")
app.add_typer(x12.app, name="x12")
docs.register(app)
publish.register(app)
app.add_typer(charges_app, name="charges")
app.add_typer(chargemaster_app, name="chargemaster")
app.add_typer(claims_app, name="claims")
app.add_typer(remits_app, name="remits")
app.add_typer(notifications_app, name="notifications")


def main() -> None:
    app()
