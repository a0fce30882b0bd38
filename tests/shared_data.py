"""Where the shared benchmark files are: ../shared/data next to the checkout (never copied into
the repository), or AICOMMONS_EVAL_DATA_DIR, or the workplace's /work/shared/data."""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    candidates = [
        os.environ.get("AICOMMONS_EVAL_DATA_DIR"),
        Path(__file__).resolve().parents[1].parent / "shared" / "data",
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "mof_models").is_dir():
            return Path(candidate)
    return Path(candidates[1])  # type: ignore[arg-type]


SHARED_DATA = _find()
