"""Tenants, keys and models through the admin API, and what keys may and may not do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aicommons.testing.live import LiveServer
from aicommons.testing.standin import standin_in_thread

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def as_key(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {key}"}, timeout=60
    )


def chat_body(model: str = MODEL) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def test_tenant_lifecycle(admin: httpx.Client) -> None:
    created = admin.post("/admin/tenants", json={"name": "lab-a", "weight": 2})
    assert created.status_code == 201
    tenant = created.json()
    assert tenant["weight"] == 2
    assert admin.post("/admin/tenants", json={"name": "lab-a"}).status_code == 409
    assert admin.get(f"/admin/tenants/{tenant['id']}").json()["name"] == "lab-a"
    assert admin.patch("/admin/tenants/lab-a", json={"weight": 3}).json()["weight"] == 3
    assert admin.delete("/admin/tenants/lab-a").status_code == 204
    assert admin.get("/admin/tenants/lab-a").status_code == 404


def test_bad_admin_bodies_get_400(admin: httpx.Client) -> None:
    assert admin.post("/admin/tenants", json={"name": ""}).status_code == 400
    assert admin.post("/admin/tenants", json={"name": "x", "weight": -1}).status_code == 400
    response = admin.post("/admin/tenants", json={"name": "x", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert admin.post("/admin/keys", json={"tenant": "nobody"}).status_code == 404


def test_member_key_cannot_use_admin_api(server: LiveServer, member_key: str) -> None:
    with as_key(server, member_key) as member:
        response = member.get("/admin/tenants")
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"


def test_key_is_shown_once_and_stored_hashed(server: LiveServer, admin: httpx.Client) -> None:
    admin.post("/admin/tenants", json={"name": "lab-b"})
    created = admin.post("/admin/keys", json={"tenant": "lab-b", "name": "alice"}).json()
    secret = created["key"]
    assert secret.startswith("sk-aic-")
    listed = admin.get("/admin/keys", params={"tenant": "lab-b"}).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert secret not in str(listed)
    assert listed[0]["prefix"] == secret[: len(listed[0]["prefix"])]


def test_revoked_key_is_refused_at_once(server: LiveServer, admin: httpx.Client) -> None:
    secret = server.create_key("lab-c")
    with as_key(server, secret) as member:
        assert member.get("/v1/models").status_code == 200
        key_id = admin.get("/admin/keys", params={"tenant": "lab-c"}).json()[0]["id"]
        revoked = admin.delete(f"/admin/keys/{key_id}").json()
        assert revoked["revoked_at"] is not None
        response = member.get("/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_expired_key_is_refused(server: LiveServer) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    secret = server.create_key("lab-d", expires_at=past)
    with as_key(server, secret) as member:
        response = member.get("/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "expired_api_key"


def test_key_limited_to_some_models(server: LiveServer) -> None:
    secret = server.create_key("lab-e", models=["all-minilm-l6-v2"])
    with as_key(server, secret) as member:
        assert [m["id"] for m in member.get("/v1/models").json()["data"]] == ["all-minilm-l6-v2"]
        denied = member.post("/v1/chat/completions", json=chat_body())
        assert denied.status_code == 404
        assert denied.json()["error"]["code"] == "model_not_found"
        assert member.get(f"/v1/models/{MODEL}").status_code == 404
        allowed = member.post("/v1/embeddings", json={"model": "all-minilm-l6-v2", "input": "hi"})
        assert allowed.status_code == 200


def test_models_added_and_removed_at_run_time(
    server: LiveServer, admin: httpx.Client, member_key: str
) -> None:
    with standin_in_thread() as standin, as_key(server, member_key) as member:
        added = admin.post(
            "/admin/models",
            json={
                "name": "remote-model",
                "engine": "upstream",
                "options": {"url": standin.base_url},
            },
        )
        assert added.status_code == 201, added.text
        assert "remote-model" in [m["id"] for m in member.get("/v1/models").json()["data"]]
        reply = member.post("/v1/chat/completions", json=chat_body("remote-model"))
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"].startswith(
            "Hello from the stand-in"
        )
        assert (
            admin.post(
                "/admin/models",
                json={
                    "name": "remote-model",
                    "engine": "upstream",
                    "options": {"url": standin.base_url},
                },
            ).status_code
            == 409
        )
        assert admin.delete("/admin/models/remote-model").status_code == 204
        assert (
            member.post("/v1/chat/completions", json=chat_body("remote-model")).status_code == 404
        )
    assert admin.delete(f"/admin/models/{MODEL}").status_code == 409  # from the models file


def test_adding_a_broken_model_is_refused_and_not_stored(admin: httpx.Client) -> None:
    unknown = admin.post("/admin/models", json={"name": "m1", "engine": "teleport"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "engine"
    missing = admin.post(
        "/admin/models", json={"name": "m2", "engine": "llamacpp", "options": {"path": "nope.gguf"}}
    )
    assert missing.status_code == 400
    assert "not found" in missing.json()["error"]["message"]
    assert "m2" not in [m["name"] for m in admin.get("/admin/models").json()]
