"""Energy per 1,000 queries of the built-in SmolLM2 on the AI Energy Score's workload shape
(batch 1, 10 output tokens), metered with the best meter available here, next to the AI
Energy Score's published figures.

    PYTHONPATH=src python bench/energy_per_query.py [--queries 200] [--max-seconds 100]

Writes bench/results/energy_per_query.json; ``--save`` also stores the figure in the
platform's database for the leaderboard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from aicommons.config import Settings
from aicommons.energy.benchmark import EnergyBenchmark, ai_energy_score, ifeval_prompts, measure
from aicommons.energy.carbon import grid_intensity
from aicommons.energy.meters import select_meter
from aicommons.engines.registry import EngineRegistry
from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("AICOMMONS_EVAL_DATA_DIR") or ROOT.parent / "shared" / "data")
MODEL = "smollm2-135m-instruct"
# AIES rows to compare with: the same model family and the other small models.
COMPARE = (
    "HuggingFaceTB/SmolLM-135M",
    "HuggingFaceTB/SmolLM-360M",
    "HuggingFaceTB/SmolLM-1.7B",
    "HuggingFaceTB/SmolLM2-1.7B-Instruct",
    "distilbert/distilgpt2",
    "facebook/opt-125m",
    "openai-community/gpt2",
    "meta-llama/Meta-Llama-3.1-8B",
)


async def run(args: argparse.Namespace) -> EnergyBenchmark:
    settings = Settings()
    (spec,) = [s for s in read_models_file(DEFAULT_MODELS_FILE) if s.name == MODEL]
    engine = EngineRegistry().create(spec)
    await engine.start()
    try:
        meter = select_meter(args.meter, watts_per_core=settings.cpu_watts_per_core)
        grid = grid_intensity(settings.grid_country, settings.grid_intensity_g_per_kwh)
        prompts = ifeval_prompts(args.data_dir, args.queries)
        return await measure(engine, meter, grid, prompts, max_seconds=args.max_seconds)
    finally:
        await engine.close()


async def save(result: EnergyBenchmark) -> None:
    from aicommons.store.database import Database
    from aicommons.store.openness import OpennessStore

    db = Database(Settings().resolved_database_url)
    try:
        await db.migrate()
        await OpennessStore(db).save_energy(
            result.model,
            joules_per_query=result.joules_per_query,
            tokens_per_s=result.tokens_per_s,
            output_tokens_per_query=result.output_tokens_per_query,
            num_queries=result.num_queries,
            method=result.method,
            grid_country=result.grid_country,
            grid_g_per_kwh=result.grid_g_per_kwh,
        )
    finally:
        await db.close()


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=100.0)
    parser.add_argument("--meter", default=Settings().energy_meter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/energy_per_query.json")
    parser.add_argument("--save", action="store_true", help="store in the platform database")
    args = parser.parse_args()

    result = asyncio.run(run(args))
    published = {
        f.model: f
        for f in ai_energy_score(args.data_dir / "ai_energy_score" / "text_generation.csv")
    }
    ours = result.wh_per_1000_queries
    comparison = [
        {
            "model": name,
            "wh_per_1000_queries": published[name].wh_per_1000_queries,
            "stars": published[name].stars,
            "ratio_ours_to_theirs": ours / published[name].wh_per_1000_queries,
        }
        for name in COMPARE
        if name in published
    ]
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count()},
        "workload": "IFEval prompts, chat template, batch 1, max_tokens=10, greedy",
        "ours": result.to_dict(),
        "ai_energy_score": {
            "source": "AI Energy Score Feb 2025, text generation (GPU energy, H100, batch 1, "
            "10 output tokens), copy in ebbalg/AI-climate-overview",
            "rows": comparison,
        },
        "caveats": [
            "ours is metered with the method named in ours.method; AIES is GPU-only energy "
            "measured with CodeCarbon on an H100",
            "the CPU estimate counts this process's CPU time only (no RAM, idle or PUE)",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.save:
        asyncio.run(save(result))

    print(
        f"{result.model}: {result.num_queries} queries in {result.seconds:.1f} s, "
        f"{result.output_tokens_per_query:.1f} output tokens each, {result.tokens_per_s:.1f} tok/s"
    )
    print(f"meter: {result.method}; grid {result.grid_country} {result.grid_g_per_kwh:g} g/kWh\n")
    print(f"{'model':42} {'Wh/1000 q':>10} {'J/query':>9} {'gCO2e/1000 q':>13}")
    print(
        f"{'ours: ' + result.model:42} {ours:10.3f} {result.joules_per_query:9.2f} "
        f"{result.gco2e_per_1000_queries:13.3f}"
    )
    for row in comparison:
        wh = row["wh_per_1000_queries"]
        print(f"{'AIES: ' + row['model']:42} {wh:10.3f} {wh * 3.6:9.2f} {'':>13}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
