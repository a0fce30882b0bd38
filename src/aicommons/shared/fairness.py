"""Fair share across replicas: the pools of platform-wide engines, with their queues, virtual
token counters and places in Redis.

The rules are those of the pure `FairQueue` (``gateway/scheduler.py``): a tenant's counter grows
with the service it receives divided by its weight; a tenant that starts waiting is lifted to
the smallest counter of the others waiting (or to the virtual time); the waiting tenant with the
smallest counter goes first (``vtc``), or the oldest request (``fcfs``). Here they run in Lua
scripts over one pool's keys, so every replica's requests are ordered by the same counters:

- ``tickets``: waiting requests, scored by lease expiry; ``info`` their tenant and input cost;
  ``q:<tenant>`` each tenant's waiting requests in arrival order; ``backlog`` tenants waiting;
- ``inflight``: requests holding a place, scored by lease expiry (at most ``limit``);
- ``counters``, ``weights``, ``vt`` (virtual time), ``seq`` (arrival numbers).

Each replica renews the leases of its own waiting and running requests; those of a dead replica
expire, so its places come back and its queued requests leave. A grant for a request waiting on
another replica is published on the ``granted`` channel; each replica also checks its waiting
requests when it renews them, so a lost message delays a grant by one renewal at most. Output
tokens are charged to the counters in batches, every few hundred milliseconds and at release.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import RedisError

from aicommons.gateway.dispatch import OutputGuess, SchedulerSettings, busy
from aicommons.gateway.scheduler import Policy, Ticket
from aicommons.shared.store import LimitsUnavailableError, SharedStore

logger = logging.getLogger(__name__)
_CHARGE_FLUSH_S = 0.2

_PRELUDE = """
local base = KEYS[1]
local function k(name) return base .. ':' .. name end
local inflight, tickets, info, backlog = k('inflight'), k('tickets'), k('info'), k('backlog')
local counters, weights = k('counters'), k('weights')
local function queue(tenant) return base .. ':q:' .. tenant end
local function counter(tenant) return tonumber(redis.call('HGET', counters, tenant) or '0') end
local function forget_waiting(t)
  local data = redis.call('HGET', info, t)
  redis.call('ZREM', tickets, t)
  if not data then return false end
  local tenant = string.match(data, '^([^|]*)|')
  redis.call('ZREM', queue(tenant), t)
  redis.call('HDEL', info, t)
  if redis.call('ZCARD', queue(tenant)) == 0 then redis.call('SREM', backlog, tenant) end
  return true
end
local function purge(now)
  redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', tickets, '-inf', now)) do forget_waiting(t) end
end
local function dispatch(now, lease, limit, policy)
  local granted = {}
  while redis.call('ZCARD', inflight) < limit do
    local best, best_c, best_s, best_t = nil, 0, 0, nil
    for _, tenant in ipairs(redis.call('SMEMBERS', backlog)) do
      local head = redis.call('ZRANGE', queue(tenant), 0, 0, 'WITHSCORES')
      if #head == 0 then
        redis.call('SREM', backlog, tenant)
      else
        local c, s = counter(tenant), tonumber(head[2])
        local better = best == nil
        if not better then
          if policy == 'vtc' and c ~= best_c then better = c < best_c else better = s < best_s end
        end
        if better then best, best_c, best_s, best_t = head[1], c, s, tenant end
      end
    end
    if best == nil then break end
    local cost = tonumber(string.match(redis.call('HGET', info, best), '|(.*)$'))
    forget_waiting(best)
    if redis.call('ZCARD', queue(best_t)) == 0 then redis.call('SET', k('vt'), best_c) end
    local weight = tonumber(redis.call('HGET', weights, best_t) or '1')
    redis.call('HINCRBYFLOAT', counters, best_t, cost / weight)
    redis.call('ZADD', inflight, now + lease, best)
    table.insert(granted, best)
  end
  return granted
end
local function answer(status, granted)
  local out = {status, redis.call('ZCARD', tickets), redis.call('ZCARD', inflight)}
  for _, t in ipairs(granted) do table.insert(out, t) end
  return out
end
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local limit, policy = tonumber(ARGV[3]), ARGV[4]
"""

# ARGV 5..: ticket, tenant, weight, input cost, queue cap
_ARRIVE = """
local ticket, tenant, weight, cost = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local cap = tonumber(ARGV[9])
purge(now)
local q = queue(tenant)
local waiting = redis.call('ZCARD', q)
if waiting >= cap then return answer('full', {}) end
redis.call('HSET', weights, tenant, weight)
if waiting == 0 then
  local floor = nil
  for _, other in ipairs(redis.call('SMEMBERS', backlog)) do
    if other ~= tenant then
      local c = counter(other)
      if floor == nil or c < floor then floor = c end
    end
  end
  if floor == nil then floor = tonumber(redis.call('GET', k('vt')) or '0') end
  if counter(tenant) < floor then redis.call('HSET', counters, tenant, floor) end
