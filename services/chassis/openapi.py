"""OpenAPI for doors that read their body themselves (strict contract validation in JSON mode,
raw X12): the contract's JSON Schema as the documented request body, so docs and schemathesis see it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class Problem(BaseModel):
    """FastAPI's error shape: one sentence."""

    detail: str


BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON text (FastAPI cannot parse it)."}}
"""What a route taking a pydantic body answers to bytes that are not JSON (before validation)."""


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of a route whose JSON body is `model` (published by `with_models`)."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def text_body(description: str) -> dict[str, Any]:
    """`openapi_extra` of a route whose body is a text file (an 835)."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"text/plain": {"schema": {"type": "string"}}}}}


def with_models(models: Iterable[type[BaseModel]], description: str) -> Callable[[FastAPI], None]:
    """A `customize_app` publishing the models' JSON Schemas as OpenAPI components."""
    chosen = list(models)

    def install(app: FastAPI) -> None:
        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                schema = get_openapi(title=app.title, version="1", routes=app.routes, description=description)
                components = schema.setdefault("components", {}).setdefault("schemas", {})
                for model in chosen:
                    body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                    components.update(body.pop("$defs", {}))
                    components[model.__name__] = body
                app.openapi_schema = json.loads(json.dumps(schema))
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]

    return install
