"""Every kind of bad input gets a clear OpenAI-style error, never a 500, and the server keeps
serving afterwards."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from aicommons.testing.live import LiveServer

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"


@pytest.fixture
def api(server: LiveServer, member_key: str) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {member_key}", "content-type": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        yield client
    # whatever the test sent, the server still answers a good request
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
        ok = client.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
        )
        assert ok.status_code == 200, ok.text


def assert_error(response: httpx.Response, status: int, param: str | None = None) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["message"]
    assert error["type"]
    if param is not None:
        assert error["param"] == param
    return error  # type: ignore[no-any-return]


def chat(**fields: object) -> dict[str, object]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], **fields}


def test_malformed_json(api: httpx.Client) -> None:
    error = assert_error(api.post("/v1/chat/completions", content=b'{"model": "x", '), 400)
    assert error["type"] == "invalid_request_error"
    assert "JSON" in error["message"]


def test_body_that_is_not_an_object(api: httpx.Client) -> None:
    error = assert_error(api.post("/v1/chat/completions", content=b"[1, 2]"), 400)
    assert "JSON object" in error["message"]


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": "5"}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 7}, "temperature"),
        ({"stream": "yes"}, "stream"),
        ({"stop": 5}, "stop"),
        ({"seed": 1.5}, "seed"),
        ({"n": 3}, "n"),
        ({"messages": "hello"}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": 42}, "model"),
    ],
)
def test_wrong_types_name_the_parameter(
    api: httpx.Client, fields: dict[str, object], param: str
) -> None:
    assert_error(api.post("/v1/chat/completions", json=chat(**fields)), 400, param)


def test_missing_model(api: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    error = assert_error(api.post("/v1/chat/completions", json=body), 400, "model")
    assert "Missing required parameter" in error["message"]


def test_unknown_field(api: httpx.Client) -> None:
    error = assert_error(
        api.post("/v1/chat/completions", json=chat(temprature=0.5)), 400, "temprature"
    )
    assert error["code"] == "unknown_parameter"


def test_unknown_model(api: httpx.Client) -> None:
    error = assert_error(api.post("/v1/chat/completions", json=chat(model="gpt-17")), 404, "model")
    assert error["code"] == "model_not_found"


def test_embedding_model_used_for_chat(api: httpx.Client) -> None:
    error = assert_error(
        api.post("/v1/chat/completions", json=chat(model="all-minilm-l6-v2")), 400, "model"
    )
    assert "does not serve chat" in error["message"]


def test_empty_messages(api: httpx.Client) -> None:
    assert_error(api.post("/v1/chat/completions", json=chat(messages=[])), 400, "messages")


def test_empty_embedding_input(api: httpx.Client) -> None:
    body = {"model": "all-minilm-l6-v2", "input": []}
    assert_error(api.post("/v1/embeddings", json=body), 400, "input")


def test_prompt_longer_than_the_context(api: httpx.Client) -> None:
    long_text = "word " * 3000  # about 3,000 tokens; the default context is 2,048
    response = api.post(
        "/v1/chat/completions", json=chat(messages=[{"role": "user", "content": long_text}])
    )
    error = assert_error(response, 400, "messages")
    assert error["code"] == "context_length_exceeded"
    assert "2048" in error["message"]


def test_max_tokens_beyond_the_context(api: httpx.Client) -> None:
    error = assert_error(
        api.post("/v1/chat/completions", json=chat(max_tokens=100_000)), 400, "max_tokens"
    )
    assert error["code"] == "context_length_exceeded"


def test_prompt_plus_max_tokens_beyond_the_context(api: httpx.Client) -> None:
    text = "word " * 1500
    body = chat(messages=[{"role": "user", "content": text}], max_tokens=1000)
    error = assert_error(api.post("/v1/chat/completions", json=body), 400, "max_tokens")
    assert "room for" in error["message"]


def test_streaming_request_with_too_long_prompt_gets_a_status_not_an_event(
    api: httpx.Client,
) -> None:
    body = chat(messages=[{"role": "user", "content": "word " * 3000}], stream=True)
    assert_error(api.post("/v1/chat/completions", json=body), 400, "messages")


def test_five_megabyte_body(api: httpx.Client) -> None:
    body = (
        b'{"model": "x", "messages": [{"role": "user", "content": "'
        + b"a" * (5 * 1024 * 1024)
        + b'"}]}'
    )
    error = assert_error(api.post("/v1/chat/completions", content=body), 413)
    assert error["code"] == "request_too_large"


def test_five_megabyte_body_without_content_length(api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "x", "messages": [{"role": "user", "content": "'
        for _ in range(5):
            yield b"a" * (1024 * 1024)
        yield b'"}]}'

    assert_error(api.post("/v1/chat/completions", content=chunks()), 413)


def test_invalid_utf8(api: httpx.Client) -> None:
    body = (
        b'{"model": "'
        + MODEL.encode()
        + b'", "messages": [{"role": "user", "content": "\xff\xfe"}]}'
    )
    error = assert_error(api.post("/v1/chat/completions", content=body), 400)
    assert "UTF-8" in error["message"]


def test_wrong_method_and_unknown_route(api: httpx.Client) -> None:
    assert_error(api.get("/v1/chat/completions"), 405)
    assert_error(api.get("/v1/nowhere"), 404)


def test_client_disconnecting_mid_stream_frees_the_slot(
    server: LiveServer, api: httpx.Client
) -> None:
    """Hang up after the first chunks; generation must stop and both slots come back."""
    engine = server.app.state.services.catalog.get(MODEL)
    body = chat(
        messages=[{"role": "user", "content": "Write a very long story."}],
        max_tokens=1500,
        stream=True,
    )
    for _ in range(2):  # as many as the model has slots: a leak would leave none free
        with api.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert next(response.iter_lines()).startswith("data: ")
    # 1,500 tokens take far longer than this wait; only a stopped generation frees a slot here
    deadline = time.monotonic() + 5
    while engine.free_slots < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.free_slots == 2


def test_raw_socket_hang_up_before_the_body(server: LiveServer, member_key: str) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 500\r\n"
            + f"authorization: Bearer {member_key}\r\n\r\n".encode()
            + b'{"model":'
        )
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.get("/health").status_code == 200


def test_missing_and_wrong_keys(server: LiveServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        error = assert_error(client.post("/v1/chat/completions", json=chat()), 401)
        assert error["type"] == "authentication_error"
        wrong = {"authorization": "Bearer sk-aic-not-a-key"}
        assert_error(client.post("/v1/chat/completions", json=chat(), headers=wrong), 401)
        assert_error(client.get("/v1/models", headers={"authorization": "Basic abc"}), 401)
