"""Every admin action through each front end (admin API, command line, dashboard forms) is the
same service call: validated alike, written, ledgered with who did it, and seen by the server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aicommons.testing.live import LiveServer
from aicommons.testing.standin import standin_in_thread
from tests.admin.front_ends import FRONT_ENDS, FrontEnd

pytestmark = pytest.mark.slow

BIG = 5_000_000_000  # above PostgreSQL's 32-bit INTEGER


@pytest.fixture(params=sorted(FRONT_ENDS))
def front(request: pytest.FixtureRequest, server: LiveServer) -> FrontEnd:
    front_end: FrontEnd = FRONT_ENDS[request.param](server)
    return front_end


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def newest_record(admin: httpx.Client, kind: str, target: str) -> dict[str, Any]:
    records = admin.get("/admin/ledger", params={"limit": 50}).json()["data"]
    for record in records:
        if record["kind"] == kind and record["payload"]["target"] == target:
            payload: dict[str, Any] = record["payload"]
            return payload
    raise AssertionError(f"no {kind} record for {target}")


def assert_ledgered(admin: httpx.Client, front: FrontEnd, kind: str, target: str) -> None:
    payload = newest_record(admin, kind, target)
    assert payload["via"].startswith(front.via)
    if front.via != "cli":  # the command line has no key; it names the local user instead
        assert payload["actor_key_id"] is not None


def test_every_admin_action_is_validated_written_and_ledgered(
    front: FrontEnd, admin: httpx.Client, server: LiveServer
) -> None:
    name = f"fe-{front.via}"
    assert front.create_tenant(name, 2).ok
    tenant = admin.get(f"/admin/tenants/{name}").json()
    assert tenant["weight"] == 2
    assert_ledgered(admin, front, "admin.tenant.created", tenant["id"])

    assert front.set_weight(name, 3.5).ok
    assert admin.get(f"/admin/tenants/{name}").json()["weight"] == 3.5
    assert_ledgered(admin, front, "admin.tenant.updated", tenant["id"])

    assert front.set_limits("tenant", name, tokens_per_day=BIG, max_parallel=4).ok
    limits = admin.get(f"/admin/limits/tenant/{name}").json()
    assert limits["tokens_per_day"] == BIG and limits["max_parallel"] == 4
    record = newest_record(admin, "admin.limits.set", f"tenant:{tenant['id']}")
    assert record["details"]["tokens_per_day"] == BIG

    assert front.create_key(name, "alice", ["smollm2-135m-instruct"]).ok
    (key,) = admin.get("/admin/keys", params={"tenant": name}).json()
    assert key["models"] == ["smollm2-135m-instruct"] and key["name"] == "alice"
    created = newest_record(admin, "admin.key.created", key["id"])
    assert "key" not in created["details"] and "sk-aic-" not in str(created)

    assert front.set_limits("key", key["id"], requests_per_minute=60).ok
    assert admin.get(f"/admin/limits/key/{key['id']}").json()["requests_per_minute"] == 60
    assert front.revoke_key(key["id"]).ok
    assert admin.get("/admin/keys", params={"tenant": name}).json()[0]["revoked_at"]
    assert_ledgered(admin, front, "admin.key.revoked", key["id"])

    model = f"remote-{front.via}"
    with standin_in_thread() as standin:
        assert front.add_model(model, "upstream", {"url": standin.base_url}).ok
        assert_ledgered(admin, front, "admin.model.added", model)
        option_names = newest_record(admin, "admin.model.added", model)["details"]
        assert option_names == {"engine": "upstream", "option_names": ["url"]}
        assert front.remove_model(model).ok
        assert_ledgered(admin, front, "admin.model.removed", model)

    assert front.delete_tenant(name).ok
    assert admin.get(f"/admin/tenants/{name}").status_code == 404
    assert_ledgered(admin, front, "admin.tenant.deleted", tenant["id"])
    assert admin.post("/admin/ledger/verify").json()["ok"]


BAD_WEIGHTS = ["-5", "0", "inf", "nan", "1e309", "1001"]


@pytest.mark.parametrize("weight", BAD_WEIGHTS)
def test_bad_weights_are_refused_alike_and_nothing_is_stored(
    front: FrontEnd, admin: httpx.Client, weight: str
) -> None:
    name = f"badw-{front.via}-{BAD_WEIGHTS.index(weight)}"
    head = admin.get("/admin/ledger", params={"limit": 1}).json()["data"][0]["seq"]
    outcome = front.create_tenant(name, weight)
    assert not outcome.ok
    assert "weight" in outcome.message.lower()
    assert admin.get(f"/admin/tenants/{name}").status_code == 404
    # Nothing is ledgered for a refusal.
    assert admin.get("/admin/ledger", params={"limit": 1}).json()["data"][0]["seq"] == head


@pytest.mark.parametrize("name", ["x" * 101, "a\x00b", " lead", ""])
def test_bad_names_are_refused_alike(front: FrontEnd, admin: httpx.Client, name: str) -> None:
    outcome = front.create_tenant(name, 1)
    assert not outcome.ok, outcome
    names = [t["name"] for t in admin.get("/admin/tenants").json()]
    assert name not in names


def test_json_true_is_not_a_weight(admin: httpx.Client) -> None:
    response = admin.post("/admin/tenants", json={"name": "booly", "weight": True})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "weight"


def test_a_tenant_with_a_weight_from_any_front_end_can_chat(
    front: FrontEnd, server: LiveServer
) -> None:
    name = f"chatty-{front.via}"
    assert front.create_tenant(name, 0.5).ok
    key = server.create_key(name)
    body = {"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        reply = client.post(
            "/v1/chat/completions",
            json={**body, "max_tokens": 2},
            headers={"authorization": f"Bearer {key}"},
        )
    assert reply.status_code == 200, reply.text
