"""Backup and restore per schema (deploy/backup/, docs/operations.md#backup-and-restore), as an SRE runs them:
a platform's processes carry a few encounters through the whole cycle (the chaos suite's seeded clinic month,
sandbox answering), `backup.sh` dumps the four schemas, `restore.sh` puts them into a fresh database, and
there `rcm migrate` applies nothing and `rcm audit` is clean with the original's figures."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from services.chassis.settings import SERVICES
from tests.chaos import harness
from tests.chaos.harness import REPO, GivenInfra, Platform
from tests.support.infra import Infra, teardown_isolated

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BACKUP = REPO / "deploy" / "backup"
ENCOUNTERS, SEED = 8, 3


@pytest.fixture(scope="module")
async def given(infra: Infra) -> AsyncIterator[GivenInfra]:
    with tempfile.TemporaryDirectory(prefix="rcm-backup-") as state:
        Path(state).chmod(0o755)
        yield GivenInfra(Path(state), infra.kafka_bootstrap, infra.admin_database_url)


def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(BACKUP / name), *args], capture_output=True, text=True, timeout=300,
                          check=False)


def rcm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([harness.RCM, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"rcm {' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


async def migrations_applied(admin_url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(admin_url)
    try:
        return {s: [r["name"] for r in await conn.fetch(f"SELECT name FROM {s}.schema_migrations ORDER BY name")]
                for s in SERVICES}
    finally:
        await conn.close()


async def test_four_schemas_restored_into_a_fresh_database_audit_the_same(given: GivenInfra, tmp_path: Path) -> None:
    platform = Platform(given, "backup")
    restored = platform.settings.model_copy(update={"database_name": f"{platform.settings.database_name}_restored"})
    try:
        try:
            await harness.run(platform, harness.workload(ENCOUNTERS, SEED, datetime.now(UTC).date(), 0), 0, None)
        finally:
            # Stopped, so that nothing moves between the backup and the original's figures read after it.
            await platform.stop_all()
        original = await harness.end_state(platform.settings)
        # Non-trivial books: a claim the payer paid and a balance the patient owes.
        assert any(c[4] in ("adjudicated", "closed") and c[6] != "0.00" for c in original["claims"]), original
        assert any(b[1] != "0.00" for b in original["balances"]), original
        audit = rcm(platform.env, "audit", "--json").stdout
        cards = rcm(platform.env, "report", "accounts", "--json").stdout

        out = tmp_path / "backup"
        backup = script("backup.sh", "--url", platform.settings.admin_url, "--out", str(out))
        assert backup.returncode == 0, backup.stdout + backup.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert [e["schema"] for e in manifest["schemas"]] == list(SERVICES)
        applied = await migrations_applied(platform.settings.admin_url)
        assert {e["schema"]: [m["name"] for m in e["migrations"]] for e in manifest["schemas"]} == applied
        assert all((out / e["file"]).stat().st_size == e["bytes"] for e in manifest["schemas"])

        restore = script("restore.sh", "--url", platform.settings.admin_url, "--database", restored.database_name,
                         str(out))
        assert restore.returncode == 0, restore.stdout + restore.stderr
        env = {**platform.env, "RCM_DATABASE_NAME": restored.database_name}
        migrated = rcm(env, "migrate").stdout
        assert migrated.count("0 migration(s) applied") == len(SERVICES), migrated
        assert rcm(env, "audit", "--json").stdout == audit  # exit 0 (rcm() checks it) and the same figures
        checks = json.loads(audit)
        assert all(c["differences"] == [] for c in checks) and sum(c["checked"] for c in checks) > 0, checks
        assert rcm(env, "report", "accounts", "--json").stdout == cards
        assert await harness.end_state(restored) == original

        # A second restore over the restored schemas is refused (exit 1) and changes nothing; --force replaces.
        again = script("restore.sh", "--url", platform.settings.admin_url, "--database", restored.database_name,
                       str(out), "remits")
        assert again.returncode == 1 and "not empty" in again.stderr, again.stderr
        forced = script("restore.sh", "--url", platform.settings.admin_url, "--database", restored.database_name,
                        "--force", str(out), "remits")
        assert forced.returncode == 0, forced.stderr
        assert rcm(env, "audit", "--json").stdout == audit
    finally:
        await teardown_isolated(platform.settings)
        await teardown_isolated(restored)


def test_a_tampered_file_is_refused_before_anything_is_restored(infra: Infra, tmp_path: Path) -> None:
    (tmp_path / "charges.dump").write_bytes(b"not what was dumped")
    manifest = {"server_version_num": 150000, "schemas": [{"schema": "charges", "file": "charges.dump",
                                                           "sha256": "0" * 64, "bytes": 19, "migrations": []}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    tampered = script("restore.sh", "--url", infra.admin_database_url, "--database", "rcm_never_created", str(tmp_path))
    assert tampered.returncode == 1 and "does not match its sha256" in tampered.stderr, tampered.stderr
    usage = script("restore.sh")
    assert usage.returncode == 2 and "give the backup folder" in usage.stderr
    assert script("backup.sh", "--url", infra.admin_database_url, "nosuch").returncode == 2
    assert "Exit codes" in script("restore.sh", "--help").stdout
