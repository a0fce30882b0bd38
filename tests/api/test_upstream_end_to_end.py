"""The upstream engine seen from a client: a stand-in behind AI Commons, and a second
AI Commons chained in front of the first one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from aicommons.config import Settings
from aicommons.testing.live import LiveServer, live_server
from aicommons.testing.standin import Behaviour, StandinUpstream, standin_in_thread

pytestmark = pytest.mark.slow


def write_models_file(folder: Path, entries: list[str]) -> Path:
    path = folder / "models.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


@pytest.fixture
def standin() -> Iterator[StandinUpstream]:
    with standin_in_thread() as server:
        yield server


@pytest.fixture
def front(tmp_path: Path, db_url: str, standin: StandinUpstream) -> Iterator[LiveServer]:
    """A platform whose only model is the stand-in, behind the upstream engine."""
    models = write_models_file(
        tmp_path,
        [
            "[[models]]",
            'name = "remote"',
            'engine = "upstream"',
            f'url = "{standin.base_url}"',
            "read_timeout_s = 1.0",
            "health_interval_s = 0",
        ],
    )
    settings = Settings(data_dir=tmp_path, database_url=db_url, models_file=models)
    with live_server(settings) as live:
        yield live


def test_upstream_dying_mid_stream_ends_with_an_error_event(
    front: LiveServer, standin: StandinUpstream
) -> None:
    standin.behaviour = Behaviour(die_after_chunks=3)
    key = front.create_key("t")
    body = {"model": "remote", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    with (
        httpx.Client(
            base_url=front.base_url, headers={"authorization": f"Bearer {key}"}, timeout=10
        ) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert '"error"' in events[-2] and "upstream_error" in events[-2]
    standin.behaviour = Behaviour()
    with httpx.Client(
        base_url=front.base_url, headers={"authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        assert (
            client.post("/v1/chat/completions", json={**body, "stream": False}).status_code == 200
        )


@pytest.mark.parametrize(
    ("behaviour", "status", "error_type"),
    [
        (Behaviour(fail_status=500), 502, "upstream_error"),
        (Behaviour(delay_s=3.0), 504, "timeout_error"),
    ],
)
def test_upstream_failures_map_to_gateway_statuses(
    front: LiveServer, standin: StandinUpstream, behaviour: Behaviour, status: int, error_type: str
) -> None:
    standin.behaviour = behaviour
    client = openai.OpenAI(
        base_url=f"{front.base_url}/v1", api_key=front.create_key("t"), max_retries=0
    )
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="remote", messages=[{"role": "user", "content": "Hi"}])
    assert caught.value.status_code == status
    assert caught.value.body["type"] == error_type  # type: ignore[index]


def test_unreachable_upstream_is_503(tmp_path: Path, db_url: str) -> None:
    models = write_models_file(
        tmp_path,
        [
            "[[models]]",
            'name = "remote"',
            'engine = "upstream"',
            'url = "http://127.0.0.1:9/v1"',
            "health_interval_s = 0",
        ],
    )
    with live_server(Settings(data_dir=tmp_path, database_url=db_url, models_file=models)) as live:
        client = openai.OpenAI(
            base_url=f"{live.base_url}/v1", api_key=live.create_key("t"), max_retries=0
        )
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="remote", messages=[{"role": "user", "content": "Hi"}]
            )
    assert caught.value.status_code == 503


def test_a_second_ai_commons_in_front_of_the_first(
    tmp_path: Path, db_url: str, server: LiveServer
) -> None:
    """The upstream engine pointed at another AI Commons serving the real SmolLM2."""
    inner_key = server.create_key("federation")
    models = write_models_file(
        tmp_path,
        [
            "[[models]]",
            'name = "smollm2-remote"',
            'engine = "upstream"',
            f'replicas = [{{url = "{server.base_url}/v1", api_key = "{inner_key}"}}]',
            'upstream_model = "smollm2-135m-instruct"',
            "context_length = 2048",
        ],
    )
    with live_server(Settings(data_dir=tmp_path, database_url=db_url, models_file=models)) as outer:
        client = openai.OpenAI(
            base_url=f"{outer.base_url}/v1", api_key=outer.create_key("t"), max_retries=0
        )
        reply = client.chat.completions.create(
            model="smollm2-remote",
            messages=[{"role": "user", "content": "Say hi."}],
            max_tokens=6,
            temperature=0,
        )
        direct = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=inner_key, max_retries=0)
        expected = direct.chat.completions.create(
            model="smollm2-135m-instruct",
            messages=[{"role": "user", "content": "Say hi."}],
            max_tokens=6,
            temperature=0,
        )
        assert reply.choices[0].message.content == expected.choices[0].message.content
        assert reply.usage is not None and reply.usage.completion_tokens == 6
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(
                model="smollm2-remote",
                messages=[{"role": "user", "content": "Say hi."}],
                max_tokens=6,
                temperature=0,
                stream=True,
            )
            if c.choices
        )
        assert streamed == expected.choices[0].message.content
