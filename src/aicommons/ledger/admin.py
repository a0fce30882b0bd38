"""Admin actions in the ledger, from the admin API and from the command line."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

from aicommons.gateway.audit import AuditSink
from aicommons.ledger.stage import jsonable
from aicommons.ledger.writer import LedgerWriter
from aicommons.store.database import Database


async def record_admin_action(
    sink: AuditSink,
    actor_key_id: str | None,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    via: str = "api",
) -> None:
    """Ledger an admin action (``tenant.created``, ``key.revoked``, ...) once it has happened.

    ``actor_key_id`` is the admin key used (None from the CLI, which has no key; ``via`` then
    names the local user); ``details`` must hold no secrets.
    """
    payload = {
        "actor_key_id": actor_key_id,
        "via": via,
        "action": action,
        "target": target,
        "details": jsonable(dict(details or {})),
    }
    await sink.record(f"admin.{action}", payload)


async def record_cli_action(
    db: Database, action: str, target: str, details: Mapping[str, Any] | None = None
) -> None:
    """Ledger an action taken with the command line, as ``cli:<local user>``."""
    writer = LedgerWriter(db)
    await writer.start()
    try:
        await record_admin_action(writer, None, action, target, details, via=_cli_user())
    finally:
        await writer.close()


def _cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"
