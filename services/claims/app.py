"""create_app(): the claims service wired through the chassis."""

from pathlib import Path

from services.chassis.runtime import ServiceDefinition, service_app_factory
from services.claims.handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="claims", migrations=Path(__file__).with_name("migrations"), handlers=HANDLERS
)
create_app = service_app_factory(DEFINITION)
