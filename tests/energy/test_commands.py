"""`aicommons energy meter` and `aicommons energy measure` (real SmolLM2, real database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aicommons.cli import main
from tests.openness.conftest import SHARED


@pytest.fixture
def run(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    monkeypatch.setenv("AICOMMONS_ENERGY_METER", "estimate")
    return CliRunner()


def test_meter_shows_method_and_grid(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICOMMONS_GRID_COUNTRY", "DE")
    result = run.invoke(main, ["energy", "meter"])
    assert result.exit_code == 0, result.output
    assert "estimate_cpu_time_x_tdp(4 W/core)" in result.output and "DE 381" in result.output
    monkeypatch.setenv("AICOMMONS_GRID_COUNTRY", "XX")
    result = run.invoke(main, ["energy", "meter"])
    assert result.exit_code == 1 and "AICOMMONS_GRID_INTENSITY_G_PER_KWH" in result.output


@pytest.mark.slow
def test_measure_stores_the_figure_for_the_leaderboard(run: CliRunner) -> None:
    model = "smollm2-135m-instruct"
    args = ["energy", "measure", model, "--queries", "3", "--data-dir", str(SHARED)]
    result = run.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 queries" in result.output
    board = run.invoke(main, ["leaderboard", "--json"], catch_exceptions=False)
    (row,) = json.loads(board.output)
    assert row["model"] == model and row["wh_per_1000_queries"] > 0
    assert row["energy_method"] == "estimate_cpu_time_x_tdp(4 W/core)"
    missing = run.invoke(main, ["energy", "measure", "nope", "--data-dir", str(SHARED)])
    assert missing.exit_code == 1 and "no model 'nope'" in missing.output
