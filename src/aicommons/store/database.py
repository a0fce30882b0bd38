"""The database engine and its sessions, built by the app factory (never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def _tune_sqlite(dbapi_connection: Any, _: Any) -> None:
    # WAL lets readers run beside the writer; NORMAL keeps committed data across a process
    # kill (not a power cut), which is the durability the ledger promises on SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Database:
    """An async SQLAlchemy engine plus a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite and ":///" in url:
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _tune_sqlite)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction, committed on success and rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that holds the database's write lock from its start.

        On SQLite that is ``BEGIN IMMEDIATE``: a deferred transaction that reads first and
        writes later fails at once ("database is locked") when another process wrote in
        between, whereas an immediate one waits its turn. On PostgreSQL rows lock as they are
        written and `lock` serialises what must be serial (the ledger's chain).
        """
        async with self.sessions() as session, session.begin():
            if self.is_sqlite:
                await session.execute(text("BEGIN IMMEDIATE"))
            yield session

    async def lock(self, session: AsyncSession, name: str) -> None:
        """Hold a named lock until the session's transaction ends (PostgreSQL advisory lock;
        on SQLite the transaction of `write` already excludes every other writer)."""
        if not self.is_sqlite:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :name))"),
                {"name": f".{name}"},
            )

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade_to_head)

    async def close(self) -> None:
        await self.engine.dispose()


def upgrade_to_head(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")
