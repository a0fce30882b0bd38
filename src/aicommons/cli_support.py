"""What every command module shares: running async bodies, the database, JSON output and
ledgering the writes made from the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from aicommons.config import Settings
from aicommons.errors import AICommonsError, ConfigError
from aicommons.ledger.admin import record_cli_action
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


async def audit(action: str, target: str, details: dict[str, Any] | None = None) -> None:
    """Ledger a write made with the command line."""
    await with_database(lambda db: record_cli_action(db, action, target, details))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))
