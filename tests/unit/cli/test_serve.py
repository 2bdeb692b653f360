"""`rcm serve` and `rcm migrate`: choices and usage errors (the processes themselves run in
tests/integration/test_deploy_processes.py)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.serve import PROCESSES
from devstack import stack


def test_serve_offers_exactly_what_rcm_up_starts() -> None:
    assert {p.name: p.module for p in stack.PROCESSES} == PROCESSES
    assert set(PROCESSES) == {"charges", "claims", "remits", "notifications", "sandbox", "mailcatcher"}


def test_an_unknown_process_is_a_usage_error_that_lists_the_choices() -> None:
    result = CliRunner().invoke(app, ["serve", "billing"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())  # rich wraps at the terminal's width
    assert "no process 'billing'" in said
    assert "charges, claims, remits, notifications, mailcatcher, sandbox" in said
    assert "Traceback" not in result.output


def test_serve_without_a_name_is_a_usage_error_and_help_explains() -> None:
    assert CliRunner().invoke(app, ["serve"]).exit_code == 2
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "SIGTERM" in result.output and "RCM_HTTP_HOST" in result.output


def test_migrate_against_a_remote_server_wants_every_service_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before it connects: the roles' passwords come from the services' URLs, never the local defaults."""
    from services.chassis.settings import get_settings

    monkeypatch.setenv("RCM_ADMIN_DATABASE_URL", "postgresql://admin:x@db.example.internal:5432/rcm")
    monkeypatch.setenv("RCM_CLAIMS_DATABASE_URL", "postgresql://rcm_claims:y@db.example.internal:5432/rcm")
    for service in ("charges", "remits", "notifications"):
        monkeypatch.delenv(f"RCM_{service.upper()}_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["migrate", "claims", "remits"])
    finally:
        get_settings.cache_clear()
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "set RCM_REMITS_DATABASE_URL:" in said and "CLAIMS" not in said
