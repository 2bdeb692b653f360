"""Statement spans (asyncpg) cost CPU on every statement: made only when an exporter takes them."""

from __future__ import annotations

from pathlib import Path

from services.chassis import telemetry
from services.chassis.settings import Settings


def test_no_statement_spans_without_an_exporter() -> None:
    assert not telemetry.traces_sql(Settings(otlp_endpoint=None, traces_dir=None))


def test_statement_spans_with_an_exporter_unless_turned_off(tmp_path: Path) -> None:
    assert telemetry.traces_sql(Settings(traces_dir=tmp_path))
    assert telemetry.traces_sql(Settings(otlp_endpoint="http://127.0.0.1:4318/v1/traces"))
    assert not telemetry.traces_sql(Settings(traces_dir=tmp_path, trace_sql=False))
