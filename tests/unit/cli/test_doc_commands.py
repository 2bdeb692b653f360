"""The `rcm` command lines an operator copies from the docs exist: every `rcm ...` of a code block or an
inline code span names a real subcommand path, and every --flag it gives is one of that command's
options (typer/click introspection of cli.main, the lazy root loading each command as `rcm` would).
A runbook naming a flag that does not exist would fail the SRE at the worst moment."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml
from typer._click.core import Command, Context  # typer vendors its own click (cli/lazy.py says why)
from typer.core import TyperGroup, TyperOption

import cli.main
from cli.lazy import LazyGroup

ROOT = Path(__file__).resolve().parents[3]
DOCS = (ROOT / "docs" / "operations.md",)

# The runbooks' anchors the alert rules link to (deploy/observability/alerts.yaml runbook_url).
ANCHORS = {
    "stuck-consumer", "dlq-arrival", "outbox-backlog", "relay-stopped", "held-outbox-row", "835-quarantine",
    "claims-held", "service-down", "broker-outage", "postgres-failover", "key-and-token-rotation", "scaling-out",
    "backup-and-restore", "capacity",
}

_FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)  # list items indent theirs
_INLINE = re.compile(r"`(rcm [^`]+)`")
_END = {"|", "||", "&&", ";", ">", "2>&1"}


def command_lines(text: str) -> list[list[str]]:
    """The words after each `rcm` of a code block line (after env assignments, `kubectl exec ... --`)
    and of each inline span that starts with `rcm `, up to a pipe or the end of the command."""
    lines = [line for block in _FENCE.findall(text) for line in block.splitlines()]
    lines += _INLINE.findall(_FENCE.sub("", text))
    found = []
    for line in lines:
        words = shlex.split(line.replace("[", " ").replace("]", " "), comments=True)
        for i, word in enumerate(words):
            if word == "rcm":
                rest = words[i + 1:]
                stop = next((n for n, w in enumerate(rest) if w in _END), len(rest))
                found.append(rest[:stop])
    return found


def problem(words: list[str]) -> str | None:
    """Why `rcm WORDS` is not a real command line (None when it is)."""
    root = typer.main.get_command(cli.main.app)
    assert isinstance(root, LazyGroup)
    if not words:
        return "a bare `rcm`"
    try:
        command: Command = root.load(words[0])
    except KeyError:
        return f"no command `rcm {words[0]}`"
    path = [words[0]]
    for word in words[1:]:
        if isinstance(command, TyperGroup) and not word.startswith("-"):
            sub = command.get_command(Context(command), word)
            if sub is None:
                return f"`rcm {' '.join(path)}` has no subcommand {word}"
            command, path = sub, [*path, word]
        elif word.startswith("--") or re.fullmatch(r"-[a-zA-Z]", word):
            flag = word.split("=", 1)[0]
            flags = {"--help"} | {o for p in command.params if isinstance(p, TyperOption)
                                  for o in (*p.opts, *p.secondary_opts)}
            if flag not in flags:
                return f"`rcm {' '.join(path)}` has no option {flag} (it has {', '.join(sorted(flags))})"
    if isinstance(command, TyperGroup):
        return f"`rcm {' '.join(path)}` is a group: name one of its commands"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
@pytest.mark.filterwarnings("ignore:DSA is deprecated")  # asyncssh at import (cli/__init__.py says why)
def test_every_rcm_command_line_of_the_doc_exists(doc: Path) -> None:
    lines = command_lines(doc.read_text())
    assert len(lines) >= 20, lines  # the doc is read: its runbooks cite the commands they use
    problems = [f"rcm {' '.join(words)}: {why}" for words in lines if (why := problem(words))]
    assert problems == []


def test_the_checker_refuses_what_does_not_exist() -> None:
    assert problem(["dlq", "list", "--service", "charges"]) is None
    assert problem(["outbox", "retry", "claims", "12", "--reason=fixed"]) is None
    assert "no command" in (problem(["nosuch"]) or "")
    assert "no subcommand" in (problem(["dlq", "purge"]) or "")
    assert "no option --force" in (problem(["dlq", "replay", "charges", "0:1", "--force"]) or "")
    assert "is a group" in (problem(["claims"]) or "")
    doc = ("```bash\nRCM_DATABASE_NAME=x rcm migrate  # note\nkubectl exec d -- rcm claims held | head\n```\n"
           "see `rcm dlq list [--service S]`")
    assert command_lines(doc) == [["migrate"], ["claims", "held"], ["dlq", "list", "--service", "S"]]


def test_the_runbook_anchors_the_alerts_link_to_exist() -> None:
    text = DOCS[0].read_text()
    slugs = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
             for h in re.findall(r"^#+ (.+)$", _FENCE.sub("", text), re.M)}
    assert ANCHORS - slugs == set()
    alerts = yaml.safe_load((ROOT / "deploy" / "observability" / "alerts.yaml").read_text())
    linked = {rule["annotations"]["runbook_url"].partition("#")[2]
              for group in alerts["groups"] for rule in group["rules"]}
    assert linked and linked - slugs == set()
