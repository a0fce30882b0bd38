"""A stand-in OpenAI-compatible upstream: a real HTTP/1.1 server on 127.0.0.1.

It answers with a fixed completion, fast enough (raw asyncio, pre-rendered bytes) that it is
not the bottleneck of a gateway benchmark, and it can misbehave on demand (fail with a status,
stall before the first byte, die mid-stream) for failover tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import orjson

REPLY = "Hello from the stand-in upstream, a fixed answer."


@dataclass
class Behaviour:
    """How the stand-in answers generation requests (health checks always succeed unless down)."""

    fail_status: int | None = None
    delay_s: float = 0.0
    die_after_chunks: int | None = None
    chunk_delay_s: float = 0.0
    models_status: int = 200


def _chat_body(model: str) -> bytes:
    words = len(REPLY.split())
    return orjson.dumps(
        {
            "id": "chatcmpl-standin",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": REPLY},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": words, "total_tokens": 12 + words},
        }
    )


def _completion_body(model: str) -> bytes:
    words = len(REPLY.split())
    return orjson.dumps(
        {
            "id": "cmpl-standin",
            "object": "text_completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "text": REPLY, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 12, "completion_tokens": words, "total_tokens": 12 + words},
        }
    )


def _stream_events(model: str, chat: bool) -> list[bytes]:
    words = REPLY.split(" ")
    base = {
        "id": "chatcmpl-standin" if chat else "cmpl-standin",
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": 0,
        "model": model,
    }
    events = []
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        choice = (
            {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            if chat
            else {"index": 0, "text": piece, "finish_reason": None}
        )
        events.append(orjson.dumps({**base, "choices": [choice]}))
    last = (
        {"index": 0, "delta": {}, "finish_reason": "stop"}
        if chat
        else {"index": 0, "text": "", "finish_reason": "stop"}
    )
    events.append(orjson.dumps({**base, "choices": [last]}))
    usage = {"prompt_tokens": 12, "completion_tokens": len(words), "total_tokens": 12 + len(words)}
    events.append(orjson.dumps({**base, "choices": [], "usage": usage}))
    return [b"data: " + e + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _response(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    reason = {200: b"OK", 404: b"Not Found"}.get(status, b"Error")
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
        % (status, reason, content_type, len(body))
        + body
    )


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Connection(asyncio.Protocol):
    def __init__(self, server: StandinUpstream) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport but behave like one.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server.connections.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    def _next_request(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1")
        lines = head.split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buffer) < end + 4 + length:
            return
        body = self.buffer[end + 4 : end + 4 + length]
        self.buffer = self.buffer[end + 4 + length :]
        self.server.requests += 1
        self.busy = True
        if self.server.needs_task(path):
            task = asyncio.ensure_future(self._answer_slowly(method, path, body))
            self.server.tasks.add(task)
            task.add_done_callback(self.server.tasks.discard)
        else:
            assert self.transport is not None
            self.transport.write(self.server.fast_answer(method, path, body))
            self._done()

    def _done(self) -> None:
        self.busy = False
        if self.buffer:
            self._next_request()

    async def _answer_slowly(self, method: str, path: str, body: bytes) -> None:
        transport = self.transport
        assert transport is not None
        behaviour = self.server.behaviour
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if behaviour.fail_status is not None:
            transport.write(
                _response(behaviour.fail_status, b'{"error":{"message":"stand-in failure"}}')
            )
            self._done()
            return
        if b'"stream":true' not in body.replace(b" ", b""):
            transport.write(self.server.fast_answer(method, path, body))
            self._done()
            return
        events = _stream_events(self.server.model, chat=path.endswith("chat/completions"))
        transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for i, event in enumerate(events):
            if behaviour.die_after_chunks is not None and i >= behaviour.die_after_chunks:
                transport.abort()
                return
            if behaviour.chunk_delay_s:
                await asyncio.sleep(behaviour.chunk_delay_s)
            transport.write(_chunk(event))
        transport.write(b"0\r\n\r\n")
        self._done()


class StandinUpstream:
    """Serve on 127.0.0.1; ``base_url`` ends in /v1 like an OpenAI base URL."""

    def __init__(
        self,
        model: str = "standin",
        behaviour: Behaviour | None = None,
        max_model_len: int | None = None,
    ) -> None:
        self.model = model
        self.behaviour = behaviour or Behaviour()
        self.max_model_len = max_model_len  # given in /models, as vLLM does
        self.requests = 0
        self.connections: set[asyncio.Transport] = set()
        self.tasks: set[asyncio.Future[None]] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        self.tls = False
        self._fast = {
            "chat": _response(200, _chat_body(model)),
            "completion": _response(200, _completion_body(model)),
            "chat_stream": (
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"
            ),
        }
        self._stream_bodies = {
            True: b"".join(_stream_events(model, chat=True)),
            False: b"".join(_stream_events(model, chat=False)),
        }

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    def needs_task(self, path: str) -> bool:
        b = self.behaviour
        generating = path.endswith("/completions")
        return generating and bool(
            b.fail_status or b.delay_s or b.die_after_chunks is not None or b.chunk_delay_s
        )

    def fast_answer(self, method: str, path: str, body: bytes) -> bytes:
        if path.endswith("/models"):
            entry: dict[str, object] = {"id": self.model, "object": "model"}
            if self.max_model_len is not None:
                entry["max_model_len"] = self.max_model_len
            return _response(
                self.behaviour.models_status,
                orjson.dumps({"object": "list", "data": [entry]}),
            )
        if path.endswith("/embeddings"):
            count = len(orjson.loads(body).get("input") or []) if body else 0
            count = max(count, 1)
            data = [
                {"object": "embedding", "index": i, "embedding": [0.1 * (i + 1)] * 8}
                for i in range(count)
            ]
            return _response(
                200,
                orjson.dumps(
                    {
                        "object": "list",
                        "data": data,
                        "model": self.model,
                        "usage": {"prompt_tokens": 3 * count, "total_tokens": 3 * count},
                    }
                ),
            )
        chat = path.endswith("chat/completions")
        if not chat and not path.endswith("/completions"):
            return _response(404, b'{"error":{"message":"no such route"}}')
        if b'"stream":true' in body.replace(b" ", b""):
            payload = self._stream_bodies[chat]
            return self._fast["chat_stream"] % len(payload) + payload
        return self._fast["chat" if chat else "completion"]

    async def start(self, port: int = 0, tls: ssl.SSLContext | None = None) -> str:
        """Listen on ``port`` (0: any free one), over TLS when given a server context."""
        loop = asyncio.get_running_loop()
        self.tls = tls is not None
        self._server = await loop.create_server(
            lambda: _Connection(self), "127.0.0.1", port, ssl=tls
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for transport in list(self.connections):
                transport.abort()
            await self._server.wait_closed()
            self._server = None


@contextlib.contextmanager
def standin_in_thread(
    model: str = "standin", behaviour: Behaviour | None = None, max_model_len: int | None = None
) -> Iterator[StandinUpstream]:
    """Run a stand-in on its own event loop in a daemon thread (for synchronous tests)."""
    server = StandinUpstream(model, behaviour, max_model_len)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True, name="standin-upstream")
    thread.start()
    ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:  # pragma: no cover - used by bench/ as a separate process
    import argparse

    parser = argparse.ArgumentParser(description="Run the stand-in upstream.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    async def serve() -> None:
        server = StandinUpstream()
        await server.start(args.port)
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(serve())
    except ImportError:
        asyncio.run(serve())


if __name__ == "__main__":  # pragma: no cover
    main()
