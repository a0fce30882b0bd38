"""LiteLLM proxy, the peer the gateway benchmarks compare against: installed on first use into
bench/.venv-litellm (a pinned release from PyPI) and configured for the stand-in upstream."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LITELLM_VENV = Path(__file__).resolve().parent.parent / ".venv-litellm"
LITELLM_VERSION = "1.106.2"


def ensure_litellm() -> Path:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        print(f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run(
            [
                str(LITELLM_VENV / "bin" / "pip"),
                "install",
                "-q",
                f"litellm[proxy]=={LITELLM_VERSION}",
            ],
            check=True,
        )
    return binary


def litellm_config(upstream: str) -> str:
    return (
        "model_list:\n"
        "  - model_name: bench\n"
        f'    litellm_params: {{model: openai/standin, api_base: "{upstream}", api_key: dummy}}\n'
        "litellm_settings: {num_retries: 0, callbacks: []}\n"
        "general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\n"
    )


def litellm_version() -> str:
    done = subprocess.run(
        [
            str(LITELLM_VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
