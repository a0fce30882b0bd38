"""Where the shared MOF and OSAI records are (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared_data import SHARED_DATA

SHARED = SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "mof_models").is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set AICOMMONS_EVAL_DATA_DIR")
    return SHARED
