"""CPU time the processes of a measurement spend, read from /proc: which process a figure is
waiting for when the machine's cores are the limit.

Postgres forks a backend per connection: its CPU is the postmaster's own, what it collected from
backends that ended and what its live backends have used so far.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int, proc: Path) -> list[str] | None:
    try:
        # The command name may hold spaces and parentheses: the fields start after the last ")".
        return (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def own_seconds(pid: int, proc: Path = PROC) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    fields = _stat(pid, proc)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def tree_seconds(pid: int, proc: Path = PROC) -> float:
    """A parent's CPU seconds with its ended children's and its live children's (one level)."""
    fields = _stat(pid, proc)
    if fields is None:
        return 0.0
    total = sum(int(f) for f in fields[11:15]) / TICKS
    for entry in proc.iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            child = _stat(int(entry.name), proc)
            if child is not None and child[1] == str(pid):
                total += (int(child[11]) + int(child[12])) / TICKS
    return total


@dataclass(frozen=True)
class Watched:
    name: str
    pid: int
    with_children: bool = False

    def seconds(self, proc: Path = PROC) -> float:
        return tree_seconds(self.pid, proc) if self.with_children else own_seconds(self.pid, proc)


@dataclass
class CpuMeter:
    """CPU seconds of each watched process from `start()` to the last `mark()`."""

    watched: tuple[Watched, ...]
    proc: Path = PROC
    _start: dict[str, float] = field(default_factory=dict)
    _mark: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        return {w.name: w.seconds(self.proc) for w in self.watched}

    def start(self) -> None:
        self._start = self._now()
        self._mark = dict(self._start)

    def mark(self) -> None:
        self._mark = self._now()

    def used(self) -> Mapping[str, float]:
        return {name: max(0.0, self._mark.get(name, 0.0) - begun) for name, begun in self._start.items()}


def pid_in(path: Path) -> int | None:
    """The pid on the first line of a pid file (Kafka's kafka.pid, Postgres' postmaster.pid)."""
    try:
        return int(path.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
