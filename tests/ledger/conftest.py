"""A platform whose only model is a stand-in upstream: fast, so the ledger is what is tested."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aicommons.config import Settings
from aicommons.testing.live import LiveServer, live_server
from aicommons.testing.standin import StandinUpstream, standin_in_thread


def standin_models_file(folder: Path, url: str) -> Path:
    path = folder / "models.toml"
    lines = [
        "[[models]]",
        'name = "remote"',
        'engine = "upstream"',
        f'url = "{url}"',
        "read_timeout_s = 5.0",
        "health_interval_s = 0",
        "concurrency = 512",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def standin() -> Iterator[StandinUpstream]:
    with standin_in_thread() as server:
        yield server


@pytest.fixture
def front(tmp_path: Path, db_url: str, standin: StandinUpstream) -> Iterator[LiveServer]:
    models = standin_models_file(tmp_path, standin.base_url)
    settings = Settings(data_dir=tmp_path, database_url=db_url, models_file=models)
    with live_server(settings) as live:
        yield live
