"""`rcm schemas`: regenerate the contract artifacts and check compatibility."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from schemas.generate import SCHEMAS_DIR, check_baselines, missing_baselines, stale_artifacts, write_artifacts
from schemas.topics import DEFAULT_TOPICS_FILE, load_topics

__all__ = ["app"]

app = typer.Typer(
    help="Event contracts: generate JSON Schema and AsyncAPI, check compatibility with the baselines.",
    no_args_is_help=True,
)

RootOption = Annotated[
    Path, typer.Option("--root", help="The schemas/ directory (generated/ and baseline/ live in it).")
]
TopicsOption = Annotated[Path, typer.Option("--topics", help="The topic catalog.")]


@app.command()
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if any artifact is out of date.")
    ] = False,
    root: RootOption = SCHEMAS_DIR,
    topics: TopicsOption = DEFAULT_TOPICS_FILE,
) -> None:
    """Rewrite schemas/generated/ from the models and add baselines for new event types.

    Existing baselines are never rewritten: they are what `rcm schemas check` compares with.
    """
    catalog = load_topics(topics)
    if check:
        stale = stale_artifacts(root, catalog) + missing_baselines(root)
        for rel in stale:
            typer.echo(f"out of date: {rel}")
        if stale:
            typer.echo("run `rcm schemas generate` and commit the result", err=True)
            raise typer.Exit(1)
        typer.echo("generated artifacts are up to date")
        return
    changed = write_artifacts(root, catalog)
    for rel in changed:
        typer.echo(f"wrote {rel}")
    typer.echo(f"{len(changed)} file(s) changed")


@app.command()
def check(
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    root: RootOption = SCHEMAS_DIR,
) -> None:
    """Fail (exit 1) on any backward-incompatible change against the committed baselines."""
    found, missing = check_baselines(root, include_widening=True)
    problems = [i for i in found if i.breaking]
    widenings = [i for i in found if not i.breaking]
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "compatible": not problems,
                    "incompatibilities": [{"path": p.path, "kind": p.kind, "detail": p.detail} for p in problems],
                    "widenings": [{"path": w.path, "kind": w.kind, "detail": w.detail} for w in widenings],
                    "without_baseline": missing,
                },
                indent=2,
            )
        )
    else:
        for p in problems:
            typer.echo(f"INCOMPATIBLE {p}")
        for w in widenings:
            typer.echo(f"widening (deploy consumers before producers) {w}")
        for event_type in missing:
            typer.echo(f"note: {event_type} has no baseline yet (`rcm schemas generate` adds it)")
        typer.echo(
            f"{len(problems)} incompatible change(s)" if problems else "all event schemas are backward compatible"
        )
    if problems:
        raise typer.Exit(1)
