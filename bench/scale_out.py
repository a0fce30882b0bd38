"""Scale-out: many gateway processes as one platform, on Redis and PostgreSQL, behind nginx.

One run, side by side, on this machine:

1. Throughput: the largest request rate (closed loop) through nginx with 1 and 2 worker
   processes: `aicommons serve --workers N` in shared mode (Redis + PostgreSQL, the tenant
   under a budget and rate limits, so every request reserves and settles in Redis and is
   ledgered in PostgreSQL before its answer) against LiteLLM proxy with `--num_workers N`
   (offline, no database), both in front of the same stand-in upstream (its own process).
2. Latency: added p50/p99 over direct at 200 req/s (open loop), one worker, no nginx.
3. Three replicas (separate processes): budget overshoot under 300 concurrent requests over
   nginx; the Jain index of two backlogged tenants at 1:2 demand, each spreading its requests
   over all replicas, in front of the stand-in batching engine; how long a revoked key keeps
   working on another replica; ledger appends per second with 1, 2 and 3 appending processes.

Writes bench/results/scale_out.json.

    .venv/bin/python bench/scale_out.py [--duration 8] [--skip-litellm]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import redis

sys.path.insert(0, str(Path(__file__).parent))
from aicommons.testing.cluster import Cluster, cluster, nginx, standin_models_file
from aicommons.testing.live import TEST_ADMIN_KEY, free_port
from support.litellm import ensure_litellm, litellm_config, litellm_version
from support.load import closed_loop, open_loop, render_post, run
from support.processes import PYTHON, process, wait_for

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PG = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CONCURRENCIES = (32, 64, 128)
PROMPT = "Please say hello to the people of the shared platform, briefly."


def chat_body(model: str, max_tokens: int = 16) -> bytes:
    messages = [{"role": "user", "content": PROMPT}]
    return orjson.dumps({"model": model, "messages": messages, "max_tokens": max_tokens})


@contextlib.contextmanager
def schema() -> Iterator[str]:
    """A PostgreSQL schema of this run, dropped at the end."""
    name = f"bench_{secrets.token_hex(5)}"
    plain = PG.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{PG}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def forget_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match="{" + prefix + "}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def provision(base: str, tenant: str, weight: float = 1.0, **limits: int) -> str:
    headers = {"authorization": f"Bearer {TEST_ADMIN_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as admin:
        admin.post("/admin/tenants", json={"name": tenant, "weight": weight}).raise_for_status()
        if limits:
            admin.put(f"/admin/limits/tenant/{tenant}", json=limits).raise_for_status()
        created = admin.post("/admin/keys", json={"tenant": tenant})
        created.raise_for_status()
        return str(created.json()["key"])


def process_tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and all its descendants, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / ticks
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(cpu.get(pid, 0.0) for pid in tree)


def max_rps(
    name: str, port: int, key: str, model: str, duration: float, server_pid: int
) -> dict[str, Any]:
    """The largest request rate without errors, and the server's CPU time per request (which
    the other processes of a loaded machine disturb less than the rate)."""
    request = render_post(f"127.0.0.1:{port}", "/v1/chat/completions", chat_body(model), key)
    run(closed_loop(port, request, 16, 1.5))  # warm connections and caches
    best: dict[str, Any] = {"rps": 0.0}
    for concurrency in CONCURRENCIES:
        cpu_before = process_tree_cpu_s(server_pid)
        result = run(closed_loop(port, request, concurrency, duration))
        cpu_ms = (process_tree_cpu_s(server_pid) - cpu_before) * 1000 / max(result.ok, 1)
        summary = {
            **result.summary(),
            "concurrency": concurrency,
            "server_cpu_ms_per_request": cpu_ms,
        }
        print(
            f"  {name:22} c={concurrency:<4} {summary['rps']:>8} req/s errors={result.errors} "
            f"server CPU {cpu_ms:.2f} ms/request"
        )
        if result.errors == 0 and result.rps > best["rps"]:
            best = summary
        time.sleep(1)
    return best


def bench_models(folder: Path, upstream: str) -> Path:
    """The stand-in as model `bench`, with room for every request the load sends at once."""
    return standin_models_file(
        folder,
        upstream,
        name="bench",
        upstream_model="standin",
        concurrency=1024,
        max_in_flight=1024,
    )


# -- 1. throughput with 1 and 2 workers ------------------------------------------------------


@contextlib.contextmanager
def aicommons_workers(workers: int, folder: Path, models: Path) -> Iterator[tuple[int, int]]:
    """`aicommons serve --workers N` in shared mode; yields its port and pid."""
    port, prefix = free_port(), f"bench{secrets.token_hex(5)}"
    with schema() as database:
        env = {
            "AICOMMONS_DATABASE_URL": database,
            "AICOMMONS_REDIS_URL": REDIS,
            "AICOMMONS_REDIS_PREFIX": prefix,
            "AICOMMONS_ADMIN_KEY": TEST_ADMIN_KEY,
            "AICOMMONS_MODELS_FILE": str(models),
            "AICOMMONS_LOAD_EMBEDDINGS": "false",
            "AICOMMONS_DATA_DIR": str(folder),
            "AICOMMONS_PORT": str(port),
        }
        cmd = [PYTHON, "-m", "aicommons.cli", "serve", "--workers", str(workers)]
        with process(cmd, env) as server:
            wait_for(f"http://127.0.0.1:{port}/health")
            yield port, server.pid
    forget_prefix(prefix)


@contextlib.contextmanager
def litellm_workers(workers: int, folder: Path, upstream: str) -> Iterator[tuple[int, str, int]]:
    binary = ensure_litellm()
    port, master = free_port(), "sk-bench-" + secrets.token_hex(12)
    config = folder / "litellm.yaml"
    config.write_text(litellm_config(upstream))
    env = {"LITELLM_MASTER_KEY": master, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    cmd = [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--num_workers", str(workers)]
    with process(cmd, env) as server:
        wait_for(f"http://127.0.0.1:{port}/health/liveliness", timeout_s=240)
        yield port, master, server.pid


def throughput(folder: Path, upstream: str, duration: float, skip_litellm: bool) -> dict[str, Any]:
    models = bench_models(folder, upstream)
    out: dict[str, Any] = {}
    limits = {"tokens_per_day": 10**12, "requests_per_minute": 10**9, "max_parallel": 10**6}
    for workers in (1, 2):
        with aicommons_workers(workers, folder / f"w{workers}", models) as (port, pid):
            key = provision(f"http://127.0.0.1:{port}", "bench", **limits)
            with nginx(folder / f"nginx-a{workers}", [f"127.0.0.1:{port}"]) as url:
                lb = int(url.rsplit(":", 1)[1])
                out[f"aicommons_{workers}"] = max_rps(
                    f"AI Commons x{workers}", lb, key, "bench", duration, pid
                )
        if not skip_litellm:
            with (
                litellm_workers(workers, folder, upstream) as (port, master, pid),
                nginx(folder / f"nginx-l{workers}", [f"127.0.0.1:{port}"]) as url,
            ):
                lb = int(url.rsplit(":", 1)[1])
                out[f"litellm_{workers}"] = max_rps(
                    f"LiteLLM x{workers}", lb, master, "bench", duration, pid
                )
    if not skip_litellm:
        out["litellm_version"] = litellm_version()
    ratios: dict[str, Any] = {
        "aicommons_2_over_1": out["aicommons_2"]["rps"] / out["aicommons_1"]["rps"],
    }
    if not skip_litellm:
        for workers in (1, 2):
            theirs = out[f"litellm_{workers}"]["rps"]
            ratios[f"aicommons_over_litellm_{workers}"] = (
                out[f"aicommons_{workers}"]["rps"] / theirs if theirs else None
            )
        ratios["litellm_2_over_1"] = out["litellm_2"]["rps"] / out["litellm_1"]["rps"]
        ours_cpu = out["aicommons_1"]["server_cpu_ms_per_request"]
        ratios["litellm_cpu_per_request_over_aicommons"] = (
            out["litellm_1"]["server_cpu_ms_per_request"] / ours_cpu if ours_cpu else None
        )
    out["ratios"] = ratios
    return out


# -- 2. added latency at 200 req/s -----------------------------------------------------------


def latency(folder: Path, upstream: str, standin_port: int, duration: float) -> dict[str, Any]:
    models = bench_models(folder, upstream)
    body = chat_body("standin")
    direct_request = render_post(f"127.0.0.1:{standin_port}", "/v1/chat/completions", body, "x")
    run(closed_loop(standin_port, direct_request, 4, 1.0))
    direct = run(open_loop(standin_port, direct_request, 200, duration)).summary()
    with aicommons_workers(1, folder / "lat", models) as (port, _):
        limits = {"tokens_per_day": 10**12, "requests_per_minute": 10**9, "max_parallel": 10**6}
        key = provision(f"http://127.0.0.1:{port}", "bench", **limits)
        request = render_post(f"127.0.0.1:{port}", "/v1/chat/completions", chat_body("bench"), key)
        run(closed_loop(port, request, 8, 2.0))
        ours = run(open_loop(port, request, 200, duration)).summary()
    result = {"direct": direct, "aicommons_1_worker": ours}
    if ours["p50_ms"] is not None and direct["p50_ms"] is not None:
        result["added_p50_ms"] = ours["p50_ms"] - direct["p50_ms"]
        result["added_p99_ms"] = ours["p99_ms"] - direct["p99_ms"]
    print(
        f"  200 req/s: direct p50 {direct['p50_ms']:.2f} p99 {direct['p99_ms']:.2f} ms; "
        f"AI Commons p50 {ours['p50_ms']:.2f} p99 {ours['p99_ms']:.2f} ms"
    )
    return result


# -- 3. three replicas -----------------------------------------------------------------------


async def burst(url: str, key: str, count: int, body: dict[str, Any]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120, limits=limits) as c:
        return list(
            await asyncio.gather(*(c.post("/v1/chat/completions", json=body) for _ in range(count)))
        )


def overshoot(platform: Cluster, url: str) -> dict[str, Any]:
    budget = 3000
    key = provision(platform.replicas[0].url, "budget", tokens_per_day=budget)
    body = {"model": "bench", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 20}
    answers = asyncio.run(burst(url, key, 300, body))
    used = sum(a.json()["usage"]["total_tokens"] for a in answers if a.status_code == 200)
    statuses: dict[int, int] = {}
    for a in answers:
        statuses[a.status_code] = statuses.get(a.status_code, 0) + 1
    print(f"  budget {budget}: used {used} by {statuses.get(200, 0)} admitted of 300")
    return {
        "budget": budget,
        "used": used,
        "overshoot": max(used - budget, 0),
        "statuses": statuses,
    }


def revocation(platform: Cluster, rounds: int = 10) -> dict[str, Any]:
    waits = []
    headers = {"authorization": f"Bearer {TEST_ADMIN_KEY}"}
    with httpx.Client(base_url=platform.replicas[0].url, headers=headers, timeout=30) as admin:
        admin.post("/admin/tenants", json={"name": "revoked"}).raise_for_status()
        for _ in range(rounds):
            created = admin.post("/admin/keys", json={"tenant": "revoked"}).json()
            member = {"authorization": f"Bearer {created['key']}"}
            with httpx.Client(
                base_url=platform.replicas[-1].url, headers=member, timeout=10
            ) as far:
                assert far.get("/v1/models").status_code == 200  # cached there now
                start = time.monotonic()
                admin.delete(f"/admin/keys/{created['id']}").raise_for_status()
                while far.get("/v1/models").status_code != 401:
                    if time.monotonic() - start > 30:
                        raise TimeoutError("revocation did not propagate in 30 s")
                waits.append(time.monotonic() - start)
    print(
        f"  revocation seen by another replica after {statistics.median(waits) * 1000:.0f} ms "
        f"(median), {max(waits) * 1000:.0f} ms (max)"
    )
    return {
        "median_ms": statistics.median(waits) * 1000,
        "max_ms": max(waits) * 1000,
        "rounds": rounds,
    }


async def backlogged_pair(
    platform: Cluster, model: str, duration: float, keys: dict[str, str]
) -> dict[str, Any]:
    """Tenants A (demand 1) and B (demand 2), equal weights, each spreading its requests over
    every replica; the service (prompt + 2 x output tokens) each gets while both wait."""
    # Requests each keeps in flight: both more than the pool's 16 places, so both always wait.
    demand = {"light-demand": 24, "heavy-demand": 48}
    served = {t: 0 for t in keys}
    stop = time.monotonic() + duration
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "word " * 60}],
        "max_tokens": 32,
        "stream": False,
    }

    async def client(tenant: str, replica: int) -> None:
        headers = {"authorization": f"Bearer {keys[tenant]}"}
        base = platform.replicas[replica % len(platform.replicas)].url
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as c:
            while time.monotonic() < stop:
                answer = await c.post("/v1/chat/completions", json=body)
                if answer.status_code == 200 and time.monotonic() < stop:
                    usage = answer.json()["usage"]
                    served[tenant] += usage["prompt_tokens"] + 2 * usage["completion_tokens"]

    await asyncio.gather(*(client(t, i) for t, n in demand.items() for i in range(n)))
    values = list(served.values())
    jain = sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if any(values) else 0.0
    print(f"  {model}: backlogged 1:2 demand over 3 replicas: {served}, Jain {jain:.3f}")
    return {"service": served, "jain": jain, "demand_in_flight": demand}


def ledger_appends(duration: float) -> dict[str, Any]:
    """Appends per second to one chain from 1, 2 and 3 processes (each a replica's writer)."""
    out: dict[str, Any] = {}
    for writers in (1, 2, 3):
        with schema() as database:
            script = (
                "import asyncio, sys, time\n"
                "from aicommons.store.database import Database\n"
                "from aicommons.ledger.writer import LedgerWriter\n"
                "async def main():\n"
                "    db = Database(sys.argv[1]); await db.migrate()\n"
                "    w = LedgerWriter(db); await w.start()\n"
                "    stop = time.monotonic() + float(sys.argv[2]); n = 0\n"
                "    async def one():\n"
                "        nonlocal n\n"
                "        while time.monotonic() < stop:\n"
                "            await w.append('request.completed', {'id': 'r', 'n': n}); n += 1\n"
                "    await asyncio.gather(*(one() for _ in range(64)))\n"
                "    await w.close(); await db.close(); print(n)\n"
                "asyncio.run(main())\n"
            )
            # Migrate once first, so the writers do not measure the schema's creation.
            subprocess.run([PYTHON, "-c", script, database, "0"], check=True, capture_output=True)
            procs = [
                subprocess.Popen(
                    [PYTHON, "-c", script, database, str(duration)], stdout=subprocess.PIPE
                )
                for _ in range(writers)
            ]
            counts = [int(p.communicate()[0]) for p in procs]
            verify = subprocess.run(
                [PYTHON, "-m", "aicommons.cli", "ledger", "verify"],
                env={**os.environ, "AICOMMONS_DATABASE_URL": database},
                capture_output=True,
                text=True,
            )
        rate = sum(counts) / duration
        out[str(writers)] = {
            "appends_per_s": rate,
            "verify": verify.stdout.strip() or verify.stderr.strip(),
        }
        checked = verify.stdout.strip()[:40]
        print(f"  ledger, {writers} appending processes: {rate:,.0f} appends/s ({checked})")
    return out


def three_replicas(
    folder: Path, upstream: str, batching: tuple[str, str], duration: float
) -> dict[str, Any]:
    """Two batching engines of the same speed: one scheduled fairly (VTC), one first come first
    served, to show what the shared fair queue changes."""
    models = folder / "models3.toml"
    text = (
        f'[[models]]\nname = "bench"\nengine = "upstream"\nurl = "{upstream}"\n'
        f'upstream_model = "standin"\ncontext_length = 4096\n'
    )
    for name, url, policy in (
        ("batching", batching[0], "vtc"),
        ("batching-fcfs", batching[1], "fcfs"),
    ):
        text += (
            f'[[models]]\nname = "{name}"\nengine = "upstream"\nurl = "{url}"\n'
            f'upstream_model = "batching"\ncontext_length = 4096\nmax_in_flight = 16\n'
            f'scheduler = "{policy}"\n'
        )
    models.write_text(text)
    prefix = f"bench{secrets.token_hex(5)}"
    out: dict[str, Any] = {}
    with (
        schema() as database,
        cluster(folder / "three", database, REDIS, prefix, models, replicas=3) as platform,
    ):
        servers = [f"127.0.0.1:{r.port}" for r in platform.replicas]
        with nginx(folder / "nginx3", servers) as url:
            out["budget_overshoot"] = overshoot(platform, url)
            out["revocation"] = revocation(platform)
            tenants = ("light-demand", "heavy-demand")
            keys = {t: provision(platform.replicas[0].url, t) for t in tenants}
            for model, label in (("batching", "fairness"), ("batching-fcfs", "fairness_fcfs")):
                out[label] = asyncio.run(backlogged_pair(platform, model, duration * 3, keys))
    forget_prefix(prefix)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--skip-litellm", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "duration_s": args.duration}
    standin_port, batching_port, fcfs_port = free_port(), free_port(), free_port()
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        process([PYTHON, "-m", "aicommons.testing.standin", f"--port={standin_port}"]),
        process([PYTHON, "-m", "aicommons.testing.batching", f"--port={batching_port}"]),
        process([PYTHON, "-m", "aicommons.testing.batching", f"--port={fcfs_port}"]),
    ):
        folder = Path(tmp)
        upstream = f"http://127.0.0.1:{standin_port}/v1"
        batching = (f"http://127.0.0.1:{batching_port}/v1", f"http://127.0.0.1:{fcfs_port}/v1")
        for url in (upstream, *batching):
            wait_for(f"{url}/models")
        print("1. throughput through nginx, 1 and 2 workers", flush=True)
        report["throughput"] = throughput(folder, upstream, args.duration, args.skip_litellm)
        print("2. added latency at 200 req/s", flush=True)
        report["latency"] = latency(folder, upstream, standin_port, args.duration)
        print("3. three replicas", flush=True)
        report["three_replicas"] = three_replicas(folder, upstream, batching, args.duration)
        print("   ledger appends", flush=True)
        report["ledger_appends"] = ledger_appends(args.duration)
    out = RESULTS / "scale_out.json"
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["throughput"]["ratios"], indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
