"""The app factory: `create_app(settings)` builds a FastAPI app with its own services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from aicommons.api import (
    admin_routes,
    governance_routes,
    leaderboard_routes,
    ledger_routes,
    openai_routes,
    usage_routes,
)
from aicommons.api.errors import UnexpectedErrorMiddleware, install_error_handlers
from aicommons.api.openapi import install_openapi
from aicommons.api.request_guards import RequestGuardMiddleware
from aicommons.api.streaming import ClientDisconnectedError
from aicommons.config import Settings
from aicommons.services import Services
from aicommons.web import pages, pages_admin, pages_data, pages_governance
from aicommons.web.security_headers import SecurityHeadersMiddleware
from aicommons.web.sessions import SessionStore

WEB = Path(__file__).parent / "web"


def create_app(
    settings: Settings | None = None, announce_admin_key: Callable[[str], None] | None = None
) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await Services.start(settings, announce_admin_key)
        app.state.services = services
        app.state.sessions = SessionStore(services.db)
        try:
            yield
        finally:
            await services.close()

    app = FastAPI(
        title="AI Commons",
        summary="Fair, governed and measured access to open-weight models.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    async def on_client_gone(_: Request, __: Exception) -> Response:
        return Response(status_code=499)  # nginx's "client closed request"; nobody reads it

    app.add_exception_handler(ClientDisconnectedError, on_client_gone)
    app.include_router(openai_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(governance_routes.router)
    app.include_router(ledger_routes.router)
    app.include_router(leaderboard_routes.router)
    install_dashboard(app)

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> Response:
        """200 when this replica and what it depends on answer; 503 naming what does not."""
        report = await request.app.state.services.health()
        status = 200 if report["status"] == "ok" else 503
        return Response(orjson.dumps(report), status, media_type="application/json")

    # The last added runs first: unexpected errors are caught around everything else.
    app.add_middleware(
        RequestGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_read_timeout_s,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(UnexpectedErrorMiddleware)
    install_openapi(app)
    return app


def install_dashboard(app: FastAPI) -> None:
    """The web dashboard under /ui: pages, static files, sessions, HTML errors."""
    app.state.templates = Jinja2Templates(directory=WEB / "templates")
    app.mount("/ui/static", StaticFiles(directory=WEB / "static"), name="static")
    for router in (pages.router, pages_admin.router, pages_data.router, pages_governance.router):
        app.include_router(router)

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, pages.LoginRequiredError)
        return RedirectResponse(f"/ui/login?next={exc.next_path}", status_code=303)

    app.add_exception_handler(pages.LoginRequiredError, to_login)

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/ui/playground", status_code=303)
