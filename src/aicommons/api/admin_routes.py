"""The admin API: tenants, keys and models. Every route needs an admin key."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from aicommons.api.admin_schemas import (
    KeyCreate,
    KeyCreated,
    KeyPublic,
    ModelCreate,
    TenantCreate,
    TenantPublic,
    TenantUpdate,
)
from aicommons.api.deps import AdminDep, ServicesDep
from aicommons.errors import InvalidRequestError
from aicommons.governance.registration import check_key_binding
from aicommons.ledger.admin import record_admin_action as audit

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/tenants")
async def list_tenants(_: AdminDep, services: ServicesDep) -> list[TenantPublic]:
    return [TenantPublic.of(t) for t in await services.accounts.list_tenants()]


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantCreate, admin: AdminDep, services: ServicesDep) -> TenantPublic:
    tenant = await services.accounts.create_tenant(body.name, body.weight)
    await audit(services.ledger, admin.key_id, "tenant.created", tenant.id, body.model_dump())
    return TenantPublic.of(tenant)


@router.get("/tenants/{tenant}")
async def get_tenant(tenant: str, _: AdminDep, services: ServicesDep) -> TenantPublic:
    return TenantPublic.of(await services.accounts.get_tenant(tenant))


@router.patch("/tenants/{tenant}")
async def update_tenant(
    tenant: str, body: TenantUpdate, admin: AdminDep, services: ServicesDep
) -> TenantPublic:
    updated = await services.accounts.update_tenant(tenant, weight=body.weight)
    services.authenticator.forget()  # principals carry the tenant's weight
    await audit(services.ledger, admin.key_id, "tenant.updated", updated.id, body.model_dump())
    return TenantPublic.of(updated)


@router.delete("/tenants/{tenant}", status_code=204)
async def delete_tenant(tenant: str, admin: AdminDep, services: ServicesDep) -> Response:
    await services.accounts.delete_tenant(tenant)
    services.authenticator.forget()
    await audit(services.ledger, admin.key_id, "tenant.deleted", tenant)
    return Response(status_code=204)


@router.get("/keys")
async def list_keys(
    _: AdminDep, services: ServicesDep, tenant: str | None = None
) -> list[KeyPublic]:
    tenant_id = (await services.accounts.get_tenant(tenant)).id if tenant else None
    return [KeyPublic.of(k) for k in await services.accounts.list_keys(tenant_id)]


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, admin: AdminDep, services: ServicesDep) -> KeyCreated:
    tenant = await services.accounts.get_tenant(body.tenant)
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise InvalidRequestError(
            "expires_at needs a time zone, e.g. 2027-01-01T00:00:00Z", param="expires_at"
        )
    await check_key_binding(services.applications, tenant.id, body.application_id)
    key, secret = await services.accounts.create_key(
        tenant.id,
        body.name,
        models=body.models,
        application_id=body.application_id,
        is_admin=body.admin,
        expires_at=body.expires_at.astimezone(UTC) if body.expires_at else None,
    )
    await audit(services.ledger, admin.key_id, "key.created", key.id, body.model_dump(mode="json"))
    return KeyCreated(**KeyPublic.of(key).model_dump(), key=secret)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, admin: AdminDep, services: ServicesDep) -> KeyPublic:
    key = await services.accounts.revoke_key(key_id)
    services.authenticator.forget()
    await audit(services.ledger, admin.key_id, "key.revoked", key.id)
    return KeyPublic.of(key)


@router.get("/models")
async def list_models(_: AdminDep, services: ServicesDep) -> list[dict[str, Any]]:
    engines = services.catalog.engines()
    return [
        {
            "name": name,
            "source": engine.spec.source,
            "healthy": await engine.is_healthy(),
            **engine.describe(),
        }
        for name, engine in sorted(engines.items())
    ]


@router.post("/models", status_code=201)
async def add_model(body: ModelCreate, admin: AdminDep, services: ServicesDep) -> dict[str, Any]:
    if body.engine not in services.registry.names():
        known = ", ".join(services.registry.names())
        raise InvalidRequestError(
            f"unknown engine {body.engine!r}; installed: {known}", param="engine"
        )
    engine = await services.catalog.add(body.name, body.engine, body.options)
    details = {"engine": body.engine, "option_names": sorted(body.options)}  # values may be secret
    await audit(services.ledger, admin.key_id, "model.added", body.name, details)
    return {"name": body.name, "source": "database", **engine.describe()}


@router.delete("/models/{name:path}", status_code=204)
async def remove_model(name: str, admin: AdminDep, services: ServicesDep) -> Response:
    await services.catalog.remove(name)
    await audit(services.ledger, admin.key_id, "model.removed", name)
    return Response(status_code=204)
