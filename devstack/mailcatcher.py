"""The local mail catcher: an aiosmtpd SMTP server that writes each message to a folder.

`rcm up` runs it as a process (`python -m devstack.mailcatcher`, or `rcm serve mailcatcher`): SMTP on
ports.MAIL_CATCHER_SMTP, GET /readyz on ports.HTTP["mailcatcher"], messages under
settings.state_dir / "mail". Each message is one `.eml` file named after its Message-ID, so
a message handed over twice (a resend after a crash) is kept once. Tests start `MailCatcher`
in-process on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import logging
import os
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from services.chassis import ports

__all__ = ["MailCatcher", "StoredMail", "list_mail", "mail_folder"]


def mail_folder(state_dir: Path) -> Path:
    return state_dir / "mail"


def _file_name(message_id: str | None, raw: bytes) -> str:
    key = message_id or hashlib.sha256(raw).hexdigest()
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", key.strip("<>"))[:150] + ".eml"


@dataclass
class _Handler:
    folder: Path
    deliveries: list[str] = field(default_factory=list)
    """Message-IDs in arrival order, repeats included (what the wire saw)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message_id = parsed.get("Message-ID")
        self.deliveries.append(str(message_id or ""))
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / _file_name(str(message_id) if message_id else None, raw)
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(target)
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on host:port writing every message to `folder`."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = ports.MAIL_CATCHER_SMTP) -> None:
        self.folder = folder
        self.handler = _Handler(folder)
        self.controller = Controller(self.handler, hostname=host, port=port)

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def deliveries(self) -> list[str]:
        return self.handler.deliveries

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@dataclass(frozen=True)
class StoredMail:
    file: str
    message_id: str
    date: str
    sender: str
    to: str
    subject: str


def list_mail(folder: Path) -> list[StoredMail]:
    """What the catcher stored, oldest first."""
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime, p.name)):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        fields = (str(msg.get(h, "")).strip() for h in ("Message-ID", "Date", "From", "To", "Subject"))
        out.append(StoredMail(path.name, *fields))
    return out


def read_mail(folder: Path, ident: str) -> str | None:
    """The raw text of one stored message, by file name or Message-ID (with or without <>)."""
    for item in list_mail(folder):
        if ident in (item.file, item.message_id, item.message_id.strip("<>"), item.file.removesuffix(".eml")):
            return (folder / item.file).read_text(encoding="utf-8", errors="replace")
    return None


async def _main() -> None:  # pragma: no cover - run by `rcm up`
    import uvicorn
    from fastapi import FastAPI

    from services.chassis.logs import configure_logging
    from services.chassis.settings import get_settings

    settings = get_settings()
    configure_logging("mailcatcher", settings.log_level)
    # aiosmtpd logs each SMTP command at INFO, recipients' addresses included: the log is shared
    # with the services' logs, so it must be as free of PHI as theirs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    smtp_port = int(os.environ.get("RCM_MAILCATCHER_SMTP_PORT", ports.MAIL_CATCHER_SMTP))
    http_port = int(os.environ.get("RCM_MAILCATCHER_HTTP_PORT", ports.HTTP["mailcatcher"]))
    catcher = MailCatcher(mail_folder(settings.state_dir), host=settings.http_host, port=smtp_port)
    catcher.start()
    app = FastAPI(title="Revcycle mail catcher")

    @app.get("/readyz")
    async def readyz() -> dict[str, object]:
        # Count files, do not parse them: after a large demo thousands of messages would block
        # the loop for longer than the readiness probe waits.
        return {"service": "mailcatcher", "ready": True, "smtp_port": smtp_port,
                "messages": sum(1 for _ in catcher.folder.glob("*.eml"))}

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"service": "mailcatcher", "alive": True}

    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.http_host, port=http_port, log_config=None, access_log=False)
    )
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    try:
        await server.serve()
    finally:
        catcher.stop()


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_main())
