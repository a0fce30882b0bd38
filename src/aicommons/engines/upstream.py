"""Upstream engine: any OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama, TGI,
another AI Commons), with several replicas per model.

Routing sends each request to the healthy replica with the fewest requests in flight. A
request is retried on another replica only before the first byte of the answer arrives;
after that, a failure ends the stream with an error. Health is tracked actively (a periodic
``GET /models``) and passively (a connection failure marks the replica down until a check or
a later request succeeds).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import orjson

from aicommons.engines.base import (
    Completion,
    EmbeddingResult,
    Engine,
    Finish,
    GenerationRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelSpec,
    StreamEvent,
    TextChunk,
    Usage,
    move_trailing_space,
)
from aicommons.engines.http_transport import LeanTransport
from aicommons.engines.upstream_options import UpstreamOptions
from aicommons.errors import (
    AICommonsError,
    ConfigError,
    EngineUnavailableError,
    InvalidRequestError,
    UpstreamError,
    UpstreamTimeoutError,
)

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# The context assumed when neither the operator (`context_length`) nor the upstream's model
# list says: small on purpose, so that every reservation stays bounded.
DEFAULT_UPSTREAM_CONTEXT = 4096


@dataclass(slots=True)
class Replica:
    """One upstream server and what the balancer knows of it."""

    base_url: str
    api_key: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    in_flight: int = 0
    healthy: bool = True
    last_error: str | None = None
    checked_at: float = 0.0

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", **self.extra_headers}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers


class UpstreamEngine(Engine):
    """Forwards requests to OpenAI-compatible servers; ``transport`` is injectable for tests."""

    can_chat: ClassVar[bool] = True
    can_complete: ClassVar[bool] = True
    can_stream: ClassVar[bool] = True
    can_embed: ClassVar[bool] = True
    can_loglikelihood: ClassVar[bool] = True
    shares_capacity: ClassVar[bool] = True

    Options = UpstreamOptions

    def __init__(self, spec: ModelSpec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(spec)
        options = self.typed_options
        self.replicas = [
            Replica(base_url=r.url, api_key=r.api_key, extra_headers=dict(r.headers))
            for r in options.replica_list()
        ]
        self.upstream_model = options.upstream_model or spec.name
        self._configured_context = options.context_length
        self._reported_context: int | None = None
        self._concurrency = options.concurrency
        # vLLM can report usage in every chunk; then a chunk of several tokens counts as such.
        self._continuous_usage = options.continuous_usage_stats
        self._max_attempts = options.max_attempts or len(self.replicas)
        self._health_interval = options.health_interval_s
        self._timeout = httpx.Timeout(
            connect=options.connect_timeout_s,
            read=options.read_timeout_s,
            write=options.write_timeout_s,
            pool=options.pool_timeout_s,
        )
        # Scoring uses /completions with echo (vLLM, SGLang); llama-cpp-python's server
        # reads max_tokens=0 as "no limit", so it needs loglikelihood_max_tokens = 1.
        self._score_max_tokens = options.loglikelihood_max_tokens
        self._score_batch = options.loglikelihood_batch
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._round_robin = itertools.count()

    @property
    def typed_options(self) -> UpstreamOptions:
        assert isinstance(self.options, UpstreamOptions)
        return self.options

    @property
    def context_length(self) -> int:
        """The configured context length, else the upstream's ``max_model_len``, else a
        conservative default, so every request's reservation has a bound."""
        return self._configured_context or self._reported_context or DEFAULT_UPSTREAM_CONTEXT

    @property
    def concurrency(self) -> int:
        return self._concurrency

    async def start(self) -> None:
        # Loading CA certificates reads files: not on the event loop.
        transport = self._transport or await asyncio.to_thread(self._lean_transport)
        self._client = httpx.AsyncClient(transport=transport, timeout=self._timeout)
        if self._configured_context is None:
            await self._ask_context_length()
        if self._health_interval > 0:
            self._health_task = asyncio.create_task(self._check_health_forever())

    def _lean_transport(self) -> LeanTransport:
        options = self.typed_options
        verify: ssl.SSLContext | bool = options.verify_tls
        if options.verify_tls and options.ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=options.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    f"model {self.spec.name}: cannot read ca_file {options.ca_file!r}: {exc}"
                ) from exc
        return LeanTransport(verify=verify)

    async def _ask_context_length(self) -> None:
        """Read the context length from the first replica that lists the model; an upstream
        that is down now is asked again by the health checks."""
        for replica in self.replicas:
            with contextlib.suppress(httpx.HTTPError):
                await self._read_model_list(replica, self._timeout.connect or 5.0)
                if self._reported_context is not None:
                    return

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
        if self._client is not None:
            await self._client.aclose()

    async def is_healthy(self) -> bool:
        return any(r.healthy for r in self.replicas)

    def describe(self) -> dict[str, Any]:
        """For operators: the servers without credentials (URLs never hold any)."""
        return {
            **super().describe(),
            "upstream_model": self.upstream_model,
            "replicas": [
                {"url": r.base_url, "healthy": r.healthy, "in_flight": r.in_flight}
                for r in self.replicas
            ],
        }

    # -- health --------------------------------------------------------------------------

    async def _check_health_forever(self) -> None:
        while True:
            await asyncio.gather(*(self.check_replica(r) for r in self.replicas))
            await asyncio.sleep(self._health_interval)

    async def check_replica(self, replica: Replica) -> bool:
        """Ask the replica for its model list; mark it healthy if it answers below 500."""
        try:
            status = await self._read_model_list(replica, 5.0)
            ok = status < 500
            error = None if ok else f"health check answered {status}"
        except httpx.HTTPError as exc:
            ok, error = False, f"health check failed: {type(exc).__name__}"
        self._mark(replica, ok, error)
        return ok

    async def _read_model_list(self, replica: Replica, limit_s: float) -> int:
        """GET /models; remember the context length it gives for our model. The status."""
        assert self._client is not None, "engine not started"
        response = await self._client.get(
            f"{replica.base_url}/models", headers=replica.headers(), timeout=limit_s
        )
        if response.status_code == 200:
            reported = context_length_in(response.content, self.upstream_model)
            if reported is not None:
                self._reported_context = reported
        return response.status_code

    def _mark(self, replica: Replica, healthy: bool, error: str | None = None) -> None:
        if replica.healthy != healthy:
            logger.warning(
                "replica %s of %s is now %s%s",
                replica.base_url,
                self.spec.name,
                "healthy" if healthy else "down",
                f" ({error})" if error else "",
            )
        replica.healthy = healthy
        replica.last_error = error
        replica.checked_at = time.monotonic()

    # -- routing -------------------------------------------------------------------------

    def _candidates(self) -> list[Replica]:
        """Healthy replicas by fewest in flight (ties rotate), then the ones marked down."""
        turn = next(self._round_robin)
        count = len(self.replicas)
        rotated = [self.replicas[(turn + i) % count] for i in range(count)]
        ordered = sorted(rotated, key=lambda r: (not r.healthy, r.in_flight))
        return ordered[: self._max_attempts]

    async def _open(
        self, path: str, body: dict[str, Any], stream: bool
    ) -> tuple[Replica, httpx.Response]:
        """Send to replicas in order until one answers with a non-retryable status."""
        assert self._client is not None, "engine not started"
        content = orjson.dumps(body)
        failure: AICommonsError | None = None
        for replica in self._candidates():
            replica.in_flight += 1
            try:
                response, failure = await self._try_replica(replica, path, content, stream)
            except BaseException:
                replica.in_flight -= 1  # cancelled (client gone) or a client error: not retried
                raise
            if response is not None:
                return replica, response
            replica.in_flight -= 1
        assert failure is not None
        raise failure

    async def _try_replica(
        self, replica: Replica, path: str, content: bytes, stream: bool
    ) -> tuple[httpx.Response | None, AICommonsError | None]:
        """One attempt: the response if it may be used, else the error that allows a retry."""
        assert self._client is not None, "engine not started"
        request = self._client.build_request(
            "POST", f"{replica.base_url}{path}", content=content, headers=replica.headers()
        )
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            self._mark(replica, False, f"timeout: {type(exc).__name__}")
            return None, UpstreamTimeoutError(
                f"model {self.spec.name}: upstream did not answer in time"
            )
        except httpx.HTTPError as exc:
            self._mark(replica, False, f"{type(exc).__name__}: {exc}")
            return None, EngineUnavailableError(
                f"model {self.spec.name}: no replica is reachable ({type(exc).__name__})"
            )
        if response.status_code in _RETRYABLE_STATUS:
            detail = await _error_detail(response)
            if response.status_code >= 500:
                self._mark(replica, False, f"answered {response.status_code}")
            return None, UpstreamError(
                f"model {self.spec.name}: upstream answered {response.status_code}: {detail}"
            )
        if response.status_code >= 400:
            detail = await _error_detail(response)
            raise InvalidRequestError(
                f"model {self.spec.name}: upstream refused the request "
                f"({response.status_code}): {detail}"
            )
        if not replica.healthy:
            self._mark(replica, True)
        return response, None

    # -- requests ------------------------------------------------------------------------

    def _generation_body(
        self, request: GenerationRequest, stream: bool
    ) -> tuple[str, dict[str, Any]]:
        s = request.sampling
        body: dict[str, Any] = {"model": self.upstream_model, "stream": stream}
        if request.messages is not None:
            path = "/chat/completions"
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            path = "/completions"
            body["prompt"] = request.prompt or ""
        optional = {
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
            "presence_penalty": s.presence_penalty,
            "frequency_penalty": s.frequency_penalty,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if s.stop:
            body["stop"] = list(s.stop)
        if stream:
            body["stream_options"] = {"include_usage": True}
            if self._continuous_usage:
                body["stream_options"]["continuous_usage_stats"] = True
        return path, body

    async def generate(self, request: GenerationRequest) -> Completion:
        path, body = self._generation_body(request, stream=False)
        replica, response = await self._open(path, body, stream=False)
        try:
            data = orjson.loads(response.content)
            choice = data["choices"][0]
            text = choice["message"]["content"] if request.is_chat else choice["text"]
            usage = data.get("usage") or {}
            return Completion(
                text=text or "",
                finish_reason=choice.get("finish_reason") or "stop",
                usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
            )
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(
                f"model {self.spec.name}: upstream sent a malformed answer"
            ) from exc
        finally:
            replica.in_flight -= 1

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        path, body = self._generation_body(request, stream=True)
        replica, response = await self._open(path, body, stream=True)
        counted = 0
        usage: Usage | None = None
        reason: str | None = None
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    yield Finish(reason=reason or "stop", usage=usage or Usage(0, counted))
                    return
                chunk = orjson.loads(payload)
                if chunk.get("usage"):
                    u = chunk["usage"]
                    usage = Usage(u.get("prompt_tokens", 0), u.get("completion_tokens", 0))
                for choice in chunk.get("choices") or ():
                    text = (
                        (choice.get("delta") or {}).get("content")
                        if request.is_chat
                        else choice.get("text")
                    )
                    if text:
                        tokens = 1
                        if usage is not None and self._continuous_usage:
                            tokens = max(usage.completion_tokens - counted, 1)
                        counted += tokens
                        yield TextChunk(text, tokens)
                    reason = choice.get("finish_reason") or reason
            raise UpstreamError(f"model {self.spec.name}: upstream closed the stream before [DONE]")
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(
                f"model {self.spec.name}: upstream stalled mid-stream"
            ) from exc
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            self._mark(replica, False, f"stream broke: {type(exc).__name__}")
            raise UpstreamError(
                f"model {self.spec.name}: upstream broke off mid-stream ({type(exc).__name__})"
            ) from exc
        finally:
            replica.in_flight -= 1
            await response.aclose()

    async def embed(self, texts: list[str]) -> EmbeddingResult:
        body = {"model": self.upstream_model, "input": texts}
        replica, response = await self._open("/embeddings", body, stream=False)
        try:
            data = orjson.loads(response.content)
            rows = sorted(data["data"], key=lambda row: row["index"])
            return EmbeddingResult(
                vectors=[row["embedding"] for row in rows],
                prompt_tokens=(data.get("usage") or {}).get("prompt_tokens", 0),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise UpstreamError(
                f"model {self.spec.name}: upstream sent malformed embeddings"
            ) from exc
        finally:
            replica.in_flight -= 1

    # -- log-likelihood ------------------------------------------------------------------

    async def loglikelihood(
        self, requests: list[LoglikelihoodRequest]
    ) -> list[LoglikelihoodResult]:
        """Score through ``/completions`` with ``echo`` and ``logprobs``: the server returns
        the prompt's token log-probs with character offsets; the continuation's tokens are
        those that start at or after the end of the context."""
        pairs = [move_trailing_space(r.context, r.continuation) for r in requests]
        batches = [
            pairs[i : i + self._score_batch] for i in range(0, len(pairs), self._score_batch)
        ]
        limit = asyncio.Semaphore(max(1, self._concurrency))

        async def score(batch: list[tuple[str, str]]) -> list[LoglikelihoodResult]:
            async with limit:
                return await self._score_batch_of(batch)

        scored = await asyncio.gather(*(score(b) for b in batches))
        return [result for batch in scored for result in batch]

    async def _score_batch_of(self, pairs: list[tuple[str, str]]) -> list[LoglikelihoodResult]:
        body = {
            "model": self.upstream_model,
            "prompt": [context + continuation for context, continuation in pairs],
            "echo": True,
            "logprobs": 1,
            "max_tokens": self._score_max_tokens,
            "temperature": 0.0,
        }
        replica, response = await self._open("/completions", body, stream=False)
        try:
            choices = sorted(orjson.loads(response.content)["choices"], key=lambda c: c["index"])
            return [
                _continuation_logprob(choice["logprobs"], len(context), len(context + cont))
                for choice, (context, cont) in zip(choices, pairs, strict=True)
            ]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(
                f"model {self.spec.name}: upstream gave no prompt log-probs; it needs "
                "/v1/completions with echo and logprobs (vLLM, SGLang)"
            ) from exc
        finally:
            replica.in_flight -= 1


def _continuation_logprob(logprobs: dict[str, Any], start: int, end: int) -> LoglikelihoodResult:
    """Sum the echoed prompt tokens whose text starts inside [start, end)."""
    offsets = logprobs["text_offset"]
    values = logprobs["token_logprobs"]
    tops = logprobs.get("top_logprobs") or [None] * len(values)
    total, is_greedy, count = 0.0, True, 0
    for offset, value, top in zip(offsets, values, tops, strict=False):
        if not start <= offset < end:
            continue
        if value is None:
            raise ValueError("the first prompt token has no log-prob; give a context")
        total += float(value)
        count += 1
        if top and float(value) < max(float(v) for v in top.values()) - 1e-6:
            is_greedy = False
    if count == 0:
        raise ValueError("no echoed token falls inside the continuation")
    return LoglikelihoodResult(logprob=total, is_greedy=is_greedy, num_tokens=count)


def context_length_in(model_list: bytes, model: str) -> int | None:
    """The context length an OpenAI-style model list gives for ``model``: vLLM and SGLang
    say ``max_model_len``, AI Commons says ``context_length``."""
    try:
        data = orjson.loads(model_list).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
    named = [e for e in entries if e.get("id") == model] or (entries if len(entries) == 1 else [])
    for entry in named:
        for key in ("max_model_len", "context_length"):
            value = entry.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 24:
                return value
    return None


async def _error_detail(response: httpx.Response) -> str:
    """The upstream's error message, read and closed, in at most 300 characters."""
    try:
        raw = await response.aread()
        data = orjson.loads(raw)
        message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        return str(message or raw[:300].decode("utf-8", "replace"))
    except (orjson.JSONDecodeError, AttributeError, httpx.HTTPError):
        return "no detail"
    finally:
        await response.aclose()
