"""`aicommons apps ...` and `keys create --application` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from aicommons.cli import main


@pytest.fixture
def run(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def write(tmp_path: Path, name: str, data: dict[str, object]) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_classify_prints_the_decision(run: CliRunner, tmp_path: Path) -> None:
    facts = write(tmp_path, "shop.yaml", {"emotion_inference": True, "emotion_setting": "other"})
    result = run.invoke(main, ["apps", "classify", facts])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["tiers"] == ["high_risk", "transparency"]
    assert "Annex III 1(c)" in decision["articles"]


def test_classify_rejects_unknown_values(run: CliRunner, tmp_path: Path) -> None:
    facts = write(tmp_path, "bad.yaml", {"emotion_setting": "office"})
    result = run.invoke(main, ["apps", "classify", facts])
    assert result.exit_code == 1 and "invalid facts" in result.output


def test_register_list_show_and_bind_keys(run: CliRunner, tmp_path: Path) -> None:
    invoke(run, "tenants", "add", "bank")
    doc = write(
        tmp_path,
        "loans.yaml",
        {
            "name": "loans",
            "models": ["smollm2-135m-instruct"],
            "facts": {"annex_iii_use": "5b_creditworthiness", "description": "scores loans"},
        },
    )
    app_id = invoke(run, "apps", "register", "--tenant", "bank", "--facts", doc).split()[0]
    assert app_id.startswith("app_")
    listed = invoke(run, "apps", "list", "--tenant", "bank")
    assert "loans" in listed and "pending" in listed
    shown = json.loads(invoke(run, "apps", "show", app_id))
    assert shown["tier"] == "high_risk" and len(shown["missing"]) == 4
    secret = invoke(run, "keys", "create", "bank", "--application", app_id).split()[-1]
    assert secret.startswith("sk-aic-")


def test_prohibited_registration_is_refused_and_keys_cannot_bind(
    run: CliRunner, tmp_path: Path
) -> None:
    invoke(run, "tenants", "add", "city")
    invoke(run, "tenants", "add", "other")
    facts = write(tmp_path, "score.yaml", {"social_scoring": True})
    result = run.invoke(
        main, ["apps", "register", "--tenant", "city", "--facts", facts, "--name", "s"]
    )
    assert result.exit_code == 1 and "Art. 5(1)(c)" in result.output
    app_id = invoke(run, "apps", "list").split()[0]
    refused = run.invoke(main, ["keys", "create", "city", "--application", app_id])
    assert refused.exit_code == 1 and "prohibited" in refused.output
    foreign = run.invoke(main, ["keys", "create", "other", "--application", app_id])
    assert foreign.exit_code == 1 and "no application" in foreign.output
