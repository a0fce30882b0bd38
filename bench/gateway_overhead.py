"""Gateway overhead: direct to a zero-latency stand-in, through AI Commons, through LiteLLM.

One run, three paths to the same stand-in upstream (aicommons.testing.standin, its own
process, a pre-rendered fixed chat completion):

- direct: the load generator talks to the stand-in;
- AI Commons: `aicommons serve` (one process, uvloop) with the upstream engine, a real key,
  the tenant under a token budget and rate limits (so the quota stage reserves and settles),
  the fair scheduler, the policy stage and the hash-chained ledger committed before each
  answer, on SQLite, as in production;
- LiteLLM proxy 1.106.2, installed by this script into bench/.venv-litellm, run offline
  (LITELLM_LOCAL_MODEL_COST_MAP=True, num_retries 0, a master key, no database).

For non-streaming and streaming requests: added latency p50/p99 over direct at offered loads
of 50, 200 and 500 req/s (open loop), and the largest request rate sustained without errors
(closed loop at several concurrencies). Writes bench/results/gateway_overhead.json.

    .venv/bin/python bench/gateway_overhead.py [--duration 10] [--skip-litellm]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from support.litellm import ensure_litellm, litellm_config, litellm_version
from support.load import closed_loop, open_loop, render_post, run
from support.processes import (
    PYTHON,
    admin_client,
    aicommons_server,
    free_port,
    process,
    tenant_key,
    wait_for,
)

HERE = Path(__file__).parent
RESULTS = HERE / "results"
RATES = (50, 200, 500)
CONCURRENCIES = (8, 32, 64)


def chat_body(model: str, stream: bool) -> bytes:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 16,
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


def measure(name: str, port: int, key: str, model: str, duration: float) -> dict[str, object]:
    """Open-loop points and the closed-loop maximum, for non-streaming and streaming."""
    out: dict[str, object] = {}
    host = f"127.0.0.1:{port}"
    for stream in (False, True):
        request = render_post(host, "/v1/chat/completions", chat_body(model, stream), key)
        run(closed_loop(port, request, 8, 1.0))  # warm connections and caches
        # The maximum first: an overloaded open-loop point leaves a backlog behind it.
        best: dict[str, object] = {"rps": 0.0}
        for concurrency in CONCURRENCIES:
            result = run(closed_loop(port, request, concurrency, duration))
            summary = {**result.summary(), "concurrency": concurrency}
            print(
                f"  {name:10} stream={stream!s:5} closed c={concurrency:<3}: {fmt(summary)}",
                flush=True,
            )
            if result.errors == 0 and result.rps > float(best["rps"]):  # type: ignore[arg-type]
                best = summary
            drain(port, request)
        points = {}
        for rate in RATES:
            result = run(open_loop(port, request, rate, duration))
            points[str(rate)] = result.summary()
            print(
                f"  {name:10} stream={stream!s:5} {rate:>4} req/s: {fmt(result.summary())}",
                flush=True,
            )
            drain(port, request)
        out["stream" if stream else "plain"] = {"open_loop": points, "max_sustained": best}
    return out


def drain(port: int, request: bytes, timeout_s: float = 120.0) -> None:
    """Wait until the server answers promptly again (it may still be working off a backlog)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        probe = run(closed_loop(port, request, 1, 0.5, timeout_s=2.0))
        if probe.errors == 0 and probe.ok > 0 and (probe.percentile(0.5) or 1e9) < 100:
            return
    print("  (server did not recover within the drain time)", flush=True)


def fmt(summary: dict[str, object]) -> str:
    p50, p99 = summary.get("p50_ms"), summary.get("p99_ms")
    lat = (
        f"p50 {p50:.2f} ms p99 {p99:.2f} ms"
        if isinstance(p50, float) and isinstance(p99, float)
        else "-"
    )
    return f"{summary['rps']:>7} req/s ok={summary['ok']} errors={summary['errors']} {lat}"


