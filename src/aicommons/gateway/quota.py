"""Budgets and rate limits per tenant and per key, with reservations.

Before dispatch a request reserves what it could use (prompt tokens + max new tokens) on its
tenant and on its key; at finish the reservation is replaced by the real usage. Checking and
reserving are one step, so concurrent requests cannot together overshoot a budget: at most the
reserved amounts are in flight.

`QuotaBook` is the pure bookkeeping (no I/O, no clock). Where the accounts live is an adapter
behind `QuotaBackend`: `LocalQuota` keeps them in this process (one gateway process, the embedded
default); `aicommons.shared.quota.RedisQuota` keeps them in Redis, checked and reserved by one
script, so every replica of a platform draws on the same budgets. `QuotaStage` loads the limits
(cached until an admin changes them) and calls the backend.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from aicommons.errors import RateLimitError
from aicommons.gateway.pipeline import RequestContext, Stage
from aicommons.gateway.usage import UsageRecorder
from aicommons.store.usage import Limits, Scope, UsageStore

WINDOW_S = 60.0
LimitName = Literal[
    "tokens_per_day", "tokens_per_month", "max_parallel", "requests_per_minute", "tokens_per_minute"
]
Wanted = tuple[Scope, str, Limits]


@dataclass(frozen=True, slots=True)
class AccountState:
    """What an account has used and holds when a request is refused (for the message)."""

    used_day: int
    used_month: int
    reserved: int
    parallel: int


def seconds_to_midnight(now: datetime) -> float:
    tomorrow = datetime.combine(now.date(), datetime.min.time(), UTC).timestamp() + 86400
    return tomorrow - now.timestamp()


def refusal(
    limit: LimitName,
    who: str,
    limits: Limits,
    state: AccountState,
    tokens: int,
    retry_after_s: float | None,
) -> RateLimitError:
    """The 429 for a request that would break ``limit`` of a tenant or key (``who``)."""
    if limit == "tokens_per_day":
        message = (
            f"The daily token budget of this {who} is used up ({state.used_day} used, "
            f"{state.reserved} reserved in flight, this request needs up to {tokens}, "
            f"budget {limits.tokens_per_day})."
        )
        code, retry_after_s = "insufficient_quota", seconds_to_midnight(datetime.now(UTC))
    elif limit == "tokens_per_month":
        message = (
            f"The monthly token budget of this {who} is used up "
            f"({state.used_month} used, budget {limits.tokens_per_month})."
        )
        code, retry_after_s = "insufficient_quota", None
    elif limit == "max_parallel":
        message = (
            f"This {who} already has {state.parallel} requests running "
            f"(at most {limits.max_parallel})."
        )
        code, retry_after_s = "too_many_parallel_requests", 1
    elif limit == "requests_per_minute":
        message = f"Rate limit of this {who}: {limits.requests_per_minute} requests per minute."
        code = "rate_limit_exceeded"
    else:
        message = f"Rate limit of this {who}: {limits.tokens_per_minute} tokens per minute."
        code = "rate_limit_exceeded"
    headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))} if retry_after_s else {}
    return RateLimitError(message, code=code, headers=headers)


def who(scope: Scope) -> str:
    return "organisation" if scope == "tenant" else "key"


# -- the pure book ---------------------------------------------------------------------------


@dataclass(slots=True)
class Account:
    """What one tenant or key has used and holds in reservations."""

    day: str
    month: str
    used_day: int
    used_month: int
    reserved: int = 0
    parallel: int = 0
    # [time, tokens] of recent requests, for the per-minute limits; tokens are updated from
    # the reservation to the real usage at finish.
    recent: deque[list[float]] = field(default_factory=deque)
    recent_tokens: float = 0.0  # the sum of the tokens in `recent`, kept as it changes

    def prune(self, now: float) -> None:
        while self.recent and self.recent[0][0] <= now - WINDOW_S:
            self.recent_tokens -= self.recent.popleft()[1]

    def remember(self, entry: list[float]) -> None:
        self.recent.append(entry)
        self.recent_tokens += entry[1]

    def retally(self, entry: list[float], tokens: float) -> None:
        """Replace an entry's reserved tokens by the used ones (if it is still in the window)."""
        if self.recent and entry[0] >= self.recent[0][0]:
            self.recent_tokens += tokens - entry[1]
        entry[1] = tokens

    def tokens_last_minute(self) -> int:
        return max(int(self.recent_tokens), 0)

    def state(self) -> AccountState:
        return AccountState(self.used_day, self.used_month, self.reserved, self.parallel)


def broken_limit(
    account: Account, limits: Limits, tokens: int, now: float
) -> tuple[LimitName, float | None] | None:
    """The first limit that ``tokens`` more would break, with when to retry; None if none."""
    in_flight = account.reserved + tokens
    if limits.tokens_per_day is not None and account.used_day + in_flight > limits.tokens_per_day:
        return "tokens_per_day", None
    if (
        limits.tokens_per_month is not None
        and account.used_month + in_flight > limits.tokens_per_month
    ):
        return "tokens_per_month", None
    if limits.max_parallel is not None and account.parallel >= limits.max_parallel:
        return "max_parallel", None
    account.prune(now)
    retry = (account.recent[0][0] + WINDOW_S - now) if account.recent else 1
    if limits.requests_per_minute is not None and len(account.recent) >= limits.requests_per_minute:
        return "requests_per_minute", retry
    if (
        limits.tokens_per_minute is not None
        and account.tokens_last_minute() + tokens > limits.tokens_per_minute
    ):
        return "tokens_per_minute", retry
    return None


