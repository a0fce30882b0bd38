"""Where the shared MOF and OSAI records are (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(
    os.environ.get("AICOMMONS_EVAL_DATA_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "mof_models").is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set AICOMMONS_EVAL_DATA_DIR")
    return SHARED
