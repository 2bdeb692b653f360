"""create_app(): the charges service wired through the chassis."""

from pathlib import Path

from services.charges import http_api
from services.charges.background import serve_mllp
from services.charges.handlers import APPLIED_FIRST, HANDLERS, PARK_KEYS, REJECTERS, UNITS
from services.chassis.app import service_app_factory
from services.chassis.icd10cm import load_shipped
from services.chassis.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="charges",
    migrations=Path(__file__).with_name("migrations"),
    handlers=HANDLERS,
    rejecters=REJECTERS,
    park_keys=PARK_KEYS,
    units=UNITS,
    applied_first=APPLIED_FIRST,
    # The charge postings and their ledger: corrected by a new charge and a reversing entry.
    append_only=("charges", "ledger_entries"),
    routers=[http_api.router],
    customize_app=http_api.install_openapi,
    background=[serve_mllp],
    warm_up=(load_shipped,),  # ICD-10-CM: checked on every encounter
)
create_app = service_app_factory(DEFINITION)
