"""Settings of the notifications service: RCM_NOTIFICATIONS_* environment variables.

Documented in docs/notifications.md. Tests build the class directly with their own values.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis import ports


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RCM_NOTIFICATIONS_", extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = ports.MAIL_CATCHER_SMTP
    smtp_timeout_s: float = 10.0
    smtp_max_attempts: int = Field(default=5, ge=1)
    from_address: str = "statements@revcycle.example"
    billing_team_address: str = "billing-team@revcycle.example"
    organization_name: str = "Revcycle Billing Office"
    pay_url: str = "https://pay.revcycle.example"
    pay_phone: str = "+1 415 555 0100"

    digest_interval_s: float = Field(default=900.0, gt=0)
    reminder_days: list[int] = Field(default_factory=lambda: [30, 60, 90])
    scheduler_interval_s: float = Field(default=60.0, gt=0)
    send_poll_interval_s: float = Field(default=1.0, gt=0)
    send_batch_size: int = Field(default=20, ge=1)

    retry_base_delay_s: float = Field(default=30.0, ge=0)
    retry_max_delay_s: float = Field(default=3600.0, ge=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_disable_after_failures: int = Field(default=20, ge=1)
    webhook_timeout_s: float = Field(default=10.0, gt=0)


@lru_cache(maxsize=1)
def get_notification_settings() -> NotificationSettings:
    return NotificationSettings()
