"""Tampering with the stored ledger is found, and the first broken record is named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import Executable, delete, update

from aicommons.ledger.records import computed_hash
from aicommons.ledger.verify import verify_chain
from aicommons.ledger.writer import LedgerWriter
from aicommons.store.database import Database
from aicommons.store.ledger import LedgerRow, page_after

N = 30


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.migrate()
    writer = LedgerWriter(database)
    await writer.start()
    for i in range(N):  # one by one, so that several commits make the chain
        await writer.append("request.completed", {"id": f"req_{i}", "completion_tokens": i})
    await writer.close()
    yield database
    await database.close()


async def tamper(db: Database, *statements: Executable) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)


async def test_an_intact_ledger_verifies(db: Database) -> None:
    result = await verify_chain(db, page_size=7)
    assert result.ok and result.count == N and result.head_seq == N
    assert result.to_dict()["message"].startswith(f"ok: {N} records")


async def test_an_edited_payload_is_a_hash_mismatch(db: Database) -> None:
    payload = {"id": "req_11", "completion_tokens": 0}
    await tamper(db, update(LedgerRow).where(LedgerRow.seq == 12).values(payload=payload))
    result = await verify_chain(db, page_size=7)
    assert (result.ok, result.broken_seq, result.reason) == (False, 12, "hash mismatch")
    assert result.count == 11


async def test_a_deleted_record_is_a_missing_seq(db: Database) -> None:
    await tamper(db, delete(LedgerRow).where(LedgerRow.seq == 7))
    result = await verify_chain(db, page_size=7)
    assert (result.ok, result.broken_seq, result.reason) == (False, 7, "missing seq")


async def test_swapped_records_are_reordered(db: Database) -> None:
    await tamper(
        db,
        update(LedgerRow).where(LedgerRow.seq == 15).values(seq=-1),
        update(LedgerRow).where(LedgerRow.seq == 20).values(seq=15),
        update(LedgerRow).where(LedgerRow.seq == -1).values(seq=20),
    )
    result = await verify_chain(db, page_size=7)
    assert (result.ok, result.broken_seq, result.reason) == (False, 15, "reordered")


async def test_neighbours_swapped_are_reordered(db: Database) -> None:
    await tamper(
        db,
        update(LedgerRow).where(LedgerRow.seq == 1).values(seq=-1),
        update(LedgerRow).where(LedgerRow.seq == 2).values(seq=1),
        update(LedgerRow).where(LedgerRow.seq == -1).values(seq=2),
    )
    result = await verify_chain(db)
    assert (result.ok, result.broken_seq, result.reason) == (False, 1, "reordered")


async def test_an_edited_hash_is_a_hash_mismatch(db: Database) -> None:
    await tamper(db, update(LedgerRow).where(LedgerRow.seq == 25).values(hash="a" * 64))
    result = await verify_chain(db, page_size=7)
    assert (result.ok, result.broken_seq, result.reason) == (False, 25, "hash mismatch")


async def test_a_consistently_rehashed_record_breaks_the_next_link(db: Database) -> None:
    """A forger who recomputes the edited record's hash still breaks its successor's link."""
    async with db.engine.connect() as conn:
        target = (await page_after(conn, 9, 1))[0]
    forged_payload = {"id": "req_9", "completion_tokens": 9999}
    forged = replace(target, payload=forged_payload)
    await tamper(
        db,
        update(LedgerRow)
        .where(LedgerRow.seq == 10)
        .values(payload=forged_payload, hash=computed_hash(forged)),
    )
    result = await verify_chain(db, page_size=7)
    assert (result.ok, result.broken_seq, result.reason) == (False, 11, "broken link")


async def test_a_truncated_tail_is_found_by_an_anchor(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aicommons.ledger import append

    monkeypatch.setattr(append, "ANCHOR_EVERY_RECORDS", 5)
    writer = LedgerWriter(db)
    await writer.start()
    for i in range(6):  # past the anchor interval: the head at N + 6 is anchored
        await writer.append("request.completed", {"id": f"late_{i}"})
    await writer.close()
    assert (await verify_chain(db)).ok
    # Removing records from the end leaves a valid, shorter chain...
    await tamper(db, delete(LedgerRow).where(LedgerRow.seq > N + 2))
    result = await verify_chain(db)
    # ...which no longer reaches the head it once had.
    assert (result.ok, result.reason, result.head_seq) == (False, "truncated", N + 2)
    assert result.broken_seq == N + 3


async def test_a_published_head_must_still_be_in_the_chain(db: Database) -> None:
    async with db.engine.connect() as conn:
        head = (await page_after(conn, N - 1, 1))[0]
    assert (await verify_chain(db, expect_head=(N, head.hash))).ok
    assert not (await verify_chain(db, expect_head=(N, "b" * 64))).ok
    await tamper(db, delete(LedgerRow).where(LedgerRow.seq == N))
    result = await verify_chain(db, expect_head=(N, head.hash))
    assert (result.ok, result.reason) == (False, "truncated")
