"""``aicommons energy``: which meter and grid this machine uses; measure a model's energy."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aicommons.cli_support import run_async
from aicommons.config import Settings


@click.group("energy")
def energy_group() -> None:
    """Energy meters, grid carbon intensity and energy benchmarks."""


@energy_group.command("meter")
def energy_meter() -> None:
    """Show the meter and grid intensity that requests are measured with here."""
    from aicommons.energy.stage import MeterStage
    from aicommons.errors import ConfigError

    try:
        stage = MeterStage.from_settings(Settings())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    grid = stage.grid
    click.echo(f"meter: {stage.meter.method}")
    year = f", {grid.year}" if grid.year else ""
    click.echo(f"grid:  {grid.country} {grid.g_per_kwh:g} gCO2e/kWh ({grid.source}{year})")


@energy_group.command("measure")
@click.argument("model")
@click.option("--queries", type=int, default=100, show_default=True)
@click.option("--max-seconds", type=float, default=120.0, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=lambda: os.environ.get("AICOMMONS_EVAL_DATA_DIR"),
    help="Folder holding ifeval/input_data.jsonl (default AICOMMONS_EVAL_DATA_DIR).",
)
def energy_measure(model: str, queries: int, max_seconds: float, data_dir: Path | None) -> None:
    """Meter MODEL on the AI Energy Score workload shape and store it for the leaderboard.

    The engine runs in this process, so the meter sees its work; for an upstream engine the
    meter sees only this machine, not the remote server.
    """
    from aicommons.energy.benchmark import EnergyBenchmark, ifeval_prompts, measure
    from aicommons.energy.carbon import grid_intensity
    from aicommons.energy.meters import select_meter
    from aicommons.engines.registry import EngineRegistry
    from aicommons.errors import NotFoundError
    from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file
    from aicommons.store.database import Database
    from aicommons.store.model_configs import ModelConfigs
    from aicommons.store.openness import OpennessStore

    if data_dir is None:
        raise click.UsageError("give --data-dir or set AICOMMONS_EVAL_DATA_DIR")
    settings = Settings()

    async def work() -> EnergyBenchmark:
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
            specs = read_models_file(settings.models_file or DEFAULT_MODELS_FILE)
            specs += await ModelConfigs(db).list()
            spec = next((s for s in specs if s.name == model), None)
            if spec is None:
                raise NotFoundError(f"no model {model!r} in the catalog", param="model")
            meter = select_meter(settings.energy_meter, watts_per_core=settings.cpu_watts_per_core)
            grid = grid_intensity(settings.grid_country, settings.grid_intensity_g_per_kwh)
            engine = EngineRegistry().create(spec)
            await engine.start()
            try:
                prompts = ifeval_prompts(data_dir, queries)
                result = await measure(engine, meter, grid, prompts, max_seconds=max_seconds)
            finally:
                await engine.close()
            await OpennessStore(db).save_energy(
                model,
                joules_per_query=result.joules_per_query,
                tokens_per_s=result.tokens_per_s,
                output_tokens_per_query=result.output_tokens_per_query,
                num_queries=result.num_queries,
                method=result.method,
                grid_country=result.grid_country,
                grid_g_per_kwh=result.grid_g_per_kwh,
            )
            return result
        finally:
            await db.close()

    result = run_async(work)()
    click.echo(
        f"{model}: {result.num_queries} queries, {result.joules_per_query:.2f} J/query, "
        f"{result.wh_per_1000_queries:.3f} Wh and {result.gco2e_per_1000_queries:.3f} gCO2e "
        f"per 1,000 queries, {result.tokens_per_s:.1f} tokens/s ({result.method})"
    )
