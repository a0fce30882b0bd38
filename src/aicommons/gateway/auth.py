"""API keys to principals, with a short in-process cache so the hot path rarely hits the
database. A revocation made through this process takes effect at once; one made elsewhere
(the CLI, another replica) within ``cache_seconds``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from aicommons.errors import AuthenticationError
from aicommons.store.accounts import Accounts, hash_key
from aicommons.store.tables import utcnow

_MAX_CACHED = 100_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key, its tenant, its application and what it may use."""

    key_id: str
    tenant_id: str
    tenant_name: str
    tenant_weight: float = 1.0
    application_id: str | None = None
    models: frozenset[str] | None = None
    is_admin: bool = False
    expires_at: datetime | None = None

    def may_use(self, model: str) -> bool:
        return self.models is None or model in self.models


def bearer_token(header: str | None) -> str:
    """The key from an ``Authorization: Bearer ...`` header, or a 401 saying what is wrong."""
    if not header:
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
            code="missing_api_key",
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "Malformed Authorization header; expected 'Bearer YOUR_KEY'.", code="invalid_api_key"
        )
    return token.strip()


class Authenticator:
    def __init__(self, accounts: Accounts, cache_seconds: float) -> None:
        self._accounts = accounts
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal:
        return await self.authenticate_hash(hash_key(secret))

    async def authenticate_hash(self, digest: str) -> Principal:
        """Like `authenticate`, from the key's hash (dashboard sessions keep only the hash)."""
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and now - cached[0] < self._cache_seconds:
            principal = cached[1]
        else:
            principal = await self._load(digest)
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        if principal is None:
            raise AuthenticationError("Incorrect API key provided.", code="invalid_api_key")
        if principal.expires_at is not None and principal.expires_at <= utcnow():
            raise AuthenticationError("This API key has expired.", code="expired_api_key")
        return principal

    async def _load(self, digest: str) -> Principal | None:
        record = await self._accounts.find_by_hash(digest)
        if record is None or record.key.revoked_at is not None:
            return None
        key = record.key
        return Principal(
            key_id=key.id,
            tenant_id=record.tenant.id,
            tenant_name=record.tenant.name,
            tenant_weight=record.tenant.weight,
            application_id=key.application_id,
            models=frozenset(key.models) if key.models is not None else None,
            is_admin=key.is_admin,
            expires_at=key.expires_at,
        )

    def forget(self) -> None:
        """Drop cached principals, e.g. after a key is revoked in this process."""
        self._cache.clear()
