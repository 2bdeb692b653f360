"""The house rules: import-linter contracts (services never import each other, domain code imports no
broker or database, each service's rooms in layers) and the same skeleton in every service."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("charges", "claims", "remits", "notifications")
ROOMS = ("app.py", "handlers.py", "service", "domain", "store.py", "background.py", "commands.py", "migrations")
"""Every service has these (docs/architecture.md); http_api.py where the service serves HTTP."""


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    flat = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    assert ", 0 broken" in flat
    for contract in ("Services never import each other", "Each service's rooms in layers",
                     "The chassis in layers", "Services do not import the sandbox, the CLI or the local-stack tooling"):
        assert contract in flat, contract


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_rooms(service: str) -> None:
    folder = REPO / "services" / service
    assert [room for room in ROOMS if not (folder / room).exists()] == []
    assert (folder / "service" / "__init__.py").exists() and len(list((folder / "service").glob("*.py"))) > 1


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_only_hand_events_to_use_cases(service: str) -> None:
    """handlers.py holds no SQL and no store calls: each handler calls into service/. It may open
    the service's unit of work (a `...Store` over the consumer's connection) for the use case."""
    source = (REPO / "services" / service / "handlers.py").read_text()
    imports = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    imported = {node.module for node in imports}
    from_store = {alias.name for node in imports if node.module == f"services.{service}.store" for alias in node.names}
    assert all(name.endswith("Store") for name in from_store), from_store
    assert "asyncpg" not in imported and f"import services.{service}.store" not in source
    assert "store." not in source and "SELECT" not in source
    assert f"services.{service}.service" in imported or any(
        m and m.startswith(f"services.{service}.service") for m in imported)
