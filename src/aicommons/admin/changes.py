"""Telling every part of the platform that something changed.

After a write commits, the admin service publishes a `Change`; each running gateway drops what
it cached about that thing (principals, limits, an application's policy) or reloads it (models).
`LocalChanges` delivers in-process, which is all one process needs; the shared-state package
delivers across replicas over Redis (`aicommons.shared.changes`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

logger = logging.getLogger(__name__)

Topic = Literal["tenant", "key", "limits", "model", "application"]
TOPICS: tuple[Topic, ...] = ("tenant", "key", "limits", "model", "application")


@dataclass(frozen=True, slots=True)
class Change:
    """``topic`` names what changed; ``id`` which one (a tenant id, key id, ``scope:id``...)."""

    topic: Topic
    id: str


Listener = Callable[[Change], None]


class ChangeBus(Protocol):
    async def publish(self, change: Change) -> None:
        """Deliver ``change`` to every listener of every process that shares this platform."""
        ...


class LocalChanges:
    """Delivers changes to the listeners of this process."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def deliver(self, change: Change) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one broken listener must not keep the others stale
                logger.exception("a listener failed on %s", change)

    async def publish(self, change: Change) -> None:
        self.deliver(change)
