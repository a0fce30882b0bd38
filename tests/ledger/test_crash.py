"""Kill -9 the server in the middle of 200 requests: every answer a client received in full
has its ledger record, and the chain still verifies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from aicommons.ledger.verify import verify_chain
from aicommons.store import ledger as table
from aicommons.store.database import Database
from aicommons.testing.live import TEST_ADMIN_KEY, free_port
from aicommons.testing.standin import Behaviour, StandinUpstream, standin_in_thread
from tests.ledger.conftest import standin_models_file

pytestmark = pytest.mark.slow
NUM_REQUESTS = 200
KILL_AFTER = 60  # complete answers before the kill; the rest are in flight or not yet sent


@pytest.fixture
def slow_standin() -> Iterator[StandinUpstream]:
    """Slow enough that many requests are in flight at any moment."""
    with standin_in_thread(behaviour=Behaviour(delay_s=0.2, chunk_delay_s=0.01)) as server:
        yield server


@pytest.fixture
def server_process(
    tmp_path: Path, db_url: str, slow_standin: StandinUpstream
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
        "AICOMMONS_DATA_DIR": str(tmp_path),
        "AICOMMONS_DATABASE_URL": db_url,
        "AICOMMONS_PORT": str(port),
        "AICOMMONS_ADMIN_KEY": TEST_ADMIN_KEY,
        "AICOMMONS_MODELS_FILE": str(standin_models_file(tmp_path, slow_standin.base_url)),
    }
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "aicommons.cli", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process, tmp_path / "server.log")
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        log.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + log.read_text(errors="replace"))
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not start:\n" + log.read_text(errors="replace"))


def member_key(url: str) -> str:
    admin = {"authorization": f"Bearer {TEST_ADMIN_KEY}"}
    with httpx.Client(base_url=url, headers=admin, timeout=10) as client:
        client.post("/admin/tenants", json={"name": "crash"}).raise_for_status()
        created = client.post("/admin/keys", json={"tenant": "crash"})
        created.raise_for_status()
        return str(created.json()["key"])


async def one_request(client: httpx.AsyncClient, i: int) -> str | None:
    """The response id if the client got the whole answer, else None."""
    chat = i % 4 < 2
    path = "/v1/chat/completions" if chat else "/v1/completions"
    body: dict[str, Any] = {"model": "remote", "stream": i % 2 == 1}
    body.update({"messages": [{"role": "user", "content": "Hi"}]} if chat else {"prompt": "Hi"})
    await asyncio.sleep(i * 0.01)  # spread the requests over two seconds
    try:
        if not body["stream"]:
            response = await client.post(path, json=body)
            data = response.json() if response.status_code == 200 else {}
            return str(data["id"]) if data.get("choices") else None
        async with client.stream("POST", path, json=body) as response:
            lines = [line async for line in response.aiter_lines() if line.startswith("data: ")]
        if response.status_code != 200 or lines[-1:] != ["data: [DONE]"]:
            return None
        return str(orjson.loads(lines[0][6:])["id"])
    except (httpx.TransportError, ValueError):
        return None


async def fire_and_kill(url: str, key: str, process: subprocess.Popen[bytes]) -> list[str | None]:
    completed = 0
    headers = {"authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=NUM_REQUESTS)

    async def counted(client: httpx.AsyncClient, i: int) -> str | None:
        nonlocal completed
        result = await one_request(client, i)
        if result is not None:
            completed += 1
            if completed == KILL_AFTER:
                process.send_signal(signal.SIGKILL)
        return result

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=20, limits=limits) as c:
        return await asyncio.gather(*(counted(c, i) for i in range(NUM_REQUESTS)))


async def ledgered_request_ids(db_url: str) -> tuple[set[str], bool, int]:
    db = Database(db_url)
    try:
        result = await verify_chain(db)
        async with db.engine.connect() as conn:
            records = await table.page_after(conn, 0, 100_000)
    finally:
        await db.close()
    ids = {str(r.payload["id"]) for r in records if r.kind == "request.completed"}
    return ids, result.ok, result.count


def test_every_complete_answer_survives_a_kill(
    server_process: tuple[str, subprocess.Popen[bytes]], db_url: str
) -> None:
    url, process = server_process
    key = member_key(url)
    outcomes = asyncio.run(fire_and_kill(url, key, process))
    assert process.wait(30) == -signal.SIGKILL
    answered = [o for o in outcomes if o is not None]
    assert KILL_AFTER <= len(answered) < NUM_REQUESTS  # the kill landed mid-way
    assert any(outcomes[0::2]) and any(outcomes[1::2])  # both plain and streamed answers

    ids, chain_ok, count = asyncio.run(ledgered_request_ids(db_url))
    assert chain_ok, "the chain must verify after a crash"
    missing = [o for o in answered if "req_" + o.split("-", 1)[1] not in ids]
    assert not missing, f"{len(missing)} complete answers have no ledger record"
    print(f"\nanswered {len(answered)}/{NUM_REQUESTS}, ledgered {len(ids)}, chain {count}")
