"""Dashboard sessions: a random id in an HttpOnly, SameSite=Strict cookie, mapped in memory to
the hash of the key that logged in and a CSRF token. The key itself is never kept."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field

COOKIE = "aic_session"


@dataclass(slots=True)
class Session:
    id: str
    key_hash: str
    csrf_token: str
    created_at: float = field(default_factory=time.monotonic)
    flash: str | None = None

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.csrf_token)


class SessionStore:
    """In-process sessions with a fixed lifetime (a restart logs everyone out)."""

    def __init__(self, lifetime_s: float = 8 * 3600) -> None:
        self._lifetime = lifetime_s
        self._sessions: dict[str, Session] = {}

    def create(self, key_hash: str) -> Session:
        self._drop_expired()
        session = Session(secrets.token_urlsafe(32), key_hash, secrets.token_urlsafe(32))
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or time.monotonic() - session.created_at > self._lifetime:
            self._sessions.pop(session_id or "", None)
            return None
        return session

    def end(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for sid in [s.id for s in self._sessions.values() if now - s.created_at > self._lifetime]:
            del self._sessions[sid]
