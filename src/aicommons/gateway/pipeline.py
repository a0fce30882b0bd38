"""The request pipeline: principal -> model access -> engine -> usage.

One `RequestContext` travels through the stages and records what happened to the request.
The API layer calls `Gateway` and never an engine directly.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from aicommons.engines.base import (
    Completion,
    EmbeddingResult,
    Engine,
    Finish,
    GenerationRequest,
    StreamEvent,
    TextChunk,
    Usage,
)
from aicommons.errors import InvalidRequestError
from aicommons.gateway.auth import Principal
from aicommons.gateway.catalog import ModelCatalog, model_not_found
from aicommons.store.tables import new_id

RequestKind = Literal["chat", "completion", "embedding"]


@dataclass(slots=True)
class RequestContext:
    """What one request is and what became of it."""

    principal: Principal
    model: str
    kind: RequestKind
    id: str = field(default_factory=lambda: new_id("req"))
    created: int = field(default_factory=lambda: int(time.time()))
    started_at: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    finished_at: float | None = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    status: Literal["pending", "ok", "error", "cancelled"] = "pending"


_CAPABILITY: dict[RequestKind, str] = {
    "chat": "can_chat",
    "completion": "can_complete",
    "embedding": "can_embed",
}


class Gateway:
    """Runs requests for authenticated principals against the catalog's engines."""

    def __init__(self, catalog: ModelCatalog) -> None:
        self.catalog = catalog

    def visible_models(self, principal: Principal) -> dict[str, Engine]:
        return {n: e for n, e in self.catalog.engines().items() if principal.may_use(n)}

    def visible_engine(self, principal: Principal, model: str) -> Engine:
        """The engine serving ``model``; a 404 if it does not exist or the key may not use it."""
        if not principal.may_use(model):
            raise model_not_found(model)
        return self.catalog.get(model)

    def engine_for(self, ctx: RequestContext) -> Engine:
        """The engine serving ``ctx.model``, if the key may use it and it does this kind."""
        engine = self.visible_engine(ctx.principal, ctx.model)
        if not getattr(engine, _CAPABILITY[ctx.kind]):
            what = {"chat": "chat completions", "completion": "text completions",
                    "embedding": "embeddings"}[ctx.kind]
            raise InvalidRequestError(
                f"model '{ctx.model}' does not serve {what}", param="model", code="wrong_model_kind"
            )
        return engine

    async def generate(self, ctx: RequestContext, request: GenerationRequest) -> Completion:
        engine = self.engine_for(ctx)
        try:
            completion = await engine.generate(request)
        except BaseException:
            ctx.status = "error"
            raise
        ctx.first_token_at = ctx.finished_at = time.perf_counter()
        ctx.usage, ctx.finish_reason, ctx.status = completion.usage, completion.finish_reason, "ok"
        return completion

    async def stream(self, ctx: RequestContext, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        engine = self.engine_for(ctx)
        ctx.status = "cancelled"
        try:
            async for event in engine.stream(request):
                if isinstance(event, TextChunk):
                    if ctx.first_token_at is None:
                        ctx.first_token_at = time.perf_counter()
                    ctx.usage.completion_tokens += event.num_tokens
                elif isinstance(event, Finish):
                    ctx.usage, ctx.finish_reason, ctx.status = event.usage, event.reason, "ok"
                yield event
        except Exception:
            ctx.status = "error"
            raise
        finally:
            ctx.finished_at = time.perf_counter()

    async def embed(self, ctx: RequestContext, texts: list[str]) -> EmbeddingResult:
        engine = self.engine_for(ctx)
        result = await engine.embed(texts)
        ctx.usage = Usage(prompt_tokens=result.prompt_tokens)
        ctx.status, ctx.finished_at = "ok", time.perf_counter()
        return result
