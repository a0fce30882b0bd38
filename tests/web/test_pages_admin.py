"""Admin pages in a real browser: tenant weights, the ledger and its verification, and what a
member may not open."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from aicommons.testing.live import LiveServer
from tests.web.conftest import screenshot
from tests.web.pages import log_in

pytestmark = pytest.mark.slow

MEMBER_PAGES = ("/ui/playground", "/ui/usage", "/ui/applications", "/ui/leaderboard")


def test_admin_sets_a_tenant_weight(page: Any, server: LiveServer) -> None:
    server.create_key("weighted")
    log_in(page, server, server.admin_key, "/ui/admin")
    row = page.locator("#tenants tr[data-tenant=weighted]")
    row.locator("input[name=weight]").fill("2.5")
    row.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("weight 2.5")
    expect(page.locator("#tenants tr[data-tenant=weighted] td").nth(1)).to_have_text("2.5")
    with server.admin() as admin:
        assert admin.get("/admin/tenants/weighted").json()["weight"] == 2.5


def test_ledger_lists_records_and_verifies_the_chain(
    page: Any, server: LiveServer, member_key: str
) -> None:
    server.create_key("ledgered")  # an administrative change is on the ledger
    log_in(page, server, server.admin_key, "/ui/ledger")
    expect(page.locator("#ledger tbody tr").first).to_be_visible()
    first_seq = int(page.locator("#ledger tbody tr td").first.inner_text())
    assert first_seq >= 1
    page.click("#verify")
    result = page.locator("#verify-result")
    expect(result).to_contain_text("ok")
    count = int(result.inner_text().split("ok", 1)[1].split("records")[0])
    assert count >= first_seq  # every record up to the newest shown is intact
    screenshot(page, "ledger")


def test_member_gets_403_on_admin_and_ledger_pages(
    page: Any, server: LiveServer, member_key: str
) -> None:
    log_in(page, server, member_key)
    expect(page.locator("nav")).not_to_contain_text("Ledger")
    for path in ("/ui/admin", "/ui/ledger"):
        response = page.goto(f"{server.base_url}{path}")
        assert response.status == 403
        expect(page.locator(".error")).to_contain_text("admin key")
    screenshot(page, "forbidden")
    # A forged verification request (no CSRF token, no admin key) is refused too.
    answer = page.request.post(f"{server.base_url}/ui/ledger/verify", form={"csrf_token": "x"})
    assert answer.status == 403


def test_no_page_carries_the_key(page: Any, server: LiveServer, member_key: str) -> None:
    log_in(page, server, member_key)
    for path in MEMBER_PAGES:
        page.goto(f"{server.base_url}{path}")
        assert member_key not in page.content(), path
    log_in_admin = page.context.browser.new_context().new_page()
    try:
        log_in(log_in_admin, server, server.admin_key, "/ui/admin")
        for path in ("/ui/admin", "/ui/ledger", "/ui/usage"):
            log_in_admin.goto(f"{server.base_url}{path}")
            assert server.admin_key not in log_in_admin.content(), path
    finally:
        log_in_admin.context.close()
