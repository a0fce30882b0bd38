"""Run a task against an engine: batched, concurrent within the engine's slots, resumable.

Every engine response is cached under (model identity, request SHA-256) as soon as its
batch finishes, so an interrupted run picks up where it stopped and a repeated run is
answered from the cache. Log-likelihood requests go to the engine in batches (the engine
spreads a batch over its slots and reuses shared prefixes); generations run one per slot.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aicommons.engines.base import (
    ChatMessage,
    Engine,
    GenerationRequest,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    SamplingParams,
)
from aicommons.errors import InvalidRequestError
from aicommons.evaluation.identity import ModelIdentity, identify
from aicommons.evaluation.metrics import MetricValue
from aicommons.evaluation.progress import ProgressBar, ProgressFactory, silent, terminal
from aicommons.evaluation.tasks.base import Doc, Generate, Response, Task, TaskRequest, request_key
from aicommons.store.evaluation import EvalStore

logger = logging.getLogger(__name__)

LOGLIKELIHOOD_BATCH = 128  # requests per engine call; big enough to keep every slot busy
MIN_LOGLIKELIHOOD_CALLS = 2  # engine calls in flight, so no slot idles at a batch's tail
MAX_LOGLIKELIHOOD_CALLS = 8  # an upstream server batches many more itself
GENERATION_FLUSH = 8  # cache generations in groups of this size


@dataclass(slots=True)
class RunResult:
    """What one run measured, with enough context to reproduce it."""

    task: str
    task_version: str
    model: ModelIdentity
    metrics: dict[str, MetricValue]
    config: dict[str, Any]
    num_items: int
    num_requests: int
    num_cached: int
    duration_s: float
    timings: dict[str, float]
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)
    run_id: str | None = None
    created_at: str | None = None

    @property
    def items_per_s(self) -> float:
        return self.num_items / self.duration_s if self.duration_s > 0 else 0.0

    def metrics_json(self) -> dict[str, dict[str, float | None]]:
        return {
            name: {"value": _finite(m.value), "stderr": _finite(m.stderr)}
            for name, m in self.metrics.items()
        }


def _finite(value: float | None) -> float | None:
    """NaN and infinities become None (JSON and PostgreSQL have no NaN)."""
    return value if value is not None and math.isfinite(value) else None


def encode_response(response: Response) -> dict[str, Any]:
    if isinstance(response, LoglikelihoodResult):
        return {
            "logprob": response.logprob,
            "is_greedy": response.is_greedy,
            "num_tokens": response.num_tokens,
        }
    return {"text": response}


def decode_response(data: Mapping[str, Any]) -> Response:
    if "text" in data:
        return str(data["text"])
    return LoglikelihoodResult(
        float(data["logprob"]), bool(data["is_greedy"]), int(data["num_tokens"])
    )


class _Collector:
    """Gathers fresh responses, updates the progress bar and writes them to the cache."""

    def __init__(self, store: EvalStore | None, model_key: str, bar: ProgressBar) -> None:
        self.store, self.model_key, self.bar = store, model_key, bar
        self.responses: dict[str, dict[str, Any]] = {}
        self._unsaved: dict[str, dict[str, Any]] = {}
        self._lock = asyncio.Lock()

    async def add(self, results: Mapping[str, dict[str, Any]], flush_at: int = 1) -> None:
        self.responses.update(results)
        self._unsaved.update(results)
        self.bar.update(len(results))
        if len(self._unsaved) >= flush_at:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._unsaved = self._unsaved, {}
            if self.store is not None and batch:
                await self.store.store(self.model_key, batch)


async def _score_loglikelihoods(
    engine: Engine, todo: Sequence[tuple[str, LoglikelihoodRequest]], collector: _Collector
) -> None:
    if not todo:
        return
    if not engine.can_loglikelihood:
        raise InvalidRequestError(
            f"model {engine.spec.name} (engine {engine.spec.engine}) cannot score "
            "log-likelihoods, which this task needs; use a llamacpp model or an upstream "
            "server whose /v1/completions accepts echo with logprobs",
            param="model",
        )
    calls = max(MIN_LOGLIKELIHOOD_CALLS, min(engine.concurrency, MAX_LOGLIKELIHOOD_CALLS))
    limit = asyncio.Semaphore(calls)

    async def run(batch: Sequence[tuple[str, LoglikelihoodRequest]]) -> None:
        async with limit:
            results = await engine.loglikelihood([r for _, r in batch])
            await collector.add(
                {k: encode_response(r) for (k, _), r in zip(batch, results, strict=True)}
            )

    batches = [todo[i : i + LOGLIKELIHOOD_BATCH] for i in range(0, len(todo), LOGLIKELIHOOD_BATCH)]
    await asyncio.gather(*(run(batch) for batch in batches))


async def _generation_request(engine: Engine, request: Generate) -> GenerationRequest | None:
    """The engine request, with max_tokens cut to the room the context leaves (None if the
    prompt alone fills the context)."""
    sampling = SamplingParams(
        max_tokens=request.max_tokens, temperature=0.0, seed=0, stop=request.stop
    )
    messages: tuple[ChatMessage, ...] | None = request.messages
    generation = GenerationRequest(
        engine.spec.name,
        sampling,
        messages=messages,
        prompt=request.prompt if messages is None else None,
    )
    window = engine.context_length
    if window is None:
        return generation
    room = window - await engine.count_prompt_tokens(generation)
    if room <= 0:
        return None
    if room < request.max_tokens:
        sampling = SamplingParams(max_tokens=room, temperature=0.0, seed=0, stop=request.stop)
        generation = GenerationRequest(
            engine.spec.name, sampling, messages=messages, prompt=generation.prompt
        )
    return generation


async def _generate(
    engine: Engine, todo: Sequence[tuple[str, Generate]], collector: _Collector
) -> None:
    limit = asyncio.Semaphore(max(1, engine.concurrency))

    async def run(key: str, request: Generate) -> None:
        async with limit:
            generation = await _generation_request(engine, request)
            if generation is None:
                logger.warning("prompt fills the context of %s; scored as empty", engine.spec.name)
                text = ""
            else:
                text = (await engine.generate(generation)).text
            await collector.add({key: encode_response(text)}, flush_at=GENERATION_FLUSH)

    await asyncio.gather(*(run(key, request) for key, request in todo))


def _build_requests(task: Task, docs: Sequence[Doc]) -> list[list[tuple[str, TaskRequest]]]:
    return [[(request_key(r), r) for r in task.requests(doc)] for doc in docs]


def request_arguments(request: TaskRequest) -> list[Any]:
    """A request as lm-eval records its arguments: (context, continuation) for a
    log-likelihood, (prompt or chat messages, generation settings) for a generation."""
    if isinstance(request, LoglikelihoodRequest):
        return [request.context, request.continuation]
    prompt: Any = request.prompt
    if request.messages is not None:
        prompt = [{"role": m.role, "content": m.content} for m in request.messages]
    settings = {"until": list(request.stop), "max_gen_toks": request.max_tokens, "do_sample": False}
    return [prompt, settings]


def _score(
    task: Task,
    docs: Sequence[Doc],
    per_doc: Sequence[Sequence[tuple[str, TaskRequest]]],
    responses: Mapping[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, MetricValue]]:
    records = []
    for doc, keyed in zip(docs, per_doc, strict=True):
        record = task.process(doc, [decode_response(responses[k]) for k, _ in keyed])
        records.append(
            {
                "doc_id": doc.id,
                **record,
                "doc": dict(doc.data),
                "target": task.target(doc),
                "arguments": [request_arguments(r) for _, r in keyed],
                "resps": [responses[k] for k, _ in keyed],
            }
        )
    return records, task.aggregate(records)


async def run_task(
    engine: Engine,
    task: Task,
    limit: int | None = None,
    cache: EvalStore | None = None,
    progress: bool | ProgressFactory = False,
    *,
    save: bool = True,
) -> RunResult:
    """Evaluate ``task`` on the started ``engine``. With ``cache``, responses are read from
    and written to it and (unless ``save`` is false) the run is stored in eval_runs."""
    started = time.perf_counter()
    docs = await asyncio.to_thread(task.load_docs, limit)
    # lm-eval's n-samples "original": the documents there are without the limit.
    original = len(docs) if limit is None else await asyncio.to_thread(task.count_docs)
    per_doc = await asyncio.to_thread(_build_requests, task, docs)
    unique = {key: request for keyed in per_doc for key, request in keyed}
    identity = await identify(engine)
    prepared = time.perf_counter()

    cached = await cache.cached(identity.cache_key, list(unique)) if cache is not None else {}
    make_bar: Callable[[int, str], ProgressBar] = (
        terminal if progress is True else silent if progress is False else progress
    )
    bar = make_bar(len(unique), f"{task.name} on {engine.spec.name}")
    bar.update(len(cached))
    collector = _Collector(cache, identity.cache_key, bar)
    scoring = [(k, r) for k, r in unique.items() if k not in cached and not isinstance(r, Generate)]
    generating = [(k, r) for k, r in unique.items() if k not in cached and isinstance(r, Generate)]
    try:
        await _score_loglikelihoods(engine, scoring, collector)
        await _generate(engine, generating, collector)
    finally:
        await asyncio.shield(collector.flush())
        bar.close()
    answered = time.perf_counter()

    responses = {**cached, **collector.responses}
    records, metrics = await asyncio.to_thread(_score, task, docs, per_doc, responses)
    finished = time.perf_counter()
    result = RunResult(
        task=task.name,
        task_version=task.version,
        model=identity,
        metrics=metrics,
        config={**task.config(), "limit": limit, "num_docs_original": original},
        num_items=len(docs),
        num_requests=len(unique),
        num_cached=len(cached),
        duration_s=finished - started,
        timings={
            "prepare_s": prepared - started,
            "requests_s": answered - prepared,
            "scoring_s": finished - answered,
        },
        records=records,
    )
    if cache is not None and save:
        run = await cache.add_run(**run_fields(result))
        result.run_id, result.created_at = run.id, run.created_at.isoformat()
    return result


def run_fields(result: RunResult) -> dict[str, Any]:
    """The eval_runs columns of a result."""
    return {
        "model": result.model.name,
        "model_file": result.model.file,
        "model_sha256": result.model.sha256,
        "model_revision": result.model.revision,
        "quantisation": result.model.quantisation,
        "engine": result.model.engine,
        "task": result.task,
        "task_version": result.task_version,
        "settings": result.config,
        "metrics": result.metrics_json(),
        "timings": result.timings,
        "num_items": result.num_items,
        "num_requests": result.num_requests,
        "num_cached": result.num_cached,
        "duration_s": result.duration_s,
        "items_per_s": result.items_per_s,
    }
