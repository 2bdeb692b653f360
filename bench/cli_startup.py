"""`rcm` start-up benchmark: wall time of `rcm --help` and `rcm x12 parse` of a small 835, each beside
a bare `python -c pass` measured in the same run, plus the import profile of `import cli.main`.

The machine is shared, so every command runs interleaved with the baseline, several times, and the
table gives the median and the minimum of each and their ratio to the baseline's.

Run: .venv/bin/python bench/cli_startup.py [--runs N] [--label before|after]. Appends a block to
bench/results.md. Never a pass/fail test: tests/unit/cli/test_startup.py guards what is imported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.x12_bench import machine  # noqa: E402  (run as a script: after the path)

RESULTS = Path(__file__).with_name("results.md")
SMALL_835 = ROOT / "tests" / "fixtures" / "x12" / "public" / "lfh-835-medicare-part-a.835"


def commands() -> dict[str, list[str]]:
    python = sys.executable
    rcm = str(Path(python).with_name("rcm"))
    return {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "rcm --help": [rcm, "--help"],
        f"rcm x12 parse {SMALL_835.name}": [rcm, "x12", "parse", str(SMALL_835)],
        # A service's start imports its whole app eagerly (that is fine); watched so it does not regress.
        "python -c 'import services.claims.app'": [python, "-c", "import services.claims.app"],
    }


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # x12 parse exits 1 on validation findings; the time still counts
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return elapsed


def import_profile(top: int) -> tuple[int, list[tuple[int, str]]]:
    """Cumulative microseconds of `import cli.main` and the top-level packages costing the most (self time)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cli.main"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    total = 0
    per_package: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        per_package[package] = per_package.get(package, 0) + int(self_us)
        if name == "cli.main":
            total = int(cumulative_us)
    ranked = sorted(((us, package) for package, us in per_package.items()), reverse=True)
    return total, ranked[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--label", default="", help="what this run measures (before / after a change)")
    args = parser.parse_args()
    argvs = commands()
    samples: dict[str, list[float]] = {name: [] for name in argvs}
    for argv in argvs.values():  # warm the file cache once, untimed
        wall(argv)
    for _ in range(args.runs):
        for name, argv in argvs.items():
            samples[name].append(wall(argv))
    base_median = statistics.median(samples["python -c pass (baseline)"])
    base_min = min(samples["python -c pass (baseline)"])
    total_us, ranked = import_profile(top=8)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())  # the machine is shared: say how busy it was

    lines = [
        f"\n## {datetime.now().isoformat(timespec='seconds')}: rcm start-up (bench/cli_startup.py)"
        + (f", {args.label}" if args.label else ""),
        f"\nMachine: {machine()}, load average {load}; {args.runs} interleaved runs each\n",
        "| command | median s | min s | median / baseline | min / baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in samples.items():
        median, low = statistics.median(values), min(values)
        lines.append(f"| {name} | {median:.3f} | {low:.3f} | {median / base_median:.1f}x | {low / base_min:.1f}x |")
    lines.append(f"\n`python -X importtime -c 'import cli.main'`: cli.main cumulative {total_us / 1000:,.0f} ms; "
                 "self time by top-level package: "
                 + ", ".join(f"{package} {us / 1000:,.0f} ms" for us, package in ranked) + "\n")
    block = "\n".join(lines)
    print(block)
    with RESULTS.open("a") as fh:
        fh.write(block)


if __name__ == "__main__":
    main()
