"""Dashboard sessions, in the database so that every replica (and a restarted server) knows
them. Only a hash of the session id is stored: reading the table does not let anyone in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.store.database import Database
from aicommons.store.tables import Base


class DashboardSession(Base):
    __tablename__ = "dashboard_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SessionRows:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, row: DashboardSession) -> None:
        async with self._db.session() as session:
            session.add(row)

    async def find(self, id_hash: str) -> DashboardSession | None:
        async with self._db.session() as session:
            return await session.get(DashboardSession, id_hash)

    async def remove(self, id_hash: str) -> None:
        async with self._db.session() as session:
            query = delete(DashboardSession).where(DashboardSession.id_hash == id_hash)
            await session.execute(query)

    async def remove_expired(self, now: datetime) -> None:
        async with self._db.session() as session:
            query = delete(DashboardSession).where(DashboardSession.expires_at <= now)
            await session.execute(query)
