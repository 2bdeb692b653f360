"""`rcm serve SERVICE`: one process of the platform in the foreground, what the container image runs."""

from __future__ import annotations

import runpy

import typer
from rich.console import Console

from devstack import stack

err = Console(stderr=True)

# What `rcm up` starts, by name: the four services, the sandbox and the mail catcher. Each runs
# exactly as `rcm up` runs it (`python -m <module>`), so an image and a laptop start the same code.
PROCESSES = {p.name: p.module for p in stack.PROCESSES}


def serve(
    service: str = typer.Argument(..., metavar="SERVICE", show_default=False,
                                  help=f"One of: {', '.join(PROCESSES)}."),
) -> None:
    """Run one service (or the sandbox, or the mail catcher) in the foreground: what the container image runs.

    In this process, as `rcm up` starts it (`python -m services.<name>`): a service (charges,
    claims, remits, notifications), the `sandbox` (clearinghouse and payers) or the `mailcatcher`.
    HTTP on `RCM_HTTP_HOST` (default 127.0.0.1) and the service's port (`RCM_<SERVICE>_HTTP_PORT`),
    JSON logs on stderr; SIGTERM or Ctrl-C stops it gracefully (exit 0). Exit 2 for an unknown name."""
    module = PROCESSES.get(service)
    if module is None:
        err.print(f"[red]error:[/red] no process {service!r}; choose one of: {', '.join(PROCESSES)}")
        raise typer.Exit(2)
    runpy.run_module(module, run_name="__main__", alter_sys=True)
