"""`rcm topics apply|describe`: the cluster's topics against the catalog (deploy/topics.yaml), for
an SRE's existing Kafka as for the local one. The planning rules are services.chassis.topic_plan's,
the same `rcm up` and the test harness follow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from services.chassis.settings import SERVICES, Settings, get_settings
from services.chassis.topic_plan import Step, has_drift, plan, wanted_topics
from services.chassis.topics import (
    CATALOG,
    CatalogError,
    TopicsError,
    TopicSpec,
    connected,
    consumer_lag,
    load_catalog,
    observe,
    reconcile,
)

app = typer.Typer(help="Kafka topics against the catalog (deploy/topics.yaml): apply it to a cluster, describe them.",
                  no_args_is_help=True)
console = Console()
err = Console(stderr=True)

_STYLE = {"create": "green", "add_partitions": "green", "alter_config": "yellow", "drift": "red", "none": "dim",
          "unmanaged": "cyan"}


@app.command("apply")
def apply_(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output: a list of {topic, action, detail}."),
    file: Path | None = typer.Option(None, "--file", "-f", help="The catalog to apply (default: deploy/topics.yaml)."),
) -> None:
    """Bring the cluster's topics to the catalog: safe to run again and from several places at once.

    Every catalog topic gets RCM_TOPIC_PREFIX. Missing topics are created; partitions are raised,
    never lowered; the configs the catalog names (retention.ms, cleanup.policy, min.insync.replicas...)
    are altered where they differ, and any other config set on a topic is kept. A partition decrease
    or another replication factor is drift: reported with what to do, never applied. Topics with the
    prefix the catalog does not name are listed as unmanaged and left alone. The replication factor
    is the catalog's unless RCM_TOPIC_REPLICATION_FACTOR sets one (1 for a one-broker cluster).

    Actions: create, add_partitions, alter_config, none, drift, unmanaged. Exit 0 when in sync or
    applied, 1 on drift (the rest is still applied) or a broker error, 2 on a bad catalog file."""
    catalog = _catalog(file)
    settings = get_settings()
    try:
        steps = asyncio.run(reconcile(settings, catalog, dry_run=dry_run))
    except TopicsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps([s.as_json() for s in steps], indent=2))
    else:
        changes = sum(s.action in ("create", "add_partitions", "alter_config") for s in steps)
        title = (f"plan for {settings.bootstrap} (dry run: nothing changed)" if dry_run
                 else f"{settings.bootstrap}: {changes} change(s) applied")
        _print_steps(title, steps)
    if has_drift(steps):
        err.print("[red]drift:[/red] the topics marked drift differ from the catalog in ways not fixed "
                  "automatically (see their detail)")
        raise typer.Exit(1)


@app.command("describe")
def describe(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output: {topics, groups}."),
    file: Path | None = typer.Option(None, "--file", "-f",
                                     help="The catalog to compare with (default: deploy/topics.yaml)."),
) -> None:
    """Each catalog topic as the cluster has it, and each service's consumer group lag.

    Per topic: partitions, replication factor, min.insync.replicas, under-replicated partitions,
    retention.ms, cleanup.policy, and what `rcm topics apply` would do about it (drift included).
    Changes nothing. Exit 0 when every topic matches the catalog, 1 when any differs, is missing,
    or on a broker error, 2 on a bad catalog file."""
    catalog = _catalog(file)
    settings = get_settings()
    try:
        topics, groups = asyncio.run(_describe(settings, catalog))
    except TopicsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps({"topics": topics, "groups": groups}, indent=2))
    else:
        table = Table(title=f"topics on {settings.bootstrap}")
        for col in ("topic", "partitions", "replicas", "min ISR", "under-replicated", "retention.ms", "cleanup",
                    "plan"):
            table.add_column(col)
        for t in topics:
            table.add_row(t["topic"], *(_cell(t[k]) for k in ("partitions", "replication_factor",
                                                               "min_insync_replicas", "under_replicated",
                                                               "retention_ms", "cleanup_policy")),
                          "\n".join(f"[{_STYLE[a['action']]}]{a['action']}[/]: {a['detail']}" for a in t["plan"]))
        console.print(table)
        lag = Table(title="consumer groups")
        for col in ("service", "group", "lag"):
            lag.add_column(col)
        for g in groups:
            lag.add_row(g["service"], g["group"], ", ".join(f"{k} {v}" for k, v in g["lag"].items())
                        if g["lag"] is not None else f"[yellow]{g['detail']}[/yellow]")
        console.print(lag)
    if any(a["action"] != "none" for t in topics for a in t["plan"]):
        raise typer.Exit(1)


async def _describe(settings: Settings, catalog: list[TopicSpec]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    wanted = wanted_topics(catalog, settings)
    async with connected(settings) as admin:
        cluster = await observe(admin, [w.name for w in wanted])
    steps = plan(wanted, cluster, settings.topic_prefix)
    topics: list[dict[str, Any]] = []
    for w in wanted:
        found = cluster.topics.get(w.name)
        topics.append({
            "topic": w.name,
            "exists": found is not None,
            "partitions": found.partitions if found else None,
            "replication_factor": found.replication_factor if found else None,
            "min_insync_replicas": found.configs.get("min.insync.replicas") if found else None,
            "under_replicated": found.under_replicated if found else None,
            "retention_ms": found.configs.get("retention.ms") if found else None,
            "cleanup_policy": found.configs.get("cleanup.policy") if found else None,
            "plan": [s.as_json() for s in steps if s.topic == w.name],
        })
    groups: list[dict[str, Any]] = []
    for service in SERVICES:
        consumed = [s.name for s in catalog if service in s.consumers]
        missing = [n for n in consumed if settings.topic(n) not in cluster.topics]
        entry: dict[str, Any] = {"service": service, "group": settings.group_id(service), "lag": None, "detail": ""}
        if missing:
            # Asking for a missing topic's offsets could make the broker create it with its defaults.
            entry["detail"] = f"topics missing: {', '.join(missing)}"
        else:
            try:
                lag = await consumer_lag(settings, service)
            except Exception as exc:  # one group's failure is its row, not the command's end
                entry["detail"] = f"lag unknown ({type(exc).__name__})"
            else:
                entry["lag"] = {name.removeprefix(settings.topic_prefix): n for name, n in lag.items()}
        groups.append(entry)
    return topics, groups


def _catalog(given: Path | None) -> list[TopicSpec]:
    file = given or CATALOG
    try:
        return load_catalog(file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, CatalogError) as exc:
        what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        err.print(f"[red]error:[/red] cannot use {file} as the topic catalog: {what}")
        raise typer.Exit(2) from exc


def _print_steps(title: str, steps: list[Step]) -> None:
    table = Table(title=title)
    for col in ("topic", "action", "detail"):
        table.add_column(col)
    for s in steps:
        table.add_row(s.topic, f"[{_STYLE[s.action]}]{s.action}[/]", s.detail)
    console.print(table)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)
