"""The same budget and rate-limit behaviour from both places the accounts can live: this
process (`LocalQuota`) and Redis (`RedisQuota`, shared by every replica)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from aicommons.errors import RateLimitError
from aicommons.gateway.quota import LocalQuota, QuotaBackend, Wanted
from aicommons.gateway.usage import UsageRecorder
from aicommons.shared.quota import RedisQuota
from aicommons.shared.store import SharedStore
from aicommons.store.database import Database
from aicommons.store.usage import Limits, UsageDelta, UsageStore
from tests.conftest import PG_URL, REDIS_URL, SHARED_NEEDS_PG


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    backend: QuotaBackend
    usage: UsageStore
    clock: Clock
    make_replica: object = None


async def seed_usage(usage: UsageStore, tenant: str, tokens: int) -> None:
    day = datetime.now(UTC).date().isoformat()
    await usage.add({(day, tenant, "key_x", "m"): UsageDelta(requests=1, prompt_tokens=tokens)})


@pytest.fixture(params=["local", "redis"])
async def env(
    request: pytest.FixtureRequest, database: Database, redis_prefix: str
) -> AsyncIterator[Env]:
    usage = UsageStore(database)
    recorder = UsageRecorder(usage)
    clock = Clock()
    if request.param == "local":
        yield Env(LocalQuota(usage, recorder, clock), usage, clock)
        return
    if not PG_URL:
        pytest.skip(SHARED_NEEDS_PG)
    stores: list[SharedStore] = []

    def replica() -> RedisQuota:
        store = SharedStore(REDIS_URL, redis_prefix)
        stores.append(store)
        return RedisQuota(store, usage, recorder, lease_s=10, clock=clock)

    try:
        yield Env(replica(), usage, clock, replica)
    finally:
        for store in stores:
            await store.close()


def tenant(limits: Limits, name: str = "ten_a") -> list[Wanted]:
    return [("tenant", name, limits)]


async def test_reservations_count_against_the_daily_budget(env: Env) -> None:
    await seed_usage(env.usage, "ten_a", 60)
    wanted = tenant(Limits(tokens_per_day=100))
    first = await env.backend.reserve("req_1", wanted, 30)
    with pytest.raises(RateLimitError) as refused:
        await env.backend.reserve("req_2", wanted, 30)
    assert refused.value.code == "insufficient_quota"
    assert "60 used, 30 reserved in flight" in refused.value.message
    assert "Retry-After" in refused.value.headers
    await env.backend.settle(first, 5)  # the request used less than it reserved
    await env.backend.reserve("req_3", wanted, 30)
    with pytest.raises(RateLimitError, match="65 used"):
        await env.backend.reserve("req_4", wanted, 10)


async def test_a_refusal_on_one_account_reserves_on_none(env: Env) -> None:
    wanted: list[Wanted] = [
        ("tenant", "ten_b", Limits(tokens_per_day=1000)),
        ("key", "key_b", Limits(tokens_per_day=10)),
    ]
    with pytest.raises(RateLimitError):
        await env.backend.reserve("req_1", wanted, 20)
    # Nothing was reserved on the tenant: its whole budget is still there.
    await env.backend.reserve("req_2", tenant(Limits(tokens_per_day=1000), "ten_b"), 1000)


async def test_requests_per_minute_slide_with_time(env: Env) -> None:
    wanted = tenant(Limits(requests_per_minute=2), "ten_c")
    start = env.clock.now
    for i, at in enumerate((0.0, 10.0)):
        env.clock.now = start + at
        await env.backend.settle(await env.backend.reserve(f"req_{i}", wanted, 1), 1)
    env.clock.now = start + 30.0
    with pytest.raises(RateLimitError) as refused:
        await env.backend.reserve("req_x", wanted, 1)
    assert refused.value.code == "rate_limit_exceeded"
    assert refused.value.headers["Retry-After"] == "30"
    env.clock.now = start + 60.5  # the first one left the window
    await env.backend.reserve("req_y", wanted, 1)


async def test_tokens_per_minute_count_real_usage_after_settling(env: Env) -> None:
    wanted = tenant(Limits(tokens_per_minute=100), "ten_d")
    big = await env.backend.reserve("req_1", wanted, 90)
    with pytest.raises(RateLimitError):
        await env.backend.reserve("req_2", wanted, 20)
    await env.backend.settle(big, 10)  # reserved 90, used 10
    await env.backend.reserve("req_3", wanted, 80)


async def test_max_parallel(env: Env) -> None:
    wanted = tenant(Limits(max_parallel=2), "ten_e")
    first = await env.backend.reserve("req_1", wanted, 1)
    await env.backend.reserve("req_2", wanted, 1)
    with pytest.raises(RateLimitError) as refused:
        await env.backend.reserve("req_3", wanted, 1)
    assert refused.value.code == "too_many_parallel_requests"
    await env.backend.settle(first, 1)
    await env.backend.reserve("req_4", wanted, 1)


async def test_concurrent_reservations_never_overshoot(env: Env) -> None:
    replicas = [env.backend]
    if env.make_replica is not None:  # in Redis, three replicas draw on one budget
        replicas += [env.make_replica(), env.make_replica()]  # type: ignore[operator]
    wanted = tenant(Limits(tokens_per_day=1000), "ten_f")

    async def one(i: int) -> bool:
        backend = replicas[i % len(replicas)]
        try:
            reservation = await backend.reserve(f"req_{i}", wanted, 20)
        except RateLimitError:
            return False
        await asyncio.sleep(0)
        await backend.settle(reservation, 20)
        return True

    admitted = sum(await asyncio.gather(*(one(i) for i in range(300))))
    assert admitted == 50  # 1000 / 20, exactly: none over, none lost


async def test_a_dead_replicas_reservations_expire_with_its_lease(env: Env) -> None:
    if env.make_replica is None:
        pytest.skip("leases exist only in shared mode")
    wanted = tenant(Limits(max_parallel=1, tokens_per_day=100), "ten_g")
    await env.backend.reserve("req_dead", wanted, 100)  # its replica dies: never settled
    survivor = env.make_replica()  # type: ignore[operator]
    with pytest.raises(RateLimitError):
        await survivor.reserve("req_1", wanted, 1)
    env.clock.now += 10.5  # past the lease
    reservation = await survivor.reserve("req_2", wanted, 100)
    await survivor.settle(reservation, 7)
    await survivor.settle(reservation, 7)  # a retried settlement is not charged twice
    with pytest.raises(RateLimitError, match="7 used"):
        await survivor.reserve("req_3", wanted, 94)
