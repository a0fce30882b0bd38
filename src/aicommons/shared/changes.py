"""Changes announced to every replica over Redis pub/sub.

`RedisChanges.publish` delivers to this process at once and publishes on the platform's channel;
each replica's listener delivers what the others publish. While the subscription is broken
messages can be lost, so on every (re)subscription the listener delivers ``Change("all")``:
every cache is dropped and rebuilt from the database, the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from redis.exceptions import RedisError

from aicommons.admin.changes import TOPICS, Change, LocalChanges
from aicommons.shared.store import SharedStore

logger = logging.getLogger(__name__)


class RedisChanges:
    """Implements `ChangeBus` across replicas."""

    def __init__(self, store: SharedStore, local: LocalChanges) -> None:
        self._store = store
        self._local = local
        self.channel = store.key("changes")
        self._task: asyncio.Task[None] | None = None

    async def publish(self, change: Change) -> None:
        self._local.deliver(change)
        fields = {"from": self._store.replica_id, "topic": change.topic, "id": change.id}
        message = json.dumps(fields)
        try:
            await self._store.client.publish(self.channel, message)
        except RedisError as exc:
            # The change is committed; other replicas see it when their caches expire, or at
            # once when their subscription comes back (they drop everything then).
            logger.warning("could not announce %s to other replicas: %s", change, exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="changes-listener")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        def on_subscribed() -> None:
            self._local.deliver(Change("all", "*"))  # whatever was missed meanwhile

        def on_message(data: object) -> None:
            change = _parse(data, self._store.replica_id)
            if change is not None:
                self._local.deliver(change)

        await self._store.listen_forever(self.channel, on_message, on_subscribed)


def _parse(data: object, own_replica: str) -> Change | None:
    try:
        fields = json.loads(data)  # type: ignore[arg-type]
        if fields["from"] == own_replica or fields["topic"] not in TOPICS:
            return None
        return Change(fields["topic"], str(fields["id"]))
    except (TypeError, ValueError, KeyError):
        logger.warning("ignoring a malformed change message: %r", data)
        return None
