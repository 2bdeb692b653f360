"""Structured JSON logs. Callers pass opaque ids as `extra`; payloads never reach a log line."""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from types import TracebackType
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


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PhiSafeJsonFormatter(JsonFormatter):
    """JSON lines whose tracebacks keep frames and exception types but never an exception's text:
    that text is built from data (asyncpg puts the row's values into a constraint error's DETAIL,
    pydantic the input value, a library the record it choked on), so a `log.exception` anywhere
    would otherwise copy PHI into the log."""

    def formatException(self, ei: ExcInfo) -> str:
        return format_exception_without_text(ei[1]) if ei[1] is not None else ""


def format_exception_without_text(exc: BaseException) -> str:
    lines: list[str] = []
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    for n, item in enumerate(reversed(chain)):
        if n:
            lines.append("\nThe above exception led to the following:\n")
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(item.__traceback__))
        lines.append(f"{type(item).__module__}.{type(item).__qualname__} (message withheld: it may hold data)\n")
    return "".join(lines).rstrip("\n")


def configure_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        PhiSafeJsonFormatter(
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
