"""Results and samples in lm-evaluation-harness's shape, read back by lm-eval's own code;
and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lm_eval import utils as lm_eval_utils
from lm_eval.loggers.wandb_logger import WandbLogger

from aicommons.evaluation.export import (
    lm_eval_sample,
    metric_keys,
    split_subsets,
    to_csv,
    to_lm_eval_json,
    write_lm_eval_files,
)

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
    "settings": {"task": "gsm8k", "limit": 5, "num_fewshot": 5, "num_docs_original": 1319},
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
BBQ_RECORD: dict[str, Any] = {
    **RECORD,
    "id": "run_2",
    "task": "bbq",
    "task_version": "1",
    "settings": {"task": "bbq", "limit": 2, "num_fewshot": None, "num_docs_original": 11956},
    "metrics": {
        "acc": {"value": 0.5, "stderr": 0.1},
        "bias_ambig": {"value": 0.1, "stderr": None},
        "acc_Age": {"value": 0.25, "stderr": 0.2},
        "bias_ambig_Age": {"value": 0.3, "stderr": None},
        "acc_Race_x_SES": {"value": 0.75, "stderr": 0.2},
        "acc_SES": {"value": 1.0, "stderr": 0.0},
    },
    "num_items": 12,
}
SAMPLE_RECORD: dict[str, Any] = {
    "doc_id": "7",
    "exact_match,strict-match": 1.0,
    "response": "The answer is 4. #### 4",
    "doc": {"question": "2 + 2?", "answer": "2 + 2 = 4\n#### 4"},
    "target": "2 + 2 = 4\n#### 4",
    "arguments": [["Question: 2 + 2?\nAnswer:", {"until": ["Question:"], "max_gen_toks": 256}]],
    "resps": [{"text": "The answer is 4. #### 4"}],
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
    assert document["config"]["model_args"] == (
        f"model=smollm2,file=smollm2.gguf,sha256={'ab' * 32},quantisation=Q4_1"
    )
    assert document["config"]["limit"] == 5
    assert document["versions"] == {"gsm8k": 3.0}
    assert document["n-shot"] == {"gsm8k": 5}
    assert document["higher_is_better"] == {"gsm8k": {"exact_match": True}}
    assert document["n-samples"]["gsm8k"] == {"original": 1319, "effective": 5}
    assert document["date"] == datetime(2026, 11, 29, 9, tzinfo=UTC).timestamp()
    assert "groups" not in document and document["group_subtasks"] == {"gsm8k": []}


def test_categories_become_a_group_with_subtasks() -> None:
    own, per_subset = split_subsets("bbq", BBQ_RECORD["metrics"])
    assert set(own) == {"acc", "bias_ambig"}
    assert set(per_subset) == {"Age", "Race_x_SES", "SES"}
    document = to_lm_eval_json([BBQ_RECORD])
    assert document["groups"]["bbq"]["acc,none"] == 0.5
    assert document["group_subtasks"]["bbq"] == ["bbq_Age", "bbq_Race_x_SES", "bbq_SES"]
    assert document["results"]["bbq_Age"] == {
        "alias": "Age",
        "acc,none": 0.25,
        "acc_stderr,none": 0.2,
        "bias_ambig,none": 0.3,
        "bias_ambig_stderr,none": "N/A",
    }
    assert document["higher_is_better"]["bbq"] == {"acc": True, "bias_ambig": False}
    assert not any("_Age" in key for key in document["results"]["bbq"])


def test_lm_evals_table_reads_our_results() -> None:
    """lm-eval's own `make_table` (what its CLI prints) over our document."""
    document = json.loads(json.dumps(to_lm_eval_json([RECORD, BBQ_RECORD])))
    table = lm_eval_utils.make_table(document)
    rows = [line.split("|") for line in table.splitlines()[2:]]
    cells = [[c.strip() for c in row[1:-1]] for row in rows]
    gsm8k = next(c for c in cells if c[0] == "gsm8k")
    assert gsm8k[1:5] == ["3", "flexible-extract", "5", "exact_match"]
    assert gsm8k[5] == "↑" and float(gsm8k[6]) == 0.4 and gsm8k[8] == "N/A"
    # lm-eval indents a group's subtasks under it, from group_subtasks.
    age = next(c for c in cells if c[0] == "- Age")
    assert age[4] == "acc" and float(age[6]) == 0.25 and float(age[8]) == 0.2
    assert any(c[4] == "bias_ambig" and c[5] == "↓" for c in cells)
    groups = lm_eval_utils.make_table(document, "groups").splitlines()
    assert groups[2].split("|")[1].strip() == "bbq" and float(groups[2].split("|")[7]) == 0.5


