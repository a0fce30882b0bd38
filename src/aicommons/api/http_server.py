"""uvicorn's HTTP protocol with a deadline for request heads, and the options to run it.

uvicorn bounds the idle time between kept-alive requests but not the time a client takes to
send a request's head: a client that connects and trickles a header a minute holds a
connection for ever. Here the head must be complete within ``header_timeout_s`` of the
connection (or of the request's first byte); then the client gets a 408 and is dropped. The
body has its own deadline in `RequestGuardMiddleware`.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aicommons.config import Settings

_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_TIMEOUT_BODY = (
    b'{"error":{"message":"The request head did not arrive in time.",'
    b'"type":"invalid_request_error","param":null,"code":"request_timeout"}}'
)


class HeadDeadlineProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` that drops a client whose request head is late."""

    header_timeout_s: ClassVar[float] = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        # Worker processes get the deadline through their (pickled) config; see `run_workers`.
        deadline = getattr(self.config, "header_timeout_s", None) or self.header_timeout_s
        self._head_timer = self.loop.call_later(deadline, self._head_is_late)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_is_late(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        self.transport.write(_TIMEOUT_ANSWER % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` / `uvicorn.run` that bound slow clients."""
    protocol = type(
        "HeadDeadlineProtocol",
        (HeadDeadlineProtocol,),
        {"header_timeout_s": settings.header_read_timeout_s},
    )
    return {"http": protocol, "timeout_keep_alive": 5}


def run_workers(settings: Settings, app: str) -> None:
    """Serve ``app`` (an import string of an app factory) from ``settings.workers`` processes
    sharing one listening socket, under uvicorn's supervisor, which restarts a worker that dies.
    """
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(
        app,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        loop="uvloop",
        access_log=False,
        http=HeadDeadlineProtocol,
        timeout_keep_alive=5,
    )
    config.header_timeout_s = settings.header_read_timeout_s  # type: ignore[attr-defined]
    Multiprocess(config, sockets=[config.bind_socket()]).run()
