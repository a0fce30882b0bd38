"""The fair dispatcher: one `FairQueue` and one concurrency limit in front of each engine pool.

A request goes to its engine at once while the pool has a free place and nobody waits (an
idle engine is never held back); otherwise it waits in its tenant's queue until `FairQueue`
picks it. The limit defaults to the engine's own concurrency so that the engine's internal
queue, which is first come first served, stays empty. Each tenant's queue is capped and a
request waits at most ``max_wait_s``; beyond either, a 429 with Retry-After. A client that
leaves while waiting is withdrawn at once; one that leaves while running frees its place
when the engine stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

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


@dataclass(eq=False)
class Pool:
    """The requests of one engine: the fair queue, the in-flight count and the waiters."""

    name: str
    limit: int
    queue: FairQueue
    in_flight: int = 0
    waiters: dict[Ticket, asyncio.Future[None]] = field(default_factory=dict)
    recent_outputs: dict[str, deque[int]] = field(default_factory=dict)

    def wake_next(self) -> None:
        """Hand free places to the requests the queue picks, while both exist."""
        while self.in_flight < self.limit:
            ticket = self.queue.pop()
            if ticket is None:
                return
            waiter = self.waiters.pop(ticket)
            self.in_flight += 1
            waiter.set_result(None)

    def output_guess(self, tenant: str, max_new_tokens: int) -> int:
        recent = self.recent_outputs.get(tenant)
        guess = round(sum(recent) / len(recent)) if recent else _DEFAULT_OUTPUT_GUESS
        return min(guess, max_new_tokens) if max_new_tokens > 0 else guess

    def remember_output(self, tenant: str, num_tokens: int) -> None:
        recent = self.recent_outputs.setdefault(tenant, deque(maxlen=_RECENT_OUTPUTS))
        recent.append(num_tokens)


class FairDispatcher:
    """Implements the gateway's `Dispatcher` with a fair queue per engine."""

    def __init__(self, settings: SchedulerSettings | None = None) -> None:
        self.settings = settings or SchedulerSettings()
        self._pools: dict[int, Pool] = {}
        self._tickets: dict[str, tuple[Pool, Ticket]] = {}

    def pools(self) -> list[Pool]:
        return list(self._pools.values())

    def pool_for(self, engine: Engine) -> Pool:
        pool = self._pools.get(id(engine))
        if pool is None or pool.name != engine.spec.name:
            options = engine.spec.options
            wanted = options.get("scheduler")
            policy = next((p for p in POLICIES if p == wanted), self.settings.default_policy)
            limit = int(options.get("max_in_flight", engine.concurrency))
            queue = FairQueue(
                policy,
                input_price=self.settings.input_price,
                output_price=self.settings.output_price,
            )
            pool = self._pools[id(engine)] = Pool(engine.spec.name, max(limit, 1), queue)
        return pool

    @contextlib.asynccontextmanager
    async def slot(self, ctx: RequestContext, engine: Engine) -> AsyncIterator[None]:
        pool = self.pool_for(engine)
        principal = ctx.principal
        pool.queue.set_weight(principal.tenant_id, principal.tenant_weight)
        prepaid = 0 if ctx.stream else pool.output_guess(principal.tenant_id, ctx.max_new_tokens)
        ticket = Ticket(principal.tenant_id, ctx.prompt_tokens_estimate, prepaid)
        await self._wait_for_place(pool, ticket)
        self._tickets[ctx.id] = (pool, ticket)
        try:
            yield
        finally:
            del self._tickets[ctx.id]
            pool.queue.settle(ticket)
            if ctx.status == "ok":
                pool.remember_output(principal.tenant_id, ticket.output_seen)
            pool.in_flight -= 1
            pool.wake_next()

    async def _wait_for_place(self, pool: Pool, ticket: Ticket) -> None:
        queue = pool.queue
        queue.arrive(ticket)
        if queue.waiting(ticket.tenant) > self.settings.queue_cap_per_tenant:
            queue.withdraw(ticket)
            raise self._busy(pool, "queue_full", "your organisation has too many waiting requests")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pool.waiters[ticket] = waiter
        pool.wake_next()
        if waiter.done():
            return
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.settings.max_wait_s)
        except BaseException as exc:
            if queue.withdraw(ticket):
                pool.waiters.pop(ticket, None)
            elif waiter.done() and not waiter.cancelled():
                # Picked in the same instant it gave up: hand the place on.
                pool.in_flight -= 1
                pool.wake_next()
            if isinstance(exc, TimeoutError):
                waited = time.monotonic() - started
                raise self._busy(
                    pool, "queue_timeout", f"waited {waited:.0f} s for a place"
                ) from None
            raise

    def _busy(self, pool: Pool, code: str, why: str) -> RateLimitError:
        retry_after = max(1, math.ceil(self.settings.max_wait_s / 4))
        return RateLimitError(
            f"Model '{pool.name}' is busy: {why}. Retry after {retry_after} s.",
            code=code,
            headers={"Retry-After": str(retry_after)},
        )

    def on_tokens(self, ctx: RequestContext, num_tokens: int) -> None:
        entry = self._tickets.get(ctx.id)
        if entry is not None:
            entry[0].queue.charge_output(entry[1], num_tokens)
