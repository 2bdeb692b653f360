"""Structured JSON logs. Callers pass opaque ids as `extra`; payloads never reach a log line."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# Attributes a caller may attach: ids and counters only, so a payload cannot slip in by accident.
ALLOWED_EXTRA = frozenset(
    {
        "service", "event_id", "event_type", "topic", "partition", "offset", "consumer",
        "attempt", "error_class", "reason", "count", "claim_id", "encounter_id", "charge_id",
        "remittance_id", "patient_account_id", "notification_id", "file_id", "component",
        "seq", "duration_ms", "state", "transition", "migration", "balance_id", "payment_id",
        "statement_id", "credit_balance_id", "submission_id",
    }
)


def quiet_known_warnings() -> None:
    """asyncssh still loads DSA support at import, and cryptography >= 46 warns about it each time;
    no key of ours is DSA. Other warnings still show (in a service, as JSON log lines)."""
    warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka logs record contents at DEBUG; keep it at WARNING whatever the root level.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)


def ids(**values: Any) -> dict[str, Any]:
    """Build a logging `extra` dict, refusing anything that is not a known id field."""
    unknown = set(values) - ALLOWED_EXTRA
    if unknown:
        raise ValueError(f"not an id field for logs: {sorted(unknown)}")
    return values
