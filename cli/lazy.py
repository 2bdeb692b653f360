"""A command group whose subcommands are imported only when one of them runs.

Each `rcm` command module pulls in what it works with (asyncpg, aiokafka, asyncssh, the services'
use cases and stores, the X12 models, the event contracts): importing all of them before any command
started cost every `rcm` call, `--help` included, seconds. The root lists its commands from the
one-line help kept in its table, and imports a command's module when that command is resolved to
run (or to print its own help). tests/unit/cli/test_startup.py keeps that line equal to the one the
command itself would show, and checks what `rcm --help` imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click as click  # typer vendors its own click: its groups take these classes, not click's
from typer.core import MarkupMode, TyperCommand, TyperGroup


@dataclass(frozen=True)
class Lazy:
    """One subcommand of the root: `target` is "module:attribute", a `typer.Typer` (a command group)
    or a command function; `help` is the line `rcm --help` shows for it."""

    name: str
    target: str
    help: str

    def load(self, rich_markup_mode: MarkupMode) -> click.Command:
        module_name, _, attribute = self.target.partition(":")
        obj = getattr(importlib.import_module(module_name), attribute)
        # Mounted on a throwaway root with the real root's markup mode, so the command is built exactly
        # as `app.add_typer(...)` / `app.command()(...)` on the root would have built it.
        host = typer.Typer(rich_markup_mode=rich_markup_mode)
        if isinstance(obj, typer.Typer):
            host.add_typer(obj, name=self.name)
        else:
            host.command(self.name)(obj)
        return typer.main.get_group(host).commands[self.name]


class _Deferred(TyperCommand):
    """Stands for a subcommand in listings (help, completion) until it is run: then the real command
    is loaded and builds the context, so parsing and invocation are the real command's own."""

    def __init__(self, group: LazyGroup, entry: Lazy) -> None:
        super().__init__(entry.name, short_help=entry.help, help=entry.help, rich_markup_mode=group.rich_markup_mode)
        self._group = group

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        real = self._group.load(self.name or "")
        return real.make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The root group; subclass it with `entries` set (see `lazy_group`)."""

    entries: ClassVar[tuple[Lazy, ...]] = ()

    def list_commands(self, ctx: click.Context) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(entry.name for entry in self.entries if entry.name not in eager)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        loaded = super().get_command(ctx, cmd_name)
        if loaded is not None:
            return loaded
        entry = self._entry(cmd_name)
        return None if entry is None else _Deferred(self, entry)

    def load(self, cmd_name: str) -> click.Command:
        """The real command, imported on first use and kept."""
        loaded = self.commands.get(cmd_name)
        if loaded is None:
            entry = self._entry(cmd_name)
            if entry is None:
                raise KeyError(cmd_name)
            loaded = self.commands[cmd_name] = entry.load(self.rich_markup_mode)
        return loaded

    def _entry(self, cmd_name: str) -> Lazy | None:
        return next((entry for entry in self.entries if entry.name == cmd_name), None)


def lazy_group(*entries: Lazy) -> type[LazyGroup]:
    """A `LazyGroup` class for `typer.Typer(cls=...)`, which takes a class, not an instance."""
    return type("RootGroup", (LazyGroup,), {"entries": entries})
