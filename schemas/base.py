"""Base classes every contract model derives from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

__all__ = ["Contract", "Event", "examples", "rule"]


class Contract(BaseModel):
    """A strict, immutable contract model.

    Producers validate with this config: unknown fields are refused and nothing is coerced
    (a JSON number is not a string, a string is not an integer). Consumers read the same
    classes tolerantly through `schemas.registry.decode`, which ignores unknown fields at
    every nesting level, so a producer can add an optional field without breaking anyone.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        use_attribute_docstrings=True,
    )


class Event(Contract):
    """An event payload (the `data` of a CloudEvent). See `schemas.registry.REGISTRY`."""


def rule(name: str, message: str) -> PydanticCustomError:
    """A cross-field rule violation. The message names fields, never their values."""
    return PydanticCustomError(f"rule_{name}", message)


def examples(*items: dict[str, Any]) -> dict[str, Any]:
    """`json_schema_extra` carrying examples (JSON form, as on the wire)."""
    return {"examples": list(items)}
