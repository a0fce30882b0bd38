"""Where the shared benchmark files are: AICOMMONS_EVAL_DATA_DIR, or a ``shared/data`` folder
beside the checkout or beside one of its parent folders (they are never copied into the
repository)."""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    configured = os.environ.get("AICOMMONS_EVAL_DATA_DIR")
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[1]
    for folder in checkout.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return checkout.parent / "shared" / "data"


SHARED_DATA = _find()
