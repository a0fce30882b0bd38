"""Results in the shapes other tools read: lm-evaluation-harness's results and samples
files, and CSV.

Both take run records (the eval_runs columns as a dict, `runner.run_fields`, plus ``id`` and
``created_at`` where stored). In the results JSON a metric ``acc`` appears as ``"acc,none"``
with ``"acc_stderr,none"``; a metric named ``exact_match,strict-match`` keeps its filter
name, as lm-eval writes it; a missing standard error is ``"N/A"``. A task that reports
metrics per category (``acc_Age`` ...; its ``subsets``) becomes a group: the task's own
metrics under ``groups`` and ``results``, each category a subtask ``{task}_{category}``
listed in ``group_subtasks``. lm-eval's ``make_table`` and its file-name helpers read what
this module writes (tests/evaluation/test_export.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from aicommons.evaluation.tasks.registry import TASKS
from aicommons.store.evaluation import EvalRun

CSV_COLUMNS = (
    "run_id",
    "created_at",
    "model",
    "quantisation",
    "engine",
    "model_sha256",
    "task",
    "metric",
    "value",
    "stderr",
    "num_items",
    "items_per_s",
    "duration_s",
)
# Metrics where a smaller value is the better one (lm-eval's higher_is_better: false).
LOWER_IS_BETTER = frozenset(
    (
        "bias_ambig",
        "bias_disambig",
        "pct_stereotype",
        "likelihood_diff",
        "acc_gap",
        "over_refusal_rate",
    )
)


def record_of(run: EvalRun) -> dict[str, Any]:
    """A stored run as a plain record."""
    return {column: getattr(run, column) for column in run.__table__.columns.keys()}  # noqa: SIM118


def metric_keys(name: str) -> tuple[str, str]:
    """lm-eval's result keys for a metric and its standard error."""
    metric, _, filter_name = name.partition(",")
    filter_name = filter_name or "none"
    return f"{metric},{filter_name}", f"{metric}_stderr,{filter_name}"


