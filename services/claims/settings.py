"""Settings of the claims service: RCM_CLAIMS_* environment variables (see docs/claims.md)."""

from __future__ import annotations

from functools import lru_cache
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
    status_interval_s: float = Field(default=3.0, gt=0)
    """Seconds between reads of inbound/status/ (277 claim status answers)."""
    status_recheck_days: int = Field(default=14, ge=1)
    """A pending 277: the claim's status is asked again this many days later."""
    status_resubmit_wait_days: int = Field(default=7, ge=0)
    """A "not found" 277: the claim goes again this many days later unless an acknowledgment or an 835 came."""
    status_max_asks: int = Field(default=3, ge=1)
    """Automatic 276s per submission (on-demand asks do not count)."""
    status_min_interval_days: int = Field(default=7, ge=1)
    """Days between two automatic 276s about one claim."""
    eligibility_checks: bool = True
    """Ask each coverage's payer (270) before an encounter's claims go out; false: never (payers
    also have their own `eligibility` switch in the payer master)."""
    eligibility_freshness_h: float = Field(default=24.0, ge=0)
    """An answer younger than this is reused for the same payer, member and date of service."""
    eligibility_wait_s: float = Field(default=300.0, ge=0)
    """How long a claim waits for its coverage's 271 before it goes out unchecked (no_response)."""
    eligibility_interval_s: float = Field(default=3.0, gt=0)
    """Seconds between passes of the 270 batcher and the 271 poller."""


@lru_cache(maxsize=1)
def claims_settings() -> ClaimsSettings:
    """Read once per process (`cache_clear()` to reread: tests switch eligibility checks)."""
    return ClaimsSettings()
