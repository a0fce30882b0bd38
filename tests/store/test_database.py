"""Migrations and the accounts store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.accounts import Accounts, hash_key
from aicommons.store.database import Database


async def test_migrations_create_the_tables_and_are_idempotent(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.migrate()
        await db.migrate()
        async with db.engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert {"tenants", "api_keys", "models", "alembic_version"} <= names
    finally:
        await db.close()


async def test_keys_are_stored_as_hashes_with_utc_times(db_url: str) -> None:
    db = Database(db_url)
    await db.migrate()
    accounts = Accounts(db)
    try:
        expiry = datetime(2030, 1, 1, tzinfo=UTC)
        async with db.write() as session:
            tenant = await Accounts.add_tenant(session, "lab")
            _key, secret = await Accounts.add_key(session, tenant.id, "k", expires_at=expiry)
        found = await accounts.find_by_secret(secret)
        assert found is not None and found.tenant.name == "lab"
        assert found.key.key_hash == hash_key(secret) != secret
        assert found.key.expires_at == expiry
        assert await accounts.find_by_secret(secret + "x") is None
        with pytest.raises(ConflictError):
            async with db.write() as session:
                await Accounts.add_tenant(session, "lab")
        with pytest.raises(NotFoundError):
            await accounts.get_key("key_missing")
    finally:
        await db.close()
