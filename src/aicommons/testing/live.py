"""Run a whole platform on 127.0.0.1 in a background thread, for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from aicommons.api.http_server import uvicorn_options
from aicommons.app import create_app
from aicommons.config import Settings

TEST_ADMIN_KEY = "sk-aic-test-admin-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A started platform: its URL, its admin key and small helpers to provision it."""

    def __init__(self, settings: Settings, server: Any, thread: threading.Thread) -> None:
        self.settings = settings
        self.base_url = f"http://{settings.host}:{settings.port}"
        self.admin_key = settings.admin_key or TEST_ADMIN_KEY
        self._server = server
        self._thread = thread

    @property
    def app(self) -> Any:
        return self._server.config.app

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {self.admin_key}"},
            timeout=60,
        )

    def create_key(self, tenant: str, **key_fields: Any) -> str:
        """Make the tenant if needed and return a new key's secret."""
        with self.admin() as admin:
            response = admin.post("/admin/tenants", json={"name": tenant})
            if response.status_code not in (201, 409):
                response.raise_for_status()
            created = admin.post("/admin/keys", json={"tenant": tenant, **key_fields})
            created.raise_for_status()
            return str(created.json()["key"])

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(60)


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Start uvicorn with ``create_app(settings)``; stop it on exit."""
    import uvicorn

    if settings.admin_key is None:
        settings = settings.model_copy(update={"admin_key": TEST_ADMIN_KEY})
    if settings.port in (0, 8000):
        settings = settings.model_copy(update={"port": free_port()})
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=5,
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=f"aicommons-{settings.port}")
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server failed to start; see the log above")
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not start within 120 s")
        time.sleep(0.05)
    live = LiveServer(settings, server, thread)
    try:
        yield live
    finally:
        live.stop()
