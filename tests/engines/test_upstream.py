"""The upstream engine against real stand-in HTTP servers: balancing, failover, retries only
before the first byte, timeouts, and the errors a client sees when no replica answers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from aicommons.engines.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    TextChunk,
)
from aicommons.engines.upstream import UpstreamEngine, context_length_in
from aicommons.errors import (
    ConfigError,
    EngineUnavailableError,
    InvalidRequestError,
    UpstreamError,
    UpstreamTimeoutError,
)
from aicommons.testing.standin import REPLY, Behaviour, StandinUpstream

CHAT = GenerationRequest(
    model="m",
    sampling=SamplingParams(max_tokens=8),
    messages=(ChatMessage("user", "Hi"),),
)


def dead_url() -> str:
    """A URL on which nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


async def started(
    *urls: str, transport: httpx.AsyncBaseTransport | None = None, **options: object
) -> UpstreamEngine:
    # A configured context length: the engine then asks no replica for its model list.
    fields = {"replicas": list(urls), "health_interval_s": 0, "context_length": 2048, **options}
    spec = ModelSpec("m", "upstream", fields)
    engine = UpstreamEngine(spec, transport=transport)
    await engine.start()
    return engine


@pytest.fixture
async def standin() -> AsyncIterator[StandinUpstream]:
    server = StandinUpstream()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def second() -> AsyncIterator[StandinUpstream]:
    server = StandinUpstream()
    await server.start()
    yield server
    await server.close()


async def test_generate_stream_and_embed(standin: StandinUpstream) -> None:
    engine = await started(standin.base_url)
    try:
        completion = await engine.generate(CHAT)
        assert completion.text == REPLY
        assert completion.usage.prompt_tokens == 12
        events = [e async for e in engine.stream(CHAT)]
        assert "".join(e.text for e in events if isinstance(e, TextChunk)) == REPLY
        assert isinstance(events[-1], Finish) and events[-1].usage.completion_tokens > 0
        plain = GenerationRequest(model="m", sampling=SamplingParams(), prompt="Once")
        assert (await engine.generate(plain)).text == REPLY
        embedded = await engine.embed(["a", "b"])
        assert len(embedded.vectors) == 2
    finally:
        await engine.close()


async def test_least_outstanding_requests_spreads_load(
    standin: StandinUpstream, second: StandinUpstream
) -> None:
    standin.behaviour = second.behaviour = Behaviour(delay_s=0.2)
    engine = await started(standin.base_url, second.base_url)
    try:
        await asyncio.gather(*(engine.generate(CHAT) for _ in range(10)))
    finally:
        await engine.close()
    assert (standin.requests, second.requests) == (5, 5)


async def test_failover_to_a_healthy_replica(standin: StandinUpstream) -> None:
    engine = await started(dead_url(), standin.base_url)
    try:
        for _ in range(3):
            assert (await engine.generate(CHAT)).text == REPLY
        down, up = engine.replicas
        assert not down.healthy and up.healthy
        assert standin.requests == 3
    finally:
        await engine.close()


async def test_retry_before_first_byte_on_a_5xx(
    standin: StandinUpstream, second: StandinUpstream
) -> None:
    standin.behaviour = Behaviour(fail_status=503)
    engine = await started(standin.base_url, second.base_url)
    try:
        events = [e async for e in engine.stream(CHAT)]
        assert isinstance(events[-1], Finish)
        assert standin.requests + second.requests >= 2
    finally:
        await engine.close()


async def test_no_retry_after_the_first_byte(
    standin: StandinUpstream, second: StandinUpstream
) -> None:
    standin.behaviour = second.behaviour = Behaviour(die_after_chunks=3)
    engine = await started(standin.base_url, second.base_url)
    received: list[str] = []
    try:
        with pytest.raises(UpstreamError, match=r"mid-stream|before \[DONE\]"):
            async for event in engine.stream(CHAT):
                if isinstance(event, TextChunk):
                    received.append(event.text)
    finally:
        await engine.close()
    assert len(received) == 3
    assert standin.requests + second.requests == 1


async def test_all_replicas_unreachable_is_503() -> None:
    engine = await started(dead_url(), dead_url())
    try:
        with pytest.raises(EngineUnavailableError) as caught:
            await engine.generate(CHAT)
        assert caught.value.status_code == 503
    finally:
        await engine.close()


async def test_all_replicas_failing_is_502(standin: StandinUpstream) -> None:
    standin.behaviour = Behaviour(fail_status=500)
    engine = await started(standin.base_url)
    try:
        with pytest.raises(UpstreamError) as caught:
            await engine.generate(CHAT)
        assert caught.value.status_code == 502
    finally:
        await engine.close()


async def test_slow_upstream_is_504(standin: StandinUpstream) -> None:
    standin.behaviour = Behaviour(delay_s=2.0)
    engine = await started(standin.base_url, read_timeout_s=0.3)
    try:
        with pytest.raises(UpstreamTimeoutError) as caught:
            await engine.generate(CHAT)
        assert caught.value.status_code == 504
    finally:
        await engine.close()


