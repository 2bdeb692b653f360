"""create_app(): the claims service wired through the chassis."""

from pathlib import Path

from services.chassis.app import service_app_factory
from services.chassis.icd10cm import load_shipped
from services.chassis.runtime import ServiceDefinition, leader_only
from services.claims import http_api
from services.claims.background import (
    batch_submissions,
    bootstrap_payers,
    exchange_eligibility,
    holds_gauges,
    poll_acknowledgments,
    poll_status,
    run_timers,
)
from services.claims.handlers import HANDLERS, PARK_KEYS, UNITS

DEFINITION = ServiceDefinition(
    name="claims",
    migrations=Path(__file__).with_name("migrations"),
    handlers=HANDLERS,
    park_keys=PARK_KEYS,
    units=UNITS,
    routers=[http_api.router, http_api.eligibility_router],
    append_only=("claim_history",),  # every move of every claim, as it happened
    # One batcher and one folder poller among the instances; timers lock their rows (SKIP LOCKED):
    # docs/scaling.md.
    background=[leader_only(bootstrap_payers), leader_only(batch_submissions), leader_only(poll_acknowledgments),
                leader_only(poll_status), leader_only(exchange_eligibility), run_timers],
    warm_up=(load_shipped,),  # ICD-10-CM: checked on every encounter
    samplers=[holds_gauges],
)
create_app = service_app_factory(DEFINITION)
