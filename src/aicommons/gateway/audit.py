"""Where accountable events go: the ledger implements `AuditSink`.

Kinds are dotted names (``request.completed``, ``admin.key.created``,
``application.classified``); payloads are JSON-serialisable metadata, never secrets, and never
prompts or completions unless the application opted in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AuditSink(Protocol):
    async def record(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Append one event; when this returns, the event is durable."""
        ...
