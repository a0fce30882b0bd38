"""The gateway's policy stage: enforce each application's AI Act decision on every request.

- a key without an application passes (minimal risk);
- a refused (prohibited) application's keys get 403 naming the article;
- a pending high-risk application's keys get 403 listing what its checklist lacks;
- an application with Art. 50 duties gets its output marked: the ``AI-Generated: true``
  header and an ``ai_generated`` body field (in every streamed chunk) saying why.

Applications are cached per id for ``cache_seconds`` so that the hot path rarely reads the
database; a change made through this process calls `forget` and takes effect at once, one made
elsewhere (the CLI, another replica) within ``cache_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aicommons.errors import PermissionDeniedError
from aicommons.gateway.pipeline import RequestContext, Stage
from aicommons.governance.registration import (
    decision_of,
    missing_for,
    pending_error,
    refusal_error,
)
from aicommons.store.applications import Application, Applications

AI_GENERATED_HEADER = "AI-Generated"
AI_GENERATED_FIELD = "ai_generated"
REGULATION = "Regulation (EU) 2024/1689"
_MAX_CACHED = 10_000
_UNBOUND_KEY = {"application_id": None, "tier": "minimal", "action": "allow"}


@dataclass(frozen=True, slots=True)
class AppPolicy:
    """What the gateway needs to know about one application, read once per cache period."""

    app: Application
    tiers: tuple[str, ...]
    missing: tuple[str, ...]
    transparency_articles: tuple[str, ...]

    @classmethod
    def of(cls, app: Application) -> AppPolicy:
        decision = decision_of(app)
        return cls(
            app=app,
            tiers=tuple(decision.tiers),
            missing=tuple(missing_for(app)),
            transparency_articles=tuple(decision.articles_for("transparency")),
        )

    def annotation(self, action: str) -> dict[str, Any]:
        return {
            "application_id": self.app.id,
            "tier": self.app.tier,
            "tiers": list(self.tiers),
            "status": self.app.status,
            "action": action,
            "rules_version": self.app.decision.get("rules_version"),
            "missing": list(self.missing),
        }


def ai_generated_mark(ctx: RequestContext, articles: tuple[str, ...]) -> dict[str, Any]:
    """The machine-readable mark of Art. 50(2) for one answer."""
    return {
        "value": True,
        "basis": f"Art. 50(2) {REGULATION}",
        "duties": list(articles),
        "model": ctx.model,
        "application_id": ctx.principal.application_id,
        "generator": "aicommons",
    }


class PolicyStage(Stage):
    """Admits requests according to their application's governance decision."""

    def __init__(
        self,
        applications: Applications,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._applications = applications
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, AppPolicy | None]] = {}

    async def admit(self, ctx: RequestContext) -> None:
        app_id = ctx.principal.application_id
        if app_id is None:
            ctx.annotations["policy"] = {
                "application_id": None,
                "tier": "minimal",
                "action": "allow",
            }
            return
        policy = await self.policy(app_id)
        if policy is None:
            ctx.annotations["policy"] = {"application_id": app_id, "action": "refuse"}
            raise PermissionDeniedError(
                f"The application {app_id!r} of this key no longer exists.",
                code="application_not_found",
            )
        if policy.app.status == "refused":
            ctx.annotations["policy"] = policy.annotation("refuse")
            raise refusal_error(policy.app)
        if policy.missing:
            ctx.annotations["policy"] = policy.annotation("refuse")
            raise pending_error(policy.app, list(policy.missing))
        ctx.annotations["policy"] = policy.annotation("allow")
        if policy.transparency_articles and ctx.kind != "embedding":
            ctx.response_headers[AI_GENERATED_HEADER] = "true"
            ctx.response_fields[AI_GENERATED_FIELD] = ai_generated_mark(
                ctx, policy.transparency_articles
            )

    async def policy(self, app_id: str) -> AppPolicy | None:
        """The cached policy of ``app_id`` (None if there is no such application)."""
        now = self._clock()
        cached = self._cache.get(app_id)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        app = await self._applications.find(app_id)
        policy = AppPolicy.of(app) if app is not None else None
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[app_id] = (now, policy)
        return policy

    def forget(self, app_id: str | None = None) -> None:
        """Drop the cached policy of one application (or all), after a change."""
        if app_id is None:
            self._cache.clear()
        else:
            self._cache.pop(app_id, None)
