"""create_app(): the remits service wired through the chassis."""

from pathlib import Path

from services.chassis.app import service_app_factory
from services.chassis.runtime import ServiceDefinition, leader_only
from services.remits import http_api
from services.remits.background import poll_inbound, quarantine_gauges, receivables_gauges, restate_queued
from services.remits.handlers import HANDLERS, UNITS

DEFINITION = ServiceDefinition(
    name="remits", migrations=Path(__file__).with_name("migrations"), handlers=HANDLERS, units=UNITS,
    routers=[http_api.router], customize_app=http_api.install_openapi,
    # One folder poller and one restatement among the instances: docs/scaling.md.
    background=[leader_only(poll_inbound), leader_only(restate_queued)],
    # The double-entry ledger (the books are restated by a new `books` journal, never by an update)
    # and what each posting, recoupment, write-off and refund said.
    append_only=("ledger_entries", "postings", "posting_lines", "recoupments", "insurance_writeoffs",
                 "writeoffs", "refunds"),
    samplers=[quarantine_gauges, receivables_gauges],
)
create_app = service_app_factory(DEFINITION)
