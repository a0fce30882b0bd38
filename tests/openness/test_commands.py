"""`aicommons openness import/show` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aicommons.cli import main
from aicommons.openness.records import load_file
from aicommons.store.database import Database
from aicommons.store.openness import OpennessStore


@pytest.fixture
def run(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_import_folders_and_show(run: CliRunner, shared_data: Path) -> None:
    assert "imported 273 record(s)" in invoke(
        run, "openness", "import", str(shared_data / "mof_models")
    )
    output = invoke(run, "openness", "import", str(shared_data / "osai_index"))
    assert "imported 193 record(s)" in output and "system.name is empty" in output
    shown = invoke(run, "openness", "show", "Aquila-VL-2B")
    assert "Class I - Open Science" in shown and "[mof]" in shown
    records = json.loads(invoke(run, "openness", "show", "smollm", "--json"))
    assert records[0]["origin"] == "International" and records[0]["osaid"]["passes"]


def test_import_one_file_under_a_platform_model_name(run: CliRunner, shared_data: Path) -> None:
    file = shared_data / "osai_index" / "smollm.yaml"
    invoke(run, "openness", "import", str(file), "--model", "smollm2-135m-instruct")
    shown = invoke(run, "openness", "show", "SmolLM2-135M-Instruct")
    assert "SmolLM [osai]" in shown and "passes" in shown


def test_reimport_replaces_and_unknown_model_is_an_error(run: CliRunner, shared_data: Path) -> None:
    file = str(shared_data / "mof_models" / "Amber.yml")
    invoke(run, "openness", "import", file)
    invoke(run, "openness", "import", file)
    assert invoke(run, "openness", "show", "amber").count("[mof]") == 1
    result = run.invoke(main, ["openness", "show", "no-such-model"])
    assert result.exit_code == 1 and "no openness record" in result.output
    result = run.invoke(main, ["openness", "import", str(shared_data / "README.md")])
    assert result.exit_code == 1 and "not valid YAML" in result.output
    result = run.invoke(main, ["openness", "import", str(shared_data / "mof_models/_schema.json")])
    assert result.exit_code == 1 and "neither" in result.output


async def test_store_round_trip(db_url: str, shared_data: Path) -> None:
    db = Database(db_url)
    try:
        await db.migrate()
        store = OpennessStore(db)
        record = load_file(shared_data / "mof_models" / "OLMo-7B.yml")
        await store.save([record])
        (stored,) = await store.for_model("OLMo-7B")
        assert stored == record
        assert await store.remove("olmo-7b") == 1
        assert await store.for_model("olmo-7b") == []
    finally:
        await db.close()
