"""Openness per model (one row per model and source) and measured energy per model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, Float, Integer, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.store.database import Database
from aicommons.store.tables import Base, utcnow

Source = Literal["mof", "osai"]


@dataclass(frozen=True, slots=True)
class OpennessRecord:
    """What one source says about one model's openness."""

    model: str
    source: Source
    record_name: str
    producer: str
    origin: str | None
    base_model: str | None
    licence: str | None
    mof_class: int | None
    mof_label: str | None
    osai_score: float | None
    osaid: dict[str, Any]
    components: dict[str, Any] = field(default_factory=dict)

    @property
    def osaid_passes(self) -> bool:
        return bool(self.osaid.get("passes"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "source": self.source,
            "record_name": self.record_name,
            "producer": self.producer,
            "origin": self.origin,
            "base_model": self.base_model,
            "licence": self.licence,
            "mof_class": self.mof_class,
            "mof_label": self.mof_label,
            "osai_score": self.osai_score,
            "osaid": self.osaid,
            "components": self.components,
        }


class ModelOpenness(Base):
    """What one source (MOF or OSAI index) says about one model."""

    __tablename__ = "model_openness"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    record_name: Mapped[str] = mapped_column(String(200))
    producer: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str | None] = mapped_column(String(100), default=None)
    base_model: Mapped[str | None] = mapped_column(String(200), default=None)
    licence: Mapped[str | None] = mapped_column(String(200), default=None)
    mof_class: Mapped[int | None] = mapped_column(Integer, default=None)
    mof_label: Mapped[str | None] = mapped_column(String(100), default=None)
    osai_score: Mapped[float | None] = mapped_column(Float, default=None)
    osaid_passes: Mapped[bool] = mapped_column(Boolean, default=False)
    osaid: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    components: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelEnergy(Base):
    """The latest energy benchmark of a model: per query, with the meter and grid used."""

    __tablename__ = "model_energy"

    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    joules_per_query: Mapped[float] = mapped_column(Float)
    tokens_per_s: Mapped[float] = mapped_column(Float)
    output_tokens_per_query: Mapped[float] = mapped_column(Float)
    num_queries: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(200))
    grid_country: Mapped[str] = mapped_column(String(10))
    grid_g_per_kwh: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)


def _record(row: ModelOpenness) -> OpennessRecord:
    source: Source = "mof" if row.source == "mof" else "osai"
    return OpennessRecord(
        model=row.model,
        source=source,
        record_name=row.record_name,
        producer=row.producer,
        origin=row.origin,
        base_model=row.base_model,
        licence=row.licence,
        mof_class=row.mof_class,
        mof_label=row.mof_label,
        osai_score=row.osai_score,
        osaid=dict(row.osaid),
        components=dict(row.components),
    )


class OpennessStore:
    """Reads and writes openness records and energy figures."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, records: list[OpennessRecord]) -> int:
        """Insert or replace records (one per model and source); returns how many."""
        now = utcnow()
        async with self._db.session() as session:
            for record in records:
                fields = record.to_dict()
                fields["osaid_passes"] = record.osaid_passes
                existing = await session.get(ModelOpenness, (record.model, record.source))
                if existing is None:
                    session.add(ModelOpenness(**fields, imported_at=now))
                    continue
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.imported_at = now
        return len(records)

    async def for_model(self, model: str) -> list[OpennessRecord]:
        async with self._db.session() as session:
            rows = await session.scalars(
                select(ModelOpenness)
                .where(ModelOpenness.model == model.lower())
                .order_by(ModelOpenness.source)
            )
            return [_record(r) for r in rows]

    async def all(self) -> dict[str, list[OpennessRecord]]:
        found: dict[str, list[OpennessRecord]] = {}
        async with self._db.session() as session:
            rows = await session.scalars(select(ModelOpenness).order_by(ModelOpenness.model))
            for row in rows:
                found.setdefault(row.model, []).append(_record(row))
        return found

    async def remove(self, model: str) -> int:
        async with self._db.session() as session:
            result = await session.execute(
                delete(ModelOpenness).where(ModelOpenness.model == model.lower())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def save_energy(self, model: str, **fields: Any) -> None:
        """Store a model's latest energy benchmark, replacing the previous one."""
        async with self._db.session() as session:
            existing = await session.get(ModelEnergy, model)
            if existing is not None:
                await session.delete(existing)
                await session.flush()
            session.add(ModelEnergy(model=model, measured_at=utcnow(), **fields))

    async def energy(self) -> dict[str, ModelEnergy]:
        async with self._db.session() as session:
            return {r.model: r for r in await session.scalars(select(ModelEnergy))}
