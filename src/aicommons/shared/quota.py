"""Budgets and rate limits in Redis: every replica reserves on the same accounts.

One Lua script checks every limit of a request's tenant and key and reserves on all of them, or
on none, atomically; another settles a reservation with the real usage. Per account (a tenant
or a key) Redis holds:

- ``used:d:<day>`` and ``used:m:<month>``: settled tokens, loaded from the usage table when
  missing (a new day, a Redis that lost its data) and then only incremented;
- ``leases``: the reservations in flight, as a sorted set scored by lease expiry, whose tokens
  (``l:<request>``) and sum (``reserved``) are in the ``data`` hash. A replica renews the leases
  of its requests while they run; a dead replica's leases expire and its reservations return;
- ``window``: requests of the last minute scored by time, with their tokens (``w:<request>``,
  the reservation until settled, then the real usage) and sum (``wsum``) in ``data``.

Settling is idempotent (a ``settled`` marker per request), so a settlement that failed while
Redis was away is retried without ever charging twice. The `limits` library's windows were
considered: they cannot be checked together with a budget in one atomic step, nor corrected
from a reservation to the real usage, so the windows live in the same script.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from redis.exceptions import RedisError

from aicommons.gateway.quota import AccountState, LimitName, Wanted, refusal, who
from aicommons.gateway.usage import UsageRecorder
from aicommons.shared.store import SharedStore
from aicommons.store.usage import Scope, UsageStore

logger = logging.getLogger(__name__)

_HOUSEKEEPING_MS = 3 * 86400 * 1000  # idle accounts' state expires after three days

# KEYS per account: used_day, used_month, leases, window, data.
# ARGV: now_ms, lease_ms, window_ms, request id, tokens, n, housekeeping_ms,
#       then per account: tokens_per_day, tokens_per_month, max_parallel,
#       requests_per_minute, tokens_per_minute (-1: no limit).
RESERVE = """
local now, lease, win = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local id, tokens, n, keep = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local function purge(zset, data, field, sum, upto)
  local gone = redis.call('ZRANGEBYSCORE', zset, '-inf', upto)
  for _, m in ipairs(gone) do
    local t = tonumber(redis.call('HGET', data, field .. m) or '0')
    redis.call('HINCRBY', data, sum, -t)
    redis.call('HDEL', data, field .. m)
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', zset, '-inf', upto) end
end
for i = 1, n do
  local k, a = (i - 1) * 5, 7 + (i - 1) * 5
  local leases, window, data = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local tpd, tpm = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local par, rpm, tpmin = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  purge(leases, data, 'l:', 'reserved', now)
  purge(window, data, 'w:', 'wsum', now - win)
  local ud, um = redis.call('GET', KEYS[k + 1]), redis.call('GET', KEYS[k + 2])
  if (tpd >= 0 and not ud) or (tpm >= 0 and not um) then return {'init', i} end
  ud, um = tonumber(ud or '0'), tonumber(um or '0')
  local reserved = tonumber(redis.call('HGET', data, 'reserved') or '0')
  local running = redis.call('ZCARD', leases)
  local state = {ud, um, reserved, running}
  local function refuse(limit, retry)
    return {'refuse', i, limit, state[1], state[2], state[3], state[4], retry}
  end
  if tpd >= 0 and ud + reserved + tokens > tpd then return refuse('tokens_per_day', -1) end
  if tpm >= 0 and um + reserved + tokens > tpm then return refuse('tokens_per_month', -1) end
  if par >= 0 and running >= par then return refuse('max_parallel', -1) end
  local oldest = redis.call('ZRANGE', window, 0, 0, 'WITHSCORES')
  local retry = 1000
  if #oldest > 0 then retry = tonumber(oldest[2]) + win - now end
  if rpm >= 0 and redis.call('ZCARD', window) >= rpm then
    return refuse('requests_per_minute', retry)
  end
  local wsum = tonumber(redis.call('HGET', data, 'wsum') or '0')
  if tpmin >= 0 and wsum + tokens > tpmin then return refuse('tokens_per_minute', retry) end
end
for i = 1, n do
  local k = (i - 1) * 5
  local leases, window, data = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  redis.call('ZADD', leases, now + lease, id)
  redis.call('ZADD', window, now, id)
  redis.call('HSET', data, 'l:' .. id, tokens, 'w:' .. id, tokens)
  redis.call('HINCRBY', data, 'reserved', tokens)
  redis.call('HINCRBY', data, 'wsum', tokens)
  for _, key in ipairs({leases, window, data}) do redis.call('PEXPIRE', key, keep) end
end
return {'ok'}
"""

# KEYS per account: used_day, used_month, leases, window, data; then the settled marker.
# ARGV: request id, used tokens, n, marker ttl ms.
SETTLE = """
local id, used, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('SET', KEYS[n * 5 + 1], '1', 'NX', 'PX', ARGV[4]) == false then return 0 end
for i = 1, n do
  local k = (i - 1) * 5
  local leases, window, data = KEYS[k + 3], KEYS[k + 4], KEYS[k + 5]
  local t = redis.call('HGET', data, 'l:' .. id)
  if t then
    redis.call('HINCRBY', data, 'reserved', -tonumber(t))
    redis.call('HDEL', data, 'l:' .. id)
    redis.call('ZREM', leases, id)
  end
  for _, key in ipairs({KEYS[k + 1], KEYS[k + 2]}) do
    if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, used) end
  end
  local w = redis.call('HGET', data, 'w:' .. id)
  if w and redis.call('ZSCORE', window, id) then
    redis.call('HINCRBY', data, 'wsum', used - tonumber(w))
    redis.call('HSET', data, 'w:' .. id, used)
  end
