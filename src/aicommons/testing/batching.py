"""A stand-in continuous-batching engine: a real OpenAI-compatible HTTP server on 127.0.0.1.

It behaves like vLLM's scheduler at a fixed speed, so fairness benchmarks are reproducible on
a CPU machine: every ``step_s`` the engine runs one step with a budget of ``token_budget``
tokens. Running requests that are decoding take one token each (up to ``max_batch``
requests run at once); what is left of the budget goes to prefilling prompts, oldest first
(chunked prefill). Requests beyond ``max_batch`` wait in the engine's own first-come queue,
which a good gateway keeps empty. Outputs ignore end-of-sequence: a request produces
exactly ``max_tokens`` tokens, sent ``stream_interval`` tokens per chunk with vLLM-style
continuous usage stats. A prompt's tokens are its whitespace-separated words.

``GET /stats`` tells how many requests run and wait, and the tokens served.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import orjson


@dataclass(frozen=True)
class EngineShape:
    step_s: float = 0.02
    token_budget: int = 256
    max_batch: int = 32
    stream_interval: int = 8


@dataclass(eq=False)
class _Request:
    prompt_tokens: int
    max_tokens: int
    prefill_left: int
    produced: int = 0
    out: asyncio.Queue[int | None] = field(default_factory=asyncio.Queue)
    cancelled: bool = False


class BatchingEngine:
    """The step loop; requests enter through `submit` and leave when done or cancelled."""

    def __init__(self, shape: EngineShape) -> None:
        self.shape = shape
        self.waiting: deque[_Request] = deque()
        self.running: list[_Request] = []
        self.tokens_in = 0
        self.tokens_out = 0
        self.most_waiting = 0
        self._wake = asyncio.Event()

    def submit(self, prompt_tokens: int, max_tokens: int) -> _Request:
        request = _Request(prompt_tokens, max(max_tokens, 1), max(prompt_tokens, 1))
        self.waiting.append(request)
        self.most_waiting = max(self.most_waiting, len(self.waiting))
        self._wake.set()
        return request

    async def run(self) -> None:
        next_step = time.perf_counter()
        while True:
            if not self.running and not self.waiting:
                self._wake.clear()
                await self._wake.wait()
                next_step = time.perf_counter()
            self._step()
            next_step += self.shape.step_s
            await asyncio.sleep(max(next_step - time.perf_counter(), 0))

    def _step(self) -> None:
        shape = self.shape
        self.running = [r for r in self.running if not r.cancelled]
        while self.waiting and len(self.running) < shape.max_batch:
            request = self.waiting.popleft()
            if not request.cancelled:
                self.running.append(request)
        budget = shape.token_budget
        finished = []
        for request in self.running:  # decode first, as vLLM's scheduler does
            if request.prefill_left == 0 and budget > 0:
                budget -= 1
                request.produced += 1
                self.tokens_out += 1
                done = request.produced >= request.max_tokens
                first = request.produced == 1
                if done or first or request.produced % shape.stream_interval == 0:
                    request.out.put_nowait(request.produced)
                if done:
                    request.out.put_nowait(None)
                    finished.append(request)
        for request in self.running:  # then prefill, oldest first, with what is left
            if request.prefill_left > 0 and budget > 0:
                chunk = min(request.prefill_left, budget)
                request.prefill_left -= chunk
                budget -= chunk
                self.tokens_in += chunk
        for request in finished:
            self.running.remove(request)

    def stats(self) -> dict[str, int]:
        return {
            "running": len(self.running),
            "waiting": len(self.waiting),
            "most_waiting": self.most_waiting,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
        }


def _prompt_tokens(body: dict[str, object]) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        return sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict))
    return len(str(body.get("prompt", "")).split())


class BatchingServer:
    def __init__(self, shape: EngineShape, model: str = "batching") -> None:
        self.engine = BatchingEngine(shape)
        self.model = model
        self._server: asyncio.Server | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self.port = 0

    async def start(self, port: int = 0) -> str:
        self._loop_task = asyncio.create_task(self.engine.run())
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}/v1"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                raw = await reader.readexactly(length) if length else b""
                await self._answer(method, path, raw, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, method: str, path: str, raw: bytes, writer: asyncio.StreamWriter
    ) -> None:
        if path.endswith("/models"):
            listing = {"object": "list", "data": [{"id": self.model, "object": "model"}]}
            return await _send(writer, 200, orjson.dumps(listing))
        if path.endswith("/stats"):
            return await _send(writer, 200, orjson.dumps(self.engine.stats()))
        if method != "POST" or not path.endswith("/chat/completions"):
            return await _send(writer, 404, b'{"error":{"message":"no such route"}}')
        body = orjson.loads(raw)
        prompt_tokens = _prompt_tokens(body)
        request = self.engine.submit(prompt_tokens, int(body.get("max_tokens") or 16))
        try:
            if body.get("stream"):
                await self._stream(request, writer)
            else:
                while await request.out.get() is not None:
                    pass
                await _send(writer, 200, orjson.dumps(self._completion(request)))
        finally:
            request.cancelled = True

    def _completion(self, request: _Request) -> dict[str, object]:
        return {
            "id": "chatcmpl-batching",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " tok" * request.produced},
                    "finish_reason": "length",
                }
            ],
            "usage": _usage(request),
        }

    async def _stream(self, request: _Request, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        sent = 0
        while (produced := await request.out.get()) is not None:
            chunk = {
                "id": "chatcmpl-batching",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": " tok" * (produced - sent)},
                        "finish_reason": None,
                    }
                ],
                "usage": _usage(request),
            }
            sent = produced
            writer.write(_chunked(b"data: " + orjson.dumps(chunk) + b"\n\n"))
            await writer.drain()
        last = {
            "id": "chatcmpl-batching",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
            "usage": _usage(request),
        }
        writer.write(_chunked(b"data: " + orjson.dumps(last) + b"\n\ndata: [DONE]\n\n"))
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _usage(request: _Request) -> dict[str, int]:
    return {
        "prompt_tokens": request.prompt_tokens,
        "completion_tokens": request.produced,
        "total_tokens": request.prompt_tokens + request.produced,
    }


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _send(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    writer.write(
        b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
        % (status, len(body))
        + body
    )
    await writer.drain()


def main() -> None:  # pragma: no cover - started by bench/fairness.py as its own process
    parser = argparse.ArgumentParser(description="Run the continuous-batching stand-in engine.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--step-ms", type=float, default=20.0)
    parser.add_argument("--token-budget", type=int, default=256)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--stream-interval", type=int, default=8)
    args = parser.parse_args()
    shape = EngineShape(
        args.step_ms / 1000, args.token_budget, args.max_batch, args.stream_interval
    )

    async def serve() -> None:
        server = BatchingServer(shape)
        await server.start(args.port)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":  # pragma: no cover
    main()
