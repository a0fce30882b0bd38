"""Metric arithmetic shared by the tasks, written to match lm-evaluation-harness.

lm-eval reports a mean over documents and its standard error as the sample standard
deviation (n - 1 in the denominator) divided by sqrt(n) (`lm_eval/api/metrics.py`:
``mean_stderr = sample_stddev(arr) / sqrt(len(arr))``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricValue:
    """An aggregated metric and its standard error (None where none is defined)."""

    value: float
    stderr: float | None = None


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def mean_stderr(values: Sequence[float]) -> float | None:
    """Sample standard deviation over sqrt(n); None for fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    mu = mean(values)
    variance = sum((v - mu) ** 2 for v in values) / (n - 1)
    return math.sqrt(variance) / math.sqrt(n)


def mean_metric(values: Sequence[float]) -> MetricValue:
    return MetricValue(mean(values), mean_stderr(values))


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value; the first one on ties, like numpy.argmax."""
    best = 0
    for i, value in enumerate(values):
        if value > values[best]:
            best = i
    return best


def multiple_choice_scores(
    logprobs: Sequence[float], choices: Sequence[str], gold: int
) -> dict[str, float]:
    """lm-eval's multiple_choice metrics for one document.

    ``acc``: the choice with the highest log-likelihood is the gold one. ``acc_norm``: the
    same after dividing each log-likelihood by the choice's length in characters (Python
    ``len``, without the target delimiter), as lm-eval computes it. ``acc_bytes``: divided by
    the UTF-8 byte length instead (lm-eval's newer metric; equal to acc_norm for ASCII).
    """
    normalised = [lp / max(1, len(c)) for lp, c in zip(logprobs, choices, strict=True)]
    per_byte = [
        lp / max(1, len(c.encode("utf-8"))) for lp, c in zip(logprobs, choices, strict=True)
    ]
    return {
        "acc": float(argmax(logprobs) == gold),
        "acc_norm": float(argmax(normalised) == gold),
        "acc_bytes": float(argmax(per_byte) == gold),
    }
