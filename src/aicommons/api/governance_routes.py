"""Governance API: applications and their AI Act classification, the obligations checklist,
the facts schema, a dry-run classifier, the public transparency register and generated
documents (model card, Annex IV draft).

Members register and see applications of their own tenant (another tenant's is a 404);
admin keys see all and may register for any tenant. Registering a prohibited purpose
stores the application as ``refused`` and answers 403 naming the article.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from aicommons.admin.commands import ApplicationRegistration
from aicommons.admin.service import Actor
from aicommons.api.deps import PrincipalDep, ServicesDep
from aicommons.errors import InvalidRequestError, PermissionDeniedError
from aicommons.gateway.auth import Principal
from aicommons.governance import documents, registration
from aicommons.governance.classifier import Decision, classify
from aicommons.governance.facts import ApplicationFacts, facts_schema
from aicommons.governance.registration import ChecklistUpdate
from aicommons.services import Services
from aicommons.store.applications import Application

router = APIRouter(prefix="/v1", tags=["governance"])

ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class ApplicationCreate(ApplicationRegistration):
    tenant: str | None = Field(default=None, description="admin keys only: tenant id or name")


class ApplicationPublic(BaseModel):
    id: str
    tenant_id: str
    name: str
    description: str
    tier: str
    tiers: list[str]
    status: str
    missing: list[str]
    models: list[str]
    facts: dict[str, Any]
    decision: dict[str, Any]
    checklist: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, app: Application) -> ApplicationPublic:
        return cls(
            id=app.id,
            tenant_id=app.tenant_id,
            name=app.name,
            description=app.description,
            tier=app.tier,
            tiers=list(app.decision.get("tiers", [app.tier])),
            status=app.status,
            missing=registration.missing_for(app),
            models=app.models,
            facts=app.facts,
            decision=app.decision,
            checklist=app.checklist,
            created_at=app.created_at,
        )


def _today() -> date:
    """Today in UTC: which obligations are in force is judged on this date."""
    return datetime.now(UTC).date()


async def _owned(services: Services, principal: Principal, app_id: str) -> Application:
    """The application if the key's tenant owns it (or the key is an admin's); else 404."""
    tenant = None if principal.is_admin else principal.tenant_id
    return await services.applications.get(app_id, tenant)


@router.post("/applications", status_code=201)
async def register(
    body: ApplicationCreate, principal: PrincipalDep, services: ServicesDep
) -> ApplicationPublic:
    if body.tenant is not None and not principal.is_admin:
        raise PermissionDeniedError(
            "Only admin keys may register for another tenant; leave out 'tenant'.",
            code="admin_required",
        )
    tenant_id = (
        (await services.accounts.get_tenant(body.tenant)).id if body.tenant else principal.tenant_id
    )
    app = await services.admin.register_application(
        Actor.api(principal.key_id),
        tenant_id,
        body,
        served_models=services.gateway.visible_models(principal),
        today=_today(),
    )
    if app.status == "refused":
        raise registration.refusal_error(app)
    return ApplicationPublic.of(app)


@router.get("/applications")
async def list_applications(
    principal: PrincipalDep, services: ServicesDep
) -> list[ApplicationPublic]:
    tenant = None if principal.is_admin else principal.tenant_id
    return [ApplicationPublic.of(a) for a in await services.applications.list_apps(tenant)]


@router.get("/applications/{app_id}")
async def get_application(
    app_id: str, principal: PrincipalDep, services: ServicesDep
) -> ApplicationPublic:
    return ApplicationPublic.of(await _owned(services, principal, app_id))


@router.patch("/applications/{app_id}/checklist")
async def update_checklist(
    app_id: str, body: ChecklistUpdate, principal: PrincipalDep, services: ServicesDep
) -> ApplicationPublic:
    app = await _owned(services, principal, app_id)
    updated = await services.admin.update_checklist(Actor.api(principal.key_id), app, body)
    return ApplicationPublic.of(updated)


@router.get("/governance/facts-schema")
async def get_facts_schema() -> dict[str, Any]:
    """The JSON Schema of the facts an application declares (public)."""
    return facts_schema()


@router.post("/governance/classify")
async def dry_run(body: ApplicationFacts, _: PrincipalDep, services: ServicesDep) -> Decision:
    """Classify facts without registering anything."""
    return classify(body, services.rules, on=_today())


@router.get("/register")
async def transparency_register(services: ServicesDep) -> dict[str, Any]:
    """The public transparency register: no key needed; no facts beyond purpose, no keys."""
    rows = await services.applications.list_with_tenants(registration.PUBLIC_STATUSES)
    data = [registration.register_entry(app, tenant) for app, tenant in rows]
    return {"object": "list", "rules_version": services.rules.version, "data": data}


async def _doc_input(services: Services, app: Application) -> documents.AppDocInput:
    tenant = await services.accounts.get_tenant(app.tenant_id)
    return documents.AppDocInput(
        id=app.id,
        name=app.name,
        tenant=tenant.name,
        status=app.status,
        facts=ApplicationFacts.model_validate(app.facts),
        decision=registration.decision_of(app),
        checklist=registration.checklist_of(app),
        models=app.models,
    )


async def _model_info(services: Services, name: str) -> documents.ModelInfo:
    engine = services.catalog.get(name)
    return await asyncio.to_thread(documents.describe_model, engine)


def _markdown(text: str) -> Response:
    return Response(text, media_type="text/markdown; charset=utf-8")


@router.get("/applications/{app_id}/model-card")
async def model_card(
    app_id: str, principal: PrincipalDep, services: ServicesDep, model: str | None = None
) -> Response:
    app = await _owned(services, principal, app_id)
    name = model or (app.models[0] if app.models else None)
    if name is None:
        raise InvalidRequestError("the application names no model; pass ?model=NAME", param="model")
    if app.models and name not in app.models:
        raise InvalidRequestError(f"the application does not use {name!r}", param="model")
    info = await _model_info(services, name)
    return _markdown(documents.model_card(await _doc_input(services, app), info))


@router.get("/applications/{app_id}/annex-iv")
async def annex_iv(app_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    app = await _owned(services, principal, app_id)
    served = services.catalog.engines()
    infos = [await _model_info(services, m) for m in app.models if m in served]
    return _markdown(documents.annex_iv(await _doc_input(services, app), infos))
