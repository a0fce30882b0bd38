"""Data pages: the public leaderboard (with its Pareto chart and a page per model) and usage.

They reuse the functions behind the JSON APIs (``leaderboard_routes``, ``usage_report``), so a
page shows exactly what ``GET /v1/leaderboard`` and ``GET /v1/usage`` answer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from aicommons.api.leaderboard_routes import _rows as leaderboard_rows
from aicommons.api.usage_routes import usage_report
from aicommons.errors import NotFoundError
from aicommons.store.evaluation import EvalStore
from aicommons.store.openness import OpennessStore
from aicommons.web.charts import leaderboard_chart, line_chart
from aicommons.web.pages import MaybeUserDep, UserDep, render, services_of

router = APIRouter(prefix="/ui", include_in_schema=False)


# -- leaderboard -----------------------------------------------------------------------------


@router.get("/leaderboard")
async def leaderboard_page(request: Request, user: MaybeUserDep) -> Response:
    rows = await leaderboard_rows(services_of(request))
    tasks = sorted({task for r in rows for task in r.scores})
    return render(
        request, "leaderboard.html", user, rows=rows, tasks=tasks, chart_svg=leaderboard_chart(rows)
    )


@router.get("/leaderboard/{model:path}")
async def leaderboard_model_page(request: Request, user: MaybeUserDep, model: str) -> Response:
    services = services_of(request)
    row = next((r for r in await leaderboard_rows(services) if r.model == model), None)
    if row is None:
        raise NotFoundError(f"model {model!r} is not on the leaderboard", param="model")
    openness = await OpennessStore(services.db).for_model(model)
    runs = await EvalStore(services.db).runs(model=model)
    return render(request, "leaderboard_model.html", user, row=row, openness=openness, runs=runs)


# -- usage -----------------------------------------------------------------------------------

MAX_DAYS = 366


@router.get("/usage")
async def usage_page(
    request: Request,
    user: UserDep,
    tenant: str | None = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30,
) -> Response:
    """A member sees its own tenant; an admin all tenants, or the one picked."""
    services = services_of(request)
    principal = user.principal
    tenants = await services.accounts.list_tenants() if principal.is_admin else []
    tenant_id: str | None = principal.tenant_id
    if principal.is_admin:
        tenant_id = (await services.accounts.get_tenant(tenant)).id if tenant else None
    last = datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)
    report = await usage_report(services, tenant_id, first, last)
    period = [(first + timedelta(days=n)).isoformat() for n in range(days)]
    names = {t.id: t.name for t in tenants} or {principal.tenant_id: principal.tenant_name}
    rows = report["data"]
    series = _tokens_per_day(rows, names, period, by_key=tenant_id is not None)
    svg = line_chart(
        series, title="Tokens per day", x_label="day (UTC)", y_label="tokens (prompt + completion)"
    )
    return render(
        request,
        "usage.html",
        user,
        report=report,
        rows=sorted(rows, key=lambda r: (r["day"], r["model"], r["key_name"] or ""), reverse=True),
        totals=_totals(rows),
        chart_svg=svg,
        tenants=tenants,
        tenant_names=names,
        chosen=tenant_id,
        days=days,
    )


def _tokens_per_day(
    rows: list[dict[str, Any]],
    tenant_names: dict[str, str],
    days: list[str],
    *,
    by_key: bool,
) -> dict[str, list[tuple[str, float]]]:
    """One series per key (one tenant shown) or per tenant (all shown), summed per day, with
    every day of the period present (zero when idle) so the x axis is time."""
    label: dict[str, str] = {}
    if by_key:
        keys_of: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            keys_of[r["key_name"] or r["key_id"]].add(r["key_id"])
        for name, ids in keys_of.items():  # two keys with the same name stay apart
            label.update({i: f"{name} ({i[-6:]})" if len(ids) > 1 else name for i in ids})
    sums: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(days, 0.0))
    for r in rows:
        name = label[r["key_id"]] if by_key else tenant_names.get(r["tenant_id"], r["tenant_id"])
        sums[str(name)][str(r["day"])] = sums[str(name)].get(str(r["day"]), 0.0) + r["total_tokens"]
    return {name: sorted(per_day.items()) for name, per_day in sums.items()}


def _totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("requests", "failed", "prompt_tokens", "completion_tokens", "total_tokens")
    totals: dict[str, float] = {k: sum(r[k] for r in rows) for k in keys}
    totals["energy_joules"] = sum(r["energy_joules"] or 0.0 for r in rows)
    totals["gco2e"] = sum(r["gco2e"] or 0.0 for r in rows)
    return totals
