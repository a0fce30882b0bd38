"""Registration: status from the decision and the checklist, key binding, register entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest

from aicommons.errors import NotFoundError, PermissionDeniedError
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import (
    Checklist,
    ChecklistUpdate,
    check_key_binding,
    missing_for,
    missing_items,
    register_application,
    register_entry,
    update_checklist,
)
from aicommons.governance.rules import default_rules
from aicommons.store.accounts import Accounts
from aicommons.store.applications import Application, Applications
from aicommons.store.database import Database

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


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[tuple[Applications, str]]:
    db = Database(db_url)
    await db.migrate()
    tenant = await Accounts(db).create_tenant("bank")
    try:
        yield Applications(db), tenant.id
    finally:
        await db.close()


async def register(
    stores: tuple[Applications, str],
    facts: ApplicationFacts,
    name: str = "app",
    checklist: Checklist | None = None,
) -> Application:
    apps, tenant_id = stores
    return await register_application(
        apps,
        default_rules(),
        tenant_id=tenant_id,
        name=name,
        facts=facts,
        models=["smollm2-135m-instruct"],
        checklist=checklist,
        today=TODAY,
    )


async def test_statuses_follow_the_tier(stores: tuple[Applications, str]) -> None:
    assert (await register(stores, CHATBOT, "bot")).status == "active"
    assert (await register(stores, WORK_EMOTIONS, "mood")).status == "refused"
    pending = await register(stores, CREDIT, "loans")
    assert pending.status == "pending" and pending.tier == "high_risk"
    assert len(missing_for(pending)) == 4
    assert (await register(stores, CREDIT, "loans2", COMPLETE)).status == "active"


async def test_checklist_completes_step_by_step(stores: tuple[Applications, str]) -> None:
    apps, _ = stores
    app = await register(stores, CREDIT)
    app = await update_checklist(
        apps, app, ChecklistUpdate(human_oversight_contact="Ana", log_retention_days=90)
    )
    assert app.status == "pending"
    assert [m.split()[0] for m in missing_for(app)] == [
        "log_retention_days",
        "bias_evaluated",
        "deployer_contact",
    ]
    app = await update_checklist(
        apps,
        app,
        ChecklistUpdate(log_retention_days=200, bias_evaluation_ref="leaderboard/run/17"),
    )
    app = await update_checklist(apps, app, ChecklistUpdate(deployer_contact="ops"))
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
    stores: tuple[Applications, str],
) -> None:
    apps, tenant_id = stores
    bot = await register(stores, CHATBOT, "bot")
    refused = await register(stores, WORK_EMOTIONS, "mood")
    await check_key_binding(apps, tenant_id, None)
    await check_key_binding(apps, tenant_id, bot.id)
    with pytest.raises(PermissionDeniedError, match=r"Art\. 5\(1\)\(f\)"):
        await check_key_binding(apps, tenant_id, refused.id)
    with pytest.raises(NotFoundError):
        await check_key_binding(apps, "ten_other", bot.id)
    with pytest.raises(NotFoundError):
        await check_key_binding(apps, tenant_id, "app_nothing")


async def test_register_entry_has_no_facts_or_secrets(stores: tuple[Applications, str]) -> None:
    app = await register(stores, CREDIT.model_copy(update=CHATBOT.model_dump(exclude_unset=True)))
    entry = register_entry(app, "bank")
    assert entry["tenant"] == "bank" and entry["purpose"] == "scores loans"
    assert entry["tiers"] == ["high_risk", "transparency"]
    assert {"Annex III 5(b)", "Art. 50(1)"} <= set(entry["articles"])
    assert "facts" not in entry and "checklist" not in entry
