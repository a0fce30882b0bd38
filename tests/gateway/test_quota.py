"""Budgets and rate limits: the pure book, and the live platform under concurrency."""

from __future__ import annotations

import asyncio
import secrets

import httpx
import pytest

from aicommons.errors import RateLimitError
from aicommons.gateway.quota import Account, QuotaBook, check
from aicommons.store.usage import Limits
from aicommons.testing.live import LiveServer

MODEL = "smollm2-135m-instruct"


def account(used_day: int = 0) -> Account:
    return Account(day="2026-11-29", month="2026-11", used_day=used_day, used_month=used_day)


def test_reservations_count_against_the_daily_budget() -> None:
    book = QuotaBook()
    book.accounts[("tenant", "t")] = account(used_day=60)
    wanted = [("tenant", "t", Limits(tokens_per_day=100))]
    first = book.reserve(wanted, 30, now=0.0)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError) as refused:
        book.reserve(wanted, 30, now=0.0)  # type: ignore[arg-type]
    assert refused.value.code == "insufficient_quota"
    assert "Retry-After" in refused.value.headers
    book.settle(first, used=5)  # the request used less than it reserved
    assert book.accounts[("tenant", "t")].used_day == 65
    book.reserve(wanted, 30, now=0.0)  # type: ignore[arg-type]


def test_a_refusal_on_one_account_reserves_on_none() -> None:
    book = QuotaBook()
    book.accounts[("tenant", "t")] = account()
    book.accounts[("key", "k")] = account(used_day=99)
    wanted = [
        ("tenant", "t", Limits(tokens_per_day=1000)),
        ("key", "k", Limits(tokens_per_day=100)),
    ]
    with pytest.raises(RateLimitError):
        book.reserve(wanted, 10, now=0.0)  # type: ignore[arg-type]
    assert book.accounts[("tenant", "t")].reserved == 0


def test_requests_per_minute_slide_with_time() -> None:
    acc, limits = account(), Limits(requests_per_minute=2)
    book = QuotaBook()
    book.accounts[("key", "k")] = acc
    wanted = [("key", "k", limits)]
    for now in (0.0, 10.0):
        book.settle(book.reserve(wanted, 1, now), 1)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError) as refused:
        check(acc, limits, 1, "key", now=30.0)
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers["Retry-After"] == "30"
    check(acc, limits, 1, "key", now=60.5)  # the first one left the window


def test_tokens_per_minute_count_real_usage_after_settling() -> None:
    acc, limits = account(), Limits(tokens_per_minute=100)
    book = QuotaBook()
    book.accounts[("key", "k")] = acc
    reservation = book.reserve([("key", "k", limits)], 90, 0.0)  # type: ignore[list-item]
    with pytest.raises(RateLimitError):
        check(acc, limits, 20, "key", now=1.0)
    book.settle(reservation, 10)
    check(acc, limits, 20, "key", now=1.0)


def test_max_parallel() -> None:
    acc, limits = account(), Limits(max_parallel=1)
    book = QuotaBook()
    book.accounts[("key", "k")] = acc
    held = book.reserve([("key", "k", limits)], 1, 0.0)  # type: ignore[list-item]
    with pytest.raises(RateLimitError) as refused:
        check(acc, limits, 1, "key", 0.0)
    assert refused.value.code == "too_many_parallel_requests"
    book.settle(held, 1)
    check(acc, limits, 1, "key", 0.0)


# -- live ---------------------------------------------------------------------------------


def new_tenant_key(server: LiveServer) -> tuple[str, str]:
    tenant = f"quota-{secrets.token_hex(3)}"
    return tenant, server.create_key(tenant)


def body(max_tokens: int = 4) -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": max_tokens,
    }


async def fire(server: LiveServer, key: str, n: int, stream: bool = False) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=120) as client:
        return await asyncio.gather(
            *(
                client.post("/v1/chat/completions", json={**body(), "stream": stream})
                for _ in range(n)
            )
        )


