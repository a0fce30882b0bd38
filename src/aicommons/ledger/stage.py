"""The gateway stage that ledgers every admitted request."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from aicommons.gateway.audit import AuditSink
from aicommons.gateway.pipeline import RequestContext, Stage

REQUEST_KIND = "request.completed"


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 3)


def jsonable(value: Any) -> Any:
    """Annotations from other stages as plain JSON (dataclasses, mappings, scalars)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    to_dict = getattr(value, "to_dict", None)
    return jsonable(to_dict()) if callable(to_dict) else str(value)


def request_payload(ctx: RequestContext) -> dict[str, Any]:
    """What the ledger keeps of a request: metadata only.

    ``id`` is the request id; the API answers with it as ``chatcmpl-<hex>`` / ``cmpl-<hex>``
    for ``req_<hex>``. ``content`` stays null unless a stage for an application that opted in
    to content logging put it in ``ctx.annotations["content"]``.
    """
    principal = ctx.principal
    return {
        "id": ctx.id,
        "tenant_id": principal.tenant_id,
        "key_id": principal.key_id,
        "application_id": principal.application_id,
        "model": ctx.model,
        "kind": ctx.kind,
        "status": ctx.status,
        "error_type": ctx.error_type,
        "error_code": ctx.error_code,
        "finish_reason": ctx.finish_reason,
        "prompt_tokens": ctx.usage.prompt_tokens,
        "completion_tokens": ctx.usage.completion_tokens,
        "created": ctx.created,
        "queue_ms": _ms(ctx.started_at, ctx.dispatched_at),
        "ttft_ms": _ms(ctx.started_at, ctx.first_token_at),
        "total_ms": _ms(ctx.started_at, ctx.finished_at),
        "energy": jsonable(ctx.annotations.get("energy")),
        "policy": jsonable(ctx.annotations.get("policy")),
        "content": jsonable(ctx.annotations.get("content")),
    }


class LedgerStage(Stage):
    """First stage, so its ``finish`` runs last and sees refusals, usage and energy.

    ``finish`` waits until the record is committed: the answer (the response body, or a
    stream's ``[DONE]``) goes out only after that.
    """

    def __init__(self, sink: AuditSink) -> None:
        self._sink = sink

    async def finish(self, ctx: RequestContext) -> None:
        await self._sink.record(REQUEST_KIND, request_payload(ctx))
