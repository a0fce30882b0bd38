"""Usage (`GET /v1/usage`), limits (admin) and Prometheus metrics (`GET /metrics`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from aicommons.admin.commands import LimitsSet
from aicommons.admin.service import Actor
from aicommons.api.deps import AdminDep, PrincipalDep, ServicesDep
from aicommons.errors import InvalidRequestError, NotFoundError
from aicommons.services import Services
from aicommons.store.usage import Scope

router = APIRouter(tags=["usage"])


def _day(value: str | None, default: date, param: str) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequestError(f"{param} must be a date like 2026-11-29", param=param) from None


async def usage_report(
    services: Services, tenant_id: str | None, first: date, last: date
) -> dict[str, Any]:
    """Usage rows by day, model and key, with budgets left; the API and the dashboard use it."""
    await services.usage_recorder.flush()
    rows = await services.usage.rows(tenant_id, first, last)
    keys = {k.id: k.name for k in await services.accounts.list_keys(tenant_id)}
    data = [
        {
            "day": r.day,
            "tenant_id": r.tenant_id,
            "model": r.model,
            "key_id": r.key_id,
            "key_name": keys.get(r.key_id),
            "requests": r.requests,
            "failed": r.failed,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "total_tokens": r.prompt_tokens + r.completion_tokens,
            "energy_joules": r.energy_joules,
            "gco2e": r.gco2e,
        }
        for r in rows
    ]
    budgets = []
    if tenant_id is not None:
        scopes: list[tuple[Scope, str]] = [("tenant", tenant_id)]
        scopes += [("key", k) for k in keys]
        for scope, scope_id in scopes:
            budget = await _budget(services, scope, scope_id)
            if budget is not None:
                budgets.append(budget)
    return {
        "object": "list",
        "start": first.isoformat(),
        "end": last.isoformat(),
        "data": data,
        "budgets": budgets,
    }


async def _budget(services: Services, scope: Scope, scope_id: str) -> dict[str, Any] | None:
    limits = await services.usage.limits(scope, scope_id)
    if limits.empty:
        return None
    today = datetime.now(UTC).date()
    used_day = await services.usage.tokens_since(scope, scope_id, today)
    used_month = await services.usage.tokens_since(scope, scope_id, today.replace(day=1))
    left = {
        "tokens_today": None
        if limits.tokens_per_day is None
        else max(limits.tokens_per_day - used_day, 0),
        "tokens_this_month": None
        if limits.tokens_per_month is None
        else max(limits.tokens_per_month - used_month, 0),
    }
    return {
        "scope": scope,
        "id": scope_id,
        "limits": limits.as_dict(),
        "used_today": used_day,
        "used_this_month": used_month,
        "left": left,
    }


@router.get("/v1/usage")
async def get_usage(
    principal: PrincipalDep,
    services: ServicesDep,
    start: Annotated[str | None, Query(description="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(description="last day, YYYY-MM-DD")] = None,
    tenant: Annotated[str | None, Query(description="tenant id or name (admins only)")] = None,
) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    last = _day(end, today, "end")
    first = _day(start, last - timedelta(days=29), "start")
    if first > last:
        raise InvalidRequestError("start is after end", param="start")
    # A member sees its own tenant only; another tenant does not exist for it.
    mine = (principal.tenant_id, principal.tenant_name)
    if tenant is not None and not principal.is_admin and tenant not in mine:
        raise NotFoundError(f"no tenant {tenant!r}", param="tenant")
    tenant_id: str | None = principal.tenant_id
    if principal.is_admin:
        tenant_id = (await services.accounts.get_tenant(tenant)).id if tenant else None
    return await usage_report(services, tenant_id, first, last)


@router.get("/admin/limits/{scope}/{ident}")
async def get_limits(scope: Scope, ident: str, _: AdminDep, services: ServicesDep) -> LimitsSet:
    if scope == "tenant":
        scope_id = (await services.accounts.get_tenant(ident)).id
    else:
        scope_id = (await services.accounts.get_key(ident)).id
    return LimitsSet(**(await services.usage.limits(scope, scope_id)).as_dict())


@router.put("/admin/limits/{scope}/{ident}")
async def set_limits(
    scope: Scope, ident: str, body: LimitsSet, admin: AdminDep, services: ServicesDep
) -> LimitsSet:
    limits = await services.admin.set_limits(Actor.api(admin.key_id), scope, ident, body)
    return LimitsSet(**limits.as_dict())


@router.get("/metrics", include_in_schema=False)
async def metrics(_: AdminDep, services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
