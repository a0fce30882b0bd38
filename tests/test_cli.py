"""The command line works on the same database as the server."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_tenants_and_keys(run: CliRunner) -> None:
    invoke(run, "tenants", "add", "physics", "--weight", "2")
    assert "physics" in invoke(run, "tenants", "list")
    assert "weight=3" in invoke(run, "tenants", "set-weight", "physics", "3")
    created = invoke(
        run, "keys", "create", "physics", "--name", "alice", "--model", "smollm2-135m-instruct"
    )
    secret = created.strip().splitlines()[-1]
    assert secret.startswith("sk-aic-")
    listed = invoke(run, "keys", "list", "--tenant", "physics")
    assert "alice" in listed and "active" in listed and secret not in listed
    key_id = listed.split()[0]
    invoke(run, "keys", "revoke", key_id)
    assert "revoked" in invoke(run, "keys", "list")


def test_errors_are_one_line_and_non_zero(run: CliRunner) -> None:
    result = run.invoke(main, ["keys", "create", "nobody"])
    assert result.exit_code == 1
    assert "no tenant 'nobody'" in result.output
    invoke(run, "tenants", "add", "dup")
    result = run.invoke(main, ["tenants", "add", "dup"])
    assert result.exit_code == 1 and "already exists" in result.output


def test_models_add_list_remove(run: CliRunner) -> None:
    invoke(
        run,
        "models",
        "add",
        "remote",
        "--engine",
        "upstream",
        "-o",
        "url=http://127.0.0.1:9/v1",
        "-o",
        "concurrency=8",
    )
    listed = invoke(run, "models", "list")
    assert "remote" in listed and "database" in listed and "smollm2-135m-instruct" in listed
    invoke(run, "models", "remove", "remote")
    assert "remote " not in invoke(run, "models", "list")
    result = run.invoke(main, ["models", "add", "x", "--engine", "teleport"])
    assert result.exit_code == 1 and "unknown engine" in result.output
