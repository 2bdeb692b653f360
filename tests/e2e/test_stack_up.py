"""`rcm up` brings four services up as their own processes; `rcm status` sees them; `rcm down` stops them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from services.chassis.settings import SERVICES, Settings

pytestmark = pytest.mark.integration
RCM = str(Path(sys.executable).with_name("rcm"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_up_status_logs_down(platform: Settings, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RCM_KAFKA_BOOTSTRAP": platform.bootstrap,
        "RCM_ADMIN_DATABASE_URL": platform.admin_url,
        "RCM_DATABASE_NAME": platform.database_name,
        "RCM_TOPIC_PREFIX": platform.topic_prefix,
        "RCM_STATE_DIR": str(tmp_path / "state"),
        "RCM_CLEARINGHOUSE_ROOT": str(tmp_path / "clearinghouse"),
        **{f"RCM_{s.upper()}_HTTP_PORT": str(_free_port()) for s in SERVICES},
    }

    def rcm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCM, *args], env=env, capture_output=True, text=True, timeout=300, check=False)

    try:
        up = rcm("up")
        assert up.returncode == 0, up.stdout + up.stderr
        status = rcm("status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        rows = {r["name"]: r for r in json.loads(status.stdout)}
        assert set(rows) == {"kafka", "postgres", *SERVICES}
        assert all(r["healthy"] for r in rows.values()), rows
        assert all("lag 0" in rows[s]["detail"] for s in SERVICES), rows
        logs = rcm("logs", "claims", "-n", "50")
        assert logs.returncode == 0
        assert any(json.loads(line).get("message") == "service ready" for line in logs.stdout.splitlines() if line)
        assert (tmp_path / "clearinghouse" / "inbound" / "remits").is_dir()
    finally:
        down = rcm("down", "--keep-infra")
    assert down.returncode == 0, down.stderr
    after = rcm("status", "--json")
    assert after.returncode == 1
    assert not any(r["healthy"] for r in json.loads(after.stdout) if r["name"] in SERVICES)
