"""The request pipeline: principal -> model access -> stages' admission -> dispatch -> engine
-> stages' finish.

One `RequestContext` travels through the stages and records what happened to the request.
Stages (governance policy, quota, metering, ledger) plug in as `Stage` objects; the fair
scheduler plugs in as the `Dispatcher`. The API layer calls `Gateway`, never an engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
Status = Literal["pending", "ok", "error", "cancelled", "refused"]


@dataclass(slots=True)
class RequestContext:
    """What one request is and what became of it."""

    principal: Principal
    model: str
    kind: RequestKind
    stream: bool = False
    id: str = field(default_factory=lambda: new_id("req"))
    created: int = field(default_factory=lambda: int(time.time()))
    started_at: float = field(default_factory=time.perf_counter)
    dispatched_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    prompt_tokens_estimate: int = 0
    max_new_tokens: int = 0
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    status: Status = "pending"
    error_type: str | None = None
    error_code: str | None = None
    # What stages add to the answer: HTTP headers and top-level body fields.
    response_headers: dict[str, str] = field(default_factory=dict)
    response_fields: dict[str, Any] = field(default_factory=dict)
    # What stages record about the request (energy, policy decision, ...).
    annotations: dict[str, Any] = field(default_factory=dict)


class Stage:
    """One step of the pipeline. Override the hooks you need; the defaults do nothing.

    ``admit`` runs in order before dispatch and may refuse by raising an `AICommonsError`;
    ``finish`` runs in reverse order for every stage that admitted, whatever the outcome.
    ``on_tokens`` is called as output tokens stream, from the event loop, and must not block.
    """

    async def admit(self, ctx: RequestContext) -> None:
        return None

    def on_tokens(self, ctx: RequestContext, num_tokens: int) -> None:
        return None

    async def finish(self, ctx: RequestContext) -> None:
        return None


class Dispatcher(Protocol):
    """Decides when a request may go to its engine (the fair scheduler implements this)."""

    def slot(self, ctx: RequestContext, engine: Engine) -> AbstractAsyncContextManager[None]: ...

    def on_tokens(self, ctx: RequestContext, num_tokens: int) -> None: ...


class DirectDispatcher:
    """Sends every request at once; engines queue on their own."""

    @contextlib.asynccontextmanager
    async def slot(self, ctx: RequestContext, engine: Engine) -> AsyncIterator[None]:
        yield

    def on_tokens(self, ctx: RequestContext, num_tokens: int) -> None:
        return None


_CAPABILITY: dict[RequestKind, str] = {
    "chat": "can_chat",
    "completion": "can_complete",
    "embedding": "can_embed",
}
_KIND_NAMES: dict[RequestKind, str] = {
    "chat": "chat completions",
    "completion": "text completions",
    "embedding": "embeddings",
}


class Gateway:
    """Runs requests for authenticated principals against the catalog's engines."""

    def __init__(
        self,
        catalog: ModelCatalog,
        stages: Sequence[Stage] = (),
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.catalog = catalog
        self.stages = list(stages)
        self.dispatcher: Dispatcher = dispatcher or DirectDispatcher()

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
            raise InvalidRequestError(
                f"model '{ctx.model}' does not serve {_KIND_NAMES[ctx.kind]}",
                param="model",
                code="wrong_model_kind",
            )
        return engine

    # -- stages --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _admitted(self, ctx: RequestContext) -> AsyncIterator[None]:
        """Run every stage's ``admit``; always run ``finish`` for those that admitted."""
        admitted: list[Stage] = []
        try:
            for stage in self.stages:
                await stage.admit(ctx)
                admitted.append(stage)
            yield
        except BaseException as exc:
            if ctx.status == "pending":
                if len(admitted) < len(self.stages):
                    ctx.status = "refused"
                elif isinstance(exc, GeneratorExit | asyncio.CancelledError):
                    ctx.status = "cancelled"
                else:
                    ctx.status = "error"
            ctx.error_type = ctx.error_type or getattr(exc, "error_type", type(exc).__name__)
            ctx.error_code = ctx.error_code or getattr(exc, "code", None)
            raise
        finally:
            ctx.finished_at = ctx.finished_at or time.perf_counter()
            await self._finish(ctx, admitted)

    @staticmethod
    async def _finish(ctx: RequestContext, admitted: list[Stage]) -> None:
        """Every admitted stage's ``finish``, even if one fails (the ledger's runs last and
        must always run); the first failure is raised afterwards."""
        failure: BaseException | None = None
        for stage in reversed(admitted):
            try:
                await stage.finish(ctx)
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def _count_tokens(self, ctx: RequestContext, num_tokens: int) -> None:
        if ctx.first_token_at is None:
            ctx.first_token_at = time.perf_counter()
        self.dispatcher.on_tokens(ctx, num_tokens)
        for stage in self.stages:
            stage.on_tokens(ctx, num_tokens)

    async def _estimate(
        self, ctx: RequestContext, engine: Engine, request: GenerationRequest
    ) -> GenerationRequest:
        """Count the prompt, check that it fits the model's context, and bound the new tokens.

        A request without ``max_tokens`` gets the model's ``default_max_tokens`` (at most
        what its context leaves): every request reaches the quota stage with a bounded
        reservation, and the engine is asked for no more than was reserved.
        """
        ctx.prompt_tokens_estimate = await engine.count_prompt_tokens(request)
        wanted = request.sampling.max_tokens
        room = _room_in_context(engine.context_length, ctx.prompt_tokens_estimate, request)
        if wanted is not None and room is not None and wanted > room[1]:
            raise InvalidRequestError(
                f"max_tokens is {wanted}, but the model's context of {room[0]} tokens leaves "
                f"room for about {room[1]} after the prompt. Ask for at most {room[1]}.",
                param="max_tokens",
                code="context_length_exceeded",
            )
        if wanted is not None:
            ctx.max_new_tokens = wanted
            return request
        limit = engine.default_max_tokens
        ctx.max_new_tokens = min(limit, room[1]) if room is not None else limit
        return dataclasses.replace(
            request, sampling=dataclasses.replace(request.sampling, max_tokens=ctx.max_new_tokens)
        )

    # -- requests ------------------------------------------------------------------------

    async def generate(self, ctx: RequestContext, request: GenerationRequest) -> Completion:
        engine = self.engine_for(ctx)
        request = await self._estimate(ctx, engine, request)
        async with self._admitted(ctx), self.dispatcher.slot(ctx, engine):
            ctx.dispatched_at = time.perf_counter()
            completion = await engine.generate(request)
            self._count_tokens(ctx, completion.usage.completion_tokens)
            ctx.usage, ctx.finish_reason = completion.usage, completion.finish_reason
            ctx.status = "ok"
            ctx.finished_at = time.perf_counter()
        return completion

    async def stream(
        self, ctx: RequestContext, request: GenerationRequest
    ) -> AsyncGenerator[StreamEvent, None]:
        ctx.stream = True
        engine = self.engine_for(ctx)
        request = await self._estimate(ctx, engine, request)
        async with self._admitted(ctx), self.dispatcher.slot(ctx, engine):
            ctx.dispatched_at = time.perf_counter()
            events = engine.stream(request)
            seen = 0
            try:
                async for event in events:
                    if isinstance(event, TextChunk):
                        if seen + event.num_tokens > ctx.max_new_tokens:
                            # The engine overran what was reserved: end the answer here.
                            yield self._settle(ctx, Finish("length", self._usage_so_far(ctx, seen)))
                            return
                        seen += event.num_tokens
                        self._count_tokens(ctx, event.num_tokens)
                    elif isinstance(event, Finish):
                        # Engines that count a chunk as one token settle the rest here.
                        missing = event.usage.completion_tokens - seen
                        if missing > 0:
                            self._count_tokens(ctx, missing)
                        self._settle(ctx, event)
                    yield event
            finally:
                await events.aclose()

    @staticmethod
    def _usage_so_far(ctx: RequestContext, seen: int) -> Usage:
        return Usage(prompt_tokens=ctx.prompt_tokens_estimate, completion_tokens=seen)

    @staticmethod
    def _settle(ctx: RequestContext, finish: Finish) -> Finish:
        ctx.usage, ctx.finish_reason = finish.usage, finish.reason
        ctx.status = "ok"
        ctx.finished_at = time.perf_counter()
        return finish

    async def embed(self, ctx: RequestContext, texts: list[str]) -> EmbeddingResult:
        engine = self.engine_for(ctx)
        # Reserved against budgets like a prompt: about four characters a token.
        ctx.prompt_tokens_estimate = sum(len(text) // 4 + 1 for text in texts)
        async with self._admitted(ctx), self.dispatcher.slot(ctx, engine):
            ctx.dispatched_at = time.perf_counter()
            result = await engine.embed(texts)
            ctx.usage = Usage(prompt_tokens=result.prompt_tokens)
            ctx.status = "ok"
            ctx.finished_at = time.perf_counter()
        return result


def _room_in_context(
    context: int | None, num_prompt: int, request: GenerationRequest
) -> tuple[int, int] | None:
    """The model's context and the tokens left after the prompt; a 400 if none are left."""
    if context is None:
        return None
    if num_prompt >= context:
        param = "messages" if request.is_chat else "prompt"
        raise InvalidRequestError(
            f"This model's maximum context length is {context} tokens, but your {param} "
            f"resulted in about {num_prompt} tokens. Shorten the {param}.",
            param=param,
            code="context_length_exceeded",
        )
    return context, context - num_prompt
