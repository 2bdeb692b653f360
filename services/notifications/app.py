"""create_app(): the notifications service wired through the chassis."""

from pathlib import Path

from services.chassis.app import service_app_factory
from services.chassis.runtime import ServiceDefinition
from services.notifications.background import background
from services.notifications.handlers import HANDLERS, PARK_KEYS
from services.notifications.settings import NotificationSettings, get_notification_settings


def build_definition(nsettings: NotificationSettings | None = None) -> ServiceDefinition:
    """The service with its settings (tests pass their own SMTP port, intervals and limits)."""
    return ServiceDefinition(
        name="notifications",
        migrations=Path(__file__).with_name("migrations"),
        handlers=HANDLERS,
        park_keys=PARK_KEYS,
        append_only=("delivery_attempts",),  # what each delivery attempt got back
        background=background(nsettings or get_notification_settings()),
    )


DEFINITION = build_definition()
create_app = service_app_factory(DEFINITION)
