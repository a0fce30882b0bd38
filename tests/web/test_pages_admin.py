"""Admin pages in a real browser: tenant weights, the ledger and its verification, and what a
member may not open."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from aicommons.store.database import Database
from aicommons.store.ledger import LedgerRow
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
    row.locator("form.weight button").click()
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


async def _swap_payload(url: str, seq: int, payload: dict[str, Any] | None) -> dict[str, Any]:
    """Replace a record's payload behind the platform's back; return the one it had."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            query = select(LedgerRow.payload).where(LedgerRow.seq == seq)
            old = dict((await conn.execute(query)).scalar_one())
            if payload is not None:
                await conn.execute(
                    update(LedgerRow).where(LedgerRow.seq == seq).values(payload=payload)
                )
        return old
    finally:
        await db.close()


def swap_payload(server: LiveServer, seq: int, payload: dict[str, Any] | None) -> dict[str, Any]:
    # Playwright's sync API keeps an event loop on this thread: use the database from another.
    url = server.settings.resolved_database_url
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _swap_payload(url, seq, payload)).result()


def test_verify_names_the_first_broken_record(page: Any, server: LiveServer) -> None:
    server.create_key("tampered")  # at least one record
    log_in(page, server, server.admin_key, "/ui/ledger")
    original = swap_payload(server, 1, {"action": "nothing happened"})
    try:
        page.click("#verify")
        result = page.locator("#verify-result")
        expect(result).to_contain_text("broken")
        expect(result).to_contain_text("seq 1 (hash mismatch)")
        screenshot(page, "ledger-broken")
    finally:
        swap_payload(server, 1, original)  # the live platform is shared by later tests
    page.click("#verify")
    expect(page.locator("#verify-result")).to_contain_text("ok")


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
