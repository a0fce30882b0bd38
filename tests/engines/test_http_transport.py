"""The lean httpx transport against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from aicommons.engines.http_transport import LeanTransport
from aicommons.testing.standin import StandinUpstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def standin() -> AsyncIterator[StandinUpstream]:
    upstream = StandinUpstream()
    await upstream.start()
    yield upstream
    await upstream.close()


async def test_keeps_connections_alive_and_reads_json_and_streams(
    standin: StandinUpstream,
) -> None:
    async with httpx.AsyncClient(transport=LeanTransport()) as client:
        body = {"model": "standin", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(3):
            answer = await client.post(f"{standin.base_url}/chat/completions", json=body)
            assert answer.status_code == 200 and answer.json()["object"] == "chat.completion"
        request = client.build_request(
            "POST", f"{standin.base_url}/chat/completions", json={**body, "stream": True}
        )
        response = await client.send(request, stream=True)
        lines = [line async for line in response.aiter_lines() if line]
        await response.aclose()
    assert lines[-1] == "data: [DONE]"
    assert len(standin.connections) <= 1  # one connection served all four


async def test_chunked_answers_and_a_stale_kept_alive_connection() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await reader.readuntil(b"\r\n\r\n")
        served += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()  # the server drops the kept-alive connection at once

    server, url = await serve(handler)
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await client.get(url)
            await asyncio.sleep(0.05)
            second = await client.get(url)  # the pooled connection is dead: sent again
        assert first.text == second.text == "hello world"
        assert served == 2
    finally:
        server.close()


async def test_connect_errors_and_read_timeouts_are_httpx_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server, url = await serve(silent)
    try:
        async with httpx.AsyncClient(transport=LeanTransport(), timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(url)
    finally:
        server.close()
        await server.wait_closed()
    async with httpx.AsyncClient(transport=LeanTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)
