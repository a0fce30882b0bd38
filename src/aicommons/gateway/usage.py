"""Usage aggregation: finished requests are summed in memory and written in batches.

Writing one row per request would put a database write on every request's path; the ledger
already keeps the durable per-request record, so usage rows are flushed every
``flush_interval_s`` (and at shutdown). A crash loses at most that interval of aggregates,
which the ledger can rebuild.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from aicommons.gateway.pipeline import RequestContext
from aicommons.store.usage import UsageDelta, UsageKey, UsageStore

logger = logging.getLogger(__name__)


def delta_of(ctx: RequestContext) -> UsageDelta:
    energy = ctx.annotations.get("energy") or {}
    return UsageDelta(
        requests=1,
        failed=0 if ctx.status == "ok" else 1,
        prompt_tokens=ctx.usage.prompt_tokens,
        completion_tokens=ctx.usage.completion_tokens,
        energy_joules=float(energy.get("joules") or 0.0),
        gco2e=float(energy.get("gco2e") or 0.0),
    )


class UsageRecorder:
    def __init__(self, store: UsageStore, flush_interval_s: float = 1.0) -> None:
        self._store = store
        self._interval = flush_interval_s
        self._pending: dict[UsageKey, UsageDelta] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def record(self, ctx: RequestContext) -> None:
        day = datetime.now(UTC).date().isoformat()
        key = (day, ctx.principal.tenant_id, ctx.principal.key_id, ctx.model)
        self._pending.setdefault(key, UsageDelta()).add(delta_of(ctx))

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending, {}
            try:
                await self._store.add(batch)
            except BaseException:
                for key, delta in batch.items():  # keep them for the next try
                    self._pending.setdefault(key, UsageDelta()).add(delta)
                raise

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception:
                logger.exception("writing usage failed; will try again")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
