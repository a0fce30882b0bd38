"""Group commit against the real database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from aicommons.ledger.records import GENESIS_HASH
from aicommons.ledger.verify import verify_chain
from aicommons.ledger.writer import LedgerClosedError, LedgerUnavailableError, LedgerWriter
from aicommons.store import ledger as table
from aicommons.store.database import Database


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.migrate()
    yield database
    await database.close()


async def test_200_concurrent_appends_make_one_gapless_chain(db: Database) -> None:
    writer = LedgerWriter(db)
    await writer.start()
    records = await asyncio.gather(
        *(writer.append("request.completed", {"id": f"req_{i}", "n": i}) for i in range(200))
    )
    await writer.close()
    assert sorted(r.seq for r in records) == list(range(1, 201))
    assert writer.num_commits < 50  # grouped, not one commit per record
    result = await verify_chain(db, page_size=64)  # several pages
    assert result.ok and result.count == 200 and result.head_seq == 200
    async with db.engine.connect() as conn:
        stored = await table.page_after(conn, 0, 1000)
    assert stored[0].prev_hash == GENESIS_HASH
    assert {r.payload["id"] for r in stored} == {f"req_{i}" for i in range(200)}


async def test_a_restarted_writer_continues_the_chain(db: Database) -> None:
    for round_ in range(2):
        writer = LedgerWriter(db)
        await writer.start()
        last = await writer.append("admin.tenant.created", {"round": round_})
        await writer.close()
    assert last.seq == 2
    assert (await verify_chain(db)).ok


async def test_two_writers_on_one_database_still_make_one_chain(db: Database) -> None:
    """The CLI appends while the server runs: a stale head is re-read, never forked."""
    server, cli = LedgerWriter(db), LedgerWriter(db)
    await server.start()
    await cli.start()
    await asyncio.gather(
        *(w.append("x", {"i": i}) for i in range(20) for w in (server, cli)),
    )
    await server.close()
    await cli.close()
    result = await verify_chain(db)
    assert result.ok and result.count == 40


async def test_unhashable_payloads_are_refused_at_append(db: Database) -> None:
    writer = LedgerWriter(db)
    await writer.start()
    with pytest.raises(TypeError):
        await writer.append("x", {"when": object()})
    assert (await writer.append("x", {"fine": True})).seq == 1
    await writer.close()
    with pytest.raises(LedgerClosedError):
        await writer.append("x", {})


async def test_a_cancelled_caller_still_gets_its_record_written(db: Database) -> None:
    writer = LedgerWriter(db)
    await writer.start()
    task = asyncio.ensure_future(writer.append("request.completed", {"id": "req_gone"}))
    await asyncio.sleep(0)
    task.cancel()
    await writer.close()
    async with db.engine.connect() as conn:
        assert [r.payload["id"] for r in await table.recent(conn, 5)] == ["req_gone"]


async def test_a_failed_commit_fails_its_appends_and_the_writer_recovers(db: Database) -> None:
    writer = LedgerWriter(db)
    await writer.start()
    await writer.append("x", {"i": 0})
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_records RENAME TO ledger_hidden"))
    with pytest.raises(LedgerUnavailableError) as caught:
        await writer.append("x", {"i": 1})
    assert caught.value.status_code == 503
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE ledger_hidden RENAME TO ledger_records"))
    assert (await writer.append("x", {"i": 2})).seq == 2
    await writer.close()
    assert (await verify_chain(db)).count == 2


@pytest.mark.slow
async def test_group_commit_throughput(db: Database) -> None:
    """Measured, not asserted tightly: printed with -s for the report."""
    writer = LedgerWriter(db)
    await writer.start()
    n = 5000
    started = time.perf_counter()
    await asyncio.gather(*(writer.append("request.completed", {"i": i}) for i in range(n)))
    elapsed = time.perf_counter() - started
    await writer.close()
    print(f"\n{db.engine.dialect.name}: {n / elapsed:.0f} appends/s, {writer.num_commits} commits")
    assert (await verify_chain(db)).count == n
