"""Command-group pieces every service shares."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from services.chassis import ports
from services.chassis.settings import ServiceName, get_settings, service_role
from services.chassis.topics import topics_consumed_by


def service_group(service: ServiceName, help: str) -> typer.Typer:
    app = typer.Typer(help=help, no_args_is_help=True)

    @app.command("info")
    def info() -> None:
        """Where this service listens, what it consumes, and what it owns."""
        settings = get_settings()
        table = Table(show_header=False)
        table.add_row("HTTP", f"http://127.0.0.1:{ports.HTTP[service]}")
        table.add_row("schema / role", f"{service} / {service_role(service)}")
        table.add_row("consumer group", settings.group_id(service))
        table.add_row("consumes", ", ".join(settings.topic(t) for t in topics_consumed_by(service)) or "-")
        table.add_row("dead letters", settings.dlq_topic(service))
        Console().print(table)

    return app