end
redis.call('ZADD', q, redis.call('INCR', k('seq')), ticket)
redis.call('SADD', backlog, tenant)
redis.call('HSET', info, ticket, tenant .. '|' .. cost)
redis.call('ZADD', tickets, now + lease, ticket)
return answer('ok', dispatch(now, lease, limit, policy))
"""

# ARGV 5..: ticket, then pairs of (tenant, charge) to add to the counters
_RELEASE = """
redis.call('ZREM', inflight, ARGV[5])
for i = 6, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) ~= 0 then redis.call('HINCRBYFLOAT', counters, ARGV[i], ARGV[i + 1]) end
end
purge(now)
return answer('ok', dispatch(now, lease, limit, policy))
"""

# ARGV 5: ticket
_WITHDRAW = """
purge(now)
if forget_waiting(ARGV[5]) then return answer('withdrawn', {}) end
if redis.call('ZSCORE', inflight, ARGV[5]) then return answer('running', {}) end
return answer('gone', {})
"""

# ARGV 5: how many waiting tickets follow; then waiting tickets, then running tickets
_TICK = """
local n = tonumber(ARGV[5])
for i = 6, 5 + n do redis.call('ZADD', tickets, 'XX', now + lease, ARGV[i]) end
for i = 6 + n, #ARGV do redis.call('ZADD', inflight, 'XX', now + lease, ARGV[i]) end
purge(now)
local granted = {}
for i = 6, 5 + n do
  if redis.call('ZSCORE', inflight, ARGV[i]) then table.insert(granted, ARGV[i]) end
end
for _, t in ipairs(dispatch(now, lease, limit, policy)) do table.insert(granted, t) end
return answer('ok', granted)
"""


@dataclass(eq=False)
class SharedPool:
    """One platform-wide pool as this replica sees it: its own waiters and running requests,
    and the global counts as of the last script."""

    name: str
    limit: int
    policy: Policy
    scheduler: SharedScheduler
    outputs: OutputGuess = field(default_factory=OutputGuess)
    waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    charges: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    weights: dict[str, float] = field(default_factory=dict)
    waiting_now: int = 0
    running_now: int = 0

    @property
    def num_waiting(self) -> int:
        return self.waiting_now

    @property
    def num_running(self) -> int:
        return self.running_now

    @property
    def key(self) -> str:
        return self.scheduler.store.key("pool", self.name)

    @contextlib.asynccontextmanager
    async def place(self, ticket: Ticket, weight: float) -> AsyncIterator[None]:
        ticket_id = self.scheduler.new_ticket_id()
        self.weights[ticket.tenant] = weight
        await self._wait_for_place(ticket_id, ticket, weight)
        try:
            yield
        finally:
            await self._release(ticket_id, ticket)

    def charge_output(self, ticket: Ticket, num_tokens: int) -> None:
        """As `FairQueue.charge_output`: tokens beyond the prepaid ones, charged in a batch."""
        before = max(ticket.output_seen - ticket.prepaid_output, 0)
        ticket.output_seen += num_tokens
        after = max(ticket.output_seen - ticket.prepaid_output, 0)
        if after > before:
            self._charge(ticket.tenant, after - before)

    def _charge(self, tenant: str, output_tokens: int) -> None:
        price = self.scheduler.settings.output_price
        self.charges[tenant] += price * output_tokens / self.weights.get(tenant, 1.0)

    async def _wait_for_place(self, ticket_id: str, ticket: Ticket, weight: float) -> None:
        settings = self.scheduler.settings
        cost = settings.input_price * ticket.prompt_tokens + settings.output_price * (
            ticket.prepaid_output
        )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[ticket_id] = waiter
        try:
            cap = settings.queue_cap_per_tenant
            status = await self.scheduler.run(
                self, "arrive", [ticket_id, ticket.tenant, weight, cost, cap]
            )
        except BaseException:
            self.waiters.pop(ticket_id, None)
            raise
        if status == "full":
            self.waiters.pop(ticket_id, None)
            raise busy(
                self.name, settings, "queue_full", "your organisation has too many waiting requests"
            )
        if waiter.done():
            return
        started = time.monotonic()
        try:
            await asyncio.wait_for(asyncio.shield(waiter), settings.max_wait_s)
        except BaseException as exc:
            self.waiters.pop(ticket_id, None)
            await self._give_up(ticket_id, ticket)
            if isinstance(exc, TimeoutError):
                waited = time.monotonic() - started
                raise busy(
                    self.name, settings, "queue_timeout", f"waited {waited:.0f} s for a place"
                ) from None
            raise

    async def _give_up(self, ticket_id: str, ticket: Ticket) -> None:
        """Leave the queue; if the place was granted in the meantime, hand it on."""
        try:
            state = await self.scheduler.run(self, "withdraw", [ticket_id])
        except LimitsUnavailableError:
            return  # the ticket's lease expires in Redis by itself
        if state == "running":
            self.running.add(ticket_id)
            await self._release(ticket_id, ticket)

    async def _release(self, ticket_id: str, ticket: Ticket) -> None:
        self.running.discard(ticket_id)
        unused = ticket.prepaid_output - ticket.output_seen
        if unused > 0:
            self._charge(ticket.tenant, -unused)
        ticket.prepaid_output = min(ticket.prepaid_output, ticket.output_seen)
        charges = [x for tenant, cost in self.charges.items() for x in (tenant, cost)]
        self.charges.clear()
        try:
            await self.scheduler.run(self, "release", [ticket_id, *charges])
        except LimitsUnavailableError:
            logger.warning("could not free place %s of %s; its lease will", ticket_id, self.name)

    def granted(self, ticket_id: str) -> bool:
        """Resolve this replica's waiter for ``ticket_id``; False if it is not ours."""
        waiter = self.waiters.pop(ticket_id, None)
        if waiter is None:
            return False
        self.running.add(ticket_id)
        if waiter.done():  # it gave up in the same instant: its withdrawal hands the place on
            return True
        waiter.set_result(None)
        return True


