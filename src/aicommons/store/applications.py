"""Registered applications: their declared facts, their AI Act decision and checklist.

Only this module reads or writes the ``applications`` table; the governance package decides
what goes into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.database import Database
from aicommons.store.tables import Base, Tenant, new_id, utcnow

STATUSES = ("active", "pending", "refused")


class Application(Base):
    """An application registered by a tenant, with the classification of its purpose."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    models: Mapped[list[str]] = mapped_column(default=list)
    tier: Mapped[str] = mapped_column(String(20))
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Applications:
    """CRUD for applications over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def create(
        session: AsyncSession,
        tenant_id: str,
        name: str,
        *,
        description: str,
        facts: dict[str, Any],
        models: list[str],
        tier: str,
        decision: dict[str, Any],
        status: str,
        checklist: dict[str, Any],
    ) -> Application:
        now = utcnow()
        app = Application(
            id=new_id("app"),
            tenant_id=tenant_id,
            name=name,
            description=description,
            facts=facts,
            models=models,
            tier=tier,
            decision=decision,
            status=status,
            checklist=checklist,
            created_at=now,
            updated_at=now,
        )
        session.add(app)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ConflictError(
                f"this tenant already has an application named {name!r}", param="name"
            ) from exc
        return app

    async def get(self, app_id: str, tenant_id: str | None = None) -> Application:
        """The application; a 404 if it does not exist or belongs to another tenant."""
        async with self._db.session() as session:
            return await self.in_session(session, app_id, tenant_id)

    @staticmethod
    async def in_session(
        session: AsyncSession, app_id: str, tenant_id: str | None = None
    ) -> Application:
        """`get` in the caller's session."""
        app = await session.get(Application, app_id)
        if app is None or (tenant_id is not None and app.tenant_id != tenant_id):
            raise NotFoundError(f"no application {app_id!r}", param="application_id")
        return app

    async def find(self, app_id: str) -> Application | None:
        async with self._db.session() as session:
            return await session.get(Application, app_id)

    async def list_apps(self, tenant_id: str | None = None) -> list[Application]:
        query = select(Application).order_by(Application.created_at, Application.id)
        if tenant_id is not None:
            query = query.where(Application.tenant_id == tenant_id)
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())

    async def list_with_tenants(self, statuses: tuple[str, ...]) -> list[tuple[Application, str]]:
        """Applications in ``statuses`` with their tenant's name, for the public register."""
        query = (
            select(Application, Tenant.name)
            .join(Tenant, Tenant.id == Application.tenant_id)
            .where(Application.status.in_(statuses))
            .order_by(Tenant.name, Application.name)
        )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        return [(row[0], row[1]) for row in rows]

    @staticmethod
    async def update_checklist(
        session: AsyncSession, app_id: str, checklist: dict[str, Any], status: str
    ) -> Application:
        """Replace the checklist and status, in the caller's transaction."""
        app = await session.get(Application, app_id)
        if app is None:
            raise NotFoundError(f"no application {app_id!r}", param="application_id")
        app.checklist = checklist
        app.status = status
        app.updated_at = utcnow()
        return app
