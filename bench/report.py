"""What `rcm bench` prints and records: tables of figures, the machine they were measured on, and
the block appended to bench/results.md (`--record`)."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.md")
KAFKA_POM = Path(__file__).resolve().parents[1] / "deploy" / "local" / "kafka" / "pom.xml"


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu: str
    memory_gb: float
    python: str
    aiokafka: str
    asyncpg: str
    kafka: str
    postgres: str
    load: str

    def describe(self) -> str:
        return (f"nproc {self.nproc}, {self.cpu}, {self.memory_gb:.1f} GB memory, Python {self.python}, "
                f"aiokafka {self.aiokafka}, asyncpg {self.asyncpg}, Kafka {self.kafka}, Postgres {self.postgres}, "
                f"load average {self.load}")


def _cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _memory_gb(meminfo: str) -> float:
    found = re.search(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def kafka_version(pom: Path = KAFKA_POM) -> str:
    """The broker version the local stack runs (deploy/local/kafka.sh fetches the version its pom
    pins); Kafka's protocol does not tell a client the broker's release."""
    found = re.search(r"<kafka.version>([^<]+)</kafka.version>", _read(str(pom)))
    return f"{found.group(1)} (local stack)" if found else "unknown"


def machine(postgres: str) -> Machine:
    """This machine; `postgres` is the server's `SHOW server_version`, asked by the caller."""
    return Machine(
        nproc=os.cpu_count() or 0, cpu=_cpu_model(_read("/proc/cpuinfo")), memory_gb=_memory_gb(_read("/proc/meminfo")),
        python=f"{platform.python_version()} ({platform.machine()})", aiokafka=_package("aiokafka"),
        asyncpg=_package("asyncpg"), kafka=kafka_version(), postgres=postgres,
        load=", ".join(f"{x:.1f}" for x in os.getloadavg()),
    )


@dataclass
class Table:
    """One table of figures: `rows` hold cells already formatted, in `columns` order."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """The raw figures behind the rows, for `--json`."""

    def add(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(cells)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|",
                 *("| " + " | ".join(row) + " |" for row in self.rows)]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)


def block(command: str, host: Machine, tables: list[Table], when: datetime | None = None) -> str:
    """The bench/results.md block of one `rcm bench` run."""
    stamp = (when or datetime.now(UTC)).isoformat(timespec="seconds")
    parts = [f"## {stamp}: rcm bench", "", f"Command: `{command}`", "", f"Machine: {host.describe()}", ""]
    for table in tables:
        parts += [table.markdown(), ""]
    return "\n".join(parts)


def record(text: str, path: Path = RESULTS) -> None:
    with path.open("a") as fh:
        fh.write("\n" + text)


def as_json(host: Machine, tables: list[Table]) -> dict[str, Any]:
    return {"machine": asdict(host), "tables": [{"title": t.title, "columns": list(t.columns),
                                                 "rows": [list(r) for r in t.rows], "notes": t.notes,
                                                 "data": t.data} for t in tables]}


def number(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def ratio(value: float, baseline: float) -> str:
    """value / baseline with two significant digits at least: a service at 0.4% of a baseline
    shows 0.0040x, not 0.00x."""
    if baseline <= 0:
        return "n/a"
    r = value / baseline
    return f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x" if r > 0 else "0x"
