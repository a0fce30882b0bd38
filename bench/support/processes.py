"""Processes the benchmarks start: AI Commons itself and stand-in engines, each on its own core
budget and port, stopped when the benchmark ends."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout_s: float = 120.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2, headers=headers).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout_s:.0f} s")


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.NamedTemporaryFile(prefix="bench-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proc.returncode not in (0, -15, None):
            print(f"  ({args[2] if len(args) > 2 else args[0]} log: {log.name})", file=sys.stderr)


@contextlib.contextmanager
def aicommons_server(models_toml: str, **settings: str) -> Iterator[str]:
    """Run `aicommons serve` with SQLite in a temporary folder; yields its base URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-aicommons-") as folder:
        models = Path(folder) / "models.toml"
        models.write_text(models_toml)
        env = {
            "AICOMMONS_DATA_DIR": folder,
            "AICOMMONS_PORT": str(port),
            "AICOMMONS_ADMIN_KEY": ADMIN_KEY,
            "AICOMMONS_MODELS_FILE": str(models),
            "AICOMMONS_LOAD_EMBEDDINGS": "false",
            **{f"AICOMMONS_{k.upper()}": v for k, v in settings.items()},
        }
        with process([PYTHON, "-m", "aicommons.cli", "serve"], env):
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/health")
            yield base


def admin_client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)


def tenant_key(base: str, tenant: str, weight: float = 1.0) -> str:
    """Create a tenant with ``weight`` and return a new key of it."""
    with admin_client(base) as admin:
        admin.post("/admin/tenants", json={"name": tenant, "weight": weight}).raise_for_status()
        created = admin.post("/admin/keys", json={"tenant": tenant})
        created.raise_for_status()
        return str(created.json()["key"])
