"""The applications table on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import inspect

from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.accounts import Accounts
from aicommons.store.applications import Applications
from aicommons.store.database import Database


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


async def make(apps: Applications, tenant_id: str, name: str, status: str = "active") -> str:
    app = await apps.create(
        tenant_id,
        name,
        description="answers questions",
        facts={"interacts_with_people": True},
        models=["smollm2-135m-instruct"],
        tier="transparency",
        decision={"tier": "transparency", "tiers": ["transparency"]},
        status=status,
        checklist={},
    )
    return app.id


async def test_migration_creates_the_table(db: Database) -> None:
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert "applications" in names


async def test_create_get_list_and_isolation(db: Database) -> None:
    accounts, apps = Accounts(db), Applications(db)
    lab = await accounts.create_tenant("lab")
    city = await accounts.create_tenant("city")
    app_id = await make(apps, lab.id, "helper")
    await make(apps, city.id, "helper")  # the same name in another tenant is fine
    with pytest.raises(ConflictError):
        await make(apps, lab.id, "helper")
    stored = await apps.get(app_id, lab.id)
    assert stored.facts == {"interacts_with_people": True}
    assert stored.models == ["smollm2-135m-instruct"]
    assert stored.created_at.tzinfo is not None
    with pytest.raises(NotFoundError):
        await apps.get(app_id, city.id)
    assert [a.id for a in await apps.list_apps(lab.id)] == [app_id]
    assert len(await apps.list_apps()) == 2


async def test_register_listing_and_checklist_update(db: Database) -> None:
    accounts, apps = Accounts(db), Applications(db)
    lab = await accounts.create_tenant("lab")
    shown = await make(apps, lab.id, "shown", "pending")
    await make(apps, lab.id, "hidden", "refused")
    rows = await apps.list_with_tenants(("active", "pending"))
    assert [(a.id, tenant) for a, tenant in rows] == [(shown, "lab")]
    updated = await apps.update_checklist(shown, {"deployer_contact": "ops@lab"}, "active")
    assert updated.status == "active"
    assert (await apps.get(shown)).checklist == {"deployer_contact": "ops@lab"}
    with pytest.raises(NotFoundError):
        await apps.update_checklist("app_missing", {}, "active")


async def test_deleting_a_tenant_deletes_its_applications(db: Database) -> None:
    accounts, apps = Accounts(db), Applications(db)
    lab = await accounts.create_tenant("lab")
    app_id = await make(apps, lab.id, "helper")
    await accounts.delete_tenant("lab")
    assert await apps.find(app_id) is None