class SharedScheduler:
    """Implements `PlatformPools` on Redis for one replica."""

    def __init__(self, store: SharedStore, settings: SchedulerSettings, lease_s: float) -> None:
        self.store = store
        self.settings = settings
        self._lease_ms = int(lease_s * 1000)
        self._pools: dict[str, SharedPool] = {}
        self._numbers = itertools.count(1)
        self._channel = store.key("granted")
        client = store.client
        self._scripts = {
            name: client.register_script(_PRELUDE + body)
            for name, body in (
                ("arrive", _ARRIVE),
                ("release", _RELEASE),
                ("withdraw", _WITHDRAW),
                ("tick", _TICK),
            )
        }
        self._tasks: list[asyncio.Task[None]] = []

    def pool(self, name: str, limit: int, policy: Policy) -> SharedPool:
        pool = self._pools.get(name)
        if pool is None or pool.limit != limit or pool.policy != policy:
            pool = self._pools[name] = SharedPool(name, limit, policy, self)
        return pool

    def new_ticket_id(self) -> str:
        return f"{self.store.replica_id}.{next(self._numbers)}"

    async def run(self, pool: SharedPool, script: str, args: list[Any]) -> str:
        """Run one of the pool's scripts; hand out the places it granted; return its status."""
        now = int(time.time() * 1000)
        argv = [now, self._lease_ms, pool.limit, pool.policy, *args]
        answer = await self.store.call(
            "scheduling", lambda: self._scripts[script](keys=[pool.key], args=argv)
        )
        status, pool.waiting_now, pool.running_now = _text(answer[0]), answer[1], answer[2]
        await self._hand_out(pool, [_text(t) for t in answer[3:]])
        return status

    async def _hand_out(self, pool: SharedPool, granted: list[str]) -> None:
        others = [t for t in granted if not pool.granted(t)]
        if others:
            message = pool.name + " " + " ".join(others)
            try:
                await self.store.client.publish(self._channel, message)
            except RedisError as exc:
                logger.warning("could not announce grants (%s); owners find them at renewal", exc)

    # -- background: grants from other replicas, lease renewal, batched charges -------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen_forever(), name="scheduler-grants"),
            asyncio.create_task(self._tick_forever(), name="scheduler-leases"),
            asyncio.create_task(self._flush_forever(), name="scheduler-charges"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen_forever(self) -> None:
        await self.store.listen_forever(self._channel, self._on_granted)

    def _on_granted(self, data: object) -> None:
        name, *tickets = _text(data).split(" ")
        pool = self._pools.get(name)
        if pool is not None:
            for ticket_id in tickets:
                pool.granted(ticket_id)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            for pool in list(self._pools.values()):
                # A failure is logged by the store; the leases are renewed once Redis is back.
                with contextlib.suppress(LimitsUnavailableError):
                    await self.tick(pool)

    async def tick(self, pool: SharedPool) -> None:
        """Renew this replica's leases in ``pool``, pick up missed grants, fill free places."""
        waiting = list(pool.waiters)
        await self.run(pool, "tick", [len(waiting), *waiting, *pool.running])

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_CHARGE_FLUSH_S)
            for pool in list(self._pools.values()):
                if pool.charges:
                    await self._flush(pool)

    async def _flush(self, pool: SharedPool) -> None:
        charges, pool.charges = pool.charges, defaultdict(float)
        counters = pool.key + ":counters"
        try:
            async with self.store.client.pipeline(transaction=False) as pipe:
                for tenant, cost in charges.items():
                    pipe.hincrbyfloat(counters, tenant, cost)
                await pipe.execute()
        except RedisError:
            for tenant, cost in charges.items():  # keep them for the next flush
                pool.charges[tenant] += cost


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
