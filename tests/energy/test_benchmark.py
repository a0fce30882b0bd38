"""The energy benchmark on the real SmolLM2, and the AI Energy Score table."""

from __future__ import annotations

import pytest

from aicommons.energy.benchmark import OUTPUT_TOKENS, ai_energy_score, ifeval_prompts, measure
from aicommons.energy.carbon import grid_intensity
from aicommons.energy.meters import select_meter
from aicommons.engines.registry import EngineRegistry
from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file
from tests.openness.conftest import SHARED


def test_ai_energy_score_table_in_wh_per_1000_queries() -> None:
    figures = {
        f.model: f for f in ai_energy_score(SHARED / "ai_energy_score" / "text_generation.csv")
    }
    smollm = figures["HuggingFaceTB/SmolLM-135M"]
    assert smollm.wh_per_1000_queries == pytest.approx(7.279517)
    assert (smollm.stars, smollm.size_class) == (4, "A")
    assert figures["meta-llama/Meta-Llama-3-70B"].size_class == "C"


@pytest.mark.slow
async def test_measure_three_queries_on_smollm2() -> None:
    (spec,) = [s for s in read_models_file(DEFAULT_MODELS_FILE) if s.engine == "llamacpp"]
    engine = EngineRegistry().create(spec)
    await engine.start()
    try:
        result = await measure(
            engine,
            select_meter("estimate"),
            grid_intensity("PL"),
            ifeval_prompts(SHARED, 3),
            warmup=1,
        )
    finally:
        await engine.close()
    assert result.num_queries == 3
    assert 0 < result.output_tokens_per_query <= OUTPUT_TOKENS
    assert result.joules > 0 and result.tokens_per_s > 0
    assert result.gco2e_per_1000_queries == pytest.approx(result.wh_per_1000_queries / 1000 * 662.0)
