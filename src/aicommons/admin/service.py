"""The one write path for everything that changes how the platform behaves.

Each operation validates (its command model did most of that), writes, and appends its ledger
record in the same transaction, so the record exists exactly when the change does; then it
publishes a `Change` so every replica drops what it cached. The admin API, the dashboard and the
command line call these methods and nothing else to write.
"""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aicommons.admin.changes import Change, ChangeBus
from aicommons.admin.commands import (
    ApplicationRegistration,
    KeyCreate,
    LimitsSet,
    ModelCreate,
    Scope,
    TenantCreate,
    TenantUpdate,
)
from aicommons.engines.base import ModelSpec
from aicommons.engines.registry import EngineRegistry
from aicommons.errors import ConflictError, InvalidRequestError, NotFoundError
from aicommons.governance.classifier import classify
from aicommons.governance.registration import (
    Checklist,
    ChecklistUpdate,
    merged_checklist,
    refusal_error,
    status_for,
)
from aicommons.governance.rules import RuleSet
from aicommons.ledger.append import append_entries
from aicommons.ledger.records import Entry
from aicommons.ledger.stage import jsonable
from aicommons.store.accounts import OPERATORS_TENANT, Accounts, hash_key
from aicommons.store.applications import Application, Applications
from aicommons.store.database import Database
from aicommons.store.model_configs import ModelConfigs
from aicommons.store.tables import ApiKey, Tenant, utcnow
from aicommons.store.usage import Limits, UsageStore

