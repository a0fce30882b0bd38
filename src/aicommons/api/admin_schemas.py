"""Answers of the admin API (Public, never the table row); the bodies are the admin
service's commands (`aicommons.admin.commands`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from aicommons.store.tables import ApiKey, Tenant


class TenantPublic(BaseModel):
    id: str
    name: str
    weight: float
    created_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantPublic:
        return cls(
            id=tenant.id, name=tenant.name, weight=tenant.weight, created_at=tenant.created_at
        )


class KeyPublic(BaseModel):
    id: str
    tenant_id: str
    application_id: str | None
    name: str
    prefix: str
    models: list[str] | None
    admin: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            id=key.id,
            tenant_id=key.tenant_id,
            application_id=key.application_id,
            name=key.name,
            prefix=key.prefix,
            models=key.models,
            admin=key.is_admin,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class KeyCreated(KeyPublic):
    key: str = Field(description="the secret; shown only in this answer")
