"""Energy per query on a fixed workload, comparable with the AI Energy Score.

The AI Energy Score (Feb 2025) runs 1,000 text-generation queries at batch size 1 with 10
output tokens and reports GPU energy in Wh per 1,000 queries. We run the same shape of
workload (one query at a time, ``max_tokens=10``, greedy) through the `Engine` contract with
whichever meter works here, and scale to 1,000 queries. Prompts are IFEval's (real user-style
instructions), since the AIES datasets (WikiText, OSCAR, UltraChat) are not shipped offline.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from aicommons.energy.carbon import JOULES_PER_KWH, GridIntensity
from aicommons.energy.meters import EnergyMeter
from aicommons.engines.base import ChatMessage, Engine, GenerationRequest, SamplingParams

OUTPUT_TOKENS = 10


@dataclass(frozen=True, slots=True)
class EnergyBenchmark:
    model: str
    num_queries: int
    output_tokens_per_query: float
    prompt_tokens_per_query: float
    seconds: float
    joules: float
    method: str
    grid_country: str
    grid_g_per_kwh: float

    @property
    def joules_per_query(self) -> float:
        return self.joules / self.num_queries

    @property
    def wh_per_1000_queries(self) -> float:
        return self.joules_per_query * 1000 / 3600

    @property
    def gco2e_per_1000_queries(self) -> float:
        return self.joules_per_query * 1000 / JOULES_PER_KWH * self.grid_g_per_kwh

    @property
    def tokens_per_s(self) -> float:
        return self.output_tokens_per_query * self.num_queries / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "joules_per_query": self.joules_per_query,
            "wh_per_1000_queries": self.wh_per_1000_queries,
            "gco2e_per_1000_queries": self.gco2e_per_1000_queries,
            "tokens_per_s": self.tokens_per_s,
        }


def ifeval_prompts(data_dir: Path, limit: int) -> list[str]:
    """The first ``limit`` IFEval prompts from ``data_dir/ifeval/input_data.jsonl``."""
    prompts = []
    with (data_dir / "ifeval" / "input_data.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            prompts.append(str(json.loads(line)["prompt"]))
            if len(prompts) == limit:
                break
    return prompts


async def measure(
    engine: Engine,
    meter: EnergyMeter,
    grid: GridIntensity,
    prompts: Sequence[str],
    *,
    max_seconds: float | None = None,
    warmup: int = 2,
) -> EnergyBenchmark:
    """Run the prompts one at a time (batch 1, 10 output tokens) and meter the whole run."""

    def request(prompt: str) -> GenerationRequest:
        sampling = SamplingParams(max_tokens=OUTPUT_TOKENS, temperature=0.0, seed=0)
        return GenerationRequest(
            engine.spec.name, sampling, messages=(ChatMessage("user", prompt),)
        )

    for prompt in prompts[:warmup]:
        await engine.generate(request(prompt))  # load pages and caches outside the window
    output_tokens = prompt_tokens = done = 0
    token = await asyncio.to_thread(meter.start)
    started = time.perf_counter()
    for prompt in prompts:
        completion = await engine.generate(request(prompt))
        output_tokens += completion.usage.completion_tokens
        prompt_tokens += completion.usage.prompt_tokens
        done += 1
        if max_seconds is not None and time.perf_counter() - started > max_seconds:
            break
    seconds = time.perf_counter() - started
    joules = await asyncio.to_thread(meter.stop, token)
    return EnergyBenchmark(
        model=engine.spec.name,
        num_queries=done,
        output_tokens_per_query=output_tokens / done,
        prompt_tokens_per_query=prompt_tokens / done,
        seconds=seconds,
        joules=joules,
        method=meter.method,
        grid_country=grid.country,
        grid_g_per_kwh=grid.g_per_kwh,
    )


@dataclass(frozen=True, slots=True)
class PublishedFigure:
    model: str
    wh_per_1000_queries: float
    stars: int
    size_class: str


def ai_energy_score(path: Path) -> list[PublishedFigure]:
    """The AI Energy Score text-generation table (``total_gpu_energy`` is kWh per 1,000)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            PublishedFigure(
                model=row["model"],
                wh_per_1000_queries=float(row["total_gpu_energy"]) * 1000,
                stars=int(row["energy_score"]),
                size_class=row["class"],
            )
            for row in csv.DictReader(handle)
        ]
