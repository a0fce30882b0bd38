"""A lean HTTP/1.1 transport for httpx: keep-alive connections on plain asyncio streams.

The upstream engine talks to OpenAI-compatible servers on a local network, one small JSON
request after another. httpx's default transport (httpcore on anyio) costs more CPU per
request than the rest of the gateway's pipeline together; this one does only what these
requests need: ``http://`` URLs, a request body given whole, a response body read by
content-length, chunked encoding or until close, and connections reused after a complete
answer. It still plugs into `httpx.AsyncClient`, which keeps its API, its timeouts (taken
from the request) and its exceptions; tests can inject any other httpx transport instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx

# Servers close idle keep-alive connections (uvicorn after 5 s, vLLM's uvicorn too); never
# reuse one idle for longer than this.
KEEPALIVE_S = 4.0
_READ_CHUNK = 64 * 1024


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    """A response body; the connection goes back to the pool once it is read to the end."""

    def __init__(
        self,
        transport: LeanTransport,
        key: tuple[str, int],
        conn: _Connection,
        length: int | None,
        chunked: bool,
        read_timeout: float | None,
    ) -> None:
        self._transport, self._key, self._conn = transport, key, conn
        self._length, self._chunked, self._timeout = length, chunked, read_timeout
        self._complete = False
        self._closed = False

    async def _read(self, coro: asyncio.Future[bytes] | object) -> bytes:
        try:
            return await asyncio.wait_for(coro, self._timeout)  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise httpx.ReadTimeout("upstream stalled while sending its answer") from exc
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            raise httpx.RemoteProtocolError(f"upstream closed the connection: {exc}") from exc

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = self._conn.reader
        if self._chunked:
            while True:
                line = await self._read(reader.readuntil(b"\r\n"))
                size = int(line[:-2].split(b";", 1)[0], 16)
                if size == 0:
                    await self._read(reader.readuntil(b"\r\n"))  # no trailers are sent
                    break
                data = await self._read(reader.readexactly(size + 2))
                yield data[:-2]
        elif self._length is not None:
            left = self._length
            while left > 0:
                data = await self._read(reader.read(min(left, _READ_CHUNK)))
                if not data:
                    raise httpx.RemoteProtocolError("upstream closed the connection early")
                left -= len(data)
                yield data
        else:
            while data := await self._read(reader.read(_READ_CHUNK)):
                yield data
            self._conn.close()
            return
        self._complete = True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._complete:
            self._transport.release(self._key, self._conn)
        else:
            self._conn.close()


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_idle_per_host: int = 256) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_host

    def release(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < KEEPALIVE_S and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def _connect(self, key: tuple[str, int], limit_s: float | None) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(key[0], key[1], limit=1 << 20), limit_s
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {key[0]}:{key[1]} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        return _Connection(reader, writer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol("the lean transport speaks plain http only")
        key = (url.host, url.port or 80)
        timeouts = request.extensions.get("timeout", {})
        body = request.read()
        head = _request_head(request, len(body))
        reused = self._take(key)
        conn = reused or await self._connect(key, timeouts.get("connect"))
        try:
            return await self._exchange(key, conn, head + body, timeouts)
        except httpx.RemoteProtocolError:
            if reused is None:
                raise
            # A kept-alive connection the server had just closed: nothing was answered yet,
            # so sending again on a fresh connection is safe.
            fresh = await self._connect(key, timeouts.get("connect"))
            return await self._exchange(key, fresh, head + body, timeouts)

    async def _exchange(
        self,
        key: tuple[str, int],
        conn: _Connection,
        payload: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        read_timeout = timeouts.get("read")
        try:
            conn.writer.write(payload)
            head = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), read_timeout)
        except TimeoutError as exc:
            conn.close()
            raise httpx.ReadTimeout("upstream did not answer in time") from exc
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            conn.close()
            raise httpx.RemoteProtocolError(f"upstream closed the connection: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        status, headers = _parse_head(head)
        lowered = {k.lower(): v for k, v in headers}
        length = int(lowered["content-length"]) if "content-length" in lowered else None
        chunked = lowered.get("transfer-encoding", "").lower() == "chunked"
        stream = _Body(self, key, conn, length, chunked, read_timeout)
        return httpx.Response(status, headers=headers, stream=stream)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                with contextlib.suppress(Exception):
                    conn.close()
        self._idle.clear()


def _request_head(request: httpx.Request, length: int) -> bytes:
    url = request.url
    target = url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1"]
    for name, value in request.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            lines.append(f"{name}: {value}")
    lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}") from exc
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, headers
