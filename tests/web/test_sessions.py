"""Dashboard sessions live in the database: any replica (or a restarted one) knows them, and
the table holds only hashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from aicommons.store.database import Database
from aicommons.store.sessions import DashboardSession
from aicommons.store.tables import utcnow
from aicommons.web.sessions import SessionStore


async def test_a_session_is_known_to_another_store_on_the_same_database(
    database: Database,
) -> None:
    first, second = SessionStore(database), SessionStore(database)
    session = await first.create("a" * 64)
    found = await second.get(session.id)
    assert found is not None and found.key_hash == "a" * 64
    assert found.csrf_ok(session.csrf_token) and not found.csrf_ok("forged")
    async with database.session() as db_session:
        ids = (await db_session.scalars(select(DashboardSession.id_hash))).all()
    assert session.id not in ids  # only its hash is stored
    await second.end(session.id)
    assert await first.get(session.id) is None


async def test_sessions_expire(database: Database) -> None:
    store = SessionStore(database, lifetime_s=60)
    session = await store.create("b" * 64)
    assert await store.get(session.id) is not None
    assert await store.get(session.id, now=utcnow() + timedelta(seconds=61)) is None
    assert await store.get(session.id) is None  # the expired row is gone
    assert await store.get(None) is None and await store.get("x" * 500) is None
