"""What every command module shares: running async bodies, the database, the admin service
for writes, and JSON output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from aicommons.admin.changes import LocalChanges
from aicommons.admin.service import AdminService
from aicommons.config import Settings
from aicommons.engines.registry import EngineRegistry
from aicommons.errors import AICommonsError, ConfigError
from aicommons.governance.rules import default_rules
from aicommons.store.database import Database

P = ParamSpec("P")
R = TypeVar("R")


def run_async(func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an async command body; print platform errors as one line and exit non-zero."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(func(*args, **kwargs))
        except (AICommonsError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


async def with_database(work: Callable[[Database], Awaitable[R]]) -> R:
    db = Database(Settings().resolved_database_url)
    try:
        await db.migrate()
        return await work(db)
    finally:
        await db.close()


async def with_admin(work: Callable[[AdminService, Database], Awaitable[R]]) -> R:
    """Run ``work`` with the admin service over the configured database: the command line
    writes through the same service as the API and the dashboard."""
    rules = await asyncio.to_thread(default_rules)

    async def run(db: Database) -> R:
        service = AdminService(db, EngineRegistry(), LocalChanges(), rules)
        return await work(service, db)

    return await with_database(run)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
