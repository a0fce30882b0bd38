"""Models files in TOML and YAML, and models added by another process showing up live."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from aicommons.cli import main
from aicommons.errors import ConfigError
from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file
from aicommons.testing.live import LiveServer


def test_toml_and_yaml_files_give_the_same_specs(tmp_path: Path) -> None:
    toml = tmp_path / "models.toml"
    toml.write_text(
        '[[models]]\nname = "a"\nengine = "upstream"\nurl = "http://x/v1"\nconcurrency = 4\n'
    )
    yaml = tmp_path / "models.yaml"
    yaml.write_text(
        "models:\n  - name: a\n    engine: upstream\n    url: http://x/v1\n    concurrency: 4\n"
    )
    assert read_models_file(toml) == read_models_file(yaml)
    (spec,) = read_models_file(yaml)
    assert spec.options == {"url": "http://x/v1", "concurrency": 4}


def test_optional_model_with_a_missing_package_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    lines = ["[[models]]", 'name = "e"', 'engine = "sentence_transformers"', 'package = "no_pkg"']
    path.write_text("\n".join([*lines, "optional = true", ""]))
    assert read_models_file(path) == []


def test_entries_without_an_engine_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - name: a\n")
    with pytest.raises(ConfigError, match="needs a name and an engine"):
        read_models_file(path)


def test_default_models_file_serves_smollm2() -> None:
    names = [spec.name for spec in read_models_file(DEFAULT_MODELS_FILE)]
    assert names[0] == "smollm2-135m-instruct"


@pytest.mark.slow
def test_model_added_with_the_cli_appears_in_a_running_server(
    server: LiveServer, member_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", server.settings.resolved_database_url)
    runner = CliRunner()
    args = [
        "models",
        "add",
        "cli-added",
        "--engine",
        "upstream",
        "-o",
        "url=http://127.0.0.1:9/v1",
        "-o",
        "health_interval_s=0",
    ]
    assert runner.invoke(main, args).exit_code == 0
    headers = {"authorization": f"Bearer {member_key}"}
    try:
        deadline = time.monotonic() + 10
        seen = False
        while not seen and time.monotonic() < deadline:
            ids = [
                m["id"]
                for m in httpx.get(f"{server.base_url}/v1/models", headers=headers).json()["data"]
            ]
            seen = "cli-added" in ids
            time.sleep(0.2)
        assert seen
    finally:
        assert runner.invoke(main, ["models", "remove", "cli-added"]).exit_code == 0


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        (['engine = "upstream"', 'url = "http://x/v1"', 'schedular = "vtc"'], "'schedular'"),
        (['engine = "upstream"', 'url = "http://x/v1"', 'scheduler = "fair"'], "'scheduler'"),
        (['engine = "upstream"', 'url = "http://x/v1"', "concurrency = 0"], "'concurrency'"),
        (['engine = "upstream"', 'url = "http://u:secret@x/v1"'], "credentials"),
        (['engine = "llamacpp"', 'path = "m.gguf"', "n_ctxx = 4096"], "'n_ctxx'"),
        (['engine = "llamacpp"', 'file = "m.gguf"'], "'file' needs"),
        (['engine = "sentence_transformers"', 'pakage = "x"'], "'pakage'"),
        (['engine = "nonesuch"'], "unknown engine 'nonesuch'"),
    ],
)
def test_a_misspelt_or_invalid_option_stops_loading_and_names_the_key(
    tmp_path: Path, lines: list[str], named: str
) -> None:
    path = tmp_path / "models.toml"
    path.write_text("\n".join(["[[models]]", 'name = "m"', *lines, ""]))
    with pytest.raises(ConfigError, match="model m") as caught:
        read_models_file(path)
    assert named in str(caught.value)


def test_models_add_refuses_a_misspelt_option_before_storing_it(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    args = ["models", "add", "typo", "--engine", "upstream", "-o", "url=http://x/v1"]
    refused = runner.invoke(main, [*args, "-o", "read_timout_s=3"])
    assert refused.exit_code != 0
    assert "unknown option 'read_timout_s'" in refused.output
    listed = runner.invoke(main, ["models", "list"])
    assert "typo" not in listed.output
    assert runner.invoke(main, [*args, "-o", "read_timeout_s=3"]).exit_code == 0
    assert "typo" in runner.invoke(main, ["models", "list"]).output
