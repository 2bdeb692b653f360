"""The clearinghouse exchange over SFTP (asyncssh): the same interface and layout as the folder.

Layout under `root` on the server: the folders of clearinghouse.FOLDERS (outbound/, inbound/...), archive/.
Writes go to a temporary name and are renamed (the server's reader never sees half a file);
listings skip temporary names; archive moves a file to archive/<folder with _>/.
One connection is opened lazily and reused; a broken one is reopened on the next call.
"""

from __future__ import annotations

import asyncio
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
from pydantic import BaseModel

from services.chassis.clearinghouse import (
    ARCHIVE_FOLDERS,
    FOLDERS,
    TEMP_SUFFIX,
    Clearinghouse,
    ExchangeFile,
    FolderClearinghouse,
)


class SftpOptions(BaseModel):
    """The clearinghouse over SFTP instead of the local folder (RCM_CLEARINGHOUSE_ROOT) when
    `sftp_host` is set: the fields a service's settings mix in (RCM_<SERVICE>_SFTP_*)."""

    sftp_host: str | None = None
    sftp_port: int = 22
    sftp_username: str = "revcycle"
    sftp_password: str | None = None
    sftp_client_key: str | None = None
    sftp_known_hosts: str | None = None
    sftp_root: str = "."

    def sftp_settings(self) -> SftpSettings | None:
        if not self.sftp_host:
            return None
        return SftpSettings(host=self.sftp_host, port=self.sftp_port, username=self.sftp_username,
                            password=self.sftp_password,
                            client_keys=(self.sftp_client_key,) if self.sftp_client_key else (),
                            known_hosts=self.sftp_known_hosts, root=self.sftp_root)


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int = 22
    username: str = "revcycle"
    password: str | None = None
    client_keys: tuple[str, ...] = ()
    # A known_hosts file; None turns host key checking off (only for tests and local sandboxes).
    known_hosts: str | None = None
    root: str = "."
    connect_timeout_s: float = 15.0


class SftpClearinghouse:
    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> asyncssh.SFTPClient:
        async with self._lock:
            if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
                return self._sftp
            s = self.settings
            options: dict[str, Any] = {"username": s.username, "known_hosts": s.known_hosts,
                                       "connect_timeout": s.connect_timeout_s}
            if s.password is not None:
                options["password"] = s.password
            if s.client_keys:
                options["client_keys"] = list(s.client_keys)
            self._conn = await asyncssh.connect(s.host, s.port, **options)
            self._sftp = await self._conn.start_sftp_client()
            return self._sftp

    def _path(self, folder: str, name: str | None = None) -> str:
        if folder not in FOLDERS:
            raise ValueError(f"unknown clearinghouse folder: {folder}")
        base = posixpath.join(self.settings.root, folder)
        return base if name is None else posixpath.join(base, _safe_name(name))

    async def ensure_layout(self) -> None:
        sftp = await self._client()
        for folder in (*FOLDERS, *ARCHIVE_FOLDERS):
            await sftp.makedirs(posixpath.join(self.settings.root, folder), exist_ok=True)

    async def write(self, folder: str, name: str, content: bytes) -> None:
        sftp = await self._client()
        target = self._path(folder, name)
        temp = target + TEMP_SUFFIX
        async with sftp.open(temp, "wb") as fh:
            await fh.write(content)
        if await sftp.exists(target):
            await sftp.remove(target)
        await sftp.rename(temp, target)

    async def list(self, folder: str) -> list[ExchangeFile]:
        sftp = await self._client()
        entries = await sftp.readdir(self._path(folder))
        files = [
            (e.attrs.mtime or 0, _text(e.filename)) for e in entries
            if e.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR and not _text(e.filename).endswith(TEMP_SUFFIX)
        ]
        return [ExchangeFile(folder, name) for _, name in sorted(files)]

    async def read(self, file: ExchangeFile) -> bytes:
        sftp = await self._client()
        async with sftp.open(self._path(file.folder, file.name), "rb") as fh:
            data: bytes = await fh.read()
        return data

    async def archive(self, file: ExchangeFile) -> None:
        sftp = await self._client()
        target_dir = posixpath.join(self.settings.root, "archive", file.folder.replace("/", "_"))
        await sftp.makedirs(target_dir, exist_ok=True)
        target = posixpath.join(target_dir, _safe_name(file.name))
        if await sftp.exists(target):
            await sftp.remove(target)
        await sftp.rename(self._path(file.folder, file.name), target)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
        self._conn = None
        self._sftp = None


def _text(name: str | bytes) -> str:
    return name if isinstance(name, str) else name.decode("utf-8", errors="replace")


def _safe_name(name: str) -> str:
    if not name or "/" in name or name.startswith("."):
        raise ValueError("a clearinghouse file name must be a plain file name")
    return name


async def open_clearinghouse(root: Path, options: SftpOptions) -> Clearinghouse:
    """The clearinghouse exchange a service reads and writes: over SFTP when its settings name a
    host, else the folder `root` (RCM_CLEARINGHOUSE_ROOT); the layout made if missing."""
    sftp = options.sftp_settings()
    if sftp is not None:
        remote = SftpClearinghouse(sftp)
        await remote.ensure_layout()
        return remote
    folder = FolderClearinghouse(root)
    folder.ensure_layout()
    return folder
