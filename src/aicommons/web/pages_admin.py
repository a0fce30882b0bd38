"""Admin pages: models and engines, tenants (weights, limits), keys, and the ledger.

Every write calls the admin service, as the admin JSON API and the CLI do, so a change made
here is validated, ledgered and announced exactly like one made there.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from aicommons.admin.commands import (
    KeyCreate,
    LimitsSet,
    ModelCreate,
    TenantCreate,
    TenantUpdate,
    validated,
)
from aicommons.admin.service import Actor
from aicommons.errors import AICommonsError
from aicommons.ledger.verify import verify_chain
from aicommons.store import ledger as ledger_table
from aicommons.store.usage import LIMIT_FIELDS, Limits
from aicommons.web.pages import AdminUserDep, WebUser, check_csrf, render, services_of

router = APIRouter(prefix="/ui", include_in_schema=False)

LEDGER_PAGE = 50


@router.get("/admin")
async def admin_page(request: Request, user: AdminUserDep) -> Response:
    services = services_of(request)
    engines = services.catalog.engines()
    models = [
        {"name": n, "healthy": await e.is_healthy(), "source": e.spec.source, **e.describe()}
        for n, e in sorted(engines.items())
    ]
    tenants = await services.accounts.list_tenants()
    keys = await services.accounts.list_keys()
    limits: dict[str, Limits] = {
        f"tenant:{t.id}": await services.usage.limits("tenant", t.id) for t in tenants
    }
    for k in keys:
        if k.revoked_at is None:
            limits[f"key:{k.id}"] = await services.usage.limits("key", k.id)
    return render(
        request,
        "admin.html",
        user,
        models=models,
        engine_names=services.registry.names(),
        tenants=tenants,
        limits={target: lim.as_dict() for target, lim in limits.items()},
        limit_fields=LIMIT_FIELDS,
        keys=keys,
        applications=await services.applications.list_apps(),
        tenant_names={t.id: t.name for t in tenants},
    )


def _back(user: WebUser, message: str) -> Response:
    user.session.flash = message
    return RedirectResponse("/ui/admin", status_code=303)


def _text(form: FormData, name: str) -> str:
    """A field as typed: names are validated exactly as the API and the CLI validate them."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _number(text: str) -> float | str:
    """A form's number as a number; text that is not one stays text, so validation names it."""
    try:
        return float(text)
    except ValueError:
        return text


