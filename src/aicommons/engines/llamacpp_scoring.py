"""Log-likelihood scoring on a llama.cpp context, with prefix reuse.

Runs in a slot's worker thread. Requests arrive sorted by tokens, so requests that share a
context (the choices of a multiple-choice question, few-shot prompts with a common preamble)
are adjacent: the shared part stays in the KV cache and only the new tokens are decoded. A
continuation is decoded after its context and then removed from the cache again, so the next
choice starts from the same context. Logits are requested only for the positions that are
scored, never for the whole context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aicommons.engines.base import LoglikelihoodResult

TokenPair = tuple[list[int], list[int]]


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def fit_to_window(context: list[int], continuation: list[int], n_ctx: int) -> list[int]:
    """Drop the oldest context tokens so that the fed tokens (all but the last continuation
    token) fit the context window, as lm-eval truncates on the left."""
    excess = len(context) + len(continuation) - 1 - n_ctx
    return context[excess:] if excess > 0 else context


def score_continuation(logits: np.ndarray, continuation: Sequence[int]) -> LoglikelihoodResult:
    """Sum of log-softmax at the continuation tokens; ``logits`` row i predicts token i."""
    rows = logits.astype(np.float64)
    peak = rows.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(rows - peak).sum(axis=1)) + peak[:, 0]
    picked = rows[np.arange(len(continuation)), list(continuation)]
    logprob = float((picked - log_norm).sum())
    is_greedy = bool((rows.argmax(axis=1) == np.asarray(continuation)).all())
    return LoglikelihoodResult(logprob=logprob, is_greedy=is_greedy, num_tokens=len(continuation))


class PrefixScorer:
    """Scores (context, continuation) token pairs on sequence 0 of one llama.cpp context."""

    def __init__(self, llm: Any, n_batch: int) -> None:
        from llama_cpp._internals import LlamaBatch

        self._ctx = llm._ctx
        self._n_vocab = int(llm.n_vocab())
        self._n_batch = n_batch
        self._batch: Any = LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self._cached: list[int] = []  # tokens whose keys and values sit in the cache
        self._context: list[int] | None = None
        self._next_logits: np.ndarray | None = None  # prediction after the last context token
        self._ctx.kv_cache_seq_rm(-1, 0, -1)
        self.num_decoded = 0

    def close(self) -> None:
        self._ctx.kv_cache_seq_rm(-1, 0, -1)
        self._batch.close()

    def score(self, context: list[int], continuation: list[int]) -> LoglikelihoodResult:
        if context != self._context:
            self._load_context(context)
        assert self._next_logits is not None
        rows = [self._next_logits]
        if len(continuation) > 1:
            start = len(context)
            rows += self._decode(continuation[:-1], start, range(len(continuation) - 1))
            self._truncate_cache(start)
        return score_continuation(np.stack(rows), continuation)

    def _load_context(self, context: list[int]) -> None:
        # Keep at least the last context token out of the reused part: its logits are needed.
        keep = min(common_prefix_length(self._cached, context), len(context) - 1)
        keep = self._truncate_cache(keep)
        (self._next_logits,) = self._decode(context[keep:], keep, [len(context) - 1 - keep])
        self._cached = list(context)
        self._context = list(context)

    def _truncate_cache(self, keep: int) -> int:
        """Forget cached positions from ``keep`` on; returns what was kept (0 when a model's
        memory cannot be cut in the middle and had to be cleared)."""
        if not self._ctx.kv_cache_seq_rm(0, keep, -1):
            self._ctx.kv_cache_seq_rm(-1, 0, -1)
            keep = 0
        del self._cached[keep:]
        return keep

    def _decode(self, tokens: Sequence[int], start: int, wanted: Sequence[int]) -> list[np.ndarray]:
        """Decode ``tokens`` at positions ``start``...; return logits rows for the indices in
        ``wanted`` (relative to ``tokens``), in order."""
        wanted_set = set(wanted)
        rows: list[np.ndarray] = []
        batch = self._batch.batch
        for offset in range(0, len(tokens), self._n_batch):
            chunk = tokens[offset : offset + self._n_batch]
            batch.n_tokens = len(chunk)
            outputs: list[int] = []
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = start + offset + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                is_wanted = offset + i in wanted_set
                batch.logits[i] = is_wanted
                if is_wanted:
                    outputs.append(i)
            self._ctx.decode(self._batch)
            self.num_decoded += len(chunk)
            for i in outputs:
                pointer = self._ctx.get_logits_ith(i)
                rows.append(np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy())
        self._cached.extend(tokens)
        return rows


def score_pairs(llm: Any, pairs: Sequence[TokenPair], n_batch: int) -> list[LoglikelihoodResult]:
    """Score ``pairs`` in order on ``llm`` (call from the slot's own thread); afterwards the
    generation path finds an empty cache and re-evaluates its prompt."""
    scorer = PrefixScorer(llm, n_batch)
    try:
        return [scorer.score(context, continuation) for context, continuation in pairs]
    finally:
        scorer.close()
        llm.reset()


def split_by_context(order: list[int], pairs: Sequence[TokenPair], parts: int) -> list[list[int]]:
    """Cut ``order`` (indices sorted by tokens) into at most ``parts`` runs of similar token
    counts, never separating requests that share a context (they reuse its cache)."""
    groups: list[list[int]] = []
    for index in order:
        if groups and pairs[groups[-1][0]][0] == pairs[index][0]:
            groups[-1].append(index)
        else:
            groups.append([index])
    total = sum(len(c) + len(t) for c, t in pairs)
    target = total / max(1, parts)
    chunks: list[list[int]] = [[]]
    size = 0
    for group in groups:
        if size >= target and len(chunks) < parts:
            chunks.append([])
            size = 0
        chunks[-1].extend(group)
        size += sum(len(pairs[i][0]) + len(pairs[i][1]) for i in group)
    return [chunk for chunk in chunks if chunk]
