"""Several instances of a service (docs/scaling.md): their ports, pid files and status rows, and
which background tasks run in one instance only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from devstack import stack
from services.chassis.settings import Settings


def test_instance_k_listens_on_the_base_ports_plus_ten_k(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCM_CHARGES_HTTP_PORT", "41401")
    monkeypatch.setenv("RCM_CHARGES_MLLP_PORT", "41408")
    monkeypatch.delenv("RCM_CLAIMS_HTTP_PORT", raising=False)
    assert stack.instance_env("charges", 0) == {}  # instance 0 keeps what the environment says
    assert stack.instance_env("charges", 2) == {"RCM_CHARGES_HTTP_PORT": "41421", "RCM_CHARGES_MLLP_PORT": "41428"}
    assert stack.instance_env("claims", 1) == {"RCM_CLAIMS_HTTP_PORT": "8112"}
    assert stack.service_url("charges", 1) == "http://127.0.0.1:41411"
    monkeypatch.setenv("RCM_CHARGES_MLLP_PORT", "0")  # any free port stays any free port
    assert stack.instance_env("charges", 1)["RCM_CHARGES_MLLP_PORT"] == "0"


def test_only_the_services_run_several_instances(tmp_path: Path) -> None:
    with pytest.raises(stack.StackError, match="one instance only"):
        stack.start_service(Settings(state_dir=tmp_path), "sandbox", instance=1)


def test_files_name_each_instance(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    for name in ("claims-2.pid", "claims-1.pid", "claims-x.pid", "claimsfoo-1.pid"):
        (run / name).write_text("1")
    assert stack.running_instances(settings, "claims") == [0, 1, 2]
    assert stack.running_instances(settings, "remits") == [0]
    assert stack.instance_name("claims", 0) == "claims" and stack.instance_name("claims", 2) == "claims-2"


async def test_status_shows_each_instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import asyncpg

    async def away(*_: object, **__: object) -> None:
        raise OSError("not here")

    async def readiness(service: str, instance: int = 0) -> dict[str, object] | None:
        if (service, instance) == ("claims", 2):
            return None
        return {"http_status": 200, "relay_leader": instance == 1}

    (tmp_path / "run").mkdir()
    for k in (1, 2):
        (tmp_path / "run" / f"claims-{k}.pid").write_text("1")
    monkeypatch.setattr(stack, "kafka_roundtrip", away)
    monkeypatch.setattr(asyncpg, "connect", away)
    monkeypatch.setattr(stack, "readiness", readiness)
    rows = {r.name: r for r in await stack.status(Settings(state_dir=tmp_path))}
    assert rows["claims"].detail == "ready" and rows["claims-1"].detail == "ready, outbox relay leader"
    assert not rows["claims-2"].healthy and rows["claims-2"].detail == "not running"
    assert rows["remits"].detail == "ready" and "remits-1" not in rows  # one instance: no leader noise


def test_the_background_tasks_that_must_run_once_are_leader_only() -> None:
    """The decisions of docs/scaling.md, as the composition roots wire them."""
    from services.charges.app import DEFINITION as charges
    from services.claims.app import DEFINITION as claims
    from services.notifications.app import DEFINITION as notifications
    from services.remits.app import DEFINITION as remits

    def names(tasks: Sequence[object]) -> list[str]:
        return [getattr(t, "__name__", "") for t in tasks]

    assert names(charges.background) == ["serve_mllp"]  # a listener per instance
    assert names(claims.background) == ["leader_only(bootstrap_payers)", "leader_only(batch_submissions)",
                                        "leader_only(poll_acknowledgments)", "leader_only(poll_status)",
                                        "leader_only(exchange_eligibility)",
                                        "run_timers"]
    assert names(remits.background) == ["leader_only(poll_inbound)", "leader_only(restate_queued)"]
    assert names(notifications.background) == ["leader_only(sender)", "leader_only(reminders)",
                                                "leader_only(digests)"]
