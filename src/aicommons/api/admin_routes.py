"""The admin API: tenants, keys and models. Every route needs an admin key; every write is
a call to the admin service (validated, ledgered, announced to every replica)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from aicommons.admin.commands import KeyCreate, ModelCreate, TenantCreate, TenantUpdate
from aicommons.admin.service import Actor
from aicommons.api.admin_schemas import KeyCreated, KeyPublic, TenantPublic
from aicommons.api.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/tenants")
async def list_tenants(_: AdminDep, services: ServicesDep) -> list[TenantPublic]:
    return [TenantPublic.of(t) for t in await services.accounts.list_tenants()]


@router.post("/tenants", status_code=201)
async def create_tenant(body: TenantCreate, admin: AdminDep, services: ServicesDep) -> TenantPublic:
    tenant = await services.admin.create_tenant(Actor.api(admin.key_id), body)
    return TenantPublic.of(tenant)


@router.get("/tenants/{tenant}")
async def get_tenant(tenant: str, _: AdminDep, services: ServicesDep) -> TenantPublic:
    return TenantPublic.of(await services.accounts.get_tenant(tenant))


@router.patch("/tenants/{tenant}")
async def update_tenant(
    tenant: str, body: TenantUpdate, admin: AdminDep, services: ServicesDep
) -> TenantPublic:
    updated = await services.admin.update_tenant(Actor.api(admin.key_id), tenant, body)
    return TenantPublic.of(updated)


@router.delete("/tenants/{tenant}", status_code=204)
async def delete_tenant(tenant: str, admin: AdminDep, services: ServicesDep) -> Response:
    await services.admin.delete_tenant(Actor.api(admin.key_id), tenant)
    return Response(status_code=204)


@router.get("/keys")
async def list_keys(
    _: AdminDep, services: ServicesDep, tenant: str | None = None
) -> list[KeyPublic]:
    tenant_id = (await services.accounts.get_tenant(tenant)).id if tenant else None
    return [KeyPublic.of(k) for k in await services.accounts.list_keys(tenant_id)]


@router.post("/keys", status_code=201)
async def create_key(body: KeyCreate, admin: AdminDep, services: ServicesDep) -> KeyCreated:
    key, secret = await services.admin.create_key(Actor.api(admin.key_id), body)
    return KeyCreated(**KeyPublic.of(key).model_dump(), key=secret)


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, admin: AdminDep, services: ServicesDep) -> KeyPublic:
    return KeyPublic.of(await services.admin.revoke_key(Actor.api(admin.key_id), key_id))


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
    await services.admin.add_model(Actor.api(admin.key_id), body)
    engine = services.catalog.get(body.name)
    return {"name": body.name, "source": "database", **engine.describe()}


@router.delete("/models/{name:path}", status_code=204)
async def remove_model(name: str, admin: AdminDep, services: ServicesDep) -> Response:
    await services.admin.remove_model(Actor.api(admin.key_id), name)
    return Response(status_code=204)
