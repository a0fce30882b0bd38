"""Appending to the chain inside a caller's transaction: the one place records are linked.

Every appender (each gateway replica's group commit, an admin change recorded in the same
transaction as the change, the command line) takes the chain's lock, reads the head inside the
lock and inserts after it. So any number of processes append to one chain without conflicts or
retries, and a record is committed exactly when the transaction that made it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aicommons.ledger.records import ChainHead, Entry, LedgerRecord, chain
from aicommons.store import ledger as table
from aicommons.store.database import Database

CHAIN_LOCK = "aicommons.ledger"
# A new anchor (a head kept aside, to detect a truncated tail) once the newest is this old or
# this many records behind.
ANCHOR_EVERY_S = 60.0
ANCHOR_EVERY_RECORDS = 1000
# Hashing more entries than this moves to a worker thread, off the event loop.
_HASH_INLINE_MAX = 64


@dataclass(slots=True)
class AnchorSchedule:
    """When this process last saw an anchor, so that it asks the database only when one may
    be due (another process may have anchored since: the database has the last word)."""

    seq: int = 0
    at: datetime | None = None

    def may_be_due(self, last: LedgerRecord) -> bool:
        return (
            self.at is None
            or last.seq - self.seq >= ANCHOR_EVERY_RECORDS
            or (last.created_at - self.at).total_seconds() >= ANCHOR_EVERY_S
        )


async def append_entries(
    db: Database,
    session: AsyncSession,
    entries: Sequence[Entry],
    anchors: AnchorSchedule | None = None,
) -> list[LedgerRecord]:
    """Link ``entries`` after the head and insert them, in ``session``'s transaction (opened
    with `Database.write`); they are durable when that transaction commits. ``anchors`` spares
    a frequent appender (the group commit) a query per batch."""
    await db.lock(session, CHAIN_LOCK)
    conn = await session.connection()
    head = await table.read_head(conn)
    if len(entries) > _HASH_INLINE_MAX:
        records = await asyncio.to_thread(chain, head, entries)
    else:
        records = chain(head, entries)
    await table.insert_records(conn, records)
    schedule = anchors or AnchorSchedule()
    if schedule.may_be_due(records[-1]):
        await _anchor_if_due(conn, records[-1], schedule)
    return records


async def _anchor_if_due(
    conn: AsyncConnection, last: LedgerRecord, schedule: AnchorSchedule
) -> None:
    newest = await table.newest_anchor(conn)
    if newest is not None:
        schedule.seq, schedule.at = newest[0], newest[2]
    if schedule.may_be_due(last):
        await table.add_anchor(conn, ChainHead(last.seq, last.hash), last.created_at)
        schedule.seq, schedule.at = last.seq, last.created_at
