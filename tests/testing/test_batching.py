"""The continuous-batching stand-in engine, and the upstream engine counting its chunks."""

from __future__ import annotations

import asyncio

import httpx

from aicommons.engines.base import (
    ChatMessage,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    TextChunk,
)
from aicommons.engines.upstream import UpstreamEngine
from aicommons.testing.batching import BatchingServer, EngineShape

SHAPE = EngineShape(step_s=0.005, token_budget=64, max_batch=2, stream_interval=4)


async def test_a_batch_beyond_its_size_queues_in_the_engine() -> None:
    server = BatchingServer(SHAPE)
    url = await server.start()
    body = {
        "model": "batching",
        "messages": [{"role": "user", "content": "a b c"}],
        "max_tokens": 20,
    }
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            tasks = [
                asyncio.create_task(client.post("/chat/completions", json=body)) for _ in range(4)
            ]
            await asyncio.sleep(0.03)
            assert server.engine.stats()["running"] == 2
            assert server.engine.stats()["waiting"] == 2
            answers = [(await t).json() for t in tasks]
        assert all(
            a["usage"] == {"prompt_tokens": 3, "completion_tokens": 20, "total_tokens": 23}
            for a in answers
        )
        assert server.engine.stats()["tokens_out"] == 80
    finally:
        await server.close()


async def test_upstream_engine_counts_several_tokens_a_chunk_from_continuous_usage() -> None:
    server = BatchingServer(SHAPE)
    url = await server.start()
    engine = UpstreamEngine(
        ModelSpec(
            "cb",
            "upstream",
            {"url": url, "upstream_model": "batching", "continuous_usage_stats": True},
        )
    )
    await engine.start()
    request = GenerationRequest(
        model="cb",
        messages=[ChatMessage("user", "one two three four")],
        sampling=SamplingParams(max_tokens=10),
    )
    try:
        chunks = [e async for e in engine.stream(request) if isinstance(e, TextChunk)]
    finally:
        await engine.close()
        await server.close()
    # The first token alone, then every fourth, then the rest: 1, 3, 4, 2.
    assert [c.num_tokens for c in chunks] == [1, 3, 4, 2]
    assert sum(c.num_tokens for c in chunks) == 10
