"""The remits service's own settings (RCM_REMITS_*): tolerance, poll interval, SFTP clearinghouse."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis.sftp import SftpOptions


class RemitsSettings(SftpOptions, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_REMITS_", extra="ignore")

    tolerance: Decimal = Decimal("1.00")
    """Under/overpayment tolerance on a claim's total allowed amount."""
    poll_interval_s: float = 1.0
    """Seconds between passes over inbound/remits/."""
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    """The largest body `POST /v1/remittances` reads (413 above it); a real 835 is a few MB."""


@lru_cache(maxsize=1)
def remits_settings() -> RemitsSettings:
    """Read once per process: posting asks for the tolerance on every claim (`cache_clear()` to reread)."""
    return RemitsSettings()
