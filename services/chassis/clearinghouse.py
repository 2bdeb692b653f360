"""The clearinghouse exchange: one interface, a folder implementation (SFTP arrives with claims).

Layout under the root: outbound/ (837s, 270s, 276s), inbound/acks/ (999, 277CA),
inbound/remits/ (835), inbound/eligibility/ (271), inbound/status/ (277 claim status), archive/
(processed files). Writers write a temporary name and rename it, so a reader never
sees half a file; readers skip temporary names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FOLDERS = ("outbound", "inbound/acks", "inbound/remits", "inbound/eligibility", "inbound/status", "archive")
ARCHIVE_FOLDERS = tuple(f"archive/{f.replace('/', '_')}" for f in FOLDERS if f != "archive")
"""Where archive() moves a processed file of each folder."""
TEMP_SUFFIX = ".part"


@dataclass(frozen=True)
class ExchangeFile:
    folder: str
    name: str


class Clearinghouse(Protocol):
    async def write(self, folder: str, name: str, content: bytes) -> None: ...

    async def list(self, folder: str) -> list[ExchangeFile]: ...

    async def read(self, file: ExchangeFile) -> bytes: ...

    async def archive(self, file: ExchangeFile) -> None: ...


class FolderClearinghouse:
    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure_layout(self) -> None:
        for folder in FOLDERS:
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    async def write(self, folder: str, name: str, content: bytes) -> None:
        target = self._folder(folder) / _safe_name(name)
        temp = target.with_name(target.name + TEMP_SUFFIX)
        temp.write_bytes(content)
        with temp.open("rb") as fh:
            os.fsync(fh.fileno())
        temp.replace(target)

    async def list(self, folder: str) -> list[ExchangeFile]:
        path = self._folder(folder)
        return [
            ExchangeFile(folder, p.name)
            for p in sorted(path.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
            if p.is_file() and not p.name.endswith(TEMP_SUFFIX)
        ]

    async def read(self, file: ExchangeFile) -> bytes:
        return (self._folder(file.folder) / _safe_name(file.name)).read_bytes()

    async def archive(self, file: ExchangeFile) -> None:
        target = self._folder("archive") / file.folder.replace("/", "_")
        target.mkdir(parents=True, exist_ok=True)
        (self._folder(file.folder) / _safe_name(file.name)).replace(target / file.name)

    def _folder(self, folder: str) -> Path:
        if folder not in FOLDERS:
            raise ValueError(f"unknown clearinghouse folder: {folder}")
        return self.root / folder


def _safe_name(name: str) -> str:
    if not name or "/" in name or name.startswith("."):
        raise ValueError("a clearinghouse file name must be a plain file name")
    return name
