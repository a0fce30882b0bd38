"""The official openai client against a live platform serving the real SmolLM2 model."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from aicommons.testing.live import LiveServer

pytestmark = pytest.mark.slow
CHAT_MODEL = "smollm2-135m-instruct"
EMBED_MODEL = "all-minilm-l6-v2"


@pytest.fixture
def client(server: LiveServer, member_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=member_key, max_retries=0)


def test_models_lists_chat_and_embedding_models(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {CHAT_MODEL, EMBED_MODEL} <= ids


def test_chat_completion_returns_text_and_usage(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=12,
        temperature=0,
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason in {"stop", "length"}
    assert reply.usage is not None
    assert reply.usage.completion_tokens <= 12
    # the chat template wraps the question in the model's system prompt and turn markers
    assert reply.usage.prompt_tokens > len(["What", "is", "the", "capital", "of", "France?"])


def test_same_seed_gives_same_text(client: openai.OpenAI) -> None:
    def ask() -> str | None:
        reply = client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Tell me a story."}],
            max_completion_tokens=16,
            temperature=0.9,
            top_p=0.9,
            seed=1234,
        )
        return reply.choices[0].message.content

    assert ask() == ask()


def test_max_completion_tokens_caps_output(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Write a long essay about rivers."}],
        max_completion_tokens=5,
        temperature=0,
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 5
    assert reply.choices[0].finish_reason == "length"


def test_stop_sequence_ends_generation_without_it(client: openai.OpenAI) -> None:
    free = (
        client.completions.create(
            model=CHAT_MODEL, prompt="1, 2, 3, 4, 5,", max_tokens=12, temperature=0
        )
        .choices[0]
        .text
    )
    assert free, "the model should continue the sequence"
    stop = free.strip()[:1] or ","
    stopped = client.completions.create(
        model=CHAT_MODEL, prompt="1, 2, 3, 4, 5,", max_tokens=12, temperature=0, stop=[stop]
    ).choices[0]
    assert stop not in stopped.text
    assert stopped.finish_reason == "stop"


def test_streaming_chat_ends_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert text
    assert finishes and finishes[-1] in {"stop", "length"}
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 8


def test_streaming_matches_non_streaming_with_greedy_decoding(client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Name a colour."}]
    whole = (
        client.chat.completions.create(
            model=CHAT_MODEL,
            messages=messages,
            max_tokens=10,
            temperature=0,  # type: ignore[arg-type]
        )
        .choices[0]
        .message.content
    )
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model=CHAT_MODEL,
            messages=messages,
            max_tokens=10,
            temperature=0,
            stream=True,  # type: ignore[arg-type]
        )
        if c.choices
    )
    assert streamed == whole


def test_text_completion_and_stream(client: openai.OpenAI) -> None:
    reply = client.completions.create(
        model=CHAT_MODEL, prompt="Once upon a time", max_tokens=6, temperature=0
    )
    assert reply.object == "text_completion"
    assert reply.choices[0].text
    assert reply.usage is not None and reply.usage.completion_tokens == 6
    pieces = [
        c.choices[0].text
        for c in client.completions.create(
            model=CHAT_MODEL, prompt="Once upon a time", max_tokens=6, temperature=0, stream=True
        )
        if c.choices
    ]
    assert "".join(pieces) == reply.choices[0].text


def test_embeddings_are_unit_vectors_that_rank_by_meaning(client: openai.OpenAI) -> None:
    result = client.embeddings.create(
        model=EMBED_MODEL,
        input=["A cat sits on the mat.", "A kitten rests on a rug.", "Stock prices fell."],
    )
    vectors = [d.embedding for d in result.data]
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-3) for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
    assert result.usage.prompt_tokens > 0


def test_embeddings_base64_round_trip(client: openai.OpenAI) -> None:
    floats = client.embeddings.create(model=EMBED_MODEL, input="hello").data[0].embedding
    # asked for explicitly, base64 comes back as the string: little-endian float32s
    encoded = client.embeddings.create(model=EMBED_MODEL, input="hello", encoding_format="base64")
    raw = base64.b64decode(str(encoded.data[0].embedding))
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(floats)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(decoded, floats, strict=True))
