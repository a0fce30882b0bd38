"""The lean httpx transport against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from aicommons.engines.http_transport import LeanTransport
from aicommons.testing.standin import StandinUpstream
from tests.engines.certificates import self_signed

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


# -- what HTTP/1.1 allows a server to do --------------------------------------------------


class Served:
    """What a raw test server saw: connections opened and requests read."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request's head and body (by content-length), or None when the client left."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def answering(served: Served, answers: list[bytes], close_after: bool = False) -> Handler:
    """A handler that gives the next of ``answers`` to each request, on any connection."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.connections += 1
        while (request := await read_request(reader)) is not None:
            served.requests.append(request)
            writer.write(answers[min(len(served.requests), len(answers)) - 1])
            await writer.drain()
            if close_after:
                break
        writer.close()

    return handler


async def test_connection_close_from_the_server_is_obeyed() -> None:
    """The server says Connection: close but leaves the socket open: never reuse it."""
    served = Served()
    answer = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
    server, url = await serve(answering(served, [answer]))
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            for _ in range(3):
                response = await client.post(url, content=b"{}")
                assert response.text == "ok"
        assert served.connections == 3
    finally:
        await stop(server)


async def test_gzip_transfer_coding_and_trailers_are_understood() -> None:
    served = Served()
    packed = gzip.compress(b'{"answer": "unpacked"}')
    chunked = b"".join(_chunk(packed[i : i + 7]) for i in range(0, len(packed), 7))
    answers = [
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n"
        b"5\r\nhello\r\n0\r\nx-checksum: 5d41402a\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nagain",
    ]
    server, url = await serve(answering(served, answers))
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await client.post(url, content=b"{}")
            assert first.json() == {"answer": "unpacked"}
            second = await client.post(url, content=b"{}")
            assert second.text == "hello"
            third = await client.post(url, content=b"{}")
            assert third.text == "again"
        # the trailer was read whole: the connection stayed usable for all three
        assert served.connections == 1
    finally:
        await stop(server)


async def test_an_unknown_transfer_coding_is_a_protocol_error() -> None:
    served = Served()
    answer = b"HTTP/1.1 200 OK\r\ntransfer-encoding: compress, chunked\r\n\r\n0\r\n\r\n"
    server, url = await serve(answering(served, [answer]))
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.RemoteProtocolError, match="transfer coding"):
                await client.post(url, content=b"{}")
    finally:
        await stop(server)


async def test_an_http_10_answer_read_until_close() -> None:
    served = Served()
    answer = b"HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end"
    server, url = await serve(answering(served, [answer], close_after=True))
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            assert (await client.get(url)).text == "until the end"
            assert (await client.get(url)).text == "until the end"
        assert served.connections == 2
    finally:
        await stop(server)


async def test_an_answer_cut_short_is_an_error_not_a_short_body() -> None:
    served = Served()
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this"
    server, url = await serve(answering(served, [answer], close_after=True))
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(url, content=b"{}")
    finally:
        await stop(server)


async def test_a_post_the_server_may_have_received_is_not_sent_twice() -> None:
    """The server reads the second request on a kept-alive connection, then dies: a POST
    must fail rather than run twice; a GET is safe to repeat on a new connection."""
    served = Served()
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    async def dies_on_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.connections += 1
        first = await read_request(reader)
        if first is None:
            return
        served.requests.append(first)
        writer.write(ok)
        await writer.drain()
        second = await read_request(reader)
        if second is not None:
            served.requests.append(second)
        writer.transport.abort()  # received, never answered

    server, url = await serve(dies_on_second)
    try:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            assert (await client.post(url, content=b'{"n": 1}')).text == "ok"
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(url, content=b'{"n": 2}')
            posts = [r for r in served.requests if r.startswith(b"POST")]
            assert len(posts) == 2  # the second POST arrived once and was not repeated
            assert (await client.get(url)).text == "ok"  # fresh connection
            with_retry = await client.get(url)  # the kept one dies: sent again, answered
            assert with_retry.text == "ok"
    finally:
        await stop(server)


async def test_https_goes_through_httpx_with_certificate_checks(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    upstream = StandinUpstream()
    await upstream.start(tls=certificate.server_context())
    try:
        assert upstream.base_url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(certificate.cert_file))
        async with httpx.AsyncClient(transport=LeanTransport(verify=trusted)) as client:
            answer = await client.post(f"{upstream.base_url}/chat/completions", json={})
            assert answer.json()["object"] == "chat.completion"
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.post(f"{upstream.base_url}/chat/completions", json={})
    finally:
        await upstream.close()


async def stop(server: asyncio.Server) -> None:
    """Close the server once its handlers have seen the client leave."""
    await asyncio.sleep(0.05)
    server.close()
    await server.wait_closed()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)