def _count(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return text


def _day_start(day: str) -> str | None:
    """A date picker's ``YYYY-MM-DD`` as the start of that day in UTC."""
    return f"{day}T00:00:00Z" if len(day) == 10 else day or None


async def _form(request: Request, user: WebUser) -> FormData:
    form = await request.form()
    check_csrf(user, _text(form, "csrf_token"))
    return form


@router.post("/admin/tenants")
async def admin_create_tenant(request: Request, user: AdminUserDep) -> Response:
    form = await _form(request, user)
    try:
        data = {"name": _text(form, "name"), "weight": _number(_text(form, "weight") or "1")}
        tenant = await services_of(request).admin.create_tenant(
            Actor.dashboard(user.principal.key_id), validated(TenantCreate, data)
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Tenant {tenant.name} created.")


@router.post("/admin/tenants/{tenant_id}/weight")
async def admin_set_weight(request: Request, user: AdminUserDep, tenant_id: str) -> Response:
    form = await _form(request, user)
    try:
        command = validated(TenantUpdate, {"weight": _number(_text(form, "weight"))})
        tenant = await services_of(request).admin.update_tenant(
            Actor.dashboard(user.principal.key_id), tenant_id, command
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Tenant {tenant.name} now has weight {tenant.weight:g}.")


@router.post("/admin/tenants/{tenant_id}/delete")
async def admin_delete_tenant(
    request: Request, user: AdminUserDep, tenant_id: str, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    try:
        await services_of(request).admin.delete_tenant(
            Actor.dashboard(user.principal.key_id), tenant_id
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Tenant {tenant_id} deleted with its keys.")


@router.post("/admin/limits")
async def admin_set_limits(request: Request, user: AdminUserDep) -> Response:
    """Set limits as PUT /admin/limits/{scope}/{ident} does; an empty box removes a limit."""
    form = await _form(request, user)
    scope, _, ident = _text(form, "target").partition(":")
    if scope not in ("tenant", "key"):
        return _back(user, f"unknown scope {scope!r}")
    values = {n: _count(v) for n in LIMIT_FIELDS if (v := _text(form, n).strip())}
    try:
        await services_of(request).admin.set_limits(
            Actor.dashboard(user.principal.key_id),
            scope,  # type: ignore[arg-type]
            ident,
            validated(LimitsSet, values),
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Limits of {scope} {ident} saved.")


@router.post("/admin/keys")
async def admin_create_key(request: Request, user: AdminUserDep) -> Response:
    form = await _form(request, user)
    data: dict[str, Any] = {
        "tenant": _text(form, "tenant"),
        "name": _text(form, "name") or "default",
        "models": [m for m in form.getlist("models") if isinstance(m, str) and m] or None,
        "application_id": _text(form, "application_id") or None,
        "expires_at": _day_start(_text(form, "expires_at")),
    }
    services = services_of(request)
    try:
        key, secret = await services.admin.create_key(
            Actor.dashboard(user.principal.key_id), validated(KeyCreate, data)
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    tenant = await services.accounts.get_tenant(key.tenant_id)
    # The secret is rendered once, in this response, and kept nowhere (not even a cache).
    response = render(request, "key_created.html", user, key=key, secret=secret, tenant=tenant)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/keys/{key_id}/revoke")
async def admin_revoke_key(
    request: Request, user: AdminUserDep, key_id: str, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    try:
        await services_of(request).admin.revoke_key(Actor.dashboard(user.principal.key_id), key_id)
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Key {key_id} revoked.")


@router.post("/admin/models")
async def admin_add_model(request: Request, user: AdminUserDep) -> Response:
    form = await _form(request, user)
    try:
        options = json.loads(_text(form, "options") or "{}")
    except json.JSONDecodeError as exc:
        return _back(user, f"Options must be a JSON object: {exc.msg}.")
    data = {"name": _text(form, "name"), "engine": _text(form, "engine"), "options": options}
    try:
        spec = await services_of(request).admin.add_model(
            Actor.dashboard(user.principal.key_id), validated(ModelCreate, data)
        )
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Model {spec.name} added ({spec.engine}).")


@router.post("/admin/models/{name:path}/check")
async def admin_check_model(
    request: Request, user: AdminUserDep, name: str, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    try:
        healthy = await services_of(request).catalog.get(name).is_healthy()
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Model {name} is {'healthy' if healthy else 'down'}.")


@router.post("/admin/models/{name:path}/remove")
async def admin_remove_model(
    request: Request, user: AdminUserDep, name: str, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    try:
        await services_of(request).admin.remove_model(Actor.dashboard(user.principal.key_id), name)
    except AICommonsError as exc:
        return _back(user, exc.message)
    return _back(user, f"Model {name} removed.")


# -- ledger --------------------------------------------------------------------------------


async def _ledger_page(
    request: Request, user: Any, result: dict[str, Any] | None, before: int | None = None
) -> Response:
    """The newest records (below seq ``before``), as GET /admin/ledger pages them."""
    services = services_of(request)
    async with services.db.engine.connect() as conn:
        records = await ledger_table.recent(conn, LEDGER_PAGE, before)
    older = records[-1].seq if len(records) == LEDGER_PAGE and records[-1].seq > 1 else None
    return render(
        request,
        "ledger.html",
        user,
        records=[r.to_dict() for r in records],
        result=result,
        older=older,
    )


@router.get("/ledger")
async def ledger_page(
    request: Request, user: AdminUserDep, before: Annotated[int | None, Query(ge=1)] = None
) -> Response:
    return await _ledger_page(request, user, None, before)


@router.post("/ledger/verify")
async def ledger_verify(
    request: Request, user: AdminUserDep, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    services = services_of(request)
    result = (await verify_chain(services.db)).to_dict()
    return await _ledger_page(request, user, result)
