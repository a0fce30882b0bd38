"""Inputs an attacker or a careless client sends get a clear 4xx, never a 5xx: NUL
characters, integers out of range, wrong methods, malformed playground calls, slow clients;
a 500 does not cost the client its connection; the dashboard sends security headers."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from aicommons.config import Settings
from aicommons.testing.live import LiveServer, live_server
from aicommons.testing.standin import StandinUpstream, standin_in_thread
from aicommons.web.security_headers import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"


@pytest.fixture
def member(server: LiveServer, member_key: str) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {member_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.admin() as client:
        yield client


def assert_400(response: httpx.Response, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def own_application(member: httpx.Client, models: list[str] | None = None) -> str:
    body = {"name": f"app-{time.monotonic_ns()}", "facts": {}, "models": models or []}
    created = member.post("/v1/applications", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


# -- NUL ------------------------------------------------------------------------------------


def test_nul_anywhere_is_a_400(member: httpx.Client, admin: httpx.Client) -> None:
    app_id = own_application(member)
    nul_body = {"name": "x", "facts": {"description": "a\u0000b"}}
    assert_400(member.post("/v1/applications", json=nul_body), "invalid_characters")
    for path in (
        "/v1/applications/a%00b",
        "/v1/applications/a%00b/model-card",
        "/v1/applications/a%00b/annex-iv",
        f"/v1/applications/{app_id}/model-card?model=a%00b",
    ):
        assert_400(member.get(path), "invalid_characters")
    patch = member.patch(f"/v1/applications/{app_id}/checklist", json={"deployer_contact": "a\0b"})
    assert_400(patch, "invalid_characters")
    assert_400(admin.get("/admin/keys", params={"tenant": "a\0b"}), "invalid_characters")
    assert_400(admin.post("/admin/tenants", json={"name": "a\u0000b"}), "invalid_characters")
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "\u0000"}]}
    assert_400(member.post("/v1/chat/completions", json=chat), "invalid_characters")
    form = member.post("/ui/login", data={"key": "sk-aic-\0"})
    assert_400(form, "invalid_characters")


def test_the_text_backslash_u0000_is_not_a_nul(member: httpx.Client) -> None:
    """JSON's escaped backslash followed by u0000 is six ordinary characters."""
    text = "In JSON, \\u0000 stands for NUL."
    body = {"name": "escaped", "facts": {"description": text}}
    created = member.post("/v1/applications", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["facts"]["description"] == text


# -- numbers and types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_tokens", 18446744073709551616),
        ("max_tokens", 2**31),
        ("seed", -1180591620717411303424),
        ("seed", 2**63),
        ("temperature", 1e400),
    ],
)
def test_numbers_out_of_range_are_400s(member: httpx.Client, field: str, value: int) -> None:
    body = b'{"model": "%s", "messages": [{"role": "user", "content": "Hi"}], "%s": %s}' % (
        MODEL.encode(),
        field.encode(),
        str(value).encode(),
    )
    error = assert_400(
        member.post(
            "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
        )
    )
    assert error["param"] == field or error["code"] == "invalid_json"  # 1e400 is no float


def test_ledger_cursor_out_of_range(admin: httpx.Client) -> None:
    error = assert_400(admin.get("/admin/ledger", params={"before": 9223372036854775808}))
    assert error["param"] == "before"


def test_flags_are_json_booleans(member: httpx.Client) -> None:
    body = {"name": "strict", "facts": {"deepfake": 1}}
    assert assert_400(member.post("/v1/applications", json=body))["param"] == "facts.deepfake"
    body = {"name": "strict", "facts": {"deepfake": "true"}}
    assert_400(member.post("/v1/governance/classify", json=body["facts"]))


def test_wrong_method_says_which_are_allowed(member: httpx.Client) -> None:
    response = member.get("/v1/chat/completions")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["type"] == "invalid_request_error"


# -- model cards do not reveal which models exist -------------------------------------------


def test_model_card_answers_alike_for_unknown_and_forbidden_models(
    server: LiveServer,
) -> None:
    key = server.create_key("restricted", models=[MODEL])
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        app_id = own_application(client)
        forbidden = client.get(f"/v1/applications/{app_id}/model-card?model=all-minilm-l6-v2")
        unknown = client.get(f"/v1/applications/{app_id}/model-card?model=no-such-model")
        allowed = client.get(f"/v1/applications/{app_id}/model-card?model={MODEL}")
    assert forbidden.status_code == unknown.status_code == 404
    assert forbidden.json()["error"]["code"] == unknown.json()["error"]["code"]
    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/markdown")


