"""The ledger for operators and the dashboard: recent records and a verification run."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aicommons.api.deps import AdminDep, ServicesDep
from aicommons.errors import InvalidRequestError
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


@router.get("/head")
async def head(_: AdminDep, services: ServicesDep) -> dict[str, Any]:
    """The chain's head, to publish elsewhere: a truncated chain no longer holds it."""
    async with services.db.engine.connect() as conn:
        current = await table.read_head(conn)
    return {"seq": current.seq, "hash": current.hash}


@router.post("/verify")
async def verify(
    _: AdminDep,
    services: ServicesDep,
    expect_seq: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    expect_hash: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
) -> dict[str, Any]:
    """Recompute the whole chain and check its anchors (and a head published earlier, given
    as ``expect_seq`` and ``expect_hash``); ``ok`` false names the first break."""
    if (expect_seq is None) != (expect_hash is None):
        raise InvalidRequestError(
            "give both expect_seq and expect_hash, or neither", param="expect_hash"
        )
    expected = (expect_seq, expect_hash) if expect_seq and expect_hash else None
    return (await verify_chain(services.db, expect_head=expected)).to_dict()
