"""The dashboard: server-rendered pages under /ui with a little JavaScript.

Log in with an API key; the session cookie is HttpOnly and SameSite=Strict and holds only a
random id; every form and script call carries the session's CSRF token; no secret is written into
a page except a newly created key, shown once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.templating import Jinja2Templates
from pydantic import Field
from starlette.responses import RedirectResponse, Response

from aicommons.api.schemas import Message, ModelName, StrictModel, parse_body
from aicommons.api.streaming import EventStreamResponse, sse
from aicommons.engines.base import ChatMessage, Finish, GenerationRequest, SamplingParams, TextChunk
from aicommons.errors import (
    AICommonsError,
    AuthenticationError,
    PermissionDeniedError,
)
from aicommons.gateway.auth import Principal
from aicommons.gateway.pipeline import RequestContext
from aicommons.services import Services
from aicommons.store.accounts import hash_key
from aicommons.web.sessions import COOKIE, FLASH_COOKIE, Session, SessionStore

router = APIRouter(prefix="/ui", include_in_schema=False)


class LoginRequiredError(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True, slots=True)
class WebUser:
    session: Session
    principal: Principal


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def templates_of(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


async def optional_user(request: Request) -> WebUser | None:
    session = await sessions_of(request).get(request.cookies.get(COOKIE))
    if session is None:
        return None
    try:
        principal = await services_of(request).authenticator.authenticate_hash(session.key_hash)
    except AuthenticationError:
        # The key was revoked or expired: end the session.
        await sessions_of(request).end(session.id)
        return None
    return WebUser(session, principal)


async def logged_in(request: Request) -> WebUser:
    user = await optional_user(request)
    if user is None:
        raise LoginRequiredError(request.url.path)
    return user


async def admin_user(request: Request) -> WebUser:
    user = await logged_in(request)
    if not user.principal.is_admin:
        raise PermissionDeniedError("This page needs an admin key.", code="admin_required")
    return user


UserDep = Annotated[WebUser, Depends(logged_in)]
AdminUserDep = Annotated[WebUser, Depends(admin_user)]
MaybeUserDep = Annotated[WebUser | None, Depends(optional_user)]


def check_csrf(user: WebUser, token: str | None) -> None:
    if not user.session.csrf_ok(token):
        raise PermissionDeniedError(
            "The form's security token is missing or stale; reload the page."
        )


def render(
    request: Request,
    template: str,
    user: WebUser | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    flash = request.cookies.get(FLASH_COOKIE) if user is not None else None
    response = templates_of(request).TemplateResponse(
        request,
        template,
        {"user": user, "flash": unquote(flash) if flash else None, "path": request.url.path}
        | context,
        status_code=status_code,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/ui")
    return response


def redirect_with_flash(path: str, message: str) -> Response:
    """A redirect whose next page shows ``message`` once."""
    response = RedirectResponse(path, status_code=303)
    response.set_cookie(
        FLASH_COOKIE, quote(message[:500]), max_age=60, httponly=True, samesite="strict", path="/ui"
    )
    return response


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    return urlparse(origin).netloc == request.headers.get("host")


# -- login ---------------------------------------------------------------------------------


@router.get("/login")
async def login_page(
    request: Request, user: MaybeUserDep, next: str = "/ui/playground"
) -> Response:
    return render(request, "login.html", user, next=_safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request, key: Annotated[str, Form()], next: Annotated[str, Form()] = "/ui/playground"
) -> Response:
    if not _same_origin(request):
        raise PermissionDeniedError("Log in from this site's own login page.")
    try:
        await services_of(request).authenticator.authenticate(key.strip())
    except AuthenticationError as exc:
        return render(request, "login.html", None, next=_safe_next(next), error=exc.message)
    session = await sessions_of(request).create(hash_key(key.strip()))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _safe_next(path: str) -> str:
    return path if path.startswith("/ui/") and not path.startswith("//") else "/ui/playground"


@router.post("/logout")
async def logout(request: Request, user: UserDep, csrf_token: Annotated[str, Form()]) -> Response:
    check_csrf(user, csrf_token)
    await sessions_of(request).end(user.session.id)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/ui/playground", status_code=303)


# -- playground ----------------------------------------------------------------------------


@router.get("/playground")
async def playground(request: Request, user: UserDep) -> Response:
    gateway = services_of(request).gateway
    models = sorted(n for n, e in gateway.visible_models(user.principal).items() if e.can_chat)
    return render(request, "playground.html", user, models=models)


class PlaygroundChat(StrictModel):
    """What the playground's script sends."""

    model: ModelName
    messages: Annotated[list[Message], Field(min_length=1, max_length=500)]
    max_tokens: Annotated[int, Field(ge=1, le=4096)] = 256


@router.post("/api/chat")
async def playground_chat(request: Request, user: UserDep) -> Response:
    """Stream one answer for the playground, through the same pipeline as the API."""
    check_csrf(user, request.headers.get("x-csrf-token"))
    body = parse_body(PlaygroundChat, await request.body())
    messages = tuple(m.to_chat_message() for m in body.messages)
    ctx = RequestContext(principal=user.principal, model=body.model, kind="chat")
    request_ = GenerationRequest(
        ctx.model, SamplingParams(max_tokens=body.max_tokens), messages=messages
    )
    events = services_of(request).gateway.stream(ctx, request_)
    return EventStreamResponse(_playground_events(ctx, events, messages))


async def _playground_events(
    ctx: RequestContext, events: AsyncGenerator[Any, None], messages: tuple[ChatMessage, ...]
) -> AsyncGenerator[bytes, None]:
    started = time.perf_counter()
    usage: dict[str, int] | None = None
    try:
        async for event in events:
            if isinstance(event, TextChunk):
                yield sse({"delta": event.text})
            elif isinstance(event, Finish):
                usage = event.usage.to_dict()
        seconds = time.perf_counter() - started
        yield sse(
            {
                "done": True,
                "usage": usage,
                "seconds": round(seconds, 3),
                "energy": ctx.annotations.get("energy"),
            }
        )
    except AICommonsError as exc:
        yield sse(exc.to_dict())
    finally:
        await events.aclose()
