"""The leaderboard: Pareto front, rows from lm-eval results, sources, CLI and public API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from aicommons.cli import main
from aicommons.evaluation.leaderboard import (
    DatabaseSource,
    EnergyFigure,
    build_rows,
    leaderboard,
    main_scores,
    metrics_of,
    pareto_front,
    runs_to_results,
)
from aicommons.openness.records import load_file
from aicommons.store.database import Database
from aicommons.store.evaluation import EvalStore
from aicommons.store.openness import OpennessStore
from aicommons.testing.live import LiveServer
from aicommons.web.charts import leaderboard_chart
from tests.openness.conftest import SHARED

# -- Pareto front (pure) ---------------------------------------------------------------------


def test_front_of_nothing_and_of_one_point() -> None:
    assert pareto_front([]) == []
    assert pareto_front([(5.0, 0.1)]) == [True]


def test_dominated_points_are_off_the_front() -> None:
    # (energy, score): the second uses more energy for a lower score.
    assert pareto_front([(1.0, 0.5), (2.0, 0.4)]) == [True, False]
    # Same energy, lower score; same score, more energy.
    assert pareto_front([(1.0, 0.5), (1.0, 0.4), (3.0, 0.5)]) == [True, False, False]


def test_trade_offs_stay_on_the_front() -> None:
    points = [(1.0, 0.3), (2.0, 0.5), (3.0, 0.4), (4.0, 0.6), (0.5, 0.1)]
    assert pareto_front(points) == [True, True, False, True, True]


def test_equal_points_are_both_on_the_front() -> None:
    assert pareto_front([(1.0, 0.5), (1.0, 0.5), (2.0, 0.2)]) == [True, True, False]


# -- lm-eval results -> rows -----------------------------------------------------------------


def lm_eval(**tasks: dict[str, Any]) -> dict[str, Any]:
    return {"results": {name: {"alias": name, **entry} for name, entry in tasks.items()}}


GSM8K = {
    "exact_match,strict-match": 0.01,
    "exact_match_stderr,strict-match": 0.003,
    "exact_match,flexible-extract": 0.02,
    "exact_match_stderr,flexible-extract": 0.004,
}


def test_metrics_keep_filters_and_standard_errors() -> None:
    entry = {"alias": "t", "acc,none": 0.5, "acc_stderr,none": "N/A", **GSM8K}
    metrics = metrics_of(entry)
    assert metrics["acc"].value == 0.5 and metrics["acc"].stderr is None
    assert metrics["exact_match,flexible-extract"].stderr == 0.004
    scores = main_scores("gsm8k", entry)
    assert [s.metric for s in scores] == [
        "exact_match,flexible-extract",
        "exact_match,strict-match",
    ]
    assert [s.metric for s in main_scores("some_new_task", {"acc,none": 0.7})] == ["acc"]
    both = {"acc,none": 0.7, "acc_norm,none": 0.6, "f1,none": 0.2}
    assert [s.metric for s in main_scores("another_task", both)] == ["acc_norm"]
    assert main_scores("gsm8k", {"acc,none": 0.5}) == []


def test_rows_combine_scores_energy_and_openness() -> None:
    results = {
        "small": lm_eval(
            gsm8k=GSM8K,
            ifeval={
                "prompt_level_strict_acc,none": 0.3,
                "prompt_level_strict_acc_stderr,none": 0.02,
            },
            crows_pairs={"pct_stereotype,none": 0.6, "pct_stereotype_stderr,none": 0.01},
        ),
        "big": lm_eval(gsm8k={"exact_match,flexible-extract": 0.5}),
        "wasteful": lm_eval(gsm8k={"exact_match,flexible-extract": 0.1}),
    }
    energy = {
        "small": EnergyFigure(3.6, 16.0, "estimate", "FR", 56.0),
        "big": EnergyFigure(36.0, 40.0, "nvml", "FR", 56.0),
        "wasteful": EnergyFigure(72.0, 10.0, "nvml", "FR", 56.0),
    }
    smollm = load_file(SHARED / "osai_index" / "smollm.yaml", model="small")
    rows = build_rows(results, energy, {"small": [smollm]})
    assert [r.model for r in rows] == ["big", "small", "wasteful"]
    small = rows[1]
    # Capability averages gsm8k and ifeval headlines; the bias task is shown, not averaged.
    assert small.capability == pytest.approx((0.02 + 0.3) / 2)
    assert small.scores["crows_pairs"][0].value == 0.6
    assert small.wh_per_1000_queries == pytest.approx(1.0)  # 3.6 J x 1000 = 1 Wh
    assert small.gco2e_per_1000_queries == pytest.approx(0.056)
    assert (small.osai_score, small.osaid_passes, small.licence) == (0.875, True, "Apache-2.0")
    assert small.origin == "International" and small.mof_class is None
    assert [r.on_front for r in rows] == [True, True, False]
    served = build_rows(results, energy, {}, models=["new-model"])
    assert served[-1].model == "new-model" and served[-1].capability is None
    svg = leaderboard_chart(rows)
    assert svg.startswith("<svg") and "small" in svg and 'class="front"' in svg


def test_newest_run_of_each_task_wins() -> None:
    def run(task: str, metric: str, value: float, stderr: float | None) -> dict[str, Any]:
        return {"model": "m", "task": task, "metrics": {metric: {"value": value, "stderr": stderr}}}

    runs = [  # newest first, as the source reads them
        run("gsm8k", "exact_match,flexible-extract", 0.2, 0.01),
        run("gsm8k", "exact_match,flexible-extract", 0.1, None),
        run("ifeval", "prompt_level_strict_acc", 0.3, None),
    ]
    documents = runs_to_results(runs)
    gsm8k = documents["m"]["results"]["gsm8k"]
    assert gsm8k["exact_match,flexible-extract"] == 0.2
    assert gsm8k["exact_match_stderr,flexible-extract"] == 0.01
    assert documents["m"]["results"]["ifeval"]["prompt_level_strict_acc_stderr,none"] == "N/A"


# -- database source ---------------------------------------------------------------------------


async def seed(db: Database, model: str) -> None:
    store = OpennessStore(db)
    await store.save([load_file(SHARED / "osai_index" / "smollm.yaml", model=model)])
    await store.save_energy(
        model,
        joules_per_query=1.8,
        tokens_per_s=16.0,
        output_tokens_per_query=10.0,
        num_queries=100,
        method="estimate_cpu_time_x_tdp(4 W/core)",
        grid_country="FR",
        grid_g_per_kwh=56.0,
    )


async def test_database_source_before_and_after_an_evaluation_run(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.migrate()
        await seed(db, "smollm2-135m-instruct")
        source = DatabaseSource(db)
        assert await source.results() == {}  # the evaluation harness has not run here
        (row,) = await leaderboard(source)
        assert row.model == "smollm2-135m-instruct" and row.capability is None
        assert row.wh_per_1000_queries == pytest.approx(0.5)
        await EvalStore(db).add_run(
            model="smollm2-135m-instruct",
            engine="llamacpp",
            task="ifeval",
            task_version="1",
            metrics={"prompt_level_strict_acc": {"value": 0.25, "stderr": 0.02}},
            num_items=10,
            num_requests=10,
            num_cached=0,
            duration_s=1.0,
            items_per_s=10.0,
        )
        (row,) = await leaderboard(source)
        assert row.capability == 0.25 and row.scores["ifeval"][0].stderr == 0.02
        assert row.on_front
    finally:
        await db.close()


def test_cli_prints_rows_and_writes_the_chart(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)

    async def prepare() -> None:
        db = Database(db_url)
        await db.migrate()
        await seed(db, "smollm2-135m-instruct")
        await db.close()

    asyncio.run(prepare())
    runner = CliRunner()
    svg = tmp_path / "board.svg"
    result = runner.invoke(main, ["leaderboard", "--chart", str(svg)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "smollm2-135m-instruct" in result.output and "Apache-2.0" in result.output
    assert svg.read_text().startswith("<svg")
    result = runner.invoke(main, ["leaderboard", "--json"], catch_exceptions=False)
    (row,) = json.loads(result.output)
    assert row["osaid_passes"] is True and row["gco2e_per_1000_queries"] == pytest.approx(0.028)


# -- public API ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_leaderboard_api_is_public(server: LiveServer) -> None:
    model = "smollm2-135m-instruct"

    async def prepare() -> None:
        db = Database(server.settings.resolved_database_url)
        await seed(db, model)
        await db.close()

    asyncio.run(prepare())
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        board = client.get("/v1/leaderboard")
        assert board.status_code == 200
        assert board.json()["object"] == "list"
        by_model = {r["model"]: r for r in board.json()["data"]}
        assert model in by_model
        # Served models are listed even before anything is measured; embeddings are not.
        assert "all-minilm-l6-v2" not in by_model
        row = client.get(f"/v1/leaderboard/{model}").json()
        assert row["licence"] == "Apache-2.0" and row["tokens_per_s"] == 16.0
        assert row["energy_method"].startswith("estimate")
        missing = client.get("/v1/leaderboard/no-such-model")
        assert missing.status_code == 404
        assert missing.json()["error"]["type"] == "not_found_error"
