"""Evaluation tables: cached engine responses (so runs resume) and finished runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.store.database import Database
from aicommons.store.tables import Base, new_id, utcnow


class EvalCacheEntry(Base):
    """One engine response, keyed by the model's identity and the request's SHA-256."""

    __tablename__ = "eval_cache"

    model_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalRun(Base):
    """A finished evaluation run: what was run on which exact model, and what came out."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), index=True)
    model_file: Mapped[str | None] = mapped_column(Text, default=None)
    model_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    model_revision: Mapped[str | None] = mapped_column(String(200), default=None)
    quantisation: Mapped[str | None] = mapped_column(String(50), default=None)
    engine: Mapped[str] = mapped_column(String(50))
    task: Mapped[str] = mapped_column(String(100), index=True)
    task_version: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    num_items: Mapped[int] = mapped_column(Integer)
    num_requests: Mapped[int] = mapped_column(Integer)
    num_cached: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    items_per_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EvalStore:
    """Reads and writes the evaluation tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def cached(self, model_key: str, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Stored responses for those of ``hashes`` that have one."""
        found: dict[str, dict[str, Any]] = {}
        async with self._db.session() as session:
            for start in range(0, len(hashes), 500):  # stay under bound-parameter limits
                chunk = list(hashes[start : start + 500])
                rows = await session.execute(
                    select(EvalCacheEntry.request_hash, EvalCacheEntry.response).where(
                        EvalCacheEntry.model_key == model_key,
                        EvalCacheEntry.request_hash.in_(chunk),
                    )
                )
                found.update({h: dict(r) for h, r in rows.tuples()})
        return found

    async def store(self, model_key: str, responses: Mapping[str, dict[str, Any]]) -> None:
        """Add responses; one already stored (a concurrent run) is kept as it is."""
        if not responses:
            return
        now = utcnow()
        rows = [
            {"model_key": model_key, "request_hash": h, "response": r, "created_at": now}
            for h, r in responses.items()
        ]
        insert = sqlite_insert if self._db.is_sqlite else pg_insert
        statement = insert(EvalCacheEntry).values(rows).on_conflict_do_nothing()
        async with self._db.session() as session:
            await session.execute(statement)

    async def add_run(self, **fields: Any) -> EvalRun:
        run = EvalRun(id=new_id("run"), created_at=utcnow(), **fields)
        async with self._db.session() as session:
            session.add(run)
        return run

    async def runs(self, model: str | None = None, task: str | None = None) -> list[EvalRun]:
        """Stored runs, newest first."""
        query = select(EvalRun).order_by(EvalRun.created_at.desc())
        if model:
            query = query.where(EvalRun.model == model)
        if task:
            query = query.where(EvalRun.task == task)
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())
