"""Helpers shared by the dashboard's browser tests."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from aicommons.testing.live import LiveServer


def log_in(page: Any, server: LiveServer, key: str, path: str = "/ui/playground") -> None:
    page.goto(f"{server.base_url}{path}")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(path)))
