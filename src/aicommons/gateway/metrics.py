"""Prometheus metrics of one running platform, in a registry of its own (no globals).

Per pool: queue length and in-flight requests, read from the dispatcher when scraped. Per
tenant: served tokens and rejections by reason. Per model: time to first token and latency.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aicommons.gateway.dispatch import FairDispatcher
from aicommons.gateway.pipeline import RequestContext, Stage

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class PoolCollector(Collector):
    def __init__(self, dispatcher: FairDispatcher) -> None:
        self._dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "aicommons_pool_queue_length", "Requests waiting for a place", labels=["pool"]
        )
        running = GaugeMetricFamily(
            "aicommons_pool_in_flight", "Requests running on the engine", labels=["pool"]
        )
        limit = GaugeMetricFamily(
            "aicommons_pool_limit", "Most requests sent to the engine at once", labels=["pool"]
        )
        for pool in self._dispatcher.pools():
            waiting.add_metric([pool.name], pool.num_waiting)
            running.add_metric([pool.name], pool.num_running)
            limit.add_metric([pool.name], pool.limit)
        yield waiting
        yield running
        yield limit


class MetricsStage(Stage):
    """Counts what every request did; its ``finish`` sees refusals by later stages too."""

    def __init__(self, dispatcher: FairDispatcher) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(PoolCollector(dispatcher))
        self.tokens = Counter(
            "aicommons_tokens",
            "Tokens served",
            ["tenant", "model", "direction"],
            registry=self.registry,
        )
        self.requests = Counter(
            "aicommons_requests",
            "Finished requests by outcome",
            ["tenant", "model", "status"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "aicommons_rejections",
            "Requests refused, by reason",
            ["tenant", "reason"],
            registry=self.registry,
        )
        self.ttft = Histogram(
            "aicommons_time_to_first_token_seconds",
            "From arrival to the first output token",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "aicommons_request_latency_seconds",
            "From arrival to the last byte",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    async def finish(self, ctx: RequestContext) -> None:
        tenant = ctx.principal.tenant_name
        self.requests.labels(tenant, ctx.model, ctx.status).inc()
        if ctx.status in ("refused", "error") and ctx.error_type in _REJECTIONS:
            self.rejections.labels(tenant, ctx.error_code or ctx.error_type).inc()
        if ctx.usage.prompt_tokens:
            self.tokens.labels(tenant, ctx.model, "input").inc(ctx.usage.prompt_tokens)
        if ctx.usage.completion_tokens:
            self.tokens.labels(tenant, ctx.model, "output").inc(ctx.usage.completion_tokens)
        if ctx.first_token_at is not None:
            self.ttft.labels(ctx.model).observe(ctx.first_token_at - ctx.started_at)
        if ctx.status == "ok" and ctx.finished_at is not None:
            self.latency.labels(ctx.model).observe(ctx.finished_at - ctx.started_at)


_REJECTIONS = frozenset({"rate_limit_error", "permission_error"})
