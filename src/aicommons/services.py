"""The long-lived objects of one running platform, built and closed by the app factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aicommons.admin.changes import Change, LocalChanges
from aicommons.admin.service import AdminService
from aicommons.config import Settings
from aicommons.energy.stage import MeterStage
from aicommons.engines.registry import EngineRegistry
from aicommons.gateway.auth import Authenticator
from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, ModelCatalog, read_models_file
from aicommons.gateway.dispatch import FairDispatcher, SchedulerSettings
from aicommons.gateway.metrics import MetricsStage
from aicommons.gateway.pipeline import Gateway, Stage
from aicommons.gateway.quota import QuotaStage
from aicommons.gateway.usage import UsageRecorder
from aicommons.governance.policy import PolicyStage
from aicommons.governance.rules import RuleSet, default_rules
from aicommons.ledger.stage import LedgerStage
from aicommons.ledger.writer import LedgerWriter
from aicommons.store.accounts import Accounts
from aicommons.store.applications import Applications
from aicommons.store.database import Database
from aicommons.store.model_configs import ModelConfigs
from aicommons.store.usage import UsageStore

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    accounts: Accounts
    model_configs: ModelConfigs
    registry: EngineRegistry
    catalog: ModelCatalog
    authenticator: Authenticator
    gateway: Gateway
    dispatcher: FairDispatcher
    usage: UsageStore
    usage_recorder: UsageRecorder
    quota: QuotaStage
    metrics: MetricsStage
    applications: Applications
    policy: PolicyStage
    rules: RuleSet
    ledger: LedgerWriter
    changes: LocalChanges
    admin: AdminService
    _resources: contextlib.AsyncExitStack
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    async def start(
        cls, settings: Settings, announce_admin_key: Callable[[str], None] | None = None
    ) -> Services:
        """Open everything; if any step fails, what was opened before it is closed again."""
        async with contextlib.AsyncExitStack() as stack:
            services = await cls._open(settings, stack)
            secret = await services.admin.bootstrap_admin(settings.admin_key)
            if secret is not None:
                (announce_admin_key or _log_admin_key)(secret)
            await services.catalog.start()
            services._resources = stack.pop_all()
        return services

    @classmethod
    async def _open(cls, settings: Settings, stack: contextlib.AsyncExitStack) -> Services:
        # NVML start-up blocks; a bad energy setting stops start-up before anything is opened.
        meter = await asyncio.to_thread(MeterStage.from_settings, settings)
        db = Database(settings.resolved_database_url)
        stack.push_async_callback(db.close)
        await db.migrate()
        accounts = Accounts(db)
        model_configs = ModelConfigs(db)
        registry = EngineRegistry()
        specs = read_models_file(settings.models_file or DEFAULT_MODELS_FILE)
        if not settings.load_embeddings:
            specs = [s for s in specs if s.engine != "sentence_transformers"]
        catalog = ModelCatalog(registry, specs, model_configs)
        stack.push_async_callback(catalog.close)
        dispatcher = FairDispatcher(
            SchedulerSettings(
                default_policy=settings.scheduler_policy,
                queue_cap_per_tenant=settings.scheduler_queue_cap,
                max_wait_s=settings.scheduler_max_wait_s,
            )
        )
        usage = UsageStore(db)
        recorder = UsageRecorder(usage, settings.usage_flush_seconds)
        quota = QuotaStage(usage, recorder, settings.auth_cache_seconds)
        metrics = MetricsStage(dispatcher)
        applications = Applications(db)
        policy = PolicyStage(applications, settings.auth_cache_seconds)
        ledger = LedgerWriter(db)
        await ledger.start()
        stack.push_async_callback(ledger.close)
        recorder.start()
        stack.push_async_callback(recorder.close)
        rules = await asyncio.to_thread(default_rules)
        changes = LocalChanges()
        # Order matters: a stage's finish runs after those of later stages and sees what they
        # did (refusals, usage, energy); the ledger's runs last.
        stages: list[Stage] = [LedgerStage(ledger), metrics, policy, quota, meter]
        services = cls(
            settings=settings,
            db=db,
            accounts=accounts,
            model_configs=model_configs,
            registry=registry,
            catalog=catalog,
            authenticator=Authenticator(accounts, settings.auth_cache_seconds),
            gateway=Gateway(catalog, stages, dispatcher),
            dispatcher=dispatcher,
            usage=usage,
            usage_recorder=recorder,
            quota=quota,
            metrics=metrics,
            applications=applications,
            policy=policy,
            rules=rules,
            ledger=ledger,
            changes=changes,
            admin=AdminService(db, registry, changes, rules, catalog),
            _resources=stack,
        )
        changes.listen(services._forget_stale)
        if settings.registry_refresh_seconds > 0:
            task = asyncio.create_task(services._refresh_models_forever())
            stack.push_async_callback(_cancel, task)
        return services

    def _forget_stale(self, change: Change) -> None:
        """Drop what this process cached about something that changed."""
        if change.topic in ("tenant", "key"):
            self.authenticator.forget()
        elif change.topic == "limits":
            self.quota.forget_limits()
        elif change.topic == "application":
            self.policy.forget(change.id)
        elif change.topic == "model":
            task = asyncio.get_running_loop().create_task(self.catalog.refresh())
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _refresh_models_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.registry_refresh_seconds)
            try:
                await self.catalog.refresh()
            except Exception:
                logger.exception("refreshing the model list failed; will try again")

    async def close(self) -> None:
        await self._resources.aclose()


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _log_admin_key(secret: str) -> None:
    logger.warning("admin key (shown once, stored only as a hash): %s", secret)
