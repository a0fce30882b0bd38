"""The leaderboard and usage pages in a real browser, over data stored as the evaluation
harness, the energy benchmark and the gateway store it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from aicommons.openness.records import OpennessRecord
from aicommons.store.database import Database
from aicommons.store.evaluation import EvalStore
from aicommons.store.openness import OpennessStore
from aicommons.testing.live import LiveServer
from tests.web.conftest import screenshot
from tests.web.pages import log_in

pytestmark = pytest.mark.slow

SERVED = "smollm2-135m-instruct"
OTHER = "reference-model-b"  # evaluated elsewhere, not served here


async def _seed(url: str) -> None:
    """Two evaluated and measured models: the served one is cheaper, the other better."""
    db = Database(url)
    try:
        for model, acc, stderr, joules in ((SERVED, 0.31, 0.013, 1.8), (OTHER, 0.55, 0.012, 9.0)):
            await EvalStore(db).add_run(
                model=model,
                engine="llamacpp",
                task="arc_easy",
                task_version="1",
                settings={"num_fewshot": 0, "limit": 200},
                metrics={"acc": {"value": acc, "stderr": stderr}, "acc_norm": {"value": acc}},
                num_items=200,
                num_requests=800,
                num_cached=0,
                duration_s=12.0,
                items_per_s=16.7,
            )
            await OpennessStore(db).save_energy(
                model,
                joules_per_query=joules,
                tokens_per_s=40.0,
                output_tokens_per_query=32.0,
                num_queries=50,
                method="estimate_cpu_time_x_tdp(4 W/core)",
                grid_country="FR",
                grid_g_per_kwh=56.0,
            )
        await OpennessStore(db).save([_openness_record()])
    finally:
        await db.close()


def _openness_record() -> OpennessRecord:
    return OpennessRecord(
        model=SERVED,
        source="mof",
        record_name="SmolLM2-135M-Instruct",
        producer="Hugging Face",
        origin=None,
        base_model="SmolLM2-135M",
        licence="Apache-2.0",
        mof_class=3,
        mof_label="Class III - Open Model",
        osai_score=None,
        osaid={"passes": False, "missing": ["training code"]},
        components={
            "model_parameters_final": {"licence": "Apache-2.0", "open": True},
            "training_code": {"licence": None, "open": False},
        },
    )


@pytest.fixture(scope="module")
def seeded(server: LiveServer) -> LiveServer:
    # Playwright's sync API keeps an event loop on this thread: seed from another one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _seed(server.settings.resolved_database_url)).result()
    return server


def test_leaderboard_chart_and_table_without_login(page: Any, seeded: LiveServer) -> None:
    page.goto(f"{seeded.base_url}/ui/leaderboard")
    chart = page.locator("#leaderboard-chart svg")
    expect(chart).to_be_visible()
    expect(chart.locator("circle")).to_have_count(2)
    expect(chart.locator("polyline.front")).to_have_count(1)  # both are Pareto-optimal
    table = page.locator("#leaderboard")
    expect(table.locator("tbody tr").first).to_contain_text(OTHER)  # best capability first
    expect(table.locator("tr", has_text=SERVED)).to_contain_text("± 0.013")
    expect(table.locator("tr", has_text=SERVED)).to_contain_text("Apache-2.0")
    page.click("#leaderboard th:text('Wh /1k q')")  # sort by energy: the frugal one first
    expect(table.locator("tbody tr").first).to_contain_text(SERVED)
    screenshot(page, "leaderboard")

    page.click(f"#leaderboard a:text('{SERVED}')")
    expect(page.locator("h1")).to_have_text(SERVED)
    expect(page.locator("#licence")).to_have_text("Apache-2.0")
    # Other tests of the session may have filed more openness records for this model.
    seeded_record = page.locator("table.openness").filter(has_text="training code")
    expect(seeded_record).to_have_count(1)
    expect(page.locator("table.metrics").first).to_contain_text("0.0130")
    expect(page.locator("main")).to_contain_text('"num_fewshot": 0')
    screenshot(page, "leaderboard-model")


def test_usage_page_charts_tokens_after_a_request(
    page: Any, server: LiveServer, member_key: str
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        answer = client.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {member_key}"},
            json={
                "model": SERVED,
                "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 8,
            },
        )
    assert answer.status_code == 200, answer.text
    tokens = answer.json()["usage"]["total_tokens"]
    log_in(page, server, member_key, "/ui/usage")
    expect(page.locator("#usage-chart svg polyline")).to_have_count(1)
    row = page.locator("#usage tbody tr", has_text=SERVED).first
    expect(row).to_be_visible()
    expect(page.locator("#totals")).to_contain_text("gCO2e")
    assert int(page.locator("#totals strong").first.inner_text().replace(",", "")) >= tokens
    expect(page.locator("#tenant")).to_have_count(0)  # a member cannot pick another tenant
    screenshot(page, "usage")


def test_admin_picks_a_tenant_and_sees_its_budget(page: Any, server: LiveServer) -> None:
    server.create_key("budgeted")
    log_in(page, server, server.admin_key, "/ui/admin")
    form = page.locator("#limits-form")
    form.locator("select[name=target]").select_option(label="budgeted")
    form.locator("input[name=tokens_per_day]").fill("5000")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Limits")
    expect(page.locator("#tenants tr[data-tenant=budgeted]")).to_contain_text(
        "tokens per day 5,000"
    )
    with server.admin() as admin:
        assert admin.get("/admin/limits/tenant/budgeted").json()["tokens_per_day"] == 5000

    key_option = form.locator("option", has_text="(budgeted, key_")
    key_target = key_option.get_attribute("value")
    form.locator("select[name=target]").select_option(key_target)
    form.locator("input[name=requests_per_minute]").fill("7")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("Limits of key")
    with server.admin() as admin:
        key_limits = admin.get(f"/admin/limits/key/{key_target.removeprefix('key:')}").json()
    assert key_limits["requests_per_minute"] == 7 and key_limits["tokens_per_day"] is None

    page.goto(f"{server.base_url}/ui/usage")
    page.select_option("#tenant", label="budgeted")
    page.click("form[action='/ui/usage'] button")
    expect(page.locator("h1")).to_contain_text("budgeted")
    expect(page.locator("#budgets")).to_contain_text("5,000")
    expect(page.locator("#budgets")).to_contain_text("requests per minute 7")
    screenshot(page, "usage-admin")
