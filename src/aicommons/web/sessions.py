"""Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie; the database keeps
a hash of that id with the hash of the key that logged in and a CSRF token, so a session works
on every replica and survives a restart. The key itself is never kept.

One-off messages after a form ("Tenant created.") travel in a short-lived cookie of their own
rather than in the session, so showing one writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aicommons.store.database import Database
from aicommons.store.sessions import DashboardSession, SessionRows
from aicommons.store.tables import utcnow

COOKIE = "aic_session"
FLASH_COOKIE = "aic_flash"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    key_hash: str
    csrf_token: str

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf_token)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions with a fixed lifetime, in the database."""

    def __init__(self, db: Database, lifetime_s: float = 8 * 3600) -> None:
        self._rows = SessionRows(db)
        self._lifetime = timedelta(seconds=lifetime_s)

    async def create(self, key_hash: str) -> Session:
        now = utcnow()
        await self._rows.remove_expired(now)
        session = Session(secrets.token_urlsafe(32), key_hash, secrets.token_urlsafe(32))
        row = DashboardSession(
            id_hash=_digest(session.id),
            key_hash=key_hash,
            csrf_token=session.csrf_token,
            created_at=now,
            expires_at=now + self._lifetime,
        )
        await self._rows.add(row)
        return session

    async def get(self, session_id: str | None, now: datetime | None = None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        row = await self._rows.find(_digest(session_id))
        if row is None:
            return None
        if row.expires_at <= (now or utcnow()):
            await self._rows.remove(row.id_hash)
            return None
        return Session(session_id, row.key_hash, row.csrf_token)

    async def end(self, session_id: str) -> None:
        await self._rows.remove(_digest(session_id))
