"""The fair dispatcher in front of an engine that paces its tokens (no HTTP, real asyncio),
with the pool in this process and, in shared mode, in Redis (the same behaviour from both)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import pytest

from aicommons.engines.base import (
    Engine,
    Finish,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    StreamEvent,
    TextChunk,
    Usage,
)
from aicommons.errors import RateLimitError
from aicommons.gateway.auth import Principal
from aicommons.gateway.dispatch import FairDispatcher, SchedulerSettings
from aicommons.gateway.pipeline import RequestContext
from aicommons.shared.fairness import SharedScheduler
from aicommons.shared.store import SharedStore
from tests.conftest import PG_URL, REDIS_URL, SHARED_NEEDS_PG


class PacedEngine(Engine):
    """Produces ``max_tokens`` one-token chunks, ``token_s`` apart, ``slots`` at a time."""

    can_chat = can_stream = True
    shares_capacity = True  # a remote engine: in shared mode its pool is the platform's

    def __init__(self, slots: int = 2, token_s: float = 0.002, policy: str = "vtc") -> None:
        super().__init__(ModelSpec("paced", "paced", {"scheduler": policy}))
        self.slots = slots
        self.token_s = token_s
        self.running = 0
        self.most_running = 0

    @property
    def concurrency(self) -> int:
        return self.slots

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            n = request.sampling.max_tokens or 1
            for _ in range(n):
                await asyncio.sleep(self.token_s)
                yield TextChunk("x", 1)
            yield Finish("length", Usage(prompt_tokens=4, completion_tokens=n))
        finally:
            self.running -= 1


def context(tenant: str, weight: float = 1.0, tokens: int = 4) -> RequestContext:
    principal = Principal(
        key_id=f"key_{tenant}", tenant_id=tenant, tenant_name=tenant, tenant_weight=weight
    )
    ctx = RequestContext(principal=principal, model="paced", kind="chat", stream=True)
    ctx.prompt_tokens_estimate, ctx.max_new_tokens = 4, tokens
    return ctx


MakeDispatcher = Callable[..., FairDispatcher]


@pytest.fixture(params=["local", "shared"])
async def make(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[MakeDispatcher]:
    """Builds dispatchers (each one a replica, in shared mode) for one test."""
    schedulers: list[SharedScheduler] = []
    if request.param == "shared" and not PG_URL:
        pytest.skip(SHARED_NEEDS_PG)

    def build(settings: SchedulerSettings | None = None, lease_s: float = 5) -> FairDispatcher:
        settings = settings or SchedulerSettings()
        if request.param == "local":
            return FairDispatcher(settings)
        scheduler = SharedScheduler(SharedStore(REDIS_URL, redis_prefix), settings, lease_s)
        scheduler.start()
        schedulers.append(scheduler)
        return FairDispatcher(settings, scheduler)

    build.shared = request.param == "shared"  # type: ignore[attr-defined]
    yield build
    for scheduler in schedulers:
        await scheduler.close()
        await scheduler.store.close()


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait for ``condition`` (over Redis, a request takes a round trip to be queued)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - the state is in Redis, nobody to notify us
            await asyncio.sleep(0.002)


async def run_one(
    dispatcher: FairDispatcher, engine: PacedEngine, ctx: RequestContext, served: list[str]
) -> None:
    sampling = SamplingParams(max_tokens=ctx.max_new_tokens)
    request = GenerationRequest(model="paced", prompt="p", sampling=sampling)
    async with dispatcher.slot(ctx, engine):
        served.append(ctx.principal.tenant_id)
        async for event in engine.stream(request):
            if isinstance(event, TextChunk):
                dispatcher.on_tokens(ctx, event.num_tokens)
        ctx.status = "ok"


async def test_a_tenant_alone_fills_every_slot(make: MakeDispatcher) -> None:
    engine, dispatcher, served = PacedEngine(slots=3), make(), []
    await asyncio.gather(*(run_one(dispatcher, engine, context("solo"), served) for _ in range(9)))
    assert engine.most_running == 3
    assert served == ["solo"] * 9


async def test_backlogged_tenants_at_weights_1_to_2_share_1_to_2(make: MakeDispatcher) -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.0005), make(), []
    tasks = [
        asyncio.create_task(run_one(dispatcher, engine, context(t, w), served))
        for _ in range(60)
        for t, w in (("a", 1.0), ("b", 2.0))
    ]
    await asyncio.sleep(0)  # everyone queued before the first finishes
    await asyncio.gather(*tasks)
    first = served[:60]
    assert first.count("b") / first.count("a") == pytest.approx(2.0, rel=0.15)


async def test_fcfs_pool_serves_in_arrival_order(make: MakeDispatcher) -> None:
    engine, dispatcher, served = PacedEngine(slots=1, policy="fcfs"), make(), []
    order = ["heavy"] * 10 + ["light"] * 2
    tasks = []
    for tenant in order:  # one after the other: over Redis, "at once" has no order
        tasks.append(asyncio.create_task(run_one(dispatcher, engine, context(tenant), served)))
        await asyncio.sleep(0.003)
    await asyncio.gather(*tasks)
    assert served == order


async def test_queue_cap_gives_429_with_retry_after(make: MakeDispatcher) -> None:
    engine = PacedEngine(slots=1, token_s=0.01)
    dispatcher = make(SchedulerSettings(queue_cap_per_tenant=2, max_wait_s=8))
    served: list[str] = []
    results = await asyncio.gather(
        *(run_one(dispatcher, engine, context("t"), served) for _ in range(5)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RateLimitError)]
    assert len(refused) == 2 and len(served) == 3
    assert refused[0].code == "queue_full" and refused[0].headers["Retry-After"] == "2"


async def test_max_wait_gives_429_and_frees_the_queue(make: MakeDispatcher) -> None:
    engine = PacedEngine(slots=1, token_s=0.05)
    dispatcher = make(SchedulerSettings(max_wait_s=0.05))
    served: list[str] = []
    results = await asyncio.gather(
        *(run_one(dispatcher, engine, context("t"), served) for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, RateLimitError) for r in results) == 2
    pool = dispatcher.pools()[0]
    assert pool.num_waiting == 0 and pool.num_running == 0


async def test_a_client_that_leaves_while_queued_frees_its_place_at_once(
    make: MakeDispatcher,
) -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.02), make(), []
    first = asyncio.create_task(run_one(dispatcher, engine, context("t"), served))
    await until(lambda: served == ["t"])
    waiting = asyncio.create_task(run_one(dispatcher, engine, context("t"), served))
    await until(lambda: dispatcher.pools()[0].num_waiting == 1)
    pool = dispatcher.pools()[0]
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting  # it leaves the queue as it is cancelled
    assert pool.num_waiting == 0
    await first
    assert served == ["t"] and pool.num_running == 0


async def test_a_client_that_leaves_while_running_frees_its_slot(make: MakeDispatcher) -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.05), make(), []
    running = asyncio.create_task(run_one(dispatcher, engine, context("a", tokens=100), served))
    await until(lambda: served == ["a"])
    queued = asyncio.create_task(run_one(dispatcher, engine, context("b", tokens=1), served))
    await until(lambda: dispatcher.pools()[0].num_waiting == 1)
    running.cancel()
    await asyncio.wait_for(queued, 1)
    assert served == ["a", "b"]


# -- several replicas on one shared pool ------------------------------------------------------


def shared_only(make: MakeDispatcher) -> None:
    if not getattr(make, "shared", False):
        pytest.skip("several replicas share a pool only in shared mode")


async def test_replicas_together_never_exceed_the_pools_places(make: MakeDispatcher) -> None:
    shared_only(make)
    engine = PacedEngine(slots=3, token_s=0.002)
    replicas, served = [make(), make(), make()], []
    await asyncio.gather(
        *(run_one(replicas[i % 3], engine, context(f"t{i % 4}"), served) for i in range(60))
    )
    assert len(served) == 60
    assert engine.most_running == 3  # the one engine saw at most its places, from 3 replicas


async def test_a_tenant_spread_over_replicas_gets_its_share_not_more(make: MakeDispatcher) -> None:
    shared_only(make)
    engine = PacedEngine(slots=1, token_s=0.0005)
    heavy_a, heavy_b, light_side = make(), make(), make()
    served: list[str] = []
    tasks = [
        asyncio.create_task(run_one(replica, engine, context("heavy"), served))
        for _ in range(30)
        for replica in (heavy_a, heavy_b)
    ]
    tasks += [
        asyncio.create_task(run_one(light_side, engine, context("light"), served))
        for _ in range(30)
    ]
    await asyncio.gather(*tasks)
    first = served[:40]  # both backlogged: equal weights share equally
    assert first.count("light") / first.count("heavy") == pytest.approx(1.0, rel=0.25)


async def test_a_dead_replicas_place_returns_after_its_lease(make: MakeDispatcher) -> None:
    shared_only(make)
    engine = PacedEngine(slots=1, token_s=0.001)
    dead = make(lease_s=1)
    holder = asyncio.create_task(run_one(dead, engine, context("a", tokens=10_000), []))
    await asyncio.sleep(0.2)
    dead_pool = dead.pools()[0]
    assert dead_pool.num_running == 1
    holder.cancel()  # the replica "dies": it never releases nor renews
    scheduler = dead._platform
    assert isinstance(scheduler, SharedScheduler)
    await scheduler.close()
    dead_pool.running.clear()
    survivor, served = make(lease_s=1), []
    await asyncio.wait_for(run_one(survivor, engine, context("b"), served), 5)
    assert served == ["b"]
