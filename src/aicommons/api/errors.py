"""OpenAI-format error responses for the whole app, including its unexpected errors."""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aicommons.errors import AICommonsError, InvalidRequestError

logger = logging.getLogger(__name__)


def error_response(error: AICommonsError) -> Response:
    return Response(
        content=orjson.dumps(error.to_dict()),
        status_code=error.status_code,
        media_type="application/json",
        headers=error.headers,
    )


def _http_error(status: int, detail: str) -> AICommonsError:
    error = AICommonsError(detail)
    error.status_code = status
    error.error_type = {404: "not_found_error", 405: "invalid_request_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    return error


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/ui/") and not path.startswith(("/ui/api/", "/ui/static/"))


def error_page(request: Request, error: AICommonsError) -> Response:
    """Dashboard pages show errors as HTML, not as API JSON."""
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "error.html",
        {
            "user": None,
            "flash": None,
            "path": request.url.path,
            "status": error.status_code,
            "message": error.message,
        },
        status_code=error.status_code,
    )
    return response


def install_error_handlers(app: FastAPI) -> None:
    async def on_platform_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AICommonsError)
        if _is_page(request):
            return error_page(request, exc)
        return error_response(exc)

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        return error_response(
            InvalidRequestError(
                f"Invalid value for '{param}': {first['msg']}.", param=param or None
            )
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = _http_error(exc.status_code, str(exc.detail))
        error.headers = dict(exc.headers or {})  # e.g. Allow on a 405
        return error_page(request, error) if _is_page(request) else error_response(error)

    app.add_exception_handler(AICommonsError, on_platform_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


class UnexpectedErrorMiddleware:
    """Answers an unhandled exception with a 500 in OpenAI format and keeps the connection.

    Starlette's own last-resort handler re-raises after answering, and uvicorn then drops the
    kept-alive connection, so a client's next request on it would fail. An error after the
    answer has started cannot be answered; it is re-raised and the connection closes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            if started:
                raise
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            error = AICommonsError("The server had an error while processing your request.")
            await error_response(error)(scope, receive, send)
