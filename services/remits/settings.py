"""The remits service's own settings (RCM_REMITS_*): tolerance, poll interval, SFTP clearinghouse."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class RemitsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_REMITS_", extra="ignore")

    tolerance: Decimal = Decimal("1.00")
    """Under/overpayment tolerance on a claim's total allowed amount."""
    poll_interval_s: float = 1.0
    """Seconds between passes over inbound/remits/."""
    # When sftp_host is set the 835s are fetched over SFTP (root/inbound/remits), else from the
    # clearinghouse folder (settings.clearinghouse).
    sftp_host: str | None = None
    sftp_port: int = 22
    sftp_username: str = "revcycle"
    sftp_password: str | None = None
    sftp_client_key: str | None = None
    sftp_known_hosts: str | None = None
    sftp_root: str = "."


@lru_cache(maxsize=1)
def remits_settings() -> RemitsSettings:
    """Read once per process: posting asks for the tolerance on every claim (`cache_clear()` to reread)."""
    return RemitsSettings()
