"""The ledger seen through a running platform: requests and admin actions leave records."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aicommons.testing.live import LiveServer
from aicommons.testing.standin import Behaviour, StandinUpstream

pytestmark = pytest.mark.slow
PROMPT = "a secret prompt that must not be stored"


def newest(admin: httpx.Client, limit: int = 50) -> list[dict[str, Any]]:
    response = admin.get("/admin/ledger", params={"limit": limit})
    response.raise_for_status()
    return list(response.json()["data"])


def request_record(admin: httpx.Client, response_id: str) -> dict[str, Any]:
    """The record of the request the API answered with ``response_id``."""
    request_id = "req_" + response_id.split("-", 1)[1]
    found = [r for r in newest(admin) if r["payload"].get("id") == request_id]
    assert len(found) == 1, f"no single record for {response_id}"
    return found[0]


def test_requests_are_recorded_before_the_answer_ends(front: LiveServer) -> None:
    key = front.create_key("lab")
    body = {"model": "remote", "messages": [{"role": "user", "content": PROMPT}]}
    member = {"authorization": f"Bearer {key}"}
    with front.admin() as admin, httpx.Client(base_url=front.base_url, headers=member) as client:
        answer = client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200
        # Read at once: the record was committed before the body was sent.
        record = request_record(admin, answer.json()["id"])
        payload = record["payload"]
        assert record["kind"] == "request.completed"
        assert payload["status"] == "ok" and payload["kind"] == "chat"
        assert payload["prompt_tokens"] == 12 and payload["completion_tokens"] > 0
        assert payload["total_ms"] >= payload["ttft_ms"] >= payload["queue_ms"] >= 0
        assert payload["content"] is None
        assert payload["energy"]["joules"] > 0 and payload["energy"]["method"]

        with client.stream("POST", "/v1/completions", json=streamed_completion()) as stream:
            lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
            assert lines[-1] == "data: [DONE]"
            # Still inside the open response: [DONE] came only after the record was durable.
            first = httpx.Response(200, content=lines[0][6:]).json()
            payload = request_record(admin, first["id"])["payload"]
        assert payload["kind"] == "completion" and payload["completion_tokens"] > 0

        everything = admin.get("/admin/ledger", params={"limit": 1000}).text
        assert PROMPT not in everything and key not in everything
        assert admin.post("/admin/ledger/verify").json()["ok"] is True


def streamed_completion() -> dict[str, Any]:
    return {"model": "remote", "prompt": PROMPT, "stream": True}


def test_failed_requests_are_recorded_with_their_error(
    front: LiveServer, standin: StandinUpstream
) -> None:
    standin.behaviour = Behaviour(fail_status=500)
    key = front.create_key("lab")
    body = {"model": "remote", "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(base_url=front.base_url, headers={"authorization": f"Bearer {key}"}) as c:
        assert c.post("/v1/chat/completions", json=body).status_code == 502
    with front.admin() as admin:
        payload = newest(admin, 1)[0]["payload"]
    assert payload["status"] == "error" and payload["error_type"] == "upstream_error"


def test_admin_actions_are_recorded_without_secrets(front: LiveServer) -> None:
    with front.admin() as admin:
        admin_key_id = next(k["id"] for k in admin.get("/admin/keys").json() if k["admin"])
        tenant = admin.post("/admin/tenants", json={"name": "audited", "weight": 2}).json()
        admin.patch("/admin/tenants/audited", json={"weight": 3}).raise_for_status()
        created = admin.post("/admin/keys", json={"tenant": "audited", "name": "k1"}).json()
        admin.delete(f"/admin/keys/{created['id']}").raise_for_status()
        options = {"url": "http://127.0.0.1:9/v1", "api_key": "sk-upstream-secret"}
        model = {"name": "extra", "engine": "upstream", "options": options}
        admin.post("/admin/models", json=model).raise_for_status()
        admin.delete("/admin/models/extra").raise_for_status()
        admin.delete("/admin/tenants/audited").raise_for_status()
        records = [r for r in newest(admin) if r["kind"].startswith("admin.")]
        listing = admin.get("/admin/ledger", params={"limit": 1000}).text
    actions = [(r["payload"]["action"], r["payload"]["target"]) for r in reversed(records)]
    assert actions[0] == ("key.created", admin_key_id)  # the configured admin key, at start
    assert records.pop()["payload"]["via"] == "system"
    assert actions[1:] == [
        ("tenant.created", tenant["id"]),
        ("tenant.updated", tenant["id"]),
        ("key.created", created["id"]),
        ("key.revoked", created["id"]),
        ("model.added", "extra"),
        ("model.removed", "extra"),
        ("tenant.deleted", tenant["id"]),
    ]
    assert all(r["payload"]["actor_key_id"] == admin_key_id for r in records)
    assert records[-1]["payload"]["details"] == {"name": "audited", "weight": 2.0}
    assert created["key"] not in listing and "sk-upstream-secret" not in listing


def test_ledger_pages_and_needs_an_admin_key(front: LiveServer) -> None:
    key = front.create_key("pager")
    with front.admin() as admin:
        first = admin.get("/admin/ledger", params={"limit": 1}).json()
        older = admin.get("/admin/ledger", params={"before": first["next_before"]}).json()
        assert older["data"][0]["seq"] == first["data"][0]["seq"] - 1
        assert admin.get("/admin/ledger", params={"limit": 0}).status_code == 400
    with httpx.Client(base_url=front.base_url, headers={"authorization": f"Bearer {key}"}) as c:
        assert c.get("/admin/ledger").status_code == 403
        assert c.post("/admin/ledger/verify").status_code == 403
