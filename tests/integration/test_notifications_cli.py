"""`rcm webhooks add|list|remove`, `rcm mail list|show`, and the mail catcher as `rcm up` runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from typer.testing import CliRunner

from cli.main import app as rcm
from devstack.stack import PROCESSES, REPO
from services.chassis import migrations
from services.chassis.settings import Settings, get_settings
from services.notifications.app import DEFINITION
from tests.integration.test_notifications_helpers import fetch, free_port
from tests.support.kafka_io import eventually

pytestmark = pytest.mark.integration


async def _migrated(platform: Settings) -> None:
    await migrations.migrate(platform, "notifications", migrations.service_migrations(DEFINITION.migrations),
                             DEFINITION.append_only)


async def test_webhooks_add_list_remove(platform: Settings, cli_env: None) -> None:
    await _migrated(platform)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(rcm, list(args))
        return result.exit_code, result.output

    code, out = await asyncio.to_thread(run, "webhooks", "add", "http://127.0.0.1:9/hook", "--event",
                                        "rcm.remittances.ClaimDenied.v1", "--secret-env", "ERP_WEBHOOK_SECRET",
                                        "--reason", "ERP integration", "--json")
    assert code == 0, out
    sub_id = json.loads(out)["subscription_id"]
    code, out = await asyncio.to_thread(run, "webhooks", "list", "--json")
    listed = [s for s in json.loads(out) if s["subscription_id"] == sub_id]
    assert code == 0 and listed[0]["event_types"] == ["rcm.remittances.ClaimDenied.v1"]
    assert listed[0]["secret_env"] == "ERP_WEBHOOK_SECRET" and listed[0]["enabled"] is True
    audit = await fetch(platform, "SELECT action, reason FROM audit_log WHERE subject = $1", sub_id)
    assert [(a["action"], a["reason"]) for a in audit] == [("webhooks.add", "ERP integration")]
    assert (await asyncio.to_thread(run, "webhooks", "add", "ftp://x", "--event", "*", "--secret-env", "X"))[0] == 2
    bad_event = await asyncio.to_thread(run, "webhooks", "add", "http://x", "--event", "rcm.nope.X.v1",
                                        "--secret-env", "X")
    assert bad_event[0] == 2
    assert (await asyncio.to_thread(run, "webhooks", "add", "http://x", "--event", "*",
                                    "--secret-env", "whsec_abc"))[0] == 2  # a secret, not a variable name
    code, out = await asyncio.to_thread(run, "notifications", "list", "--state", "sent", "--json")
    assert code == 0 and json.loads(out) == []
    assert (await asyncio.to_thread(run, "notifications", "list", "--state", "bogus"))[0] == 2
    assert (await asyncio.to_thread(run, "notifications", "attempts", "ntf_NONE"))[0] == 1
    code, out = await asyncio.to_thread(run, "webhooks", "remove", sub_id, "--reason", "ERP retired")
    assert code == 0, out
    code, out = await asyncio.to_thread(run, "webhooks", "list", "--json")
    assert all(s["subscription_id"] != sub_id for s in json.loads(out))
    assert (await asyncio.to_thread(run, "webhooks", "remove", sub_id))[0] == 1


async def test_the_mail_catcher_process_and_rcm_mail_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert any(p.name == "mailcatcher" and p.module == "devstack.mailcatcher" and not p.consumes
               for p in PROCESSES)
    smtp_port, http_port = free_port(), free_port()
    env = {**os.environ, "RCM_STATE_DIR": str(tmp_path), "RCM_MAILCATCHER_SMTP_PORT": str(smtp_port),
           "RCM_MAILCATCHER_HTTP_PORT": str(http_port)}
    proc = subprocess.Popen([sys.executable, "-m", "devstack.mailcatcher"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"http://127.0.0.1:{http_port}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout_s=30, what="the mail catcher")
        msg = EmailMessage()
        msg["Message-ID"] = "<ntf_TEST0001@notifications.revcycle>"
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "hello"
        msg.set_content("body text")
        for _ in range(2):  # the same Message-ID twice is kept once
            await aiosmtplib.send(msg, hostname="127.0.0.1", port=smtp_port)
        assert [p.name for p in (tmp_path / "mail").glob("*.eml")] == ["ntf_TEST0001@notifications.revcycle.eml"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
    monkeypatch.setenv("RCM_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(rcm, ["mail", "list", "--json"])
        assert result.exit_code == 0, result.output
        listed = json.loads(result.output)
        assert [(m["to"], m["subject"], m["message_id"]) for m in listed] == [
            ("b@example.org", "hello", "<ntf_TEST0001@notifications.revcycle>")]
        table = CliRunner().invoke(rcm, ["mail", "list"])
        assert table.exit_code == 0 and "1 message(s)" in table.output
        shown = CliRunner().invoke(rcm, ["mail", "show", "ntf_TEST0001@notifications.revcycle"])
        assert shown.exit_code == 0 and "body text" in shown.output
        assert CliRunner().invoke(rcm, ["mail", "show", "nope"]).exit_code == 1
    finally:
        get_settings.cache_clear()
