"""A small, fast HTTP/1.1 load generator on raw asyncio streams (keep-alive connections,
pre-rendered requests), so that the client is not what a gateway benchmark measures.

`open_loop` sends at a fixed rate whatever the answers do, and times each request from the
moment it was due, so queueing in front of a slow server counts (no coordinated omission).
`closed_loop` keeps ``concurrency`` requests in flight for the maximum request rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field


def render_post(host: str, path: str, body: bytes, key: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {key}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        """Send one request and read its whole answer; the HTTP status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" in headers:
            await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:  # read until close
            await self.reader.read()
            self.writer.close()
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def summary(self) -> dict[str, object]:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "rps": round(self.rps, 1),
            "p50_ms": self.percentile(0.5),
            "p99_ms": self.percentile(0.99),
            "statuses": self.statuses,
        }


# Servers close keep-alive connections left idle for a while (uvicorn after 5 s); like any
# HTTP client, do not reuse one idle for longer than this.
KEEPALIVE_S = 4.0


class Pool:
    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[float, Connection]] = []

    def _take(self) -> Connection | None:
        now = time.perf_counter()
        while self.idle:
            since, conn = self.idle.pop()
            if now - since < KEEPALIVE_S:
                return conn
            conn.close()
        return None

    async def run(self, request: bytes, result: Result, due: float, timeout_s: float) -> None:
        conn = self._take()
        try:
            if conn is None:
                conn = await Connection.open(self.port)
            status = await asyncio.wait_for(conn.exchange(request), timeout_s)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            result.errors += 1
            if conn is not None:
                conn.close()
            return
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status == 200:
            result.ok += 1
            result.latencies_ms.append((time.perf_counter() - due) * 1000)
        else:
            result.errors += 1
        self.idle.append((time.perf_counter(), conn))

    def close(self) -> None:
        for _, conn in self.idle:
            conn.close()
        self.idle.clear()


async def open_loop(
    port: int, request: bytes, rate: float, duration_s: float, timeout_s: float = 10.0
) -> Result:
    pool, result, tasks = Pool(port), Result(), set()
    start = time.perf_counter()
    n = int(rate * duration_s)
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.sent += 1
        task = asyncio.create_task(pool.run(request, result, due, timeout_s))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s + 1)
    result.elapsed_s = time.perf_counter() - start
    pool.close()
    return result


async def closed_loop(
    port: int, request: bytes, concurrency: int, duration_s: float, timeout_s: float = 10.0
) -> Result:
    pool, result = Pool(port), Result()
    start = time.perf_counter()
    stop = start + duration_s

    async def worker() -> None:
        while time.perf_counter() < stop:
            result.sent += 1
            await pool.run(request, result, time.perf_counter(), timeout_s)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.gather(*workers)
    result.elapsed_s = time.perf_counter() - start
    pool.close()
    return result


def run(coro: object) -> Result:
    """Run a load coroutine on uvloop when it is installed."""
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type,no-any-return]
    return asyncio.run(coro)  # type: ignore[arg-type]
