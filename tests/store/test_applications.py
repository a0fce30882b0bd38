"""The applications table on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.accounts import Accounts
from aicommons.store.applications import Applications
from aicommons.store.database import Database
from aicommons.store.tables import Tenant


@pytest.fixture
def db(database: Database) -> Database:
    return database


async def tenant(db: Database, name: str) -> Tenant:
    async with db.write() as session:
        return await Accounts.add_tenant(session, name)


async def make(db: Database, tenant_id: str, name: str, status: str = "active") -> str:
    async with db.write() as session:
        app = await Applications.create(
            session,
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
    apps = Applications(db)
    lab = await tenant(db, "lab")
    city = await tenant(db, "city")
    app_id = await make(db, lab.id, "helper")
    await make(db, city.id, "helper")  # the same name in another tenant is fine
    with pytest.raises(ConflictError):
        await make(db, lab.id, "helper")
    stored = await apps.get(app_id, lab.id)
    assert stored.facts == {"interacts_with_people": True}
    assert stored.models == ["smollm2-135m-instruct"]
    assert stored.created_at.tzinfo is not None
    with pytest.raises(NotFoundError):
        await apps.get(app_id, city.id)
    assert [a.id for a in await apps.list_apps(lab.id)] == [app_id]
    assert len(await apps.list_apps()) == 2


async def test_register_listing_and_checklist_update(db: Database) -> None:
    apps = Applications(db)
    lab = await tenant(db, "lab")
    shown = await make(db, lab.id, "shown", "pending")
    await make(db, lab.id, "hidden", "refused")
    rows = await apps.list_with_tenants(("active", "pending"))
    assert [(a.id, name) for a, name in rows] == [(shown, "lab")]
    async with db.write() as session:
        checklist = {"deployer_contact": "ops@lab"}
        updated = await Applications.update_checklist(session, shown, checklist, "active")
    assert updated.status == "active"
    assert (await apps.get(shown)).checklist == {"deployer_contact": "ops@lab"}
    with pytest.raises(NotFoundError):
        async with db.write() as session:
            await Applications.update_checklist(session, "app_missing", {}, "active")


async def test_deleting_a_tenant_deletes_its_applications(db: Database) -> None:
    apps = Applications(db)
    lab = await tenant(db, "lab")
    app_id = await make(db, lab.id, "helper")
    async with db.write() as session:
        await session.delete(await Accounts.tenant_in(session, "lab"))
    assert await apps.find(app_id) is None
