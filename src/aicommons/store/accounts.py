"""Tenants and API keys: the only code that reads or writes their tables."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aicommons.errors import ConflictError, NotFoundError
from aicommons.store.database import Database
from aicommons.store.tables import ApiKey, Tenant, new_id, utcnow

KEY_PREFIX = "sk-aic-"
OPERATORS_TENANT = "operators"


def hash_key(secret: str) -> str:
    """SHA-256 of the key: keys are 256-bit random, so a slow hash adds nothing."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key row joined with its tenant, as authentication needs it."""

    key: ApiKey
    tenant: Tenant


class Accounts:
    """Tenants and keys: reads open their own session; writes join the caller's transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writes, in the caller's transaction (`Database.write`) -------------------------

    @staticmethod
    async def add_tenant(session: AsyncSession, name: str, weight: float = 1.0) -> Tenant:
        tenant = Tenant(id=new_id("ten"), name=name, weight=weight, created_at=utcnow())
        session.add(tenant)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ConflictError(f"a tenant named {name!r} already exists", param="name") from exc
        return tenant

    @staticmethod
    async def tenant_in(session: AsyncSession, id_or_name: str) -> Tenant:
        """The tenant by id or name, in ``session`` (a 404 if there is none)."""
        tenant = await session.scalar(
            select(Tenant).where((Tenant.id == id_or_name) | (Tenant.name == id_or_name))
        )
        if tenant is None:
            raise NotFoundError(f"no tenant {id_or_name!r}", param="tenant")
        return tenant

    @staticmethod
    async def key_in(session: AsyncSession, key_id: str) -> ApiKey:
        key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFoundError(f"no key {key_id!r}", param="key_id")
        return key

    @staticmethod
    async def add_key(
        session: AsyncSession,
        tenant_id: str,
        name: str,
        *,
        models: list[str] | None = None,
        application_id: str | None = None,
        is_admin: bool = False,
        expires_at: datetime | None = None,
        secret: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Add a key; return the row and the secret, which is never stored or shown again."""
        secret = secret or generate_key()
        key = ApiKey(
            id=new_id("key"),
            tenant_id=tenant_id,
            application_id=application_id,
            name=name,
            prefix=secret[: len(KEY_PREFIX) + 4],
            key_hash=hash_key(secret),
            models=models,
            is_admin=is_admin,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(key)
        await session.flush()
        return key, secret

    @staticmethod
    async def key_by_hash_in(session: AsyncSession, key_hash: str) -> ApiKey | None:
        return await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    @staticmethod
    async def count_admin_keys_in(session: AsyncSession) -> int:
        """Admin keys that still work (not revoked)."""
        count = await session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.is_admin.is_(True), ApiKey.revoked_at.is_(None))
        )
        return int(count or 0)

    # -- reads -----------------------------------------------------------------------------

    async def list_tenants(self) -> list[Tenant]:
        async with self._db.session() as session:
            return list((await session.scalars(select(Tenant).order_by(Tenant.name))).all())

    async def get_tenant(self, id_or_name: str) -> Tenant:
        async with self._db.session() as session:
            return await self.tenant_in(session, id_or_name)

    async def list_keys(self, tenant_id: str | None = None) -> list[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.created_at)
        if tenant_id is not None:
            query = query.where(ApiKey.tenant_id == tenant_id)
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())

    async def get_key(self, key_id: str) -> ApiKey:
        async with self._db.session() as session:
            return await self.key_in(session, key_id)

    async def find_by_secret(self, secret: str) -> KeyRecord | None:
        return await self.find_by_hash(hash_key(secret))

    async def find_by_hash(self, key_hash: str) -> KeyRecord | None:
        async with self._db.session() as session:
            row = (
                await session.execute(
                    select(ApiKey, Tenant)
                    .join(Tenant, Tenant.id == ApiKey.tenant_id)
                    .where(ApiKey.key_hash == key_hash)
                )
            ).first()
        return KeyRecord(key=row[0], tenant=row[1]) if row else None

    async def count_admin_keys(self) -> int:
        async with self._db.session() as session:
            return await self.count_admin_keys_in(session)