end
return 1
"""


@dataclass(slots=True)
class SharedReservation:
    request_id: str
    accounts: list[tuple[Scope, str]]
    tokens: int


@dataclass(slots=True)
class _Unsettled:
    reservation: SharedReservation
    used: int
    day: date = field(default_factory=lambda: datetime.now(UTC).date())


class RedisQuota:
    """Implements `QuotaBackend` on Redis; renews the leases of this replica's reservations."""

    def __init__(
        self,
        store: SharedStore,
        usage: UsageStore,
        recorder: UsageRecorder,
        lease_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._usage = usage
        self._recorder = recorder
        self._lease_ms = int(lease_s * 1000)
        self._clock = clock
        self._reserve = store.client.register_script(RESERVE)
        self._settle = store.client.register_script(SETTLE)
        self._running: dict[str, SharedReservation] = {}
        self._unsettled: list[_Unsettled] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever(), name="quota-leases")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError):
            await self._retry_unsettled()

    def _keys(self, scope: Scope, scope_id: str, today: date) -> list[str]:
        base = ("q", scope, scope_id)
        return [
            self._store.key(*base, "used", "d", today.isoformat()),
            self._store.key(*base, "used", "m", today.strftime("%Y-%m")),
            self._store.key(*base, "leases"),
            self._store.key(*base, "window"),
            self._store.key(*base, "data"),
        ]

    async def reserve(
        self, request_id: str, wanted: list[Wanted], tokens: int
    ) -> SharedReservation:
        today = datetime.now(UTC).date()
        keys = [k for scope, sid, _ in wanted for k in self._keys(scope, sid, today)]
        args: list[Any] = [0, self._lease_ms, 60_000, request_id, tokens, len(wanted)]
        args.append(_HOUSEKEEPING_MS)
        for _, _, limits in wanted:
            args += [-1 if v is None else v for v in _ordered(limits.as_dict())]
        for _ in range(3):  # at most: a day and a month to load, then the decision
            args[0] = int(self._clock() * 1000)
            answer = await self._store.call(
                "reserving tokens", lambda: self._reserve(keys=keys, args=args)
            )
            status = _text(answer[0])
            if status == "ok":
                reservation = SharedReservation(request_id, [(s, i) for s, i, _ in wanted], tokens)
                self._running[request_id] = reservation
                return reservation
            index = int(answer[1]) - 1
            scope, scope_id, limits = wanted[index]
            if status == "init":
                await self._load_used(scope, scope_id, today, keys[index * 5 : index * 5 + 2])
                continue
            limit: LimitName = _text(answer[2])  # type: ignore[assignment]
            used_day, used_month, reserved, running = (int(v) for v in answer[3:7])
            retry_ms = int(answer[7])
            state = AccountState(used_day, used_month, reserved, running)
            retry_s = None if retry_ms < 0 else retry_ms / 1000
            raise refusal(limit, who(scope), limits, state, tokens, retry_s)
        raise RuntimeError("the shared quota kept asking for usage it was given")

    async def _load_used(self, scope: Scope, scope_id: str, today: date, keys: list[str]) -> None:
        """Seed an account's day and month from the usage table (the source of truth)."""
        await self._recorder.flush()
        used_day = await self._usage.tokens_since(scope, scope_id, today)
        used_month = await self._usage.tokens_since(scope, scope_id, today.replace(day=1))

        async def seed() -> None:
            async with self._store.client.pipeline(transaction=False) as pipe:
                pipe.set(keys[0], used_day, nx=True, px=2 * 86400 * 1000)
                pipe.set(keys[1], used_month, nx=True, px=32 * 86400 * 1000)
                await pipe.execute()

        await self._store.call("loading usage", seed)

    async def settle(self, reservation: SharedReservation, used: int) -> None:
        self._running.pop(reservation.request_id, None)
        pending = _Unsettled(reservation, used)
        try:
            await self._run_settle(pending)
        except RedisError as exc:
            # Redis is away: keep it, and settle when it is back (the script is idempotent).
            logger.warning("settling %s later: %s", reservation.request_id, exc)
            self._unsettled.append(pending)

    async def _run_settle(self, pending: _Unsettled) -> None:
        reservation = pending.reservation
        keys = [k for s, i in reservation.accounts for k in self._keys(s, i, pending.day)]
        keys.append(self._store.key("q", "settled", reservation.request_id))
        args: list[str | int] = [
            reservation.request_id,
            pending.used,
            len(reservation.accounts),
            86400 * 1000,
        ]
        await self._settle(keys=keys, args=args)

    async def _retry_unsettled(self) -> None:
        while self._unsettled:
            await self._run_settle(self._unsettled[0])
            self._unsettled.pop(0)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                await self._retry_unsettled()
                await self.renew()
            except RedisError as exc:
                logger.warning("renewing quota leases failed: %s", exc)

    async def renew(self) -> None:
        """Push back the expiry of this replica's reservations while their requests run."""
        if not self._running:
            return
        expiry = int(self._clock() * 1000) + self._lease_ms
        today = datetime.now(UTC).date()
        async with self._store.client.pipeline(transaction=False) as pipe:
            for reservation in list(self._running.values()):
                for scope, scope_id in reservation.accounts:
                    leases = self._keys(scope, scope_id, today)[2]
                    pipe.zadd(leases, {reservation.request_id: expiry}, xx=True)
            await pipe.execute()


def _ordered(limits: dict[str, int | None]) -> list[int | None]:
    """The limits in the order the script reads them."""
    names = ("tokens_per_day", "tokens_per_month", "max_parallel")
    return [limits[n] for n in (*names, "requests_per_minute", "tokens_per_minute")]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