def check(account: Account, limits: Limits, tokens: int, who_: str, now: float) -> None:
    """Raise a 429 if ``tokens`` more would break one of ``limits``; pure."""
    broken = broken_limit(account, limits, tokens, now)
    if broken is not None:
        raise refusal(broken[0], who_, limits, account.state(), tokens, broken[1])


@dataclass(slots=True)
class Reservation:
    accounts: list[tuple[Account, Limits]]
    tokens: int
    entries: list[list[float]] = field(default_factory=list)


class QuotaBook:
    """In-memory accounts of tenants and keys; no I/O."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[Scope, str], Account] = {}

    def reserve(self, wanted: list[Wanted], tokens: int, now: float) -> Reservation:
        """Check every account, then reserve on all of them (or on none)."""
        checked = []
        for scope, scope_id, limits in wanted:
            account = self.accounts[(scope, scope_id)]
            check(account, limits, tokens, who(scope), now)
            checked.append((account, limits))
        reservation = Reservation(checked, tokens)
        for account, _ in checked:
            account.reserved += tokens
            account.parallel += 1
            entry = [now, float(tokens)]
            account.remember(entry)
            reservation.entries.append(entry)
        return reservation

    @staticmethod
    def settle(reservation: Reservation, used: int) -> None:
        for (account, _), entry in zip(reservation.accounts, reservation.entries, strict=True):
            account.reserved -= reservation.tokens
            account.parallel -= 1
            account.used_day += used
            account.used_month += used
            account.retally(entry, float(used))  # the per-minute window counts real usage


# -- where the accounts live -----------------------------------------------------------------


class QuotaBackend(Protocol):
    """Checks and reserves on every wanted account at once, and settles a reservation."""

    async def reserve(self, request_id: str, wanted: list[Wanted], tokens: int) -> Any:
        """A reservation (opaque to the caller), or a 429 naming the limit."""
        ...

    async def settle(self, reservation: Any, used: int) -> None: ...

    async def close(self) -> None: ...


class LocalQuota:
    """The accounts in this process, loaded from the database on first use and each new day."""

    def __init__(
        self,
        usage: UsageStore,
        recorder: UsageRecorder,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usage = usage
        self._recorder = recorder
        self._clock = clock
        self._loading: dict[tuple[Scope, str], asyncio.Task[Account]] = {}
        self.book = QuotaBook()

    async def reserve(self, request_id: str, wanted: list[Wanted], tokens: int) -> Reservation:
        today = datetime.now(UTC).date()
        for scope, scope_id, _ in wanted:
            await self._account(scope, scope_id, today)
        # No await from here on: the check and the reservation are one step.
        return self.book.reserve(wanted, tokens, self._clock())

    async def settle(self, reservation: Reservation, used: int) -> None:
        self.book.settle(reservation, used)

    async def close(self) -> None:
        return None

    async def _account(self, scope: Scope, scope_id: str, today: date) -> Account:
        key = (scope, scope_id)
        account = self.book.accounts.get(key)
        if account is not None and account.day == today.isoformat():
            return account
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(scope, scope_id, today, account))
            self._loading[key] = task
            task.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _load(self, scope: Scope, scope_id: str, today: date, old: Account | None) -> Account:
        await self._recorder.flush()
        used_day = await self._usage.tokens_since(scope, scope_id, today)
        used_month = await self._usage.tokens_since(scope, scope_id, today.replace(day=1))
        account = Account(today.isoformat(), today.strftime("%Y-%m"), used_day, used_month)
        if old is not None:  # requests in flight across midnight keep their reservations
            account.reserved, account.parallel = old.reserved, old.parallel
            account.recent, account.recent_tokens = old.recent, old.recent_tokens
        self.book.accounts[(scope, scope_id)] = account
        return account


class QuotaStage(Stage):
    """Refuses requests beyond their tenant's or key's limits; records usage."""

    def __init__(
        self,
        usage: UsageStore,
        recorder: UsageRecorder,
        backend: QuotaBackend,
        limits_cache_s: float = 5.0,
    ) -> None:
        self._usage = usage
        self._recorder = recorder
        self.backend = backend
        self._limits_cache_s = limits_cache_s
        self._limits: dict[tuple[Scope, str], tuple[float, Limits]] = {}

    def forget_limits(self) -> None:
        """Drop cached limits, after an admin changed them (here or on another replica)."""
        self._limits.clear()

    async def limits(self, scope: Scope, scope_id: str) -> Limits:
        now = time.monotonic()
        cached = self._limits.get((scope, scope_id))
        if cached is not None and now - cached[0] < self._limits_cache_s:
            return cached[1]
        limits = await self._usage.limits(scope, scope_id)
        self._limits[(scope, scope_id)] = (now, limits)
        return limits

    async def admit(self, ctx: RequestContext) -> None:
        principal = ctx.principal
        wanted: list[Wanted] = []
        for scope, scope_id in (("tenant", principal.tenant_id), ("key", principal.key_id)):
            limits = await self.limits(scope, scope_id)  # type: ignore[arg-type]
            if not limits.empty:
                wanted.append((scope, scope_id, limits))  # type: ignore[arg-type]
        if not wanted:
            return
        tokens = ctx.prompt_tokens_estimate + ctx.max_new_tokens
        ctx.annotations["quota"] = await self.backend.reserve(ctx.id, wanted, tokens)

    async def finish(self, ctx: RequestContext) -> None:
        if ctx.status != "refused":
            self._recorder.record(ctx)
        reservation = ctx.annotations.pop("quota", None)
        if reservation is not None:
            used = ctx.usage.prompt_tokens + ctx.usage.completion_tokens
            await self.backend.settle(reservation, used)