def split_subsets(task: str, metrics: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The task's own metrics, and per category ``{category: {metric: value}}``."""
    task_class = TASKS.get(task)
    subsets = task_class.subsets if task_class is not None else ()
    own: dict[str, Any] = {}
    per_subset: dict[str, dict[str, Any]] = {}
    for name, value in metrics.items():
        metric, _, filter_name = name.partition(",")
        # The longest name wins: "acc_Race_x_SES" is Race_x_SES, not SES.
        matching = [s for s in subsets if metric.endswith(f"_{s}")]
        subset = max(matching, key=len) if matching else None
        if subset is None:
            own[name] = value
            continue
        base = metric.removesuffix(f"_{subset}") + (f",{filter_name}" if filter_name else "")
        per_subset.setdefault(subset, {})[base] = value
    return own, per_subset


def _entry(alias: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"alias": alias}
    for name, metric in metrics.items():
        value_key, stderr_key = metric_keys(name)
        entry[value_key] = metric.get("value")
        stderr = metric.get("stderr")
        entry[stderr_key] = "N/A" if stderr is None else stderr
    return entry


def _higher_is_better(metrics: Mapping[str, Any]) -> dict[str, bool]:
    names = {name.partition(",")[0] for name in metrics}
    return {name: name not in LOWER_IS_BETTER for name in sorted(names)}


def _version(value: object) -> float | str:
    """lm-eval writes a task's version as a number (its ``metadata.version``)."""
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def model_args(record: Mapping[str, Any]) -> str:
    """``key=value,...`` as lm-eval writes ``--model_args``; ``model=`` first, so that
    lm-eval's trackers take the catalog name for the model's name. The file's name and
    hash identify the weights (a local path would not travel)."""
    pairs = {
        "model": record.get("model"),
        "file": _file_name(record.get("model_file")),
        "sha256": record.get("model_sha256"),
        "revision": record.get("model_revision"),
        "quantisation": record.get("quantisation"),
    }
    return ",".join(f"{k}={v}" for k, v in pairs.items() if v)


def unix_time(value: object) -> float | None:
    """A stored ``created_at`` (datetime or ISO text) as seconds since the epoch."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).timestamp()
    return None


def to_lm_eval_json(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One results document for one model's runs (the last run of a task wins)."""
    results: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    group_subtasks: dict[str, list[str]] = {}
    configs: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    n_shot: dict[str, int] = {}
    higher: dict[str, dict[str, bool]] = {}
    samples: dict[str, Any] = {}
    for record in records:
        task = str(record["task"])
        settings = dict(record.get("settings") or {})
        own, per_subset = split_subsets(task, dict(record["metrics"]))
        version = _version(record.get("task_version"))
        shots = int(settings.get("num_fewshot") or 0)
        results[task] = _entry(task, own)
        group_subtasks[task] = [f"{task}_{subset}" for subset in per_subset]
        if per_subset:
            groups[task] = _entry(task, own)
        for subset, metrics in per_subset.items():
            name = f"{task}_{subset}"
            results[name] = _entry(subset, metrics)
            group_subtasks[name] = []
            versions[name], n_shot[name] = version, shots
            higher[name] = _higher_is_better(metrics)
        configs[task] = {
            **settings,
            "num_fewshot": shots,
            "metric_list": [
                {"metric": m, "aggregation": "mean", "higher_is_better": better}
                for m, better in _higher_is_better(own).items()
            ],
            "metadata": {"version": version},
        }
        versions[task], n_shot[task] = version, shots
        higher[task] = _higher_is_better(own)
        effective = int(record.get("num_items") or 0)
        original = int(settings.get("num_docs_original") or effective)
        samples[task] = {"original": original, "effective": effective}
    first = records[0] if records else {}
    document: dict[str, Any] = {"results": results}
    if groups:
        document["groups"] = groups
    document |= {
        "group_subtasks": group_subtasks,
        "configs": configs,
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": higher,
        "n-samples": samples,
        "config": {
            "model": first.get("engine"),
            "model_args": model_args(first),
            "batch_size": 1,
            "limit": configs.get(str(first.get("task")), {}).get("limit"),
        },
        "model_source": first.get("engine"),
        "model_name": first.get("model"),
        "model_name_sanitized": sanitized_model_name(str(first.get("model") or "model")),
        "timings": {
            str(r["task"]): {
                "duration_s": r.get("duration_s"),
                "items_per_s": r.get("items_per_s"),
                **dict(r.get("timings") or {}),
            }
            for r in records
        },
        "date": unix_time(first.get("created_at")),
        "total_evaluation_time_seconds": str(sum(float(r.get("duration_s") or 0) for r in records)),
    }
    return document


def sanitized_model_name(name: str) -> str:
    """A model name as lm-eval puts it in a folder name."""
    return re.sub(r"[\"<>:/|\\?*\[\]]+", "__", name)


def date_id(when: datetime) -> str:
    """The time stamp lm-eval puts in its file names."""
    return when.isoformat().replace(":", "-")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lm_eval_sample(record: Mapping[str, Any], metric_names: Sequence[str]) -> dict[str, Any]:
    """One line of lm-eval's ``samples_{task}_{date}.jsonl`` from a runner record: the
    document, target, arguments, raw and filtered responses, and its metric values."""
    responses = [_response_text(r) for r in record.get("resps", [])]
    arguments = {
        f"gen_args_{i}": {f"arg_{j}": value for j, value in enumerate(args)}
        for i, args in enumerate(record.get("arguments", []))
    }
    doc = dict(record.get("doc") or {})
    target = str(record.get("target", ""))
    first_request = (record.get("arguments") or [[None]])[0]
    prompt = json.dumps(first_request[0] if first_request else None, default=str)
    sample = {
        "doc_id": record["doc_id"],
        "doc": doc,
        "target": target,
        "arguments": arguments,
        "resps": [[r] for r in responses],
        "filtered_resps": responses,
        "filter": "none",
        "metrics": list(metric_names),
        "doc_hash": _sha256(json.dumps(doc, sort_keys=True, default=str)),
        "prompt_hash": _sha256(prompt),
        "target_hash": _sha256(target),
    }
    for name in metric_names:
        if name in record:
            sample[name] = record[name]
    return sample


def _response_text(response: Mapping[str, Any]) -> str:
    """A cached response as lm-eval's samples show it: the text, or the (log-probability,
    is-greedy) pair of a log-likelihood as text."""
    if "text" in response:
        return str(response["text"])
    return str((float(response["logprob"]), bool(response["is_greedy"])))


def write_lm_eval_files(
    output: Path,
    document: Mapping[str, Any],
    samples: Mapping[str, Sequence[Mapping[str, Any]]],
    when: datetime,
) -> Path:
    """Results (and samples, one file per task) where lm-eval's ``--output_path`` puts
    them: beside ``output`` when it names a .json file, else in
    ``output/<model>/results_<date>.json``. The results file's path."""
    stamp = date_id(when)
    if output.suffix == ".json":
        folder, results = output.parent, output
    else:
        folder = output / str(document["model_name_sanitized"])
        results = folder / f"results_{stamp}.json"
    folder.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    for task, lines in samples.items():
        path = folder / f"samples_{task}_{stamp}.jsonl"
        text = "".join(json.dumps(line, default=str, ensure_ascii=False) + "\n" for line in lines)
        path.write_text(text, encoding="utf-8")
    return results


def to_csv(records: Sequence[Mapping[str, Any]]) -> str:
    """One row per run and metric."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        for name, metric in dict(record["metrics"]).items():
            writer.writerow(
                {
                    "run_id": record.get("id"),
                    "created_at": record.get("created_at"),
                    "model": record.get("model"),
                    "quantisation": record.get("quantisation"),
                    "engine": record.get("engine"),
                    "model_sha256": record.get("model_sha256"),
                    "task": record.get("task"),
                    "metric": name,
                    "value": metric.get("value"),
                    "stderr": metric.get("stderr"),
                    "num_items": record.get("num_items"),
                    "items_per_s": record.get("items_per_s"),
                    "duration_s": record.get("duration_s"),
                }
            )
    return out.getvalue()


def _file_name(path: object) -> str | None:
    return PurePath(str(path)).name if path else None
