"""Admin pages: models and engines, tenants (weights, limits), keys, and the ledger.

Every handler calls the same services and functions as the admin JSON API, so a change made
here is the change the API would make.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from aicommons.api.usage_routes import LimitsBody, apply_limits
from aicommons.errors import AICommonsError
from aicommons.ledger.verify import verify_chain
from aicommons.store import ledger as ledger_table
from aicommons.store.usage import Limits
from aicommons.web.forms import validation_message
from aicommons.web.pages import AdminUserDep, check_csrf, render, services_of

router = APIRouter(prefix="/ui", include_in_schema=False)

LIMIT_FIELDS = tuple(LimitsBody.model_fields)
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
    limits: dict[str, Limits] = {t.id: await services.usage.limits("tenant", t.id) for t in tenants}
    keys = await services.accounts.list_keys()
    names = {t.id: t.name for t in tenants}
    return render(
        request,
        "admin.html",
        user,
        models=models,
        tenants=tenants,
        limits=limits,
        limit_fields=LIMIT_FIELDS,
        keys=keys,
        tenant_names=names,
    )


def _back(user: Any, message: str) -> Response:
    user.session.flash = message
    return RedirectResponse("/ui/admin", status_code=303)


@router.post("/admin/tenants")
async def admin_create_tenant(
    request: Request,
    user: AdminUserDep,
    csrf_token: Annotated[str, Form()],
    name: Annotated[str, Form()],
    weight: Annotated[float, Form()] = 1.0,
) -> Response:
    check_csrf(user, csrf_token)
    try:
        await services_of(request).accounts.create_tenant(name.strip(), weight)
        return _back(user, f"Tenant {name.strip()} created.")
    except AICommonsError as exc:
        return _back(user, exc.message)


@router.post("/admin/tenants/{tenant_id}/weight")
async def admin_set_weight(
    request: Request,
    user: AdminUserDep,
    tenant_id: str,
    csrf_token: Annotated[str, Form()],
    weight: Annotated[float, Form(gt=0, le=1000)],
) -> Response:
    check_csrf(user, csrf_token)
    services = services_of(request)
    tenant = await services.accounts.update_tenant(tenant_id, weight=weight)
    services.authenticator.forget()  # principals carry the tenant's weight, as in the API
    return _back(user, f"Tenant {tenant.name} now has weight {weight:g}.")


@router.post("/admin/limits")
async def admin_set_limits(request: Request, user: AdminUserDep) -> Response:
    """Set limits as PUT /admin/limits/{scope}/{ident} does; an empty box removes a limit."""
    form = await request.form()
    check_csrf(user, _text(form.get("csrf_token")))
    scope, _, ident = _text(form.get("target")).partition(":")
    if scope not in ("tenant", "key"):
        return _back(user, f"unknown scope {scope!r}")
    raw = {n: _text(form.get(n)).strip() for n in LIMIT_FIELDS}
    try:
        body = LimitsBody.model_validate({n: v for n, v in raw.items() if v})
    except ValidationError as exc:
        return _back(user, validation_message(exc))
    await apply_limits(services_of(request), scope, ident, body)  # type: ignore[arg-type]
    return _back(user, f"Limits of {scope} {ident} saved.")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@router.post("/admin/keys")
async def admin_create_key(
    request: Request,
    user: AdminUserDep,
    csrf_token: Annotated[str, Form()],
    tenant: Annotated[str, Form()],
    name: Annotated[str, Form()] = "default",
) -> Response:
    check_csrf(user, csrf_token)
    accounts = services_of(request).accounts
    owner = await accounts.get_tenant(tenant)
    key, secret = await accounts.create_key(owner.id, name.strip() or "default")
    # The secret is rendered once, in this response, and kept nowhere.
    return render(request, "key_created.html", user, key=key, secret=secret, tenant=owner)


@router.post("/admin/keys/{key_id}/revoke")
async def admin_revoke_key(
    request: Request, user: AdminUserDep, key_id: str, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(user, csrf_token)
    services = services_of(request)
    await services.accounts.revoke_key(key_id)
    services.authenticator.forget()
    return _back(user, f"Key {key_id} revoked.")


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
