"""The fair dispatcher in front of an engine that paces its tokens (no HTTP, real asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

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


class PacedEngine(Engine):
    """Produces ``max_tokens`` one-token chunks, ``token_s`` apart, ``slots`` at a time."""

    can_chat = can_stream = True

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


async def test_a_tenant_alone_fills_every_slot() -> None:
    engine, dispatcher, served = PacedEngine(slots=3), FairDispatcher(), []
    await asyncio.gather(*(run_one(dispatcher, engine, context("solo"), served) for _ in range(9)))
    assert engine.most_running == 3
    assert served == ["solo"] * 9


async def test_backlogged_tenants_at_weights_1_to_2_share_1_to_2() -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.0005), FairDispatcher(), []
    tasks = [
        asyncio.create_task(run_one(dispatcher, engine, context(t, w), served))
        for _ in range(60)
        for t, w in (("a", 1.0), ("b", 2.0))
    ]
    await asyncio.sleep(0)  # everyone queued before the first finishes
    await asyncio.gather(*tasks)
    first = served[:60]
    assert first.count("b") / first.count("a") == pytest.approx(2.0, rel=0.15)


async def test_fcfs_pool_serves_in_arrival_order() -> None:
    engine, dispatcher, served = PacedEngine(slots=1, policy="fcfs"), FairDispatcher(), []
    order = ["heavy"] * 10 + ["light"] * 2
    await asyncio.gather(*(run_one(dispatcher, engine, context(t), served) for t in order))
    assert served == order


async def test_queue_cap_gives_429_with_retry_after() -> None:
    engine = PacedEngine(slots=1, token_s=0.01)
    dispatcher = FairDispatcher(SchedulerSettings(queue_cap_per_tenant=2, max_wait_s=8))
    served: list[str] = []
    results = await asyncio.gather(
        *(run_one(dispatcher, engine, context("t"), served) for _ in range(5)),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RateLimitError)]
    assert len(refused) == 2 and len(served) == 3
    assert refused[0].code == "queue_full" and refused[0].headers["Retry-After"] == "2"


async def test_max_wait_gives_429_and_frees_the_queue() -> None:
    engine = PacedEngine(slots=1, token_s=0.05)
    dispatcher = FairDispatcher(SchedulerSettings(max_wait_s=0.05))
    served: list[str] = []
    results = await asyncio.gather(
        *(run_one(dispatcher, engine, context("t"), served) for _ in range(3)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, RateLimitError) for r in results) == 2
    pool = dispatcher.pools()[0]
    assert pool.queue.waiting() == 0 and pool.in_flight == 0


async def test_a_client_that_leaves_while_queued_frees_its_place_at_once() -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.02), FairDispatcher(), []
    first = asyncio.create_task(run_one(dispatcher, engine, context("t"), served))
    waiting = asyncio.create_task(run_one(dispatcher, engine, context("t"), served))
    await asyncio.sleep(0.01)
    pool = dispatcher.pools()[0]
    assert pool.queue.waiting() == 1
    waiting.cancel()
    for _ in range(3):  # the cancellation travels through wait_for in a few loop turns
        await asyncio.sleep(0)
    assert pool.queue.waiting() == 0
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert served == ["t"] and pool.in_flight == 0


async def test_a_client_that_leaves_while_running_frees_its_slot() -> None:
    engine, dispatcher, served = PacedEngine(slots=1, token_s=0.05), FairDispatcher(), []
    running = asyncio.create_task(run_one(dispatcher, engine, context("a", tokens=100), served))
    queued = asyncio.create_task(run_one(dispatcher, engine, context("b", tokens=1), served))
    await asyncio.sleep(0.02)
    running.cancel()
    await asyncio.wait_for(queued, 1)
    assert served == ["a", "b"]
