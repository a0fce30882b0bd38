"""The public leaderboard: GET /v1/leaderboard and /v1/leaderboard/{model} (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from aicommons.api.deps import ServicesDep
from aicommons.api.openai_routes import json_response
from aicommons.errors import NotFoundError
from aicommons.evaluation.leaderboard import DatabaseSource, LeaderboardRow, leaderboard
from aicommons.services import Services

router = APIRouter(prefix="/v1")


async def _rows(services: Services) -> list[LeaderboardRow]:
    """Every evaluated or measured model, and every served text model."""
    served = [n for n, e in services.catalog.engines().items() if e.can_chat or e.can_complete]
    return await leaderboard(DatabaseSource(services.db), served)


@router.get("/leaderboard")
async def get_leaderboard(services: ServicesDep) -> Response:
    rows = await _rows(services)
    return json_response({"object": "list", "data": [r.to_dict() for r in rows]})


@router.get("/leaderboard/{model:path}")
async def get_leaderboard_row(model: str, services: ServicesDep) -> Response:
    rows = await _rows(services)
    for row in rows:
        if row.model == model:
            return json_response(row.to_dict())
    raise NotFoundError(f"model {model!r} is not on the leaderboard", param="model")
