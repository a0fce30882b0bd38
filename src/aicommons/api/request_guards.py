"""Checks every request passes before any route sees it: a bounded body, read in bounded
time, and no NUL character in the path, the query or the body.

The body is read whole here (it is small: `max_body_bytes`) and handed to the app unchanged,
so each check runs once, whichever route, form or JSON parser reads the body later. NUL is
refused everywhere because no text field of the platform may hold one (PostgreSQL cannot
store it in text) and nothing the API takes is binary.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aicommons.errors import AICommonsError, InvalidRequestError, PayloadTooLargeError

# A JSON escape for NUL: \u0000 preceded by an even number of backslashes (an odd number
# would make it the literal text "\u0000", which is allowed).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class RequestTimeoutError(AICommonsError):
    """The client did not send its request in time (408); the connection is closed."""

    status_code = 408
    error_type = "invalid_request_error"


def _error_sender(error: AICommonsError, close: bool) -> Callable[[Send], Awaitable[None]]:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    body = orjson.dumps(error.to_dict())

    async def send_it(send: Send) -> None:
        await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return send_it


def nul_in_target(scope: Scope) -> str | None:
    """The part of the request line that holds a NUL (decoded or percent-encoded), if any."""
    if "\x00" in scope["path"] or b"%00" in scope.get("raw_path", b""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


def nul_in_body(body: bytes, content_type: bytes) -> bool:
    """Whether ``body`` carries a NUL character, in the encoding its content type implies."""
    if b"\x00" in body:
        return True
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return b"%00" in body
    return b"\\u0000" in body and _JSON_NUL.search(body) is not None


class RequestGuardMiddleware:
    """Refuses, before routing: a body over ``max_bytes`` (413), a body not received within
    ``body_timeout_s`` (408, connection closed) and any NUL character (400)."""

    def __init__(self, app: ASGIApp, max_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = nul_in_target(scope)
        if where is not None:
            refusal = InvalidRequestError(
                f"The request {where} holds a NUL character (%00); remove it.",
                param=where,
                code="invalid_characters",
            )
            await _error_sender(refusal, close=False)(send)
            return
        try:
            body = await self._read_body(scope, receive)
        except AICommonsError as exc:
            await _error_sender(exc, close=True)(send)
            return
        if body is None:  # the client left before sending its body
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        if nul_in_body(body, content_type):
            refusal = InvalidRequestError(
                "The request body holds a NUL character (\\u0000); no field accepts one.",
                code="invalid_characters",
            )
            await _error_sender(refusal, close=False)(send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise self._too_large()
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large()
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        return parts[0] if len(parts) == 1 else b"".join(parts)
        except TimeoutError:
            raise RequestTimeoutError(
                f"The request body did not arrive within {self.body_timeout_s:g} s.",
                code="request_timeout",
            ) from None

    def _too_large(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(
            f"The request body is larger than the limit of {self.max_bytes} bytes.",
            code="request_too_large",
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then whatever the client sends next."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
