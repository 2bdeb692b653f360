"""The Go-built tools the deployment tests run (deploy/tools.sh builds them; `./dev.sh test` calls it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.chassis.settings import get_settings


def tool(name: str) -> Path:
    """The pinned build from the cache, else one on PATH; a clear failure (never a skip) when neither is there."""
    built = get_settings().cache_dir / "tools" / "bin" / name
    if built.is_file():
        return built
    found = shutil.which(name)
    if found:
        return Path(found)
    pytest.fail(f"{name} is not installed: run `bash deploy/tools.sh ensure` (./dev.sh test does) to build it with Go")
