"""`rcm` starts at once: what `import cli.main`, `rcm --help` and `rcm x12 parse` import (no timing here;
the wall time is bench/cli_startup.py's), and the lazy root lists each command as the command would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import cli.main
from cli.lazy import LazyGroup

ROOT = Path(__file__).resolve().parents[3]
SMALL_835 = ROOT / "tests" / "fixtures" / "x12" / "public" / "lfh-835-medicare-part-a.835"

# What a command may need but listing the commands never does: drivers, brokers, web stacks, the X12
# validator, the ICD-10-CM package, tracing, and the platform's own contracts, models and services.
HEAVY = {
    "aiokafka", "asyncpg", "asyncssh", "cryptography", "fastapi", "faststream", "httpx", "opentelemetry",
    "prometheus_client", "pydantic", "pydantic_settings", "pyx12", "simple_icd_10_cm", "starlette", "uvicorn",
    "yaml", "devstack", "edi", "sandbox", "schemas",
}
# cli/__init__.py quiets a known warning through the chassis' logging module; nothing else of services/.
SERVICES_ALLOWED = {"services", "services.chassis", "services.chassis.logs"}

_PROBE = """
import json, sys
sys.argv = ["rcm", *json.loads(sys.argv[1])]
import cli.main
if len(sys.argv) > 1:
    try:
        cli.main.main()
    except SystemExit as exit:
        code = exit.code
    else:
        code = 0
else:
    code = None
print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imported_by(*args: str) -> tuple[object, set[str], str]:
    """Exit code, modules imported and output of `rcm ARGS` in a fresh interpreter (no args: the import only)."""
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(args))], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    output, _, probe = done.stdout.rpartition("\n@@")
    report = json.loads(probe)
    return report["code"], set(report["modules"]), output


def _heavy(modules: set[str], allowed: frozenset[str] = frozenset()) -> set[str]:
    top = {name for name in modules if name.split(".")[0] in HEAVY - allowed}
    services = {name for name in modules if name.split(".")[0] == "services"} - SERVICES_ALLOWED
    return top | services


def test_importing_the_cli_imports_no_heavy_package() -> None:
    _, modules, _ = _imported_by()
    assert _heavy(modules) == set()


def test_rcm_help_lists_every_command_without_importing_any() -> None:
    code, modules, output = _imported_by("--help")
    assert code == 0
    assert _heavy(modules) == set()
    assert not any(name.split(".")[0] == "cli" and name not in {"cli", "cli.main", "cli.lazy"} for name in modules)
    for entry in cli.main.COMMANDS:
        assert f" {entry.name} " in output


def test_x12_parse_imports_the_x12_code_and_nothing_of_the_platform() -> None:
    code, modules, output = _imported_by("x12", "parse", str(SMALL_835))
    assert code == 0
    assert "transaction: 835" in output
    assert "edi.x835" in modules
    # typer coerces a command's parameters through pydantic.
    assert _heavy(modules, allowed=frozenset({"edi", "pydantic"})) == set()
    # Only what reading an 835 needs: not its writer, not the other transaction sets' models, not the
    # TA1 reader (the file holds no TA1), not the validator.
    edi = {name for name in modules if name.split(".")[0] == "edi"}
    assert edi == {"edi", "edi.composites", "edi.envelope", "edi.errors", "edi.issues", "edi.segments", "edi.x12",
                   "edi.x12values", "edi.x835", "edi.x835.balancing", "edi.x835.json", "edi.x835.model",
                   "edi.x835.reader"}


def test_the_835_writer_is_there_when_asked_for() -> None:
    """edi.x835 imports its writer on first use: the names stay where they were."""
    import edi.x835
    from edi.x835 import write_835, writer

    assert write_835 is writer.write_835 and edi.x835.cas_specs is writer.cas_specs
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        edi.x835.nosuch  # noqa: B018  (the attribute access is the test)


@pytest.mark.filterwarnings("ignore:DSA is deprecated")  # asyncssh at import (cli/__init__.py says why)
def test_the_root_lists_each_command_as_the_command_itself_would(capsys: pytest.CaptureFixture[str]) -> None:
    group = typer.main.get_command(cli.main.app)
    assert isinstance(group, LazyGroup)
    names = [entry.name for entry in cli.main.COMMANDS]
    assert len(set(names)) == len(names)
    ctx = typer.Context(group, info_name="rcm")
    group.get_help(ctx)
    listed = capsys.readouterr().out
    for entry in cli.main.COMMANDS:
        group.load(entry.name)  # the real command: its target exists and is a command or a group
    assert group.list_commands(ctx) == names
    group.get_help(ctx)
    assert capsys.readouterr().out == listed


def test_an_unknown_command_is_refused_without_loading_any() -> None:
    code, modules, _ = _imported_by("nosuch")
    assert code == 2
    # typer parses the root's own options through pydantic before it looks the command up.
    assert _heavy(modules, allowed=frozenset({"pydantic"})) == set()