def added(path: dict[str, object], direct: dict[str, object]) -> dict[str, object]:
    """Added latency over direct at each offered load, and the maximum rate."""
    out: dict[str, object] = {}
    for mode in ("plain", "stream"):
        mine, base = path[mode], direct[mode]  # type: ignore[index]
        points = {}
        for rate in map(str, RATES):
            a, b = mine["open_loop"][rate], base["open_loop"][rate]
            ok = a["errors"] == 0 and a["p50_ms"] is not None
            points[rate] = {
                "added_p50_ms": a["p50_ms"] - b["p50_ms"] if ok else None,
                "added_p99_ms": a["p99_ms"] - b["p99_ms"] if ok else None,
                "errors": a["errors"],
            }
        out[mode] = {"added_latency": points, "max_rps": mine["max_sustained"]["rps"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per point")
    parser.add_argument("--skip-litellm", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, object] = {
        "duration_s_per_point": args.duration,
        "machine": f"{os.cpu_count()} cores",
        "paths": {},
    }
    standin_port = free_port()
    with process([PYTHON, "-m", "aicommons.testing.standin", f"--port={standin_port}"]):
        upstream = f"http://127.0.0.1:{standin_port}/v1"
        wait_for(f"{upstream}/models")
        paths: dict[str, dict[str, object]] = {}
        print("direct to the stand-in", flush=True)
        paths["direct"] = measure("direct", standin_port, "none", "standin", args.duration)

        models = (
            f'[[models]]\nname = "bench"\nengine = "upstream"\nurl = "{upstream}"\n'
            f'upstream_model = "standin"\nconcurrency = 1024\nmax_in_flight = 1024\n'
        )
        with aicommons_server(models, registry_refresh_seconds="0") as base:
            key = tenant_key(base, "bench")
            with admin_client(base) as admin:
                limits = {
                    "tokens_per_day": 10**12,
                    "requests_per_minute": 10**9,
                    "max_parallel": 10**6,
                }
                admin.put("/admin/limits/tenant/bench", json=limits).raise_for_status()
            port = int(base.rsplit(":", 1)[1])
            print("through AI Commons", flush=True)
            paths["aicommons"] = measure("aicommons", port, key, "bench", args.duration)
            with admin_client(base) as admin:
                verify = admin.post("/admin/ledger/verify").json()
            report["aicommons_ledger"] = verify

        if not args.skip_litellm:
            binary = ensure_litellm()
            version = litellm_version()
            litellm_port = free_port()
            master = "sk-bench-" + os.urandom(12).hex()
            with tempfile.TemporaryDirectory() as folder:
                config = Path(folder) / "config.yaml"
                config.write_text(litellm_config(upstream))
                env = {"LITELLM_MASTER_KEY": master, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
                cmd = [
                    str(binary),
                    "--config",
                    str(config),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(litellm_port),
                ]
                with process(cmd, env):
                    wait_for(f"http://127.0.0.1:{litellm_port}/health/liveliness", timeout_s=180)
                    print(f"through LiteLLM {version}", flush=True)
                    paths["litellm"] = measure(
                        "litellm", litellm_port, master, "bench", args.duration
                    )
                    report["litellm_version"] = version

    report["paths"] = paths
    comparison: dict[str, object] = {
        name: added(paths[name], paths["direct"]) for name in paths if name != "direct"
    }
    if "litellm" in paths:
        for mode in ("plain", "stream"):
            ours = comparison["aicommons"][mode]["max_rps"]  # type: ignore[index]
            theirs = comparison["litellm"][mode]["max_rps"]  # type: ignore[index]
            comparison[f"max_rps_ratio_{mode}"] = ours / theirs if theirs else None
    report["comparison"] = comparison
    out = RESULTS / "gateway_overhead.json"
    out.write_text(json.dumps(report, indent=1))
    print_table(comparison)
    print(f"wrote {out}")


def print_table(comparison: dict[str, object]) -> None:
    print()
    print(
        f"{'path':10} {'mode':6} {'max req/s':>10}  added p50 / p99 (ms) at "
        + ", ".join(f"{r} req/s" for r in RATES)
    )
    for name, value in comparison.items():
        if not isinstance(value, dict):
            continue
        for mode in ("plain", "stream"):
            row = value[mode]
            cells = []
            for rate in map(str, RATES):
                point = row["added_latency"][rate]
                if point["added_p50_ms"] is None:
                    cells.append(f"errors={point['errors']}")
                else:
                    cells.append(f"{point['added_p50_ms']:.2f} / {point['added_p99_ms']:.2f}")
            print(f"{name:10} {mode:6} {row['max_rps']:>10.0f}  " + ",  ".join(cells))
    for mode in ("plain", "stream"):
        ratio = comparison.get(f"max_rps_ratio_{mode}")
        if isinstance(ratio, float):
            print(f"AI Commons / LiteLLM max req/s ({mode}): {ratio:.1f}x")


if __name__ == "__main__":
    main()
