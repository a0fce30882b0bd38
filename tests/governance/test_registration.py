"""Registration: status from the decision and the checklist, key binding, register entries."""

from __future__ import annotations

from datetime import date

import pytest

from aicommons.admin.commands import ApplicationRegistration, KeyCreate, TenantCreate
from aicommons.admin.service import Actor, AdminService
from aicommons.errors import NotFoundError, PermissionDeniedError
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import (
    Checklist,
    ChecklistUpdate,
    missing_for,
    missing_items,
    register_entry,
)
from aicommons.store.applications import Application

TODAY = date(2026, 11, 29)
CREDIT = ApplicationFacts(annex_iii_use="5b_creditworthiness", description="scores loans")
WORK_EMOTIONS = ApplicationFacts(emotion_inference=True, emotion_setting="workplace")
CHATBOT = ApplicationFacts(interacts_with_people=True, synthetic_content=["text"])
COMPLETE = Checklist(
    human_oversight_contact="risk officer <risk@bank.example>",
    log_retention_days=183,
    bias_evaluated=True,
    deployer_contact="ops@bank.example",
)


Stores = tuple[AdminService, str]


@pytest.fixture
async def stores(admin_service: AdminService) -> Stores:
    tenant = await admin_service.create_tenant(Actor.system(), TenantCreate(name="bank"))
    return admin_service, tenant.id


async def register(
    stores: Stores,
    facts: ApplicationFacts,
    name: str = "app",
    checklist: Checklist | None = None,
) -> Application:
    admin, tenant_id = stores
    command = ApplicationRegistration(
        name=name, facts=facts, models=["smollm2-135m-instruct"], checklist=checklist
    )
    return await admin.register_application(
        Actor.system(), tenant_id, command, served_models=None, today=TODAY
    )


async def update_checklist(
    stores: Stores, app: Application, update: ChecklistUpdate
) -> Application:
    return await stores[0].update_checklist(Actor.system(), app, update)


async def test_statuses_follow_the_tier(stores: Stores) -> None:
    assert (await register(stores, CHATBOT, "bot")).status == "active"
    assert (await register(stores, WORK_EMOTIONS, "mood")).status == "refused"
    pending = await register(stores, CREDIT, "loans")
    assert pending.status == "pending" and pending.tier == "high_risk"
    assert len(missing_for(pending)) == 4
    assert (await register(stores, CREDIT, "loans2", COMPLETE)).status == "active"


async def test_checklist_completes_step_by_step(stores: Stores) -> None:
    app = await register(stores, CREDIT)
    app = await update_checklist(
        stores, app, ChecklistUpdate(human_oversight_contact="Ana", log_retention_days=90)
    )
    assert app.status == "pending"
    assert [m.split()[0] for m in missing_for(app)] == [
        "log_retention_days",
        "bias_evaluated",
        "deployer_contact",
    ]
    app = await update_checklist(
        stores,
        app,
        ChecklistUpdate(log_retention_days=200, bias_evaluation_ref="leaderboard/run/17"),
    )
    app = await update_checklist(stores, app, ChecklistUpdate(deployer_contact="ops"))
    assert app.status == "active"
    assert app.checklist["human_oversight_contact"] == "Ana"  # earlier fields are kept


def test_six_months_means_183_days() -> None:
    short = COMPLETE.model_copy(update={"log_retention_days": 182})
    assert missing_items("high_risk", short) == [
        "log_retention_days >= 183 (Art. 26(6): logs kept six months)"
    ]
    assert missing_items("high_risk", COMPLETE) == []
    assert missing_items("transparency", Checklist()) == []


async def test_keys_bind_only_to_own_permitted_applications(
    stores: Stores,
) -> None:
    admin, tenant_id = stores
    other = await admin.create_tenant(Actor.system(), TenantCreate(name="other"))
    bot = await register(stores, CHATBOT, "bot")
    refused = await register(stores, WORK_EMOTIONS, "mood")

    async def bind(tenant: str, app_id: str | None) -> None:
        command = KeyCreate(tenant=tenant, application_id=app_id)
        await admin.create_key(Actor.system(), command)

    await bind(tenant_id, None)
    await bind(tenant_id, bot.id)
    with pytest.raises(PermissionDeniedError, match=r"Art\. 5\(1\)\(f\)"):
        await bind(tenant_id, refused.id)
    with pytest.raises(NotFoundError):
        await bind(other.id, bot.id)
    with pytest.raises(NotFoundError):
        await bind(tenant_id, "app_nothing")


async def test_register_entry_has_no_facts_or_secrets(stores: Stores) -> None:
    app = await register(stores, CREDIT.model_copy(update=CHATBOT.model_dump(exclude_unset=True)))
    entry = register_entry(app, "bank")
    assert entry["tenant"] == "bank" and entry["purpose"] == "scores loans"
    assert entry["tiers"] == ["high_risk", "transparency"]
    assert {"Annex III 5(b)", "Art. 50(1)"} <= set(entry["articles"])
    assert "facts" not in entry and "checklist" not in entry
