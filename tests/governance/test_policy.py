"""The policy stage with a real applications store: refusals, marks and the cache."""

from __future__ import annotations

from datetime import date

import pytest

from aicommons.admin.commands import ApplicationRegistration, TenantCreate
from aicommons.admin.service import Actor, AdminService
from aicommons.errors import PermissionDeniedError
from aicommons.gateway.auth import Principal
from aicommons.gateway.pipeline import RequestContext, RequestKind
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.policy import PolicyStage
from aicommons.governance.registration import ChecklistUpdate
from aicommons.store.applications import Application, Applications
from aicommons.store.database import Database

CHATBOT = ApplicationFacts(interacts_with_people=True, synthetic_content=["text"])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Env = tuple[Applications, str, AdminService]


@pytest.fixture
async def env(database: Database, admin_service: AdminService) -> Env:
    tenant = await admin_service.create_tenant(Actor.system(), TenantCreate(name="lab"))
    return Applications(database), tenant.id, admin_service


async def register(env: Env, name: str, facts: ApplicationFacts) -> Application:
    _, tenant_id, admin = env
    command = ApplicationRegistration(name=name, facts=facts)
    return await admin.register_application(
        Actor.system(), tenant_id, command, served_models=None, today=date(2026, 11, 29)
    )


def context(app_id: str | None, kind: RequestKind = "chat") -> RequestContext:
    principal = Principal(
        key_id="key_1", tenant_id="ten_1", tenant_name="lab", application_id=app_id
    )
    return RequestContext(principal=principal, model="smollm2-135m-instruct", kind=kind)


async def test_key_without_application_passes_unmarked(env: Env) -> None:
    stage = PolicyStage(env[0])
    ctx = context(None)
    await stage.admit(ctx)
    assert ctx.response_headers == {} and ctx.response_fields == {}
    assert ctx.annotations["policy"]["action"] == "allow"


async def test_transparency_app_is_marked(env: Env) -> None:
    app = await register(env, "bot", CHATBOT)
    ctx = context(app.id)
    await PolicyStage(env[0]).admit(ctx)
    assert ctx.response_headers == {"AI-Generated": "true"}
    mark = ctx.response_fields["ai_generated"]
    assert mark["value"] is True and mark["basis"].startswith("Art. 50(2)")
    assert mark["duties"] == ["Art. 50(1)", "Art. 50(2)"]
    assert ctx.annotations["policy"]["tier"] == "transparency"


async def test_embeddings_are_not_marked(env: Env) -> None:
    app = await register(env, "bot", CHATBOT)
    ctx = context(app.id, "embedding")
    await PolicyStage(env[0]).admit(ctx)
    assert ctx.response_headers == {}


async def test_prohibited_app_is_refused_naming_the_article(env: Env) -> None:
    app = await register(env, "score", ApplicationFacts(social_scoring=True))
    ctx = context(app.id)
    with pytest.raises(PermissionDeniedError, match=r"Art\. 5\(1\)\(c\)") as caught:
        await PolicyStage(env[0]).admit(ctx)
    assert caught.value.code == "prohibited_practice"
    assert ctx.annotations["policy"]["action"] == "refuse"


async def test_pending_app_is_refused_until_complete_and_cache_is_invalidated(
    env: Env,
) -> None:
    apps = env[0]
    clock = Clock()
    stage = PolicyStage(apps, cache_seconds=5, clock=clock)
    app = await register(env, "loans", ApplicationFacts(annex_iii_use="5b_creditworthiness"))
    with pytest.raises(PermissionDeniedError, match="log_retention_days >= 183"):
        await stage.admit(context(app.id))
    done = ChecklistUpdate(
        human_oversight_contact="Ana",
        log_retention_days=365,
        bias_evaluated=True,
        deployer_contact="ops",
    )
    await env[2].update_checklist(Actor.system(), app, done)
    with pytest.raises(PermissionDeniedError):  # still cached
        await stage.admit(context(app.id))
    clock.now = 5.1  # a change made by another process shows after cache_seconds
    await stage.admit(context(app.id))
    stage.forget(app.id)  # and at once after forget
    await stage.admit(context(app.id))


async def test_missing_application_is_refused(env: Env) -> None:
    with pytest.raises(PermissionDeniedError, match="no longer exists"):
        await PolicyStage(env[0]).admit(context("app_gone"))