# -- the playground's own API ---------------------------------------------------------------


def logged_in(server: LiveServer, key: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.base_url, timeout=60)
    client.post("/ui/login", data={"key": key, "next": "/ui/playground"})
    page = client.get("/ui/playground")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text[:500]
    return client, found.group(1)


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "x", ',
        b"[1]",
        b'{"model": "%s", "messages": [{"role": "wizard", "content": "hi"}]}' % MODEL.encode(),
        b'{"model": "%s", "messages": []}' % MODEL.encode(),
        b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}'
        % MODEL.encode(),
    ],
)
def test_playground_chat_refuses_bad_bodies_with_a_400(
    server: LiveServer, member_key: str, body: bytes
) -> None:
    client, token = logged_in(server, member_key)
    with closing(client):
        response = client.post(
            "/ui/api/chat",
            content=body,
            headers={"x-csrf-token": token, "content-type": "application/json"},
        )
    assert_400(response)


# -- a 500 keeps the connection -------------------------------------------------------------


def test_an_unexpected_error_is_a_500_that_keeps_the_connection(
    server: LiveServer, member: httpx.Client
) -> None:
    app: FastAPI = server.app

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/broken", broken, include_in_schema=False)
    try:
        transport = httpx.HTTPTransport(retries=0)
        with httpx.Client(base_url=server.base_url, transport=transport, timeout=10) as client:
            failed = client.get("/test-only/broken")
            assert failed.status_code == 500
            assert failed.json()["error"]["type"] == "server_error"
            assert "a bug" not in failed.text
            assert failed.headers.get("connection") != "close"
            again = client.get("/test-only/broken")  # same kept-alive connection
            assert again.status_code == 500
            assert client.get("/health").status_code == 200
    finally:
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", "") != "/test-only/broken"
        ]


# -- slow clients ---------------------------------------------------------------------------


@pytest.fixture
def quick(tmp_path: Path, db_url: str) -> Iterator[tuple[LiveServer, StandinUpstream]]:
    """A platform with short read deadlines (and only a stand-in model: it starts fast)."""
    with standin_in_thread() as standin:
        models = tmp_path / "models.toml"
        models.write_text(
            f'[[models]]\nname = "remote"\nengine = "upstream"\nurl = "{standin.base_url}"\n'
            "health_interval_s = 0\ncontext_length = 2048\n",
            encoding="utf-8",
        )
        settings = Settings(
            data_dir=tmp_path,
            database_url=db_url,
            models_file=models,
            header_read_timeout_s=1.0,
            body_read_timeout_s=1.0,
        )
        with live_server(settings) as live:
            yield live, standin


def raw_exchange(server: LiveServer, sent: bytes, wait_s: float = 6.0) -> tuple[bytes, float]:
    """Send ``sent`` and read until the server closes; what came back and how long it took."""
    host, port = server.base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    received = b""
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        if sent:
            sock.sendall(sent)
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


def test_slow_clients_are_dropped(quick: tuple[LiveServer, StandinUpstream]) -> None:
    server, _ = quick
    key = server.create_key("slow")
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        + f"authorization: Bearer {key}\r\n".encode()
    )
    incomplete_body, took = raw_exchange(server, head + b"content-length: 500\r\n\r\n{")
    assert incomplete_body.startswith(b"HTTP/1.1 408"), incomplete_body[:200]
    assert b"request_timeout" in incomplete_body and took < 5
    incomplete_head, took = raw_exchange(server, head)
    assert incomplete_head.startswith(b"HTTP/1.1 408") and took < 5
    silent, took = raw_exchange(server, b"")
    assert silent.startswith(b"HTTP/1.1 408") and took < 5
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        body = {"model": "remote", "messages": [{"role": "user", "content": "Hi"}]}
        answer = client.post(
            "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200


# -- the dashboard's headers ----------------------------------------------------------------


def test_dashboard_pages_send_security_headers(server: LiveServer, member_key: str) -> None:
    client, _ = logged_in(server, member_key)
    with closing(client):
        for path in ("/ui/login", "/ui/playground", "/ui/leaderboard"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "same-origin"
            assert page.headers["cache-control"] == "no-store"
            assert "<script>" not in page.text and " on" + "click=" not in page.text
        static = client.get("/ui/static/app.js")
        assert static.headers["x-content-type-options"] == "nosniff"
        assert "no-store" not in static.headers.get("cache-control", "")
