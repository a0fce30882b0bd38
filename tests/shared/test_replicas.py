"""Several `aicommons serve` processes on one PostgreSQL and one Redis, behind nginx, act as
one platform: budgets and limits hold across them, changes reach every replica within a
second, sessions work everywhere, and each failure does what docs/scaling.md says."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aicommons.testing.cluster import (
    Cluster,
    RedisServer,
    TcpProxy,
    cluster,
    network_namespace,
    nginx,
    standin_models_file,
)
from aicommons.testing.standin import Behaviour, StandinUpstream, standin_in_thread
from tests.conftest import PG_URL, REDIS_URL, SHARED_NEEDS_PG, database_url, forget_redis_prefix

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not PG_URL, reason=SHARED_NEEDS_PG)]

MODEL = "standin"
# About 18 tokens by the gateway's estimate and 12 by the stand-in's count: reservations
# (estimate + max_tokens) always cover what a request really uses.
PROMPT = "Please say hello to the people of the shared platform, briefly."


def chat(max_tokens: int = 20) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": max_tokens,
    }


@pytest.fixture(scope="module")
def module_standin() -> Iterator[StandinUpstream]:
    with standin_in_thread() as server:
        yield server


@pytest.fixture
def standin(module_standin: StandinUpstream) -> Iterator[StandinUpstream]:
    """The stand-in upstream, answering normally at the start of each test."""
    module_standin.behaviour = Behaviour()
    yield module_standin
    module_standin.behaviour = Behaviour()


@pytest.fixture(scope="module")
def module_models_file(
    tmp_path_factory: pytest.TempPathFactory, module_standin: StandinUpstream
) -> Path:
    folder = tmp_path_factory.mktemp("models")
    return standin_models_file(folder, module_standin.base_url, context_length=4096)


@pytest.fixture
def models_file(module_models_file: Path) -> Path:
    return module_models_file


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, module_models_file: Path
) -> Iterator[Cluster]:
    """Three replicas shared by the tests that leave them running (each uses its own tenants)."""
    folder = tmp_path_factory.mktemp("cluster")
    prefix = f"test{secrets.token_hex(6)}"
    with (
        database_url(folder) as url,
        cluster(
            folder, url, REDIS_URL, prefix, module_models_file, replicas=3, lease_seconds="2"
        ) as running,
    ):
        yield running
    forget_redis_prefix(prefix)


@pytest.fixture
def own_platform(
    tmp_path: Path, db_url: str, redis_prefix: str, models_file: Path
) -> Iterator[Cluster]:
    """Three replicas of this test alone (it kills one)."""
    with cluster(
        tmp_path / "cluster",
        db_url,
        REDIS_URL,
        redis_prefix,
        models_file,
        replicas=3,
        lease_seconds="2",
    ) as running:
        yield running


def make_key(platform: Cluster, tenant: str, **limits: int) -> str:
    with platform.admin() as admin:
        admin.post("/admin/tenants", json={"name": tenant}).raise_for_status()
        if limits:
            admin.put(f"/admin/limits/tenant/{tenant}", json=limits).raise_for_status()
        created = admin.post("/admin/keys", json={"tenant": tenant})
        created.raise_for_status()
        return str(created.json()["key"])


async def burst(url: str, key: str, count: int, body: dict[str, Any]) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as c:
        return list(
            await asyncio.gather(*(c.post("/v1/chat/completions", json=body) for _ in range(count)))
        )


def tokens_in_ledger(platform: Cluster, tenant: str) -> int:
    with platform.admin() as admin:
        tenant_id = admin.get(f"/admin/tenants/{tenant}").json()["id"]
        records = admin.get("/admin/ledger", params={"limit": 1000}).json()["data"]
    return sum(
        r["payload"]["prompt_tokens"] + r["payload"]["completion_tokens"]
        for r in records
        if r["kind"] == "request.completed" and r["payload"]["tenant_id"] == tenant_id
    )


def test_budget_and_limits_hold_across_replicas_behind_nginx(platform: Cluster) -> None:
    servers = [f"127.0.0.1:{r.port}" for r in platform.replicas]
    with nginx(platform.folder / "nginx", servers) as url:
        key = make_key(platform, "budgeted", tokens_per_day=3000)
        answers = asyncio.run(burst(url, key, 300, chat()))
        statuses = {a.status_code for a in answers}
        assert statuses <= {200, 429}, statuses
        ok = [a for a in answers if a.status_code == 200]
        used = sum(a.json()["usage"]["total_tokens"] for a in ok)
        assert 0 < used <= 3000  # not one token over, from three replicas at once
        assert tokens_in_ledger(platform, "budgeted") == used

        key = make_key(platform, "paced", requests_per_minute=50)
        answers = asyncio.run(burst(url, key, 100, chat()))
        assert sum(a.status_code == 200 for a in answers) == 50
        codes = {a.json()["error"]["code"] for a in answers if a.status_code == 429}
        assert codes == {"rate_limit_exceeded"}


def test_parallel_requests_are_limited_across_replicas(
    platform: Cluster, standin: StandinUpstream
) -> None:
    standin.behaviour = Behaviour(delay_s=1.5)
    key = make_key(platform, "parallel", max_parallel=5)

    async def spread() -> list[httpx.Response]:
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            f"{platform.replicas[i % 3].url}/v1/chat/completions", json=chat()
                        )
                        for i in range(10)
                    )
                )
            )

    answers = asyncio.run(spread())
    assert sorted(a.status_code for a in answers) == [200] * 5 + [429] * 5
    refused = {a.json()["error"]["code"] for a in answers if a.status_code == 429}
    assert refused == {"too_many_parallel_requests"}


def seconds_until(condition: Any, timeout_s: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError
        time.sleep(0.02)
    return time.monotonic() - started


def test_changes_reach_every_replica_within_a_second(platform: Cluster) -> None:
    key = make_key(platform, "revoked")
    headers = {"authorization": f"Bearer {key}"}
    others = [
        httpx.Client(base_url=r.url, headers=headers, timeout=10) for r in platform.replicas[1:]
    ]
    try:
        for client in others:  # each replica has the key's principal in its cache now
            assert client.get("/v1/models").status_code == 200
        with platform.admin() as admin:
            key_id = admin.get("/admin/keys", params={"tenant": "revoked"}).json()[0]["id"]
            admin.delete(f"/admin/keys/{key_id}").raise_for_status()
        waited = seconds_until(lambda: all(c.get("/v1/models").status_code == 401 for c in others))
        assert waited <= 1.0
    finally:
        for client in others:
            client.close()

    # The command line announces its changes to every replica too.
    key = make_key(platform, "revoked-by-cli")
    with httpx.Client(
        base_url=platform.replicas[2].url, headers={"authorization": f"Bearer {key}"}
    ) as far:
        assert far.get("/v1/models").status_code == 200
        with platform.admin() as admin:
            key_id = admin.get("/admin/keys", params={"tenant": "revoked-by-cli"}).json()[0]["id"]
        subprocess.run(
            [sys.executable, "-m", "aicommons.cli", "keys", "revoke", key_id],
            env={**os.environ, **platform.env()},
            check=True,
            capture_output=True,
        )
        assert seconds_until(lambda: far.get("/v1/models").status_code == 401) <= 1.0

    key = make_key(platform, "limited")
    with httpx.Client(
        base_url=platform.replicas[2].url, headers={"authorization": f"Bearer {key}"}
    ) as far:
        assert far.post("/v1/chat/completions", json=chat()).status_code == 200
        with platform.admin() as admin:
            admin.put("/admin/limits/tenant/limited", json={"tokens_per_day": 1}).raise_for_status()
        waited = seconds_until(
            lambda: far.post("/v1/chat/completions", json=chat()).status_code == 429
        )
        assert waited <= 1.0


def test_a_dashboard_session_works_on_every_replica_and_after_a_restart(platform: Cluster) -> None:
    first, second = platform.replicas[0], platform.replicas[1]
    with httpx.Client(base_url=first.url, timeout=30) as browser:
        browser.post("/ui/login", data={"key": platform.admin_key, "next": "/ui/admin"})
        cookies = dict(browser.cookies)
    assert "aic_session" in cookies
    with httpx.Client(base_url=second.url, cookies=cookies, timeout=30) as elsewhere:
        assert elsewhere.get("/ui/admin").status_code == 200
        second.stop()
        second.start()
        assert elsewhere.get("/ui/admin").status_code == 200


def test_losing_redis_fails_closed_and_recovers_by_itself(
    tmp_path: Path, db_url: str, redis_prefix: str, models_file: Path
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with cluster(
            tmp_path / "cluster", db_url, redis.url, redis_prefix, models_file, replicas=2
        ) as platform:
            key = make_key(platform, "careful", tokens_per_day=100_000)
            headers = {"authorization": f"Bearer {key}"}
            with httpx.Client(base_url=platform.replicas[1].url, headers=headers, timeout=30) as c:
                assert c.post("/v1/chat/completions", json=chat()).status_code == 200
                redis.stop()
                refused = c.post("/v1/chat/completions", json=chat())
                assert refused.status_code == 503
                assert refused.json()["error"]["code"] == "limits_unavailable"
                health = c.get("/health")
                assert health.status_code == 503 and not health.json()["redis"]["ok"]
                redis.start()
                waited = seconds_until(
                    lambda: c.post("/v1/chat/completions", json=chat()).status_code == 200, 20
                )
                assert waited < 10
                assert c.get("/health").status_code == 200
    finally:
        redis.stop()


def test_losing_the_database_gives_503_and_recovers_by_itself(
    tmp_path: Path, db_url: str, redis_prefix: str, models_file: Path
) -> None:
    with TcpProxy(("127.0.0.1", 5432)) as proxy:
        through_proxy = db_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        with cluster(
            tmp_path / "cluster", through_proxy, REDIS_URL, redis_prefix, models_file, replicas=1
        ) as platform:
            key = make_key(platform, "steady")
            headers = {"authorization": f"Bearer {key}"}
            with httpx.Client(base_url=platform.replicas[0].url, headers=headers, timeout=60) as c:
                assert c.post("/v1/chat/completions", json=chat()).status_code == 200
                proxy.cut()
                refused = c.post("/v1/chat/completions", json=chat())
                assert refused.status_code == 503
                assert refused.json()["error"]["code"] == "ledger_unavailable"
                proxy.restore()
                waited = seconds_until(
                    lambda: c.post("/v1/chat/completions", json=chat()).status_code == 200, 30
                )
                assert waited < 15
        assert platform.replicas[0].process is not None


def test_a_replica_killed_under_load(own_platform: Cluster, standin: StandinUpstream) -> None:
    """Clients of the other replicas see no error; the dead replica's places come back with
    its leases; nothing is charged twice; the chain verifies; usage is rebuilt."""
    platform = own_platform
    standin.behaviour = Behaviour(delay_s=0.3)
    key = make_key(platform, "loaded", max_parallel=6, tokens_per_day=1_000_000)
    victim, survivors = platform.replicas[0], platform.replicas[1:]

    async def load() -> tuple[list[httpx.Response], list[BaseException | httpx.Response]]:
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            doomed = [
                asyncio.ensure_future(client.post(f"{victim.url}/v1/chat/completions", json=chat()))
                for _ in range(3)
            ]
            await asyncio.sleep(0.15)  # the victim holds three places now
            victim.kill()
            steady = await asyncio.gather(
                *(
                    client.post(f"{survivors[i % 2].url}/v1/chat/completions", json=chat())
                    for i in range(30)
                )
            )
            return list(steady), list(await asyncio.gather(*doomed, return_exceptions=True))

    steady, _ = asyncio.run(load())
    assert {a.status_code for a in steady} <= {200, 429}
    # Within the lease (2 s) the dead replica's three places come back: six run at once again.
    time.sleep(2.5)
    standin.behaviour = Behaviour(delay_s=1.0)

    async def six() -> list[httpx.Response]:
        headers = {"authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(headers=headers, timeout=60) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(f"{survivors[i % 2].url}/v1/chat/completions", json=chat())
                        for i in range(6)
                    )
                )
            )

    assert [a.status_code for a in asyncio.run(six())] == [200] * 6
    with platform.admin(1) as admin:
        assert admin.post("/admin/ledger/verify").json()["ok"]
        records = admin.get("/admin/ledger", params={"limit": 1000}).json()["data"]
    ids = [r["payload"]["id"] for r in records if r["kind"] == "request.completed"]
    assert len(ids) == len(set(ids))  # no request recorded (or charged) twice

    # The killed replica lost up to a second of batched usage totals: rebuild them.
    rebuilt = subprocess.run(
        [sys.executable, "-m", "aicommons.cli", "usage", "rebuild"],
        env={**os.environ, **platform.env()},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "request records" in rebuilt.stdout
    with platform.admin(1) as admin:
        rows = admin.get("/v1/usage", params={"tenant": "loaded"}).json()["data"]
    assert sum(r["total_tokens"] for r in rows) == tokens_in_ledger(platform, "loaded")


def test_replicas_on_separate_hosts(
    tmp_path: Path, db_url: str, redis_prefix: str, standin: StandinUpstream
) -> None:
    """One replica in a network namespace of its own reaches Redis, PostgreSQL and the
    upstream across the link, as another machine would; nginx balances both replicas."""
    try:
        namespace_cm = network_namespace(7)
        namespace = namespace_cm.__enter__()
    except PermissionError as exc:
        pytest.skip(f"network namespaces are refused here: {exc}")
    redis = RedisServer(tmp_path, host=namespace.host_ip)
    try:
        redis.start()
        standin_port = int(standin.base_url.rsplit(":", 1)[1].split("/")[0])
        with (
            TcpProxy(("127.0.0.1", 5432), host=namespace.host_ip) as database,
            TcpProxy(("127.0.0.1", standin_port), host=namespace.host_ip) as upstream,
        ):
            url = f"http://{namespace.host_ip}:{upstream.port}/v1"
            models = standin_models_file(tmp_path, url, context_length=4096)
            shared_db = db_url.replace("127.0.0.1:5432", f"{namespace.host_ip}:{database.port}")
            with cluster(
                tmp_path / "cluster", shared_db, redis.url, redis_prefix, models
            ) as platform:
                platform.add(1)
                platform.add(1, host=namespace.ip, command_prefix=namespace.exec_prefix)
                here, there = platform.replicas
                servers = [f"127.0.0.1:{here.port}", f"{namespace.ip}:{there.port}"]
                with nginx(platform.folder / "nginx", servers) as balanced:
                    key = make_key(platform, "distant", tokens_per_day=500)
                    answers = asyncio.run(burst(balanced, key, 40, chat()))
                    ok = [a for a in answers if a.status_code == 200]
                    assert {a.status_code for a in answers} <= {200, 429} and ok
                    assert sum(a.json()["usage"]["total_tokens"] for a in ok) <= 500
                headers = {"authorization": f"Bearer {key}"}
                with httpx.Client(base_url=there.url, headers=headers, timeout=30) as far:
                    assert far.get("/v1/models").status_code == 200
                    with platform.admin() as admin:
                        key_id = admin.get("/admin/keys", params={"tenant": "distant"}).json()
                        admin.delete(f"/admin/keys/{key_id[0]['id']}").raise_for_status()
                    waited = seconds_until(lambda: far.get("/v1/models").status_code == 401)
                    assert waited <= 1.0
    finally:
        redis.stop()
        namespace_cm.__exit__(None, None, None)
