"""Bodies and answers of the admin API (Create / Update / Public, never the table row)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from aicommons.store.tables import ApiKey, Tenant

Name = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")
]


class AdminBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TenantCreate(AdminBody):
    name: Name
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0


class TenantUpdate(AdminBody):
    weight: Annotated[float, Field(gt=0, le=1000)] | None = None


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


class KeyCreate(AdminBody):
    tenant: Annotated[str, Field(min_length=1, description="tenant id or name")]
    name: Name = "default"
    models: list[str] | None = Field(
        default=None, description="models the key may use; all if null"
    )
    application_id: str | None = None
    expires_at: datetime | None = None
    admin: bool = False


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


class ModelCreate(AdminBody):
    name: Annotated[
        str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$")
    ]
    engine: Annotated[str, Field(min_length=1, max_length=50)]
    options: dict[str, Any] = Field(default_factory=dict)
