"""Settings of the claims service: RCM_CLAIMS_* environment variables (see docs/claims.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis.sftp import SftpOptions


class ClaimsSettings(SftpOptions, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_CLAIMS_", extra="ignore")

    submit_interval_s: float = Field(default=3.0, gt=0)
    """Seconds between 837P batches of queued submissions."""
    acks_interval_s: float = Field(default=3.0, gt=0)
    timers_interval_s: float = Field(default=60.0, gt=0)
    payers_file: str | None = str(Path(__file__).resolve().parents[2] / "deploy" / "local" / "payers.yaml")
    """Loaded at start-up when the payer master is still empty (local runs); empty string: never."""
    usage_indicator: str = Field(default="T", pattern="^[TP]$")
    """ISA15: T test, P production."""
