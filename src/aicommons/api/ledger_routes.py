"""The ledger for operators and the dashboard: recent records and a verification run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aicommons.api.deps import AdminDep, ServicesDep
from aicommons.ledger.verify import verify_chain
from aicommons.store import ledger as table

router = APIRouter(prefix="/admin/ledger", tags=["admin"])


@router.get("")
async def recent_records(
    _: AdminDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="only records below this seq")
    ] = None,
) -> dict[str, Any]:
    """The newest records, newest first; pass ``next_before`` as ``before`` for older ones."""
    async with services.db.engine.connect() as conn:
        records = await table.recent(conn, limit, before)
    next_before = records[-1].seq if len(records) == limit else None
    return {"data": [r.to_dict() for r in records], "next_before": next_before}


@router.post("/verify")
async def verify(_: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """Recompute the whole chain; ``ok`` false names the first broken record."""
    return (await verify_chain(services.db)).to_dict()
