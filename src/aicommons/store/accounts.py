"""Tenants and API keys: the only code that reads or writes their tables."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

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
    """CRUD for tenants and keys over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- tenants -------------------------------------------------------------------------

    async def create_tenant(self, name: str, weight: float = 1.0) -> Tenant:
        tenant = Tenant(id=new_id("ten"), name=name, weight=weight, created_at=utcnow())
        try:
            async with self._db.session() as session:
                session.add(tenant)
        except IntegrityError as exc:
            raise ConflictError(f"a tenant named {name!r} already exists", param="name") from exc
        return tenant

    async def list_tenants(self) -> list[Tenant]:
        async with self._db.session() as session:
            return list((await session.scalars(select(Tenant).order_by(Tenant.name))).all())

    async def get_tenant(self, id_or_name: str) -> Tenant:
        async with self._db.session() as session:
            tenant = await session.scalar(
                select(Tenant).where((Tenant.id == id_or_name) | (Tenant.name == id_or_name))
            )
        if tenant is None:
            raise NotFoundError(f"no tenant {id_or_name!r}", param="tenant")
        return tenant

    async def update_tenant(self, id_or_name: str, *, weight: float | None = None) -> Tenant:
        tenant = await self.get_tenant(id_or_name)
        async with self._db.session() as session:
            if weight is not None:
                await session.execute(
                    update(Tenant).where(Tenant.id == tenant.id).values(weight=weight)
                )
        return await self.get_tenant(tenant.id)

    async def delete_tenant(self, id_or_name: str) -> None:
        tenant = await self.get_tenant(id_or_name)
        if tenant.name == OPERATORS_TENANT:
            raise ConflictError("the operators tenant holds the admin keys and cannot be deleted")
        async with self._db.session() as session:
            await session.delete(await session.get(Tenant, tenant.id))

    # -- keys ----------------------------------------------------------------------------

    async def create_key(
        self,
        tenant_id: str,
        name: str,
        *,
        models: list[str] | None = None,
        application_id: str | None = None,
        is_admin: bool = False,
        expires_at: datetime | None = None,
        secret: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Store a new key; return the row and the secret, which is never stored or shown again."""
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
        async with self._db.session() as session:
            session.add(key)
        return key, secret

    async def list_keys(self, tenant_id: str | None = None) -> list[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.created_at)
        if tenant_id is not None:
            query = query.where(ApiKey.tenant_id == tenant_id)
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())

    async def get_key(self, key_id: str) -> ApiKey:
        async with self._db.session() as session:
            key = await session.get(ApiKey, key_id)
        if key is None:
            raise NotFoundError(f"no key {key_id!r}", param="key_id")
        return key

    async def revoke_key(self, key_id: str) -> ApiKey:
        async with self._db.session() as session:
            key = await session.get(ApiKey, key_id)
            if key is None:
                raise NotFoundError(f"no key {key_id!r}", param="key_id")
            if key.revoked_at is None:
                key.revoked_at = utcnow()
        return key

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
            count = await session.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(ApiKey.is_admin.is_(True), ApiKey.revoked_at.is_(None))
            )
        return int(count or 0)

    async def ensure_operators_tenant(self) -> Tenant:
        try:
            return await self.get_tenant(OPERATORS_TENANT)
        except NotFoundError:
            return await self.create_tenant(OPERATORS_TENANT)
