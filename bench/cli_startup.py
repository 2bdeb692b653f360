"""`rcm` start-up benchmark: wall time of `rcm --help` and `rcm x12 parse` of a small 835, each beside
a bare `python -c pass` measured in the same run, plus the import profile of `import cli.main`.

The machine is shared, so every command runs interleaved with the baseline, several times, and the
table gives the median and the minimum of each, their CPU time, and the ratios to the baseline's.
Several checkouts (each with its .venv) are measured in the same run, interleaved, for a before/after
under the same load.

Run: .venv/bin/python bench/cli_startup.py [--runs N] [--checkout DIR ...] [--label TEXT]. Appends a
block to bench/results.md. Never a pass/fail test: tests/unit/cli/test_startup.py guards what is imported.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.x12_bench import machine  # noqa: E402  (run as a script: after the path)

RESULTS = Path(__file__).with_name("results.md")
SMALL_835 = ROOT / "tests" / "fixtures" / "x12" / "public" / "lfh-835-medicare-part-a.835"


@dataclass(frozen=True)
class Checkout:
    """A checkout of the project with its own .venv (its `rcm` is an editable install of that checkout)."""

    root: Path

    @property
    def name(self) -> str:
        commit = subprocess.run(["git", "-C", str(self.root), "log", "-1", "--format=%h %s"], capture_output=True,
                                text=True, check=False).stdout.strip()
        return f"{self.root} ({commit[:60] or 'no git'})"

    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def commands(self) -> dict[str, list[str]]:
        rcm = str(self.root / ".venv" / "bin" / "rcm")
        return {
            "rcm --help": [rcm, "--help"],
            f"rcm x12 parse {SMALL_835.name}": [rcm, "x12", "parse", str(SMALL_835)],
            # A service's start imports its whole app eagerly (that is fine); watched so it does not regress.
            "python -c 'import services.claims.app'": [self.python(), "-c", "import services.claims.app"],
        }


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run(argv: list[str], cwd: Path, into: Samples) -> None:
    """Wall time and CPU time (user + system of the child): the CPU time hardly depends on how busy
    the shared machine is, the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # x12 parse exits 1 on validation findings; the time still counts
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    into.wall.append(elapsed)
    into.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


PARSE_PROBE = f"import sys; sys.argv = ['rcm', 'x12', 'parse', {str(SMALL_835)!r}]; import cli.main; cli.main.main()"


def import_profile(checkout: Checkout, top: int, code: str = "import cli.main") -> tuple[int, list[tuple[int, str]]]:
    """Total microseconds of the imports `code` makes (`import cli.main` by default: cli.main's
    cumulative time; else the sum of every import's self time) and the top-level packages costing
    the most (self time)."""
    done = subprocess.run([checkout.python(), "-X", "importtime", "-c", code], cwd=checkout.root,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"importtime of {code!r} failed ({done.returncode}): {done.stderr[-400:]}")
    total = 0
    per_package: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        per_package[package] = per_package.get(package, 0) + int(self_us)
        if code == "import cli.main" and name == "cli.main":
            total = int(cumulative_us)
    if code != "import cli.main":
        total = sum(per_package.values())
    ranked = sorted(((us, package) for package, us in per_package.items()), reverse=True)
    return total, ranked[:top]


def bytecode(checkout: Checkout) -> str:
    """How many of the checkout's cli/ and edi/ sources have their bytecode cached: those without it
    are compiled at every start where PYTHONDONTWRITEBYTECODE is set (dev.sh caches them)."""
    sources = [path for folder in ("cli", "edi") for path in (checkout.root / folder).rglob("*.py")]
    cached = [path for path in sources if Path(importlib.util.cache_from_source(str(path))).exists()]
    return f"bytecode cached for {len(cached)} of {len(sources)} cli/ and edi/ sources"


def os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "unknown OS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="a checkout to measure (its .venv); repeat it to compare, e.g. main and a branch, "
                             "in the same run (default: this one)")
    parser.add_argument("--label", default="", help="what this run measures")
    args = parser.parse_args()
    checkouts = [Checkout(path.resolve()) for path in args.checkout] or [Checkout(ROOT)]
    baseline_argv = [sys.executable, "-c", "pass"]
    jobs = [(checkout, name, argv) for checkout in checkouts for name, argv in checkout.commands().items()]
    baseline = Samples()
    samples = {(checkout.root, name): Samples() for checkout, name, _ in jobs}
    for checkout, _, argv in jobs:  # warm the file cache once, untimed
        run(argv, checkout.root, Samples())
    for _ in range(args.runs):
        run(baseline_argv, ROOT, baseline)
        for checkout, name, argv in jobs:
            run(argv, checkout.root, samples[(checkout.root, name)])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # the machine is shared: say how busy it was

    def row(name: str, values: Samples) -> str:
        wall, cpu = statistics.median(values.wall), statistics.median(values.cpu)
        base_wall, base_cpu = statistics.median(baseline.wall), statistics.median(baseline.cpu)
        return (f"| {name} | {wall:.3f} | {min(values.wall):.3f} | {wall / base_wall:.1f}x | {cpu:.3f} | "
                f"{cpu / base_cpu:.1f}x |")

    lines = [
        f"\n## {datetime.now().isoformat(timespec='seconds')}: rcm start-up (bench/cli_startup.py)"
        + (f", {args.label}" if args.label else ""),
        f"\nMachine: {machine()}, {os_name()}, load average {load}; {args.runs} interleaved runs each; "
        "CPU = user + system time of the process; PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}\n",
        "| command | median wall s | min wall s | wall / baseline | median CPU s | CPU / baseline |",
        "|---|---:|---:|---:|---:|---:|",
        row("python -c pass (baseline)", baseline),
    ]
    for checkout in checkouts:
        total_us, ranked = import_profile(checkout, top=6)
        if len(checkouts) > 1:
            lines.append(f"| **{checkout.name}** | | | | | |")
        lines.extend(row(name, samples[(checkout.root, name)]) for name in checkout.commands())
        lines.append(f"| `-X importtime` of `import cli.main`: cumulative {total_us / 1000:,.0f} ms; most self "
                     "time: " + ", ".join(f"{package} {us / 1000:,.0f} ms" for us, package in ranked) + " | | | | | |")
        total_us, ranked = import_profile(checkout, top=6, code=PARSE_PROBE)
        lines.append(f"| `-X importtime` of `rcm x12 parse {SMALL_835.name}`: {total_us / 1000:,.0f} ms in all; "
                     "most self time: " + ", ".join(f"{package} {us / 1000:,.0f} ms" for us, package in ranked)
                     + f"; {bytecode(checkout)} | | | | | |")
    block = "\n".join(lines) + "\n"
    print(block)
    with RESULTS.open("a") as fh:
        fh.write(block)


if __name__ == "__main__":
    main()
