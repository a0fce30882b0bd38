"""Results JSON in lm-evaluation-harness's shape, and CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from aicommons.evaluation.export import metric_keys, to_csv, to_lm_eval_json

RECORD: dict[str, Any] = {
    "id": "run_1",
    "created_at": "2026-11-29T09:00:00+00:00",
    "model": "smollm2",
    "model_file": "/models/smollm2.gguf",
    "model_sha256": "ab" * 32,
    "model_revision": None,
    "quantisation": "Q4_1",
    "engine": "llamacpp",
    "task": "gsm8k",
    "task_version": "3",
    "settings": {"task": "gsm8k", "limit": 5},
    "metrics": {
        "exact_match,strict-match": {"value": 0.2, "stderr": 0.2},
        "exact_match,flexible-extract": {"value": 0.4, "stderr": None},
    },
    "timings": {"requests_s": 9.0},
    "num_items": 5,
    "num_requests": 5,
    "num_cached": 0,
    "duration_s": 10.0,
    "items_per_s": 0.5,
}


def test_metric_keys_follow_lm_eval() -> None:
    assert metric_keys("acc") == ("acc,none", "acc_stderr,none")
    assert metric_keys("exact_match,strict-match") == (
        "exact_match,strict-match",
        "exact_match_stderr,strict-match",
    )


def test_results_json_shape() -> None:
    document = to_lm_eval_json([RECORD])
    assert document["results"]["gsm8k"] == {
        "alias": "gsm8k",
        "exact_match,strict-match": 0.2,
        "exact_match_stderr,strict-match": 0.2,
        "exact_match,flexible-extract": 0.4,
        "exact_match_stderr,flexible-extract": "N/A",
    }
    assert document["config"]["model_args"]["quantisation"] == "Q4_1"
    assert document["config"]["limit"] == 5
    assert document["versions"] == {"gsm8k": "3"}
    assert document["n-samples"]["gsm8k"]["effective"] == 5


def test_csv_has_a_row_per_metric() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv([RECORD]))))
    assert [r["metric"] for r in rows] == [
        "exact_match,strict-match",
        "exact_match,flexible-extract",
    ]
    assert rows[0]["value"] == "0.2" and rows[1]["stderr"] == ""
    assert rows[0]["quantisation"] == "Q4_1"
