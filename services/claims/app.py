"""create_app(): the claims service wired through the chassis."""

from pathlib import Path

from services.chassis.app import service_app_factory
from services.chassis.runtime import ServiceDefinition
from services.claims import http_api
from services.claims.background import batch_submissions, bootstrap_payers, poll_acknowledgments, run_timers
from services.claims.handlers import HANDLERS

DEFINITION = ServiceDefinition(
    name="claims",
    migrations=Path(__file__).with_name("migrations"),
    handlers=HANDLERS,
    routers=[http_api.router],
    append_only=("claim_history",),  # every move of every claim, as it happened
    background=[bootstrap_payers, batch_submissions, poll_acknowledgments, run_timers],
)
create_app = service_app_factory(DEFINITION)
