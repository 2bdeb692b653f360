"""PHI-safe validation errors.

Pydantic errors carry the rejected `input`, and several built-in messages embed parts of
it (a bad UUID character, a union tag). Anything that leaves a process (a rejection event,
a CLI message, a DLQ reason, a log line) goes through `safe_errors`, which rebuilds each
message from the error type and the schema's own constraints only.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

__all__ = ["ContractError", "SafeError", "field_path", "safe_errors"]

SafeError = dict[str, str]
"""{"field": "patient.address.postal_code", "type": "zip_format", "message": "..."}"""

# Messages of these error types are written by this package (PydanticCustomError with a
# fixed sentence), so they are known to be free of input values.
_OWN_PREFIXES = (
    "money_",
    "quantity_",
    "npi_",
    "icd10_",
    "procedure_code_",
    "modifier_",
    "place_of_service_",
    "revenue_code_",
    "icd10pcs_",
    "type_of_bill_",
    "nubc_code_",
    "admission_source_",
    "patient_status_",
    "ndc_",
    "tax_id_",
    "taxonomy_",
    "zip_",
    "state_",
    "phone_",
    "email_",
    "opaque_id_",
    "source_system_",
    "source_id_",
    "idempotency_key_",
    "payer_id_",
    "member_id_",
    "reference_number_",
    "payer_claim_control_number_",
    "submission_id_",
    "line_control_number_",
    "interchange_control_number_",
    "group_control_number_",
    "transaction_set_control_number_",
    "carc_",
    "rarc_",
    "chargemaster_code_",
    "edit_id_",
    "template_id_",
    "event_type_",
    "sha256_",
    "traceparent_",
    "rule_",
)

# Templates for pydantic's own error types; {name} placeholders are filled only from the
# whitelisted context keys below, which describe the schema, never the input.
_TEMPLATES: dict[str, str] = {
    "missing": "field required",
    "extra_forbidden": "unknown field: not part of this contract",
    "string_type": "must be a string",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "string_pattern_mismatch": "must match the pattern {pattern}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be greater than or equal to {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be less than or equal to {le}",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "list_type": "must be an array",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "literal_error": "must be one of: {expected}",
    "enum": "must be one of: {expected}",
    "date_type": "must be an ISO 8601 date (YYYY-MM-DD)",
    "date_parsing": "must be an ISO 8601 date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "must be an ISO 8601 date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "must be a date without a time part",
    "datetime_type": "must be an ISO 8601 date-time with a UTC offset",
    "datetime_parsing": "must be an ISO 8601 date-time with a UTC offset",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time with a UTC offset",
    "timezone_aware": "must be an ISO 8601 date-time with a UTC offset",
    "uuid_type": "must be a UUID",
    "uuid_parsing": "must be a UUID",
    "uuid_version": "must be a UUID",
    "json_invalid": "is not valid JSON",
    "json_type": "must be JSON text",
    "union_tag_invalid": "unknown variant; expected one of: {expected_tags}",
    "union_tag_not_found": "the discriminator field {discriminator} is required",
    "frozen_instance": "cannot be changed",
    "frozen_field": "cannot be changed",
    "value_error": "invalid value",
    "assertion_error": "invalid value",
}

_SAFE_CTX_KEYS = frozenset(
    {"min_length", "max_length", "pattern", "gt", "ge", "lt", "le", "expected", "expected_tags", "discriminator"}
)

# Field names come from the schema, except the name of an unknown field, which comes from
# the input: it is shown only when it looks like one of ours (snake_case, no run of three
# digits that could be part of an SSN, MRN or phone number), else replaced by "<field>".
_SAFE_SEGMENT = re.compile(r"^(?!.*[0-9]{3})[a-z_][a-z0-9_]{0,63}$")


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("coverages", 0, "member_id")` -> `"coverages[0].member_id"`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            segment = part if _SAFE_SEGMENT.fullmatch(part) else "<field>"
            out += f".{segment}" if out else segment
    return out


def _message(err: Any) -> str:
    etype = str(err.get("type", ""))
    if etype.startswith(_OWN_PREFIXES):
        return str(err.get("msg", "invalid value"))
    template = _TEMPLATES.get(etype)
    if template is None:
        return f"invalid value ({etype})"
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if k in _SAFE_CTX_KEYS}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split(":")[0].split("{")[0].strip() or "invalid value"


def safe_errors(exc: ValidationError, *, prefix: tuple[int | str, ...] = ()) -> list[SafeError]:
    """One {field, type, message} per error; no input value appears anywhere in the result."""
    out: list[SafeError] = []
    for err in exc.errors(include_input=False, include_url=False, include_context=True):
        out.append(
            {
                "field": field_path(prefix + tuple(err["loc"])),
                "type": str(err["type"]),
                "message": _message(err),
            }
        )
    return out


class ContractError(ValueError):
    """A payload that breaks its contract; `errors` is safe to log, publish and print."""

    def __init__(self, message: str, errors: list[SafeError]) -> None:
        super().__init__(message)
        self.errors = errors

    @classmethod
    def from_validation_error(cls, what: str, exc: ValidationError) -> ContractError:
        errors = safe_errors(exc)
        return cls(f"{what}: {len(errors)} field error(s)", errors)