@pytest.mark.slow
async def test_100_concurrent_requests_never_overshoot_a_small_budget(server: LiveServer) -> None:
    tenant, key = new_tenant_key(server)
    budget = 600
    with server.admin() as admin:
        set_limits = admin.put(f"/admin/limits/tenant/{tenant}", json={"tokens_per_day": budget})
        assert set_limits.status_code == 200
    responses = await fire(server, key, 100)
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(refused) == 100
    assert ok and refused
    assert refused[0].json()["error"]["code"] == "insufficient_quota"
    assert int(refused[0].headers["retry-after"]) > 0
    used = sum(r.json()["usage"]["total_tokens"] for r in ok)
    assert used <= budget
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
        report = (await client.get("/v1/usage")).json()
    assert sum(r["total_tokens"] for r in report["data"]) == used
    assert sum(r["requests"] for r in report["data"]) == len(ok)
    (tenant_budget,) = [b for b in report["budgets"] if b["scope"] == "tenant"]
    assert tenant_budget["left"]["tokens_today"] == budget - used


@pytest.mark.slow
async def test_key_limits_apply_to_that_key_only(server: LiveServer) -> None:
    tenant, limited = new_tenant_key(server)
    free = server.create_key(tenant)
    with server.admin() as admin:
        key_id = admin.get("/admin/keys", params={"tenant": tenant}).json()[0]["id"]
        admin.put(f"/admin/limits/key/{key_id}", json={"requests_per_minute": 2}).raise_for_status()
    keys = {k["id"]: k for k in server.admin().get("/admin/keys", params={"tenant": tenant}).json()}
    assert key_id in keys
    first_key = limited if keys[key_id]["prefix"] in limited else free
    other_key = free if first_key is limited else limited
    limited_results = [r.status_code for r in await fire(server, first_key, 4)]
    assert sorted(limited_results) == [200, 200, 429, 429]
    assert [r.status_code for r in await fire(server, other_key, 3)] == [200, 200, 200]


@pytest.mark.slow
def test_usage_is_private_to_its_tenant(server: LiveServer) -> None:
    _, key_a = new_tenant_key(server)
    tenant_b, _ = new_tenant_key(server)
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {key_a}"}
    ) as client:
        client.post("/v1/chat/completions", json=body(2)).raise_for_status()
        mine = client.get("/v1/usage").json()["data"]
        assert {r["tenant_id"] for r in mine} == {mine[0]["tenant_id"]}
        other = client.get("/v1/usage", params={"tenant": tenant_b})
        assert other.status_code == 404
        assert other.json()["error"]["param"] == "tenant"
        bad = client.get("/v1/usage", params={"start": "yesterday"})
        assert bad.status_code == 400
    with server.admin() as admin:
        everyone = admin.get("/v1/usage").json()["data"]
        assert len({r["tenant_id"] for r in everyone}) >= 2


@pytest.mark.slow
def test_metrics_show_pools_tokens_and_rejections(server: LiveServer) -> None:
    tenant, key = new_tenant_key(server)
    with server.admin() as admin:
        admin.put(f"/admin/limits/tenant/{tenant}", json={"tokens_per_day": 1}).raise_for_status()
    with httpx.Client(
        base_url=server.base_url, headers={"authorization": f"Bearer {key}"}
    ) as client:
        assert client.post("/v1/chat/completions", json=body()).status_code == 429
        assert client.get("/metrics").status_code == 403
    with server.admin() as admin:
        text = admin.get("/metrics").text
    assert f'aicommons_pool_in_flight{{pool="{MODEL}"}}' in text
    assert f'aicommons_pool_queue_length{{pool="{MODEL}"}}' in text
    assert (
        f'aicommons_rejections_total{{reason="insufficient_quota",tenant="{tenant}"}} 1.0' in text
    )
    assert "aicommons_time_to_first_token_seconds_bucket" in text
    assert 'aicommons_tokens_total{direction="output"' in text
