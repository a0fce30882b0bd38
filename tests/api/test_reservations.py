"""Every request reaches the budgets with a bounded reservation, and no answer outgrows it:
upstream models without a configured context, a per-model default for max_tokens, streams
cut at what was reserved, prompts checked against the upstream's context."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from aicommons.config import Settings
from aicommons.testing.live import LiveServer, live_server
from aicommons.testing.standin import REPLY, StandinUpstream, standin_in_thread

pytestmark = pytest.mark.slow
NUM_REPLY_TOKENS = len(REPLY.split(" "))  # the stand-in streams a word a chunk


@pytest.fixture
def standin() -> Iterator[StandinUpstream]:
    with standin_in_thread() as server:
        yield server


@pytest.fixture
def sized_standin() -> Iterator[StandinUpstream]:
    """A stand-in that says its context length in /models, as vLLM does."""
    with standin_in_thread(max_model_len=8192) as server:
        yield server


@pytest.fixture
def platform(
    tmp_path: Path, db_url: str, standin: StandinUpstream, sized_standin: StandinUpstream
) -> Iterator[LiveServer]:
    models = tmp_path / "models.toml"
    models.write_text(
        "\n".join(
            [
                # as in the README's example: no context_length, no default_max_tokens
                '[[models]]\nname = "plain"\nengine = "upstream"',
                f'url = "{standin.base_url}"\nupstream_model = "standin"\nhealth_interval_s = 0',
                '[[models]]\nname = "small"\nengine = "upstream"',
                f'url = "{standin.base_url}"\nupstream_model = "standin"\nhealth_interval_s = 0',
                "context_length = 64\ndefault_max_tokens = 16",
                '[[models]]\nname = "reported"\nengine = "upstream"',
                f'url = "{sized_standin.base_url}"\nupstream_model = "standin"',
                "health_interval_s = 0",
            ]
        ),
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path, database_url=db_url, models_file=models)
    with live_server(settings) as live:
        yield live


def budgeted_key(platform: LiveServer, tenant: str, tokens_per_day: int) -> str:
    key = platform.create_key(tenant)
    with platform.admin() as admin:
        limits = {"tokens_per_day": tokens_per_day}
        admin.put(f"/admin/limits/tenant/{tenant}", json=limits).raise_for_status()
    return key


def chat(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **fields}


async def streamed(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and, for a 200, the text, finish reason and usage of a streamed answer."""
    stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    async with client.stream("POST", "/v1/chat/completions", json=stream_body) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, response.json()
        text, finish, usage = [], None, None
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            event = orjson.loads(line[6:])
            for choice in event.get("choices") or ():
                text.append(choice["delta"].get("content") or "")
                finish = choice["finish_reason"] or finish
            usage = event.get("usage") or usage
        return 200, {"text": "".join(text), "finish_reason": finish, "usage": usage}


def client_for(platform: LiveServer, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=platform.base_url,
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
        limits=httpx.Limits(max_connections=100),
    )


async def test_concurrent_streams_without_max_tokens_stay_within_the_budget(
    platform: LiveServer,
) -> None:
    """The issue's reproduction: 100 concurrent streamed chats, no max_tokens, an upstream
    model with no configured context, a budget of 1,000 tokens a day."""
    key = budgeted_key(platform, "concurrent", 1000)
    async with client_for(platform, key) as client:
        results = await asyncio.gather(*(streamed(client, chat("plain")) for _ in range(100)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) > 0
    used = sum(answer["usage"]["total_tokens"] for status, answer in results if status == 200)
    assert 0 < used <= 1000


async def test_a_default_reservation_admits_small_requests_under_a_small_budget(
    platform: LiveServer,
) -> None:
    """With a context length set and no max_tokens, requests reserve the model's
    default_max_tokens, not the whole context: most of a 1,000-token budget gets used."""
    key = budgeted_key(platform, "sequential", 1000)
    async with client_for(platform, key) as client:
        results = [await streamed(client, chat("small")) for _ in range(60)]
    served = [answer for status, answer in results if status == 200]
    assert len(served) >= 40  # 22 tokens each (12 prompt + 10 answer) against 1,000
    assert all(answer["text"] == REPLY for answer in served)
    assert sum(answer["usage"]["total_tokens"] for answer in served) <= 1000
    assert {status for status, _ in results} == {200, 429}


async def test_a_stream_is_cut_at_what_was_reserved(platform: LiveServer) -> None:
    """The stand-in ignores max_tokens and sends its whole reply: the gateway stops it."""
    key = platform.create_key("cut")
    async with client_for(platform, key) as client:
        status, answer = await streamed(client, chat("plain", max_tokens=3))
        assert status == 200
        assert answer["finish_reason"] == "length"
        assert answer["text"] == " ".join(REPLY.split(" ")[:3])
        assert answer["usage"]["completion_tokens"] == 3
        status, whole = await streamed(client, chat("plain", max_tokens=NUM_REPLY_TOKENS))
        assert status == 200 and whole["text"] == REPLY and whole["finish_reason"] == "stop"


async def test_prompts_and_max_tokens_are_checked_against_the_upstream_context(
    platform: LiveServer,
) -> None:
    key = platform.create_key("context")
    async with client_for(platform, key) as client:
        long_prompt = {"role": "user", "content": "word " * 200}  # ~250 tokens > 64
        for stream in (False, True):
            refused = await client.post(
                "/v1/chat/completions",
                json={**chat("small", messages=[long_prompt]), "stream": stream},
            )
            assert refused.status_code == 400, refused.text
            error = refused.json()["error"]
            assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")
            assert "64" in error["message"]
        too_many = await client.post("/v1/chat/completions", json=chat("small", max_tokens=100))
        assert too_many.status_code == 400
        assert too_many.json()["error"]["param"] == "max_tokens"
        fits = await client.post("/v1/chat/completions", json=chat("small", max_tokens=40))
        assert fits.status_code == 200


async def test_members_see_ids_owners_and_context_lengths_only(platform: LiveServer) -> None:
    key = platform.create_key("viewer")
    async with client_for(platform, key) as client:
        listing = await client.get("/v1/models")
        one = await client.get("/v1/models/reported")
    assert listing.status_code == one.status_code == 200
    entries = {entry["id"]: entry for entry in listing.json()["data"]}
    assert set(entries) == {"plain", "small", "reported"}
    for entry in [*entries.values(), one.json()]:
        assert set(entry) == {"id", "object", "created", "owned_by", "context_length"}
    assert entries["small"]["context_length"] == 64  # configured
    assert entries["reported"]["context_length"] == 8192  # the upstream's max_model_len
    assert entries["plain"]["context_length"] == 4096  # neither: the conservative default
    assert "127.0.0.1" not in listing.text and "replicas" not in listing.text
    with platform.admin() as admin:  # operators see the engine through the admin API
        details = {m["name"]: m for m in admin.get("/admin/models").json()}
    assert details["plain"]["replicas"][0]["url"].startswith("http://127.0.0.1:")
