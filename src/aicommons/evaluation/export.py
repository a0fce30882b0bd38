"""Results in the shapes other tools read: lm-evaluation-harness's results JSON and CSV.

Both take run records (the eval_runs columns as a dict, `runner.run_fields`, plus ``id`` and
``created_at`` where stored). In the JSON a metric ``acc`` appears as ``"acc,none"`` with
``"acc_stderr,none"``; a metric named ``exact_match,strict-match`` keeps its filter name, as
lm-eval writes it; a missing standard error is ``"N/A"``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

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


def record_of(run: EvalRun) -> dict[str, Any]:
    """A stored run as a plain record."""
    return {column: getattr(run, column) for column in run.__table__.columns.keys()}  # noqa: SIM118


def metric_keys(name: str) -> tuple[str, str]:
    """lm-eval's result keys for a metric and its standard error."""
    metric, _, filter_name = name.partition(",")
    filter_name = filter_name or "none"
    return f"{metric},{filter_name}", f"{metric}_stderr,{filter_name}"


def to_lm_eval_json(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One results document for one model's runs (the last run of a task wins)."""
    results: dict[str, dict[str, Any]] = {}
    configs: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    for record in records:
        task = str(record["task"])
        entry: dict[str, Any] = {"alias": task}
        for name, metric in dict(record["metrics"]).items():
            value_key, stderr_key = metric_keys(name)
            entry[value_key] = metric.get("value")
            stderr = metric.get("stderr")
            entry[stderr_key] = "N/A" if stderr is None else stderr
        results[task] = entry
        configs[task] = dict(record.get("settings") or {})
        versions[task] = record.get("task_version")
        samples[task] = {"effective": record.get("num_items")}
    first = records[0] if records else {}
    return {
        "results": results,
        "configs": configs,
        "versions": versions,
        "n-samples": samples,
        "config": {
            "model": first.get("engine"),
            "model_name": first.get("model"),
            "model_args": {
                # The file's name and hash identify the weights; a local path would not travel.
                "file": _file_name(first.get("model_file")),
                "sha256": first.get("model_sha256"),
                "revision": first.get("model_revision"),
                "quantisation": first.get("quantisation"),
            },
            "limit": configs.get(str(first.get("task")), {}).get("limit"),
        },
        "timings": {
            str(r["task"]): {
                "duration_s": r.get("duration_s"),
                "items_per_s": r.get("items_per_s"),
                **dict(r.get("timings") or {}),
            }
            for r in records
        },
        "date": str(first.get("created_at")) if first.get("created_at") else None,
        "total_evaluation_time_seconds": sum(float(r.get("duration_s") or 0) for r in records),
    }


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
