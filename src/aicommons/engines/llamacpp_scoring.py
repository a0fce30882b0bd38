"""Log-likelihood scoring on llama.cpp, with prefix reuse and parallel continuations.

Each slot gets a dedicated scoring context on the slot's own (memory-mapped) weights, with
several sequences in one unified KV cache, so scoring never disturbs the slot's generation
cache. It runs in the slot's worker thread. Requests arrive sorted by tokens, so requests
that share a context (the choices of a multiple-choice question, few-shot prompts with a
common preamble) are adjacent:

- the context is decoded once on sequence 0; only the part that differs from the previous
  context is decoded (the shared prefix stays in the cache);
- the continuations of that context are copied onto sequences 1..n (a copy shares the cached
  cells, it does not recompute them) and decoded together in one batch, then dropped.

Logits are requested only for the positions that are scored, never for the whole context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from aicommons.engines.base import LoglikelihoodResult

TokenPair = tuple[list[int], list[int]]
SCORING_SEQUENCES = 8  # sequences of a scoring context: 1 context + 7 parallel continuations


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


def open_scoring_context(llm: Any, sequences: int = SCORING_SEQUENCES) -> Any:
    """A second llama.cpp context on ``llm``'s weights, with ``sequences`` sequences sharing
    one KV cache of the same size as the slot's."""
    import llama_cpp
    from llama_cpp._internals import LlamaContext

    params = llama_cpp.llama_context_params.from_buffer_copy(llm.context_params)
    params.n_seq_max = sequences
    params.kv_unified = True
    return LlamaContext(model=llm._model, params=params, verbose=False)


class PrefixScorer:
    """Scores (context, continuation) token pairs on one scoring context."""

    def __init__(self, ctx: Any, n_vocab: int, n_batch: int, sequences: int) -> None:
        from llama_cpp._internals import LlamaBatch

        self._ctx = ctx
        self._n_vocab = n_vocab
        self._n_batch = n_batch
        self._parallel = max(1, sequences - 1)
        self._batch: Any = LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self._cached: list[int] = []  # tokens of sequence 0 whose keys and values are cached
        self._context: list[int] | None = None
        self._next_logits: np.ndarray | None = None  # prediction after the last context token
        self._clear()
        self.num_decoded = 0
        self.num_calls = 0

    def close(self) -> None:
        self._clear()
        self._batch.close()

    def score_all(self, pairs: Sequence[TokenPair]) -> list[LoglikelihoodResult]:
        """Score ``pairs`` in order; consecutive pairs with equal contexts form one group."""
        results: list[LoglikelihoodResult] = []
        start = 0
        while start < len(pairs):
            end = start
            while end < len(pairs) and pairs[end][0] == pairs[start][0]:
                end += 1
            results += self.score_group(pairs[start][0], [c for _, c in pairs[start:end]])
            start = end
        return results

    def score(self, context: list[int], continuation: list[int]) -> LoglikelihoodResult:
        return self.score_group(context, [continuation])[0]

    def score_group(
        self, context: list[int], continuations: Sequence[list[int]]
    ) -> list[LoglikelihoodResult]:
        if context != self._context:
            self._load_context(context)
        assert self._next_logits is not None
        first = self._next_logits
        rows: dict[int, list[np.ndarray]] = {i: [first] for i in range(len(continuations))}
        longer = [i for i, c in enumerate(continuations) if len(c) > 1]
        for group in self._groups(longer, continuations):
            decoded = self._decode_parallel(len(context), [continuations[i] for i in group])
            for i, more in zip(group, decoded, strict=True):
                rows[i] += more
        return [score_continuation(np.stack(rows[i]), c) for i, c in enumerate(continuations)]

    def _groups(self, indices: list[int], continuations: Sequence[list[int]]) -> list[list[int]]:
        """Split into groups that fit the free sequences and one batch."""
        groups: list[list[int]] = []
        size = 0
        for i in indices:
            tokens = len(continuations[i]) - 1
            if not groups or len(groups[-1]) >= self._parallel or size + tokens > self._n_batch:
                groups.append([])
                size = 0
            groups[-1].append(i)
            size += tokens
        return groups

    def _load_context(self, context: list[int]) -> None:
        # Keep at least the last context token out of the reused part: its logits are needed.
        keep = min(common_prefix_length(self._cached, context), len(context) - 1)
        if not self._ctx.kv_cache_seq_rm(0, keep, -1):
            self._clear()  # a memory that cannot be cut in the middle (recurrent models)
            keep = 0
        del self._cached[keep:]
        entries = [(token, keep + i, 0) for i, token in enumerate(context[keep:])]
        wanted = {len(entries) - 1}
        (self._next_logits,) = self._decode(entries, wanted)
        self._cached = list(context)
        self._context = list(context)

    def _decode_parallel(
        self, start: int, continuations: list[list[int]]
    ) -> list[list[np.ndarray]]:
        """Decode each continuation (all but its last token) after the context on its own
        sequence, all in one batch; return each one's logits rows."""
        entries: list[tuple[int, int, int]] = []
        for seq, continuation in enumerate(continuations, start=1):
            self._ctx.kv_cache_seq_cp(0, seq, -1, -1)
            entries += [(token, start + i, seq) for i, token in enumerate(continuation[:-1])]
        rows = self._decode(entries, set(range(len(entries))))
        for seq in range(1, len(continuations) + 1):
            self._ctx.kv_cache_seq_rm(seq, -1, -1)
        out: list[list[np.ndarray]] = []
        offset = 0
        for continuation in continuations:
            out.append(rows[offset : offset + len(continuation) - 1])
            offset += len(continuation) - 1
        return out

    def _decode(
        self, entries: Sequence[tuple[int, int, int]], wanted: set[int]
    ) -> list[np.ndarray]:
        """Decode (token, position, sequence) entries in batches; return the logits rows of
        the entry indices in ``wanted``, in order."""
        rows: list[np.ndarray] = []
        batch = self._batch.batch
        for offset in range(0, len(entries), self._n_batch):
            chunk = entries[offset : offset + self._n_batch]
            batch.n_tokens = len(chunk)
            outputs: list[int] = []
            for i, (token, position, seq) in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = position
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = offset + i in wanted
                if offset + i in wanted:
                    outputs.append(i)
            self._ctx.decode(self._batch)
            self.num_decoded += len(chunk)
            self.num_calls += 1
            for i in outputs:
                pointer = self._ctx.get_logits_ith(i)
                rows.append(np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy())
        return rows

    def _clear(self) -> None:
        import llama_cpp

        llama_cpp.llama_memory_clear(self._ctx.memory, True)
        self._cached = []
        self._context = None


def score_pairs(
    llm: Any, ctx: Any, pairs: Sequence[TokenPair], n_batch: int
) -> list[LoglikelihoodResult]:
    """Score ``pairs`` in order on the scoring context ``ctx`` of ``llm`` (from the slot's
    own thread)."""
    scorer = PrefixScorer(ctx, int(llm.n_vocab()), n_batch, int(ctx.params.n_seq_max))
    try:
        return scorer.score_all(pairs)
    finally:
        scorer.close()


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
