"""`rcm bench`'s pure parts: percentiles, the pace, the results' format, the e2e latency join, and
the command's door (help, and a clear error when the stack is not up). Nothing here is timed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import cpu, report, suite
from bench.bench_stack import free_port
from bench.e2e import Run, _latencies
from bench.services import drain
from bench.statements import Counts, by_service
from bench.stats import Latency, Pacer, percentile, rate
from bench.workload import Record, groups

ROOT = Path(__file__).resolve().parents[3]
RCM = str(Path(sys.executable).with_name("rcm"))


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(list(map(float, range(1, 101))), 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("values,q", [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_what_has_none(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


def test_latency_is_in_milliseconds() -> None:
    latency = Latency.of([0.001 * n for n in range(1, 101)])
    assert latency.count == 100
    assert latency.p50 == pytest.approx(50.5)
    assert latency.max == pytest.approx(100)
    assert latency.p99 == pytest.approx(99.01)


def test_rate_of_nothing_timed_is_zero() -> None:
    assert rate(10, 0) == 0.0
    assert rate(10, 2) == 5.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_drain_is_timed_between_transaction_starts_without_the_last_one() -> None:
    t0 = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    at = [t0.replace(second=s) for s in (0, 0, 0, 2, 2, 4)]  # 3 events, 2 events, then a last one
    d = drain("charges", at)
    assert (d.applied, d.transactions) == (6, 3)
    assert (d.timed.events, d.timed.seconds, d.timed.per_s) == (5, 4.0, 1.25)


def test_a_drain_in_one_transaction_has_no_rate() -> None:
    d = drain("remits", [datetime(2026, 12, 7, tzinfo=UTC)] * 192)
    assert (d.applied, d.transactions, d.timed.per_s) == (192, 1, 0.0)


def test_pacer_schedules_from_the_first_send_and_catches_up() -> None:
    clock = FakeClock()
    pacer = Pacer(4.0, clock=clock)
    assert pacer.wait_s(0) == 0.0  # the first send starts the schedule
    assert pacer.wait_s(1) == pytest.approx(0.25)
    clock.now = 101.0  # a slow send: sends 1-4 are due or late, none waits
    assert [pacer.wait_s(i) for i in (1, 4)] == [0.0, 0.0]
    assert pacer.wait_s(6) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        Pacer(0)


def test_table_markdown_and_block() -> None:
    table = report.Table("T", ("what", "events/s"))
    table.add("a", "1,000")
    with pytest.raises(ValueError):
        table.add("only one")
    table.notes.append("a note")
    assert table.markdown() == "### T\n\n| what | events/s |\n|---|---:|\n| a | 1,000 |\n\na note"
    host = report.Machine(2, "AMD EPYC", 23.5, "3.11.7", "0.14.0", "0.32.0", "4.1.1", "15.18", "1.0, 1.0, 1.0")
    text = report.block("rcm bench e2e --rate 150", host, [table], datetime(2026, 12, 7, 5, 0, tzinfo=UTC))
    assert text.startswith("## 2026-12-07T05:00:00+00:00: rcm bench\n\nCommand: `rcm bench e2e --rate 150`")
    assert "Machine: nproc 2, AMD EPYC, 23.5 GB memory, Python 3.11.7" in text
    assert "Kafka 4.1.1, Postgres 15.18" in text
    assert "| a | 1,000 |" in text
    assert report.ratio(3, 4) == "0.75x" and report.ratio(3, 0) == "n/a"
    assert report.ratio(12, 3406) == "0.0035x"
    assert report.ratio(0, 3406) == "0x"


def test_record_appends(tmp_path: Path) -> None:
    results = tmp_path / "results.md"
    results.write_text("# Benchmark results\n")
    report.record("## block", results)
    assert results.read_text() == "# Benchmark results\n\n## block"


def test_machine_parts(tmp_path: Path) -> None:
    assert report._cpu_model("processor: 0\nmodel name\t: AMD EPYC\n") == "AMD EPYC"
    assert report._cpu_model("") == "unknown CPU"
    assert report._memory_gb("MemTotal:       24641536 kB\n") == pytest.approx(23.5, abs=0.01)
    pom = tmp_path / "pom.xml"
    pom.write_text("<properties><kafka.version>4.1.1</kafka.version></properties>")
    assert report.kafka_version(pom) == "4.1.1 (local stack)"
    assert report.kafka_version(tmp_path / "missing.xml") == "unknown"


def _record(group: str, event_id: str) -> Record:
    return Record("rcm.intake.charges.v1", b"k", b"{}", [("ce_id", event_id.encode())], group)


def test_groups_keep_an_encounters_records_together() -> None:
    records = [_record("E1", "1"), _record("E1", "2"), _record("E2", "3"), _record("E1", "4")]
    assert [[r.event_id for r in g] for g in groups(records)] == [["1", "2"], ["3"], ["4"]]


def test_e2e_latency_runs_from_the_encounters_last_intake_record() -> None:
    records = [_record("E1", "1"), _record("E1", "2"), _record("E2", "3")]
    sent = {"1": 10.0, "2": 11.0, "3": 12.0}
    first_balance = {"enc_a": 13.5, "enc_b": 15.0, "enc_unknown": 20.0}
    source = {"enc_a": "E1", "enc_b": "E2"}
    assert sorted(_latencies(records, sent, first_balance, source)) == [2.5, 3.0]


def test_lag_bounded_when_the_feed_ends_below_its_peak() -> None:
    def run(max_lag: int, at_end: int) -> Run:
        return Run(10, 10, 1.0, None, 150.0, max_lag, at_end)

    assert run(1000, 100).lag_bounded
    assert not run(1000, 1000).lag_bounded
    assert run(20, 40).lag_bounded  # small lags are noise, not a backlog


def test_bench_help_lists_its_subcommands() -> None:
    done = subprocess.run([RCM, "bench", "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for name in ("baseline", "service", "e2e", "all", "x12", "remits"):
        assert name in done.stdout


def test_a_stack_that_is_not_up_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RCM_KAFKA_BOOTSTRAP", "RCM_ADMIN_DATABASE_URL")}
    env.update(RCM_LOCAL_KAFKA_PORT=str(free_port()), RCM_LOCAL_POSTGRES_PORT=str(free_port()))
    done = subprocess.run([RCM, "bench", "baseline"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1
    assert "does not answer" in done.stderr and "rcm up" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def _fake_proc(root: Path, pid: int, ppid: int, utime: int, stime: int, cutime: int = 0, cstime: int = 0) -> None:
    # /proc/<pid>/stat: pid (comm) state ppid ... field 14-17 utime stime cutime cstime, in clock ticks.
    rest = ["S", str(ppid), *["0"] * 9, str(utime), str(stime), str(cutime), str(cstime), *["0"] * 20]
    (root / str(pid)).mkdir(exist_ok=True)
    (root / str(pid) / "stat").write_text(f"{pid} (postgres: a (b) c) {' '.join(rest)}\n")


def test_cpu_of_a_process_and_of_a_parent_with_its_ended_and_live_children(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    _fake_proc(tmp_path, 10, 1, utime=2 * ticks, stime=ticks, cutime=ticks, cstime=ticks)
    _fake_proc(tmp_path, 11, 10, utime=3 * ticks, stime=0)
    _fake_proc(tmp_path, 12, 99, utime=50 * ticks, stime=0)
    assert cpu.own_seconds(10, tmp_path) == 3.0
    assert cpu.tree_seconds(10, tmp_path) == 3.0 + 2.0 + 3.0  # own, ended children, live child 11 (not 12)
    assert cpu.own_seconds(404, tmp_path) == 0.0


def test_the_meter_counts_from_start_to_the_last_mark(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    _fake_proc(tmp_path, 20, 1, utime=ticks, stime=0)
    meter = cpu.CpuMeter((cpu.Watched("claims", 20),), proc=tmp_path)
    meter.start()
    _fake_proc(tmp_path, 20, 1, utime=5 * ticks, stime=0)
    assert meter.used() == {"claims": 0.0}  # nothing marked yet
    meter.mark()
    assert meter.used() == {"claims": 4.0}


def test_the_cpu_table_shows_each_process_per_encounter_and_its_share_of_the_cores() -> None:
    run = Run(encounters_sent=100, reached=50, seconds=10.0, latency=None, cpu_s={"charges": 2.0, "kafka": 6.0})
    table = suite.cpu_table(run, 100)
    cores = os.cpu_count() or 1
    assert [row[0] for row in table.rows] == ["kafka", "charges", "all"]
    assert table.rows[0][1:3] == ("6.0", "60.0")
    assert table.rows[2][1:] == ("8.0", "80.0", f"{100 * 8.0 / (10.0 * cores):.0f}%")


def test_statements_by_service_are_the_difference_of_two_snapshots() -> None:
    before = {"rcm_claims": Counts(10, 20, 5.0), "rcm_charges_owner": Counts(99, 99, 9.0)}
    after = {"rcm_claims": Counts(16, 29, 7.5), "rcm_remits": Counts(4, 4, 1.0), "rcm_charges_owner": Counts(200, 0, 0)}
    ran = by_service(before, after, ("claims", "remits", "charges"))
    assert ran == {"claims": Counts(6, 9, 2.5), "remits": Counts(4, 4, 1.0), "charges": Counts()}
    assert by_service(None, after, ("claims",)) is None
    assert by_service(before, None, ("claims",)) is None


def test_statements_table_per_encounter_and_when_postgres_cannot_count() -> None:
    sql = {"charges": Counts(8_000, 16_000, 400.0), "claims": Counts(12_000, 12_000, 900.0)}
    table = suite.sql_table(Run(1_000, 900, 10.0, None, sql=sql), 1_000)
    assert table.rows == [("claims", "12,000", "12.0", "1.0", "0.90"), ("charges", "8,000", "8.0", "2.0", "0.40"),
                          ("all", "20,000", "20.0", "1.4", "1.30")]
    blind = suite.sql_table(Run(1_000, 900, 10.0, None), 1_000)
    assert blind.rows == [("n/a", "-", "-", "-", "-")]
    assert "pg_stat_statements is not loaded" in blind.notes[0]
