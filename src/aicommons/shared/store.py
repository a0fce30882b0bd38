"""The Redis connection of one replica, its key names, and what a Redis failure means.

Losing Redis fails closed: a request that needs a budget decision gets a 503
``limits_unavailable`` rather than going through unlimited; the replica reconnects by itself.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from aicommons.errors import AICommonsError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class LimitsUnavailableError(AICommonsError):
    """Shared state is out of reach, so no budget or place can be granted safely (503)."""

    status_code = 503
    error_type = "service_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="limits_unavailable", headers={"Retry-After": "2"})


class SharedStore:
    """One replica's Redis client, with namespaced key names and its own health record."""

    def __init__(
        self, url: str, prefix: str, socket_timeout_s: float = 2.0, max_connections: int = 64
    ) -> None:
        self.prefix = prefix
        self.replica_id = secrets.token_hex(6)
        # A blocking pool: under a burst, requests wait a moment for a connection instead of
        # failing with "too many connections".
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=socket_timeout_s,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            health_check_interval=10,
        )
        self.client: Redis = Redis(connection_pool=pool)
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    def key(self, *parts: str) -> str:
        """A key of this platform. The hash tag keeps every key in one slot, so a script may
        touch the keys of several tenants (Redis Cluster allows that only within a slot)."""
        return "{" + self.prefix + "}:" + ":".join(parts)

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis operation; a failure becomes a 503 that says what could not be done."""
        try:
            result = await operation()
        except RedisError as exc:
            self._failed(exc)
            raise LimitsUnavailableError(
                f"Budgets and limits cannot be checked right now ({what}: shared state "
                f"unreachable); try again in a few seconds."
            ) from exc
        self.last_error = None
        return result

    def _failed(self, exc: Exception) -> None:
        if self.last_error is None:
            logger.error("Redis failed: %s", exc)
        self.last_error, self.last_error_at = f"{type(exc).__name__}: {exc}", time.time()

    async def listen_forever(
        self,
        channel: str,
        on_message: Callable[[object], None],
        on_subscribed: Callable[[], None] | None = None,
    ) -> None:
        """Deliver every message published on ``channel``, resubscribing (every half second,
        logged once per outage) whenever the connection breaks; ``on_subscribed`` runs at each
        (re)subscription, since messages published meanwhile are lost."""
        lost = False
        while True:
            try:
                async with self.client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(channel)
                    if lost:
                        logger.warning("subscribed to %s again", channel)
                    lost = False
                    if on_subscribed is not None:
                        on_subscribed()
                    async for message in pubsub.listen():
                        on_message(message.get("data"))
            except (RedisError, OSError) as exc:
                if not lost:
                    logger.warning("lost the subscription to %s (%s); resubscribing", channel, exc)
                lost = True
                await asyncio.sleep(0.5)

    async def health(self) -> dict[str, Any]:
        """Whether Redis answers now, for /health."""
        try:
            await self.client.ping()
        except RedisError as exc:
            self._failed(exc)
            return {"ok": False, "error": self.last_error}
        self.last_error = None
        return {"ok": True}

    async def close(self) -> None:
        await self.client.aclose(close_connection_pool=True)
