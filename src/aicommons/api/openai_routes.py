"""The OpenAI-compatible routes: /v1/models, /v1/chat/completions, /v1/completions,
/v1/embeddings. Bodies are parsed by hand (`parse_body`) so that every malformed input gets
an OpenAI-style error naming the parameter."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from aicommons.api.deps import PrincipalDep, ServicesDep
from aicommons.api.openapi import error_responses, json_body
from aicommons.api.schemas import ChatCompletionBody, CompletionBody, EmbeddingBody, parse_body
from aicommons.api.streaming import (
    SSE_DONE,
    ClientDisconnectedError,
    EventStreamResponse,
    sse,
    until_disconnect,
)
from aicommons.engines.base import (
    Completion,
    Engine,
    Finish,
    GenerationRequest,
    StreamEvent,
    TextChunk,
)
from aicommons.errors import AICommonsError
from aicommons.gateway.pipeline import Gateway, RequestContext

router = APIRouter(prefix="/v1")


def json_response(
    payload: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload), status_code, headers=headers, media_type="application/json"
    )


def model_entry(name: str, engine: Engine) -> dict[str, Any]:
    """What any key may know of a model: its id, owner and context length. Engine details
    (servers, health, load) are for operators, in GET /admin/models."""
    return {
        "id": name,
        "object": "model",
        "created": 0,
        "owned_by": "aicommons",
        "context_length": engine.context_length,
    }


@router.get("/models")
async def list_models(principal: PrincipalDep, services: ServicesDep) -> Response:
    models = services.gateway.visible_models(principal)
    data = [model_entry(name, engine) for name, engine in sorted(models.items())]
    return json_response({"object": "list", "data": data})


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    return json_response(
        model_entry(model_id, services.gateway.visible_engine(principal, model_id))
    )


# What a generation route answers besides errors: JSON, or server-sent events with stream.
_GENERATED = {
    200: {
        "description": "The answer (JSON), or with stream=true a text/event-stream of chunks.",
        "content": {"application/json": {}, "text/event-stream": {}},
    },
    **error_responses(502, 503, 504),
}


@router.post("/chat/completions", responses=_GENERATED, openapi_extra=json_body(ChatCompletionBody))
async def chat_completions(
    request: Request, principal: PrincipalDep, services: ServicesDep
) -> Response:
    body = parse_body(ChatCompletionBody, await request.body())
    ctx = RequestContext(principal=principal, model=body.model, kind="chat")
    generation = body.to_request()
    gateway = services.gateway
    if body.stream:
        events = await _primed(gateway.stream(ctx, generation))
        chunks = _chat_chunks(ctx, events, body.include_usage)
        return EventStreamResponse(chunks, headers=ctx.response_headers)
    completion = await _complete(request, gateway, ctx, generation)
    return json_response(
        {
            "id": ctx.id.replace("req_", "chatcmpl-"),
            "object": "chat.completion",
            "created": ctx.created,
            "model": ctx.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text},
                    "finish_reason": completion.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": completion.usage.to_dict(),
            **ctx.response_fields,
        },
        headers=ctx.response_headers,
    )


@router.post("/completions", responses=_GENERATED, openapi_extra=json_body(CompletionBody))
async def completions(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = parse_body(CompletionBody, await request.body())
    ctx = RequestContext(principal=principal, model=body.model, kind="completion")
    generation = body.to_request()
    gateway = services.gateway
    if body.stream:
        events = await _primed(gateway.stream(ctx, generation))
        chunks = _completion_chunks(ctx, events, body.include_usage)
        return EventStreamResponse(chunks, headers=ctx.response_headers)
    completion = await _complete(request, gateway, ctx, generation)
    return json_response(
        {
            "id": ctx.id.replace("req_", "cmpl-"),
            "object": "text_completion",
            "created": ctx.created,
            "model": ctx.model,
            "choices": [
                {
                    "index": 0,
                    "text": completion.text,
                    "finish_reason": completion.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": completion.usage.to_dict(),
            **ctx.response_fields,
        },
        headers=ctx.response_headers,
    )


@router.post(
    "/embeddings", responses=error_responses(502, 503, 504), openapi_extra=json_body(EmbeddingBody)
)
async def embeddings(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    body = parse_body(EmbeddingBody, await request.body())
    ctx = RequestContext(principal=principal, model=body.model, kind="embedding")
    result = await until_disconnect(request, services.gateway.embed(ctx, body.texts))
    data = [
        {"object": "embedding", "index": i, "embedding": _encode_vector(v, body.encoding_format)}
        for i, v in enumerate(result.vectors)
    ]
    usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
    return json_response({"object": "list", "data": data, "model": ctx.model, "usage": usage})


def _encode_vector(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


async def _complete(
    request: Request, gateway: Gateway, ctx: RequestContext, generation: GenerationRequest
) -> Completion:
    try:
        return await until_disconnect(request, gateway.generate(ctx, generation))
    except ClientDisconnectedError:
        ctx.status = "cancelled"
        raise


async def _primed(events: AsyncGenerator[StreamEvent, None]) -> AsyncGenerator[StreamEvent, None]:
    """Start the stream now, so errors before the first token get a real HTTP status."""
    first = await anext(events)

    async def replay() -> AsyncGenerator[StreamEvent, None]:
        try:
            yield first
            async for event in events:
                yield event
        finally:
            await events.aclose()

    return replay()


async def _stream_with_errors(
    events: AsyncGenerator[StreamEvent, None],
) -> AsyncIterator[StreamEvent | AICommonsError]:
    try:
        async for event in events:
            yield event
    except AICommonsError as exc:
        yield exc
    finally:
        await events.aclose()


async def _chat_chunks(
    ctx: RequestContext, events: AsyncGenerator[StreamEvent, None], include_usage: bool
) -> AsyncGenerator[bytes, None]:
    base = {
        "id": ctx.id.replace("req_", "chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": ctx.model,
        **ctx.response_fields,  # e.g. the Art. 50(2) mark, in every chunk
    }
    yield sse({**base, "choices": [_choice({"role": "assistant", "content": ""})]})
    async for event in _stream_with_errors(events):
        if isinstance(event, TextChunk):
            yield sse({**base, "choices": [_choice({"content": event.text})]})
        elif isinstance(event, Finish):
            yield sse({**base, "choices": [_choice({}, event.reason)]})
            if include_usage:
                yield sse({**base, "choices": [], "usage": event.usage.to_dict()})
        else:
            yield sse(event.to_dict())
    yield SSE_DONE


async def _completion_chunks(
    ctx: RequestContext, events: AsyncGenerator[StreamEvent, None], include_usage: bool
) -> AsyncGenerator[bytes, None]:
    base = {
        "id": ctx.id.replace("req_", "cmpl-"),
        "object": "text_completion",
        "created": ctx.created,
        "model": ctx.model,
        **ctx.response_fields,
    }
    async for event in _stream_with_errors(events):
        if isinstance(event, TextChunk):
            choice = {"index": 0, "text": event.text, "finish_reason": None, "logprobs": None}
            yield sse({**base, "choices": [choice]})
        elif isinstance(event, Finish):
            choice = {"index": 0, "text": "", "finish_reason": event.reason, "logprobs": None}
            yield sse({**base, "choices": [choice]})
            if include_usage:
                yield sse({**base, "choices": [], "usage": event.usage.to_dict()})
        else:
            yield sse(event.to_dict())
    yield SSE_DONE


def _choice(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