_BOOTSTRAP_LOCK = "aicommons.bootstrap"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change: the admin (or member) key used, and through which front end."""

    key_id: str | None
    via: str

    @classmethod
    def api(cls, key_id: str) -> Actor:
        return cls(key_id, "api")

    @classmethod
    def dashboard(cls, key_id: str) -> Actor:
        return cls(key_id, "dashboard")

    @classmethod
    def cli(cls) -> Actor:
        """The command line has no key: it names the local user."""
        try:
            return cls(None, f"cli:{getpass.getuser()}")
        except (OSError, KeyError):  # no login name in some containers
            return cls(None, "cli")

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "system")


@dataclass(slots=True)
class _Write:
    """What one write did, filled in by the operation inside its transaction."""

    session: AsyncSession
    target: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def done(self, target: str, details: Mapping[str, Any], *changes: Change) -> None:
        self.target, self.details = target, dict(details)
        self.changes.extend(changes)


class AdminService:
    """Validated, ledgered, announced writes. ``catalog`` (the running server's) lets
    `add_model` prove that an engine starts before it is stored; the CLI has none."""

    def __init__(
        self,
        db: Database,
        registry: EngineRegistry,
        changes: ChangeBus,
        rules: RuleSet,
        catalog: Any | None = None,
    ) -> None:
        self._db = db
        self._registry = registry
        self._changes = changes
        self._rules = rules
        self._catalog = catalog

    @asynccontextmanager
    async def _write(self, actor: Actor, kind: str) -> AsyncIterator[_Write]:
        """A transaction whose changes commit together with their ledger record."""
        async with self._db.write() as session:
            write = _Write(session)
            yield write
            payload = {
                "actor_key_id": actor.key_id,
                "via": actor.via,
                "action": kind.split(".", 1)[1],
                "target": write.target,
                "details": jsonable(write.details),
            }
            await append_entries(self._db, session, [Entry(kind, payload, utcnow())])
        for change in write.changes:
            await self._changes.publish(change)

    # -- tenants ---------------------------------------------------------------------------

    async def create_tenant(self, actor: Actor, command: TenantCreate) -> Tenant:
        async with self._write(actor, "admin.tenant.created") as w:
            tenant = await Accounts.add_tenant(w.session, command.name, command.weight)
            w.done(tenant.id, command.model_dump())
        return tenant

    async def update_tenant(self, actor: Actor, ident: str, command: TenantUpdate) -> Tenant:
        async with self._write(actor, "admin.tenant.updated") as w:
            tenant = await Accounts.tenant_in(w.session, ident)
            if command.weight is not None:
                tenant.weight = command.weight
            # Principals carry their tenant's weight, so every cached one is stale.
            w.done(tenant.id, command.model_dump(exclude_none=True), Change("tenant", tenant.id))
        return tenant

    async def delete_tenant(self, actor: Actor, ident: str) -> None:
        async with self._write(actor, "admin.tenant.deleted") as w:
            tenant = await Accounts.tenant_in(w.session, ident)
            if tenant.name == OPERATORS_TENANT:
                raise ConflictError(
                    "the operators tenant holds the admin keys and cannot be deleted"
                )
            await w.session.delete(tenant)
            w.done(tenant.id, {"name": tenant.name}, Change("tenant", tenant.id))

    # -- keys ------------------------------------------------------------------------------

    async def create_key(self, actor: Actor, command: KeyCreate) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once: it is neither stored nor ledgered)."""
        async with self._write(actor, "admin.key.created") as w:
            tenant = await Accounts.tenant_in(w.session, command.tenant)
            if command.application_id is not None:
                app = await Applications.in_session(w.session, command.application_id, tenant.id)
                if app.status == "refused":
                    raise refusal_error(app)
            key, secret = await Accounts.add_key(
                w.session,
                tenant.id,
                command.name,
                models=command.models,
                application_id=command.application_id,
                is_admin=command.admin,
                expires_at=command.expires_at,
            )
            w.done(key.id, {**command.model_dump(mode="json"), "tenant_id": tenant.id})
        return key, secret

    async def revoke_key(self, actor: Actor, key_id: str) -> ApiKey:
        async with self._write(actor, "admin.key.revoked") as w:
            key = await Accounts.key_in(w.session, key_id)
            if key.revoked_at is None:
                key.revoked_at = utcnow()
            w.done(key.id, {"tenant_id": key.tenant_id}, Change("key", key.id))
        return key

    async def bootstrap_admin(self, wanted: str | None) -> str | None:
        """Make sure an admin key exists. With ``wanted`` (a configured secret) that secret
        becomes an admin key if it is unknown; otherwise, when no admin key is left, one is
        generated and returned, to be shown once."""
        try:
            async with self._write(Actor.system(), "admin.key.created") as w:
                await self._db.lock(w.session, _BOOTSTRAP_LOCK)  # replicas may start together
                if wanted is not None:
                    if await Accounts.key_by_hash_in(w.session, hash_key(wanted)) is not None:
                        raise _NothingToDoError
                elif await Accounts.count_admin_keys_in(w.session) > 0:
                    raise _NothingToDoError
                try:
                    operators = await Accounts.tenant_in(w.session, OPERATORS_TENANT)
                except NotFoundError:
                    operators = await Accounts.add_tenant(w.session, OPERATORS_TENANT)
                name = "bootstrap admin" if wanted else "first admin"
                key, secret = await Accounts.add_key(
                    w.session, operators.id, name, is_admin=True, secret=wanted
                )
                w.done(key.id, {"tenant_id": operators.id, "name": name, "admin": True})
        except _NothingToDoError:
            return None
        return None if wanted else secret

    # -- limits ----------------------------------------------------------------------------

    async def set_limits(
        self, actor: Actor, scope: Scope, ident: str, command: LimitsSet
    ) -> Limits:
        limits = Limits(**command.model_dump())
        async with self._write(actor, "admin.limits.set") as w:
            if scope == "tenant":
                scope_id = (await Accounts.tenant_in(w.session, ident)).id
            else:
                scope_id = (await Accounts.key_in(w.session, ident)).id
            await UsageStore.set_limits(w.session, scope, scope_id, limits)
            target = f"{scope}:{scope_id}"
            w.done(target, limits.as_dict(), Change("limits", target))
        return limits

    # -- models ----------------------------------------------------------------------------

    async def add_model(self, actor: Actor, command: ModelCreate) -> ModelSpec:
        """Store a model; in a running server, only once its engine has started."""
        if command.engine not in self._registry.names():
            known = ", ".join(self._registry.names())
            raise InvalidRequestError(
                f"unknown engine {command.engine!r}; installed: {known}", param="engine"
            )
        spec = ModelSpec(command.name, command.engine, command.options, source="database")

        async def persist() -> None:
            async with self._write(actor, "admin.model.added") as w:
                await ModelConfigs.add(w.session, spec.name, spec.engine, command.options)
                # Option values may hold secrets (upstream keys): only their names are kept.
                details = {"engine": spec.engine, "option_names": sorted(spec.options)}
                w.done(spec.name, details, Change("model", spec.name))

        if self._catalog is None:
            await persist()
        else:
            await self._catalog.add(spec, persist)
        return spec

    async def remove_model(self, actor: Actor, name: str) -> None:
        if self._catalog is not None and self._catalog.is_from_file(name):
            raise ConflictError(
                f"model {name!r} comes from the models file; remove it there", param="name"
            )
        async with self._write(actor, "admin.model.removed") as w:
            await ModelConfigs.remove(w.session, name)
            w.done(name, {}, Change("model", name))
        if self._catalog is not None:
            await self._catalog.refresh()

    # -- applications ----------------------------------------------------------------------

    async def register_application(
        self,
        actor: Actor,
        tenant_id: str,
        command: ApplicationRegistration,
        *,
        served_models: Collection[str] | None,
        today: date,
    ) -> Application:
        """Classify and store an application (a refused one too, so the attempt is on record).
        ``served_models``: the models the caller may use, when a running server knows them."""
        if served_models is not None:
            unknown = [m for m in command.models if m not in served_models]
            if unknown:
                raise InvalidRequestError(
                    f"unknown models {unknown}; see GET /v1/models",
                    param="models",
                    code="model_not_found",
                )
        checklist = command.checklist or Checklist()
        decision = classify(command.facts, self._rules, on=today)
        async with self._write(actor, "governance.application.registered") as w:
            app = await Applications.create(
                w.session,
                tenant_id,
                command.name,
                description=command.facts.description,
                facts=command.facts.model_dump(mode="json"),
                models=command.models,
                tier=decision.tier,
                decision=decision.to_json(),
                status=status_for(decision, checklist),
                checklist=checklist.model_dump(mode="json"),
            )
            details = {
                "tenant_id": tenant_id,
                "name": command.name,
                "tier": app.tier,
                "tiers": decision.tiers,
                "status": app.status,
                "rules_version": decision.to_json().get("rules_version"),
            }
            w.done(app.id, details, Change("application", app.id))
        return app

    async def update_checklist(
        self, actor: Actor, app: Application, update: ChecklistUpdate
    ) -> Application:
        if app.status == "refused":
            raise ConflictError("a refused application cannot be completed; register a new purpose")
        checklist, status = merged_checklist(app, update)
        async with self._write(actor, "governance.application.checklist_updated") as w:
            updated = await Applications.update_checklist(
                w.session, app.id, checklist.model_dump(mode="json"), status
            )
            details = {"fields": sorted(update.model_fields_set), "status": status}
            w.done(app.id, details, Change("application", app.id))
        return updated


class _NothingToDoError(Exception):
    """Raised inside a write to roll it back when there is nothing to record."""
