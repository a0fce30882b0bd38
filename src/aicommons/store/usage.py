"""Usage per day, tenant, key and model, and the limits set per tenant and per key.

Usage rows are aggregates: one row per (day, tenant, key, model), updated in batches by
`aicommons.gateway.usage.UsageRecorder`. The ledger keeps the per-request records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import BigInteger, Float, String, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.store.database import Database
from aicommons.store.tables import Base

Scope = Literal["tenant", "key"]
LIMIT_FIELDS = (
    "tokens_per_day",
    "tokens_per_month",
    "requests_per_minute",
    "tokens_per_minute",
    "max_parallel",
)


class UsageDaily(Base):
    __tablename__ = "usage_daily"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    tenant_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    energy_joules: Mapped[float] = mapped_column(Float, default=0.0)
    gco2e: Mapped[float] = mapped_column(Float, default=0.0)


class LimitRow(Base):
    """Limits of one tenant or one key; a missing value means no limit."""

    __tablename__ = "limits"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens_per_day: Mapped[int | None] = mapped_column(BigInteger, default=None)
    tokens_per_month: Mapped[int | None] = mapped_column(BigInteger, default=None)
    requests_per_minute: Mapped[int | None] = mapped_column(BigInteger, default=None)
    tokens_per_minute: Mapped[int | None] = mapped_column(BigInteger, default=None)
    max_parallel: Mapped[int | None] = mapped_column(BigInteger, default=None)


@dataclass(frozen=True, slots=True)
class Limits:
    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_parallel: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in LIMIT_FIELDS}

    @property
    def empty(self) -> bool:
        return all(v is None for v in self.as_dict().values())


@dataclass(slots=True)
class UsageDelta:
    """What one or more finished requests add to a usage row."""

    requests: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    energy_joules: float = 0.0
    gco2e: float = 0.0

    def add(self, other: UsageDelta) -> None:
        self.requests += other.requests
        self.failed += other.failed
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.energy_joules += other.energy_joules
        self.gco2e += other.gco2e


UsageKey = tuple[str, str, str, str]  # day, tenant id, key id, model


class UsageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, deltas: dict[UsageKey, UsageDelta]) -> None:
        """Add the deltas to their rows in one transaction (insert or increment)."""
        if not deltas:
            return
        async with self._db.session() as session:
            dialect = self._db.engine.dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for (day, tenant_id, key_id, model), d in sorted(deltas.items()):
                values: dict[str, Any] = {
                    "requests": d.requests,
                    "failed": d.failed,
                    "prompt_tokens": d.prompt_tokens,
                    "completion_tokens": d.completion_tokens,
                    "energy_joules": d.energy_joules,
                    "gco2e": d.gco2e,
                }
                stmt = insert(UsageDaily).values(
                    day=day, tenant_id=tenant_id, key_id=key_id, model=model, **values
                )
                table = UsageDaily.__table__.c
                stmt = stmt.on_conflict_do_update(
                    index_elements=["day", "tenant_id", "key_id", "model"],
                    set_={name: table[name] + stmt.excluded[name] for name in values},
                )
                await session.execute(stmt)

    async def tokens_since(self, scope: Scope, scope_id: str, first_day: date) -> int:
        """Prompt plus completion tokens of a tenant or key from ``first_day`` on."""
        column = UsageDaily.tenant_id if scope == "tenant" else UsageDaily.key_id
        query = select(
            func.coalesce(func.sum(UsageDaily.prompt_tokens + UsageDaily.completion_tokens), 0)
        ).where(column == scope_id, UsageDaily.day >= first_day.isoformat())
        async with self._db.session() as session:
            return int((await session.execute(query)).scalar_one())

    async def rows(
        self, tenant_id: str | None, first_day: date, last_day: date
    ) -> list[UsageDaily]:
        query = (
            select(UsageDaily)
            .where(UsageDaily.day >= first_day.isoformat(), UsageDaily.day <= last_day.isoformat())
            .order_by(UsageDaily.day, UsageDaily.model, UsageDaily.key_id)
        )
        if tenant_id is not None:
            query = query.where(UsageDaily.tenant_id == tenant_id)
        async with self._db.session() as session:
            return list((await session.execute(query)).scalars())

    async def limits(self, scope: Scope, scope_id: str) -> Limits:
        async with self._db.session() as session:
            row = await session.get(LimitRow, (scope, scope_id))
        if row is None:
            return Limits()
        return Limits(**{name: getattr(row, name) for name in LIMIT_FIELDS})

    @staticmethod
    async def set_limits(
        session: AsyncSession, scope: Scope, scope_id: str, limits: Limits
    ) -> None:
        """Replace the limits of a tenant or key, in the caller's transaction."""
        row = await session.get(LimitRow, (scope, scope_id))
        if limits.empty:
            if row is not None:
                await session.delete(row)
            return
        if row is None:
            row = LimitRow(scope=scope, scope_id=scope_id)
            session.add(row)
        for name, value in limits.as_dict().items():
            setattr(row, name, value)
