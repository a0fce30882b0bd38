"""A lean HTTP/1.1 transport for httpx: keep-alive connections on asyncio streams, responses
parsed by httptools (llhttp, the parser of Node.js, which uvicorn uses too).

The upstream engine talks to OpenAI-compatible servers, one small JSON request after another.
httpx's default transport (httpcore on anyio) costs more CPU per request than the rest of the
gateway's pipeline together; this one keeps to the common case and hands everything else to
that default transport:

- fast path: ``http://`` URLs and a body given whole. llhttp frames the response (length,
  chunked with or without trailers, until close, HTTP/1.0) and says whether the connection
  may be kept (``Connection: close`` is obeyed). Transfer codings other than chunked (gzip,
  deflate) are decoded by httpx as content codings.
- httpx's default transport: ``https://`` (TLS with certificate checks), other methods than
  GET and POST, bodies given as streams.

A request that fails on a reused connection before any answer arrived is sent again on a new
connection only when that is safe: the method is idempotent or the request carries an
``Idempotency-Key``. A POST that the server may have received is not sent twice; its failure
goes to the caller (the upstream engine then decides about another replica).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator

import httptools
import httpx

# Servers close idle keep-alive connections (uvicorn after 5 s, vLLM's uvicorn too); never
# reuse one idle for longer than this.
KEEPALIVE_S = 4.0
_READ_CHUNK = 64 * 1024
_FAST_METHODS = frozenset({"GET", "POST"})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Transfer codings httpx can undo as content codings; anything else is refused.
_DECODABLE = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


class _Parsed:
    """What llhttp reported so far about one response (its parser's callback target)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False
        self.body: list[bytes] = []
        self.received_any = False
        self.keep_alive = False

    def on_message_begin(self) -> None:
        self.headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103): the real one follows
            return
        self.status = status
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True
            # asked now: llhttp resets its answer once the message is over
            self.keep_alive = self.parser.should_keep_alive()

    def feed(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise httpx.RemoteProtocolError(f"malformed answer from the upstream: {exc}") from exc

    def take_body(self) -> list[bytes]:
        pieces, self.body = self.body, []
        return pieces

    @property
    def close_delimited(self) -> bool:
        """The body ends when the server closes: no length and no chunked coding."""
        names = {name.lower() for name, _ in self.headers}
        if b"content-length" in names:
            return False
        codings = _transfer_codings(self.headers)
        return not (codings and codings[-1] == "chunked")


def _transfer_codings(headers: list[tuple[bytes, bytes]]) -> list[str]:
    values = [v.decode("latin-1") for n, v in headers if n.lower() == b"transfer-encoding"]
    return [c.strip().lower() for c in ",".join(values).split(",") if c.strip()]


def _response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers httpx should see: transfer codings besides chunked become content codings
    (applied after any content coding), so httpx's own decoders undo them."""
    codings = [c for c in _transfer_codings(headers) if c not in ("chunked", "identity")]
    if not codings:
        return headers
    unknown = [c for c in codings if c not in _DECODABLE]
    if unknown:
        raise httpx.RemoteProtocolError(f"the upstream used an unknown transfer coding {unknown}")
    content = [v.decode("latin-1") for n, v in headers if n.lower() == b"content-encoding"]
    merged = ", ".join([*content, *(_DECODABLE[c] for c in codings)])
    kept = [
        (n, v) for n, v in headers if n.lower() not in (b"transfer-encoding", b"content-encoding")
    ]
    return [*kept, (b"content-encoding", merged.encode("latin-1"))]


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()

    async def read(self, limit_s: float | None) -> bytes:
        """Next bytes from the server (b"" when it closed), as httpx errors on failure."""
        try:
            async with asyncio.timeout(limit_s):
                return await self.reader.read(_READ_CHUNK)
        except TimeoutError as exc:
            self.close()
            raise httpx.ReadTimeout("the upstream stalled while answering") from exc
        except (ConnectionError, OSError) as exc:
            self.close()
            raise httpx.ReadError(f"the upstream connection broke: {exc}") from exc


class _Body(httpx.AsyncByteStream):
    """A response body; the connection goes back to the pool once it is read to the end and
    the server allows keep-alive."""

    def __init__(
        self,
        transport: LeanTransport,
        key: tuple[str, int],
        conn: _Connection,
        parsed: _Parsed,
        read_timeout: float | None,
    ) -> None:
        self._transport, self._key, self._conn = transport, key, conn
        self._parsed, self._timeout = parsed, read_timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        parsed = self._parsed
        for piece in parsed.take_body():
            yield piece
        while not parsed.complete:
            data = await self._conn.read(self._timeout)
            if not data:
                if parsed.close_delimited:
                    parsed.complete = True
                    self._conn.close()
                    return
                self._conn.close()
                raise httpx.RemoteProtocolError("the upstream closed the connection mid-answer")
            parsed.feed(data)
            for piece in parsed.take_body():
                yield piece

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        parsed = self._parsed
        reusable = parsed.complete and parsed.keep_alive and not self._conn.reader.at_eof()
        if reusable:
            self._transport.release(self._key, self._conn)
        else:
            self._conn.close()


class LeanTransport(httpx.AsyncBaseTransport):
    """The fast path for plain-HTTP upstreams; ``verify`` configures the TLS of the httpx
    transport that serves ``https://`` and the other cases."""

    def __init__(self, max_idle_per_host: int = 256, verify: ssl.SSLContext | bool = True) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_host
        self._fallback = httpx.AsyncHTTPTransport(
            verify=verify, limits=httpx.Limits(max_connections=None, max_keepalive_connections=256)
        )

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
            async with asyncio.timeout(limit_s):
                reader, writer = await asyncio.open_connection(key[0], key[1], limit=1 << 20)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connecting to {key[0]}:{key[1]} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        return _Connection(reader, writer)

    @staticmethod
    def is_fast(request: httpx.Request) -> bool:
        """Whether the fast path serves ``request`` (else httpx's default transport does)."""
        return (
            request.url.scheme == "http"
            and request.method in _FAST_METHODS
            and isinstance(request.stream, httpx.ByteStream)
            and "upgrade" not in request.headers
            and "expect" not in request.headers
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.is_fast(request):
            return await self._fallback.handle_async_request(request)
        url = request.url
        key = (url.host, url.port or 80)
        timeouts = request.extensions.get("timeout", {})
        body = request.read()
        payload = _request_head(request, len(body)) + body
        reused = self._take(key)
        conn = reused or await self._connect(key, timeouts.get("connect"))
        try:
            return await self._exchange(key, conn, payload, timeouts)
        except _NoAnswerError as exc:
            if reused is None or not _may_send_again(request):
                raise httpx.RemoteProtocolError(str(exc)) from exc
            # A kept-alive connection the server had closed, and the request is one that
            # may be repeated: send it again on a fresh connection.
            fresh = await self._connect(key, timeouts.get("connect"))
            try:
                return await self._exchange(key, fresh, payload, timeouts)
            except _NoAnswerError as again:
                raise httpx.RemoteProtocolError(str(again)) from again

    async def _exchange(
        self,
        key: tuple[str, int],
        conn: _Connection,
        payload: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        read_timeout = timeouts.get("read")
        parsed = _Parsed()
        try:
            conn.writer.write(payload)
            while not parsed.head_done:
                data = await conn.read(read_timeout)
                if not data:
                    conn.close()
                    if parsed.received_any:
                        raise httpx.RemoteProtocolError("the upstream closed mid-answer")
                    raise _NoAnswerError("the upstream closed the connection without answering")
                parsed.feed(data)
        except httpx.ReadError as exc:
            if parsed.received_any:
                raise
            raise _NoAnswerError(str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        try:
            headers = _response_headers(parsed.headers)
        except httpx.RemoteProtocolError:
            conn.close()
            raise
        stream = _Body(self, key, conn, parsed, read_timeout)
        return httpx.Response(parsed.status, headers=headers, stream=stream)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                with contextlib.suppress(Exception):
                    conn.close()
        self._idle.clear()
        await self._fallback.aclose()


class _NoAnswerError(Exception):
    """The connection failed before a single byte of the answer arrived."""


def _may_send_again(request: httpx.Request) -> bool:
    return request.method in _IDEMPOTENT or "idempotency-key" in request.headers


def _request_head(request: httpx.Request, length: int) -> bytes:
    url = request.url
    target = url.raw_path.decode("ascii")
    lines = [f"{request.method} {target} HTTP/1.1"]
    for name, value in request.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            lines.append(f"{name}: {value}")
    if length or request.method == "POST":
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
