"""Metric arithmetic against hand computations and lm-eval's definitions."""

from __future__ import annotations

import math
import statistics

from aicommons.evaluation.metrics import argmax, mean_stderr, multiple_choice_scores


def test_acc_and_acc_norm_disagree_when_length_matters() -> None:
    # The long gold choice has the lower total log-likelihood but the higher per character.
    choices = ["no", "a much longer answer"]
    logprobs = [-3.0, -10.0]  # -1.5 per char vs -0.5 per char
    scores = multiple_choice_scores(logprobs, choices, gold=1)
    assert scores == {"acc": 0.0, "acc_norm": 1.0, "acc_bytes": 1.0}


def test_acc_norm_counts_characters_and_acc_bytes_counts_bytes() -> None:
    choices = ["ééé", "abcd"]  # 3 characters but 6 bytes, against 4 and 4
    logprobs = [-3.3, -4.0]
    scores = multiple_choice_scores(logprobs, choices, gold=0)
    assert scores["acc_norm"] == 0.0  # -1.1 per char loses to -1.0
    assert scores["acc_bytes"] == 1.0  # -0.55 per byte beats -1.0
    assert scores["acc"] == 1.0


def test_stderr_is_the_sample_standard_deviation_over_root_n() -> None:
    values = [1.0, 0.0, 1.0, 1.0, 0.0]
    assert math.isclose(mean_stderr(values) or 0, statistics.stdev(values) / math.sqrt(5))
    assert mean_stderr([1.0]) is None


def test_argmax_takes_the_first_of_equal_values() -> None:
    assert argmax([-1.0, -0.5, -0.5]) == 1
