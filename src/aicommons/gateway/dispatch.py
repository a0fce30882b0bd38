"""The fair dispatcher: one fair queue and one concurrency limit in front of each engine pool.

A request goes to its engine at once while the pool has a free place and nobody waits (an
idle engine is never held back); otherwise it waits in its tenant's queue until the fair queue
picks it. The limit defaults to the engine's own concurrency so that the engine's internal
queue, which is first come first served, stays empty. Each tenant's queue is capped and a
request waits at most ``max_wait_s``; beyond either, a 429 with Retry-After. A client that
leaves while waiting is withdrawn at once; one that leaves while running frees its place
when the engine stops.

Where a pool's queue and counters live depends on whose capacity it guards. An engine inside
this process (llama.cpp, sentence-transformers) is this replica's own: its `LocalPool` keeps
the pure `FairQueue` in memory. An engine every replica sends to (an upstream vLLM) has one
capacity for the whole platform: in shared mode its pool comes from `platform_pools`
(`aicommons.shared.fairness`), whose counters, queues and places are in Redis, so a tenant that
spreads its requests over replicas is scheduled against the same counters as everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from aicommons.engines.base import Engine
from aicommons.errors import RateLimitError
from aicommons.gateway.pipeline import RequestContext
from aicommons.gateway.scheduler import POLICIES, FairQueue, Policy, Ticket

# Non-streaming requests prepay this many recent outputs' average (the paper's length
# prediction), never more than the request's own max_tokens.
_RECENT_OUTPUTS = 5
_DEFAULT_OUTPUT_GUESS = 128


@dataclass(slots=True)
class SchedulerSettings:
    default_policy: Policy = "vtc"
    queue_cap_per_tenant: int = 256
    max_wait_s: float = 60.0
    input_price: float = 1.0
    output_price: float = 2.0


def busy(pool_name: str, settings: SchedulerSettings, code: str, why: str) -> RateLimitError:
    """The 429 of a pool that cannot take a request now."""
    retry_after = max(1, math.ceil(settings.max_wait_s / 4))
    return RateLimitError(
        f"Model '{pool_name}' is busy: {why}. Retry after {retry_after} s.",
        code=code,
        headers={"Retry-After": str(retry_after)},
    )


@dataclass(slots=True)
class OutputGuess:
    """Recent output lengths per tenant, to prepay non-streaming requests."""

    recent: dict[str, deque[int]] = field(default_factory=dict)

    def guess(self, tenant: str, max_new_tokens: int) -> int:
        recent = self.recent.get(tenant)
        guess = round(sum(recent) / len(recent)) if recent else _DEFAULT_OUTPUT_GUESS
        return min(guess, max_new_tokens) if max_new_tokens > 0 else guess

    def remember(self, tenant: str, num_tokens: int) -> None:
        self.recent.setdefault(tenant, deque(maxlen=_RECENT_OUTPUTS)).append(num_tokens)


class EnginePool(Protocol):
    """What the dispatcher needs of a pool, wherever its state lives."""

    name: str
    limit: int
    outputs: OutputGuess

    @property
    def num_waiting(self) -> int: ...

    @property
    def num_running(self) -> int: ...

    def place(self, ticket: Ticket, weight: float) -> AbstractAsyncContextManager[None]:
        """Wait for a place (or raise a 429), hold it while the body runs, then free it."""
        ...

    def charge_output(self, ticket: Ticket, num_tokens: int) -> None: ...


class PlatformPools(Protocol):
    """Pools whose capacity all replicas share (implemented on Redis in shared mode)."""

    def pool(self, name: str, limit: int, policy: Policy) -> EnginePool: ...


@dataclass(eq=False)
class LocalPool:
    """A pool of this process: the fair queue, the in-flight count and the waiters."""

    name: str
    limit: int
    queue: FairQueue
    settings: SchedulerSettings
    in_flight: int = 0
    waiters: dict[Ticket, asyncio.Future[None]] = field(default_factory=dict)
    outputs: OutputGuess = field(default_factory=OutputGuess)

    @property
    def num_waiting(self) -> int:
        return self.queue.waiting()

    @property
    def num_running(self) -> int:
        return self.in_flight

    def wake_next(self) -> None:
        """Hand free places to the requests the queue picks, while both exist."""
        while self.in_flight < self.limit:
            ticket = self.queue.pop()
            if ticket is None:
                return
            waiter = self.waiters.pop(ticket)
            self.in_flight += 1
            waiter.set_result(None)

    @contextlib.asynccontextmanager
    async def place(self, ticket: Ticket, weight: float) -> AsyncIterator[None]:
        self.queue.set_weight(ticket.tenant, weight)
        await self._wait_for_place(ticket)
        try:
            yield
        finally:
            self.queue.settle(ticket)
            self.in_flight -= 1
            self.wake_next()

    def charge_output(self, ticket: Ticket, num_tokens: int) -> None:
        self.queue.charge_output(ticket, num_tokens)

    async def _wait_for_place(self, ticket: Ticket) -> None:
        queue = self.queue
        queue.arrive(ticket)
        if queue.waiting(ticket.tenant) > self.settings.queue_cap_per_tenant:
            queue.withdraw(ticket)
            raise busy(
                self.name,
                self.settings,
                "queue_full",
                "your organisation has too many waiting requests",
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[ticket] = waiter
        self.wake_next()
        if waiter.done():
            return
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.settings.max_wait_s)
        except BaseException as exc:
            if queue.withdraw(ticket):
                self.waiters.pop(ticket, None)
            elif waiter.done() and not waiter.cancelled():
                # Picked in the same instant it gave up: hand the place on.
                self.in_flight -= 1
                self.wake_next()
            if isinstance(exc, TimeoutError):
                waited = time.monotonic() - started
                raise busy(
                    self.name, self.settings, "queue_timeout", f"waited {waited:.0f} s for a place"
                ) from None
            raise


class FairDispatcher:
    """Implements the gateway's `Dispatcher` with a fair queue per engine."""

    def __init__(
        self,
        settings: SchedulerSettings | None = None,
        platform_pools: PlatformPools | None = None,
    ) -> None:
        self.settings = settings or SchedulerSettings()
        self._platform = platform_pools
        self._pools: dict[int, EnginePool] = {}
        self._tickets: dict[str, tuple[EnginePool, Ticket]] = {}

    def pools(self) -> list[EnginePool]:
        return list(self._pools.values())

    def pool_for(self, engine: Engine) -> EnginePool:
        pool = self._pools.get(id(engine))
        if pool is None or pool.name != engine.spec.name:
            options = engine.spec.options
            wanted = options.get("scheduler")
            policy = next((p for p in POLICIES if p == wanted), self.settings.default_policy)
            limit = max(int(options.get("max_in_flight", engine.concurrency)), 1)
            if self._platform is not None and engine.shares_capacity:
                pool = self._platform.pool(engine.spec.name, limit, policy)
            else:
                queue = FairQueue(
                    policy,
                    input_price=self.settings.input_price,
                    output_price=self.settings.output_price,
                )
                pool = LocalPool(engine.spec.name, limit, queue, self.settings)
            self._pools[id(engine)] = pool
        return pool

    @contextlib.asynccontextmanager
    async def slot(self, ctx: RequestContext, engine: Engine) -> AsyncIterator[None]:
        pool = self.pool_for(engine)
        principal = ctx.principal
        tenant = principal.tenant_id
        prepaid = 0 if ctx.stream else pool.outputs.guess(tenant, ctx.max_new_tokens)
        ticket = Ticket(tenant, ctx.prompt_tokens_estimate, prepaid)
        async with pool.place(ticket, principal.tenant_weight):
            self._tickets[ctx.id] = (pool, ticket)
            try:
                yield
            finally:
                del self._tickets[ctx.id]
                if ctx.status == "ok":
                    pool.outputs.remember(tenant, ticket.output_seen)

    def on_tokens(self, ctx: RequestContext, num_tokens: int) -> None:
        entry = self._tickets.get(ctx.id)
        if entry is not None:
            entry[0].charge_output(entry[1], num_tokens)
