"""Shared fixtures: a database per test (SQLite, or a fresh PostgreSQL schema when
AICOMMONS_TEST_DATABASE_URL is set) and one live platform with the real models per session."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aicommons.admin.changes import LocalChanges
from aicommons.admin.service import AdminService
from aicommons.config import Settings
from aicommons.engines.registry import EngineRegistry
from aicommons.governance.rules import default_rules
from aicommons.store.database import Database
from aicommons.testing.live import LiveServer, live_server

PG_URL = os.environ.get("AICOMMONS_TEST_DATABASE_URL")


@contextmanager
def database_url(folder: Path) -> Iterator[str]:
    """A URL to an empty database: SQLite in ``folder`` or a new PostgreSQL schema."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{folder / 'aicommons.db'}"
        return
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        separator = "&" if "?" in PG_URL else "?"
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with database_url(tmp_path) as url:
        yield url


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated database, closed after the test."""
    db = Database(db_url)
    await db.migrate()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def admin_service(database: Database) -> AdminService:
    """The admin service over `database`, as the command line builds it."""
    return AdminService(database, EngineRegistry(), LocalChanges(), default_rules())


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings for a platform with no models file entries loaded beyond the defaults."""
    return Settings(data_dir=tmp_path, database_url=db_url, registry_refresh_seconds=0.5)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One platform for the session: the real SmolLM2 and MiniLM models, over real HTTP."""
    folder = tmp_path_factory.mktemp("live")
    with database_url(folder) as url:
        settings = Settings(data_dir=folder, database_url=url, registry_refresh_seconds=0.5)
        with live_server(settings) as live:
            yield live


@pytest.fixture(scope="session")
def member_key(server: LiveServer) -> str:
    return server.create_key("members")
