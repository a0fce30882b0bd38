"""The ledger writer: group commit of chained records.

``append`` queues a record and waits; one background task takes everything queued, numbers
and links it after the chain's head, inserts the batch in one transaction and then wakes
every waiter. So a burst of N appends costs a handful of commits, not N, and ``append``
returns only once its record is committed.

Each batch is linked inside the chain's lock (`aicommons.ledger.append`), so every replica's
writer, admin changes and the command line append to one chain without conflicts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aicommons.errors import AICommonsError
from aicommons.ledger.append import append_entries
from aicommons.ledger.records import Entry, LedgerRecord, canonical_json
from aicommons.store.database import Database
from aicommons.store.tables import utcnow

logger = logging.getLogger(__name__)

_Pending = tuple[Entry, "asyncio.Future[LedgerRecord]"]


class LedgerUnavailableError(AICommonsError):
    """The ledger could not commit a record, so the request it records cannot complete."""

    status_code = 503
    error_type = "service_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="ledger_unavailable")


class LedgerClosedError(LedgerUnavailableError):
    """An append after `LedgerWriter.close` (the platform is shutting down)."""


class LedgerWriter:
    """Appends records durably, many per transaction. Implements `AuditSink`."""

    def __init__(self, db: Database, max_batch: int = 1000) -> None:
        self._db = db
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.num_commits = 0

    async def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def append(self, kind: str, payload: Mapping[str, Any]) -> LedgerRecord:
        """Append one record; return it once it is committed."""
        if self._closed or self._task is None:
            raise LedgerClosedError("The platform is shutting down; try again shortly.")
        canonical_json(payload)  # refuse what cannot be hashed here, not in someone's batch
        future: asyncio.Future[LedgerRecord] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((Entry(kind, payload, utcnow()), future))
        # A cancelled caller does not withdraw the record: it is queued and will be written.
        return await asyncio.shield(future)

    async def record(self, kind: str, payload: Mapping[str, Any]) -> None:
        """`AuditSink`: append and wait until durable."""
        await self.append(kind, payload)

    async def close(self) -> None:
        """Write everything queued, then stop."""
        if self._task is None or self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    # -- the background task ---------------------------------------------------------------

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            batch: list[_Pending] = [] if first is None else [first]
            stopping = first is None
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        entries = [entry for entry, _ in batch]
        try:
            records = await self._write(entries)
        except Exception:
            logger.exception("writing %d ledger records failed", len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(
                        LedgerUnavailableError("The ledger cannot record requests right now.")
                    )
            return
        for (_, future), record in zip(batch, records, strict=True):
            if not future.done():
                future.set_result(record)

    async def _write(self, entries: list[Entry]) -> list[LedgerRecord]:
        async with self._db.write() as session:
            records = await append_entries(self._db, session, entries)
        self.num_commits += 1
        return records
