"""The upstream engine through nginx, as a remote vLLM is often deployed: a reverse proxy
that compresses, closes kept-alive connections now and then, chunks streams, and ends TLS
with its own certificate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aicommons.engines.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    TextChunk,
)
from aicommons.engines.http_transport import LeanTransport
from aicommons.engines.upstream import UpstreamEngine
from aicommons.errors import EngineUnavailableError
from aicommons.testing.standin import REPLY, StandinUpstream, standin_in_thread
from tests.engines.certificates import Certificate, self_signed
from tests.engines.nginx import nginx_proxy

pytestmark = pytest.mark.slow

CHAT = GenerationRequest(
    model="m", sampling=SamplingParams(max_tokens=8), messages=(ChatMessage("user", "Hi"),)
)


@pytest.fixture
def standin() -> Iterator[StandinUpstream]:
    with standin_in_thread(max_model_len=8192) as server:
        yield server


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return self_signed(tmp_path)


def engine_for(url: str, **options: object) -> UpstreamEngine:
    spec = ModelSpec("m", "upstream", {"url": f"{url}/v1", "upstream_model": "standin", **options})
    return UpstreamEngine(spec)


async def streamed_text(engine: UpstreamEngine) -> str:
    parts = []
    async for event in engine.stream(CHAT):
        if isinstance(event, TextChunk):
            parts.append(event.text)
        else:
            assert isinstance(event, Finish) and event.reason == "stop"
    return "".join(parts)


async def test_through_nginx_with_gzip_and_connection_close(
    tmp_path: Path, standin: StandinUpstream
) -> None:
    with nginx_proxy(tmp_path / "nginx", f"http://127.0.0.1:{standin.port}") as url:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            seen = [await client.post(f"{url}/v1/chat/completions", json={}) for _ in range(4)]
        assert [r.headers.get("content-encoding") for r in seen] == ["gzip"] * 4
        assert [r.headers.get("connection") for r in seen][2] == "close"
        assert {r.json()["choices"][0]["message"]["content"] for r in seen} == {REPLY}

        engine = engine_for(url, health_interval_s=0.2)
        await engine.start()
        try:
            assert engine.context_length == 8192  # read from /models through the proxy
            for _ in range(7):  # nginx closes every third kept-alive connection
                assert (await engine.generate(CHAT)).text == REPLY
                assert await streamed_text(engine) == REPLY
            answers = await asyncio.gather(*(engine.generate(CHAT) for _ in range(24)))
            assert {a.text for a in answers} == {REPLY}
            await asyncio.sleep(0.5)  # health checks (GET) ran in between
            assert await engine.is_healthy()
        finally:
            await engine.close()
    assert standin.requests >= 7 * 2 + 24


async def test_through_nginx_over_tls_with_a_self_signed_certificate(
    tmp_path: Path, standin: StandinUpstream, certificate: Certificate
) -> None:
    target = f"http://127.0.0.1:{standin.port}"
    with nginx_proxy(tmp_path / "nginx", target, tls=certificate) as url:
        assert url.startswith("https://")
        engine = engine_for(url, ca_file=str(certificate.cert_file), health_interval_s=0)
        await engine.start()
        try:
            assert engine.context_length == 8192
            assert (await engine.generate(CHAT)).text == REPLY
            assert await streamed_text(engine) == REPLY
            answers = await asyncio.gather(*(engine.generate(CHAT) for _ in range(12)))
            assert {a.text for a in answers} == {REPLY}
        finally:
            await engine.close()

        untrusting = engine_for(url, health_interval_s=0)
        await untrusting.start()
        try:
            with pytest.raises(EngineUnavailableError, match="no replica is reachable"):
                await untrusting.generate(CHAT)
        finally:
            await untrusting.close()

        unchecked = engine_for(url, health_interval_s=0, verify_tls=False)
        await unchecked.start()
        try:
            assert (await unchecked.generate(CHAT)).text == REPLY
        finally:
            await unchecked.close()
