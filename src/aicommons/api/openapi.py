"""The OpenAPI document, made to say what the server does.

FastAPI documents a 422 that the server never sends (it answers 400 in OpenAI format) and
none of the errors the platform does send. After FastAPI has drawn the document, each
operation gets the errors it can meet, in one shared `Error` schema: 400 for any operation
(a malformed value, or a NUL character anywhere), 413 where a body is taken; with a key:
401, 403, 404, 429, and 409 for writes; the upstream errors where a route declares them.
Routes that parse their own body declare its schema with `json_body`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "An error in OpenAI's format.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    },
}
_DESCRIPTIONS = {
    400: "Invalid request: a malformed or out-of-range value, an unknown field, a NUL.",
    401: "No key, or a key that is unknown, revoked or expired.",
    403: "The key may not do this (not an admin key, or refused by the governance policy).",
    404: "Not found, or not visible to this key.",
    409: "Conflicts with the current state (already exists, in use).",
    413: "The request body is larger than the limit.",
    429: "A budget, rate limit or queue cap was hit; see Retry-After.",
    502: "The upstream engine answered with an error or broke off.",
    503: "No replica or slot can take the request.",
    504: "The upstream engine did not answer in time.",
}
_WRITES = {"post", "put", "patch", "delete"}
_DEFS_KEY = "x-aicommons-defs"


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can also fail with ``statuses``."""
    return {status: _error_response(status) for status in statuses}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra=`` for a route that parses its JSON body itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        },
        _DEFS_KEY: defs,
    }


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation_errors(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    statuses = {400}
    if "requestBody" in operation:
        statuses.add(413)
    if "{" in path:
        statuses.add(404)
    if operation.get("security"):  # FastAPI adds it for routes that take a key
        statuses |= {401, 403, 404, 429}
        if method in _WRITES:
            statuses.add(409)
    return statuses


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` by one that draws the document once, then corrects it."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def corrected_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the errors, bodies and security the server really has."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Error"] = ERROR_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            schemas.update(operation.pop(_DEFS_KEY, {}))
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(_operation_errors(path, method, operation)):
                responses.setdefault(str(status), _error_response(status))
    return document
