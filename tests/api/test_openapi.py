"""The OpenAPI document says what the server does: 400 (never 422) and the other errors,
bodies of every generation route, Markdown documents, the bearer scheme."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aicommons.testing.live import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def document(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json", timeout=30)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, item in document["paths"].items() for m, op in item.items()]


def test_no_422_and_400_everywhere(document: dict[str, Any]) -> None:
    assert '"422"' not in str(document).replace("'", '"')
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, method, operation in operations(document):
        assert "400" in operation["responses"], (method, path)


def test_keyed_operations_document_their_errors(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        if not operation.get("security"):
            continue
        documented = set(operation["responses"])
        assert {"400", "401", "403", "404", "429"} <= documented, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert "409" in documented, (method, path)
    public = {p for p, m, op in operations(document) if not op.get("security")}
    assert {"/v1/register", "/v1/leaderboard", "/v1/governance/facts-schema"} <= public
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]["error"]["required"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("path", "required"),
    [
        ("/v1/chat/completions", {"model", "messages"}),
        ("/v1/completions", {"model", "prompt"}),
        ("/v1/embeddings", {"model", "input"}),
    ],
)
def test_generation_routes_have_body_schemas(
    document: dict[str, Any], path: str, required: set[str]
) -> None:
    operation = document["paths"][path]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == required
    assert schema["additionalProperties"] is False
    assert {"502", "503", "504"} <= set(operation["responses"])


def test_markdown_documents_are_declared_as_markdown(document: dict[str, Any]) -> None:
    for path in ("/v1/applications/{app_id}/annex-iv", "/v1/applications/{app_id}/model-card"):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == ["text/markdown"]
