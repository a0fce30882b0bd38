"""The dashboard in a real browser: log in, chat with the real SmolLM2, administer keys."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from aicommons.testing.live import LiveServer
from aicommons.testing.standin import standin_in_thread
from tests.web.conftest import screenshot
from tests.web.pages import log_in

pytestmark = pytest.mark.slow


def test_session_cookie_is_http_only_and_strict(
    page: Any, server: LiveServer, member_key: str
) -> None:
    log_in(page, server, member_key)
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "aic_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert member_key not in page.content()
    assert member_key not in cookie["value"]


def test_wrong_key_is_refused(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.base_url}/ui/login")
    page.fill("#key", "sk-aic-wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Incorrect API key")


def test_playground_streams_an_answer_from_smollm2(
    page: Any, server: LiveServer, member_key: str
) -> None:
    log_in(page, server, member_key)
    page.fill("#max-tokens", "24")
    page.fill("#prompt", "What is the capital of France?")
    page.click("#send")
    answer = page.locator(".msg.assistant .answer-text").last
    expect(answer).not_to_be_empty(timeout=30_000)
    meta = page.locator(".msg.assistant .meta").last
    expect(meta).to_contain_text("tokens", timeout=30_000)
    expect(meta).to_contain_text(" s")
    # The meter's figure for this very answer (an estimate where no hardware meter exists).
    expect(meta).to_contain_text(re.compile(r"\d J \(.+\) · [\d.e+-]+ gCO2e"))
    screenshot(page, "playground")


def test_member_cannot_open_admin_pages(page: Any, server: LiveServer, member_key: str) -> None:
    log_in(page, server, member_key)
    expect(page.locator("nav")).not_to_contain_text("Admin")
    response = page.goto(f"{server.base_url}/ui/admin")
    assert response.status == 403
    expect(page.locator(".error")).to_contain_text("admin key")


def test_admin_creates_a_tenant_and_a_key_shown_once_then_revokes_it(
    page: Any, server: LiveServer
) -> None:
    log_in(page, server, server.admin_key, "/ui/admin")
    expect(page.locator("#models td", has_text="smollm2-135m-instruct")).to_be_visible()
    expect(page.locator(".badge.ok").first).to_have_text("healthy")
    page.fill("form[action='/ui/admin/tenants'] input[name=name]", "browser-lab")
    page.click("form[action='/ui/admin/tenants'] button")
    expect(page.locator(".flash")).to_contain_text("browser-lab")
    page.select_option("form[action='/ui/admin/keys'] select[name=tenant]", label="browser-lab")
    page.fill("form[action='/ui/admin/keys'] input[name=name]", "from-the-browser")
    page.select_option("#key-form select[name=models]", ["smollm2-135m-instruct"])
    page.fill("#key-form input[name=expires_at]", "2031-01-01")
    page.click("form[action='/ui/admin/keys'] button")
    secret = page.locator("#new-key").inner_text()
    assert secret.startswith("sk-aic-")
    with server.admin() as admin:
        (key,) = admin.get("/admin/keys", params={"tenant": "browser-lab"}).json()
    assert key["models"] == ["smollm2-135m-instruct"]
    assert key["expires_at"].startswith("2031-01-01T00:00:00")
    screenshot(page, "key-created")
    page.goto(f"{server.base_url}/ui/admin")
    assert secret not in page.content()
    row = page.locator("#keys tr", has_text="from-the-browser")
    row.locator("button.danger").click()
    expect(page.locator("#keys tr", has_text="from-the-browser")).to_contain_text("revoked")
    screenshot(page, "admin")


def test_admin_limits_show_current_values_and_models_are_added_checked_removed(
    page: Any, server: LiveServer
) -> None:
    server.create_key("limited-lab")
    with server.admin() as admin:
        admin.put("/admin/limits/tenant/limited-lab", json={"tokens_per_day": 5000})
    log_in(page, server, server.admin_key, "/ui/admin")
    page.select_option("#limits-target", label="limited-lab")
    expect(page.locator("#limits-form input[name=tokens_per_day]")).to_have_value("5000")
    expect(page.locator("#limits-form input[name=max_parallel]")).to_have_value("")
    page.fill("#limits-form input[name=max_parallel]", "3")
    page.click("#limits-form button")
    expect(page.locator(".flash")).to_contain_text("saved")
    with server.admin() as admin:
        limits = admin.get("/admin/limits/tenant/limited-lab").json()
    assert limits["tokens_per_day"] == 5000 and limits["max_parallel"] == 3

    with standin_in_thread() as standin:
        page.fill("#model-form input[name=name]", "browser-remote")
        page.select_option("#model-form select[name=engine]", "upstream")
        page.fill("#model-form textarea[name=options]", json.dumps({"url": standin.base_url}))
        page.click("#model-form button")
        expect(page.locator(".flash")).to_contain_text("browser-remote added")
        row = page.locator("#models tr[data-model=browser-remote]")
        row.locator("button.check").click()
        expect(page.locator(".flash")).to_contain_text("browser-remote is healthy")
        screenshot(page, "admin-models")
        page.locator("#models tr[data-model=browser-remote] button.remove").click()
        expect(page.locator(".flash")).to_contain_text("browser-remote removed")
    expect(page.locator("#models tr[data-model=browser-remote]")).to_have_count(0)
    page.fill("#model-form input[name=name]", "broken")
    page.fill("#model-form textarea[name=options]", "{not json")
    page.click("#model-form button")
    expect(page.locator(".flash")).to_contain_text("Options must be a JSON object")
