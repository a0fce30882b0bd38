"""Governance pages: register an application from a form generated from the facts schema,
see its AI Act classification and complete its checklist, and the public transparency register.

Writes go through the admin service, as ``POST /v1/applications`` and the checklist PATCH do,
so the page and the API validate, classify, store, ledger and refuse alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from aicommons.admin.commands import ApplicationRegistration, validated
from aicommons.admin.service import Actor
from aicommons.errors import AICommonsError, InvalidRequestError
from aicommons.governance import registration
from aicommons.store.applications import Application
from aicommons.web.forms import (
    checklist_form,
    current_values,
    facts_form,
    parse_checklist,
    parse_facts,
    validation_message,
)
from aicommons.web.pages import MaybeUserDep, UserDep, WebUser, check_csrf, render, services_of

router = APIRouter(prefix="/ui", include_in_schema=False)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _list_page(
    request: Request, user: WebUser, error: str | None = None, values: dict[str, Any] | None = None
) -> Response:
    services = services_of(request)
    tenant = None if user.principal.is_admin else user.principal.tenant_id
    apps = await services.applications.list_apps(tenant)
    tenants = await services.accounts.list_tenants() if user.principal.is_admin else []
    models = sorted(services.gateway.visible_models(user.principal))
    return render(
        request,
        "applications.html",
        user,
        apps=apps,
        groups=facts_form(),
        values=values or {},
        tenants=tenants,
        tenant_names={t.id: t.name for t in tenants},
        models=models,
        error=error,
        status_code=400 if error else 200,
    )


@router.get("/applications")
async def applications_page(request: Request, user: UserDep) -> Response:
    return await _list_page(request, user)


@router.post("/applications")
async def register_application(request: Request, user: UserDep) -> Response:
    form = await request.form()
    check_csrf(user, _field(form, "csrf_token"))
    services = services_of(request)
    values = {k: form.getlist(k) if len(form.getlist(k)) > 1 else form.get(k) for k in form}
    try:
        facts = parse_facts(form)
    except ValidationError as exc:
        return await _list_page(request, user, validation_message(exc), values)
    models = [m for m in form.getlist("models") if isinstance(m, str)]
    tenant_id = user.principal.tenant_id
    chosen = _field(form, "tenant")
    try:
        if chosen and user.principal.is_admin:
            tenant_id = (await services.accounts.get_tenant(chosen)).id
        command = validated(
            ApplicationRegistration,
            {"name": _field(form, "name"), "facts": facts, "models": models},
        )
        app = await services.admin.register_application(
            Actor.dashboard(user.principal.key_id),
            tenant_id,
            command,
            served_models=services.gateway.visible_models(user.principal),
            today=datetime.now(UTC).date(),
        )
    except AICommonsError as exc:
        return await _list_page(request, user, exc.message, values)
    # A refused application is stored for the record, as the API does; its page names the
    # article that refuses it.
    return RedirectResponse(f"/ui/applications/{app.id}", status_code=303)


async def _owned(request: Request, user: WebUser, app_id: str) -> Application:
    """Another tenant's application does not exist for a member (404), as in the API."""
    tenant = None if user.principal.is_admin else user.principal.tenant_id
    return await services_of(request).applications.get(app_id, tenant)


@router.get("/applications/{app_id}")
async def application_page(request: Request, user: UserDep, app_id: str) -> Response:
    app = await _owned(request, user, app_id)
    decision = registration.decision_of(app)
    tenant = await services_of(request).accounts.get_tenant(app.tenant_id)
    return render(
        request,
        "application.html",
        user,
        app=app,
        tenant=tenant,
        decision=decision,
        missing=registration.missing_for(app),
        checklist_fields=checklist_form(),
        checklist=current_values(registration.checklist_of(app)),
        facts=app.facts,
        refusal=registration.refusal_error(app).message if app.status == "refused" else None,
    )


@router.post("/applications/{app_id}/checklist")
async def complete_checklist(request: Request, user: UserDep, app_id: str) -> Response:
    """The same update as PATCH /v1/applications/{id}/checklist."""
    form = await request.form()
    check_csrf(user, _field(form, "csrf_token"))
    services = services_of(request)
    app = await _owned(request, user, app_id)
    try:
        update = parse_checklist(form)
    except ValidationError as exc:
        raise InvalidRequestError(validation_message(exc)) from None
    actor = Actor.dashboard(user.principal.key_id)
    updated = await services.admin.update_checklist(actor, app, update)
    user.session.flash = (
        "Checklist complete: the application is active."
        if updated.status == "active"
        else "Checklist saved; still missing: " + "; ".join(registration.missing_for(updated))
    )
    return RedirectResponse(f"/ui/applications/{app_id}", status_code=303)


@router.get("/register")
async def register_page(request: Request, user: MaybeUserDep) -> Response:
    """The public transparency register (no login), from the same data as GET /v1/register."""
    services = services_of(request)
    rows = await services.applications.list_with_tenants(registration.PUBLIC_STATUSES)
    entries = [registration.register_entry(app, tenant) for app, tenant in rows]
    return render(
        request, "register.html", user, entries=entries, rules_version=services.rules.version
    )