def test_lm_evals_trackers_read_our_files(tmp_path: Path) -> None:
    """The file names lm-eval's tracker looks for, and its W&B logger's reading of the
    results (configs, metric names without the "none" filter)."""
    document = to_lm_eval_json([RECORD])
    when = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
    sample = lm_eval_sample(SAMPLE_RECORD, ["exact_match,strict-match"])
    results = write_lm_eval_files(tmp_path, document, {"gsm8k": [sample]}, when)
    files = [str(p) for p in sorted(tmp_path.rglob("*.json*"))]
    assert lm_eval_utils.get_results_filenames(files) == [str(results)]
    (samples_file,) = lm_eval_utils.get_sample_results_filenames(files)
    assert lm_eval_utils.get_file_task_name(Path(samples_file).name) == "gsm8k"
    assert lm_eval_utils.get_file_datetime(Path(samples_file).name) == "2026-11-29T09-30-00+00-00"
    assert Path(results).parent.name == "smollm2"

    logger = WandbLogger.__new__(WandbLogger)
    logger.post_init(json.loads(Path(results).read_text()))
    summary, flat = logger._sanitize_results_dict()
    assert summary == {"gsm8k/alias": "gsm8k", "gsm8k/exact_match_stderr,flexible-extract": "N/A"}
    assert flat["gsm8k/exact_match,strict-match"] == 0.2
    assert logger._get_config()["task_configs"]["gsm8k"]["metadata"] == {"version": 3.0}

    line = json.loads(Path(samples_file).read_text().splitlines()[0])
    assert line["doc"] == SAMPLE_RECORD["doc"] and line["target"] == SAMPLE_RECORD["target"]
    assert line["resps"] == [["The answer is 4. #### 4"]]
    assert line["filtered_resps"] == ["The answer is 4. #### 4"]
    assert line["arguments"]["gen_args_0"]["arg_0"] == "Question: 2 + 2?\nAnswer:"
    assert line["exact_match,strict-match"] == 1.0 and line["filter"] == "none"


def test_loglikelihood_responses_read_as_lm_eval_writes_them() -> None:
    record = {
        "doc_id": "0",
        "acc": 1.0,
        "doc": {},
        "target": "1",
        "arguments": [["ctx", " a"], ["ctx", " b"]],
        "resps": [
            {"logprob": -2.5, "is_greedy": False, "num_tokens": 1},
            {"logprob": -0.5, "is_greedy": True, "num_tokens": 1},
        ],
    }
    sample = lm_eval_sample(record, ["acc"])
    assert sample["resps"] == [["(-2.5, False)"], ["(-0.5, True)"]]
    assert sample["filtered_resps"] == ["(-2.5, False)", "(-0.5, True)"]
    assert sample["arguments"]["gen_args_1"] == {"arg_0": "ctx", "arg_1": " b"}


def test_csv_has_a_row_per_metric() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv([RECORD]))))
    assert [r["metric"] for r in rows] == [
        "exact_match,strict-match",
        "exact_match,flexible-extract",
    ]
    assert rows[0]["value"] == "0.2" and rows[1]["stderr"] == ""
    assert rows[0]["quantisation"] == "Q4_1"