async def test_stream_that_stalls_mid_way_ends_with_timeout(standin: StandinUpstream) -> None:
    standin.behaviour = Behaviour(chunk_delay_s=1.0)
    engine = await started(standin.base_url, read_timeout_s=0.3)
    try:
        with pytest.raises(UpstreamTimeoutError):
            async for _ in engine.stream(CHAT):
                pass
    finally:
        await engine.close()


async def test_client_errors_are_passed_on_not_retried(standin: StandinUpstream) -> None:
    standin.behaviour = Behaviour(fail_status=400)
    engine = await started(standin.base_url, standin.base_url)
    try:
        with pytest.raises(InvalidRequestError, match="stand-in failure"):
            await engine.generate(CHAT)
        assert standin.requests == 1
    finally:
        await engine.close()


async def test_health_checks_bring_a_replica_back(standin: StandinUpstream) -> None:
    engine = await started(standin.base_url)
    try:
        replica = engine.replicas[0]
        standin.behaviour = Behaviour(models_status=503)
        assert not await engine.check_replica(replica)
        assert not await engine.is_healthy()
        standin.behaviour = Behaviour()
        assert await engine.check_replica(replica)
        assert await engine.is_healthy()
    finally:
        await engine.close()


async def test_injected_transport_sees_the_upstream_body_and_key() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "choices": [{"message": {"content": "mocked"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
        return httpx.Response(200, content=orjson.dumps(body))

    spec = ModelSpec(
        "m",
        "upstream",
        {
            "replicas": [{"url": "http://up.test/v1", "api_key": "secret"}],
            "upstream_model": "org/model",
            "health_interval_s": 0,
        },
    )
    engine = UpstreamEngine(spec, transport=httpx.MockTransport(answer))
    await engine.start()
    try:
        completion = await engine.generate(CHAT)
    finally:
        await engine.close()
    assert completion.text == "mocked"
    # first the model list (for the context length), with the key too
    assert [r.method for r in seen] == ["GET", "POST"]
    assert str(seen[0].url) == "http://up.test/v1/models"
    sent = orjson.loads(seen[1].content)
    assert sent["model"] == "org/model"
    assert sent["max_tokens"] == 8
    assert all(r.headers["authorization"] == "Bearer secret" for r in seen)
    assert str(seen[1].url) == "http://up.test/v1/chat/completions"


async def test_cancelled_request_releases_its_replica(standin: StandinUpstream) -> None:
    """A client that leaves while the upstream is still thinking must not leak in-flight counts."""
    standin.behaviour = Behaviour(delay_s=5.0)
    engine = await started(standin.base_url)
    try:
        task = asyncio.ensure_future(engine.generate(CHAT))
        await asyncio.sleep(0.2)
        assert engine.replicas[0].in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert engine.replicas[0].in_flight == 0
        stream = engine.stream(CHAT)
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.2)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        assert engine.replicas[0].in_flight == 0
    finally:
        await engine.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@up.test/v1",
        "http://up.test/v1?token=secret",
        "ftp://up.test/v1",
        "up.test/v1",
    ],
)
def test_a_url_with_credentials_or_no_http_scheme_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="option 'url'"):
        UpstreamEngine(ModelSpec("m", "upstream", {"url": url}))


async def test_credentials_are_sent_but_never_described() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json={"data": [{"id": "m", "max_model_len": 32768}]})
        body = {
            "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        }
        return httpx.Response(200, json=body)

    options = {
        "replicas": ["http://a.test/v1", {"url": "http://b.test/v1", "api_key": "own-key"}],
        "api_key": "model-key",
        "headers": {"X-Org": "physics"},
        "health_interval_s": 0,
    }
    engine = UpstreamEngine(ModelSpec("m", "upstream", options), httpx.MockTransport(answer))
    await engine.start()
    try:
        assert engine.context_length == 32768  # from the first replica's model list
        await asyncio.gather(*(engine.generate(CHAT) for _ in range(4)))
    finally:
        await engine.close()
    keys = {r.url.host: r.headers["authorization"] for r in seen}
    assert keys == {"a.test": "Bearer model-key", "b.test": "Bearer own-key"}
    assert all(r.headers["x-org"] == "physics" for r in seen)
    described = str(engine.describe())
    assert "key" not in described.lower().replace("upstream_model", "")
    assert "physics" not in described


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        (b'{"data": [{"id": "m", "max_model_len": 8192}]}', 8192),
        (b'{"data": [{"id": "m", "context_length": 2048}]}', 2048),
        (b'{"data": [{"id": "other", "max_model_len": 1}, {"id": "m", "max_model_len": 3}]}', 3),
        (b'{"data": [{"id": "served-under-another-name", "max_model_len": 4000}]}', 4000),
        (b'{"data": [{"id": "a", "max_model_len": 1}, {"id": "b", "max_model_len": 2}]}', None),
        (b'{"data": [{"id": "m", "max_model_len": true}]}', None),
        (b'{"data": [{"id": "m", "max_model_len": "8192"}]}', None),
        (b"not json", None),
        (b"[]", None),
    ],
)
def test_context_length_in_a_model_list(listing: bytes, expected: int | None) -> None:
    assert context_length_in(listing, "m") == expected
