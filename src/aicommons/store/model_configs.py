"""Models added at run time (admin API, CLI), shared by every gateway replica."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aicommons.engines.base import ModelSpec
from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.database import Database
from aicommons.store.tables import ModelConfig, utcnow


class ModelConfigs:
    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def add(
        session: AsyncSession, name: str, engine: str, options: dict[str, Any]
    ) -> ModelSpec:
        """Store a model, in the caller's transaction."""
        now = utcnow()
        session.add(
            ModelConfig(name=name, engine=engine, options=options, created_at=now, updated_at=now)
        )
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ConflictError(f"a model named {name!r} already exists", param="name") from exc
        return ModelSpec(name=name, engine=engine, options=options, source="database")

    @staticmethod
    async def remove(session: AsyncSession, name: str) -> None:
        """Delete a stored model, in the caller's transaction."""
        row = await session.get(ModelConfig, name)
        if row is None:
            raise NotFoundError(f"no model {name!r} was added at run time", param="name")
        await session.delete(row)

    async def list(self) -> list[ModelSpec]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(ModelConfig).order_by(ModelConfig.name))).all()
        return [
            ModelSpec(name=r.name, engine=r.engine, options=dict(r.options), source="database")
            for r in rows
        ]
