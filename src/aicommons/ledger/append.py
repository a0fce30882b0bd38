"""Appending to the chain inside a caller's transaction: the one place records are linked.

Every appender (each gateway replica's group commit, an admin change recorded in the same
transaction as the change, the command line) takes the chain's lock, reads the head inside the
lock and inserts after it. So any number of processes append to one chain without conflicts or
retries, and a record is committed exactly when the transaction that made it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aicommons.ledger.records import Entry, LedgerRecord, chain
from aicommons.store import ledger as table
from aicommons.store.database import Database

CHAIN_LOCK = "aicommons.ledger"
# Hashing more entries than this moves to a worker thread, off the event loop.
_HASH_INLINE_MAX = 64


async def append_entries(
    db: Database, session: AsyncSession, entries: Sequence[Entry]
) -> list[LedgerRecord]:
    """Link ``entries`` after the head and insert them, in ``session``'s transaction (opened
    with `Database.write`); they are durable when that transaction commits."""
    await db.lock(session, CHAIN_LOCK)
    conn = await session.connection()
    head = await table.read_head(conn)
    if len(entries) > _HASH_INLINE_MAX:
        records = await asyncio.to_thread(chain, head, entries)
    else:
        records = chain(head, entries)
    await table.insert_records(conn, records)
    return records
