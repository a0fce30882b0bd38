"""MeterStage with the real gateway and the real SmolLM2, and on a live server."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
import pytest

from aicommons.config import Settings
from aicommons.energy.carbon import grid_intensity
from aicommons.energy.meters import RaplMeter
from aicommons.energy.stage import MeterStage
from aicommons.engines.base import ChatMessage, GenerationRequest, SamplingParams
from aicommons.gateway.auth import Principal
from aicommons.gateway.pipeline import RequestContext
from aicommons.services import Services
from aicommons.testing.live import LiveServer
from tests.energy.test_meters import make_zone, set_energy

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m-instruct"
PRINCIPAL = Principal(key_id="key_test", tenant_id="ten_test", tenant_name="tests")


def chat(max_tokens: int) -> GenerationRequest:
    messages = (ChatMessage("user", "Name three colours."),)
    return GenerationRequest(MODEL, SamplingParams(max_tokens=max_tokens), messages=messages)


def meter_of(services: Services) -> MeterStage:
    (stage,) = [s for s in services.gateway.stages if isinstance(s, MeterStage)]
    return stage


async def test_every_request_gets_an_energy_record(settings: Settings) -> None:
    settings = settings.model_copy(update={"load_embeddings": False, "grid_country": "PL"})
    services = await Services.start(settings)
    try:
        ctx = RequestContext(principal=PRINCIPAL, model=MODEL, kind="chat")
        await services.gateway.generate(ctx, chat(12))
        energy = ctx.annotations["energy"]
        assert energy["joules"] > 0.0
        assert energy["method"] == meter_of(services).meter.method
        assert energy["grid_country"] == "PL" and energy["grid_g_per_kwh"] == 662.0
        assert energy["gco2e"] == pytest.approx(energy["joules"] / 3.6e6 * 662.0, rel=1e-3)
        assert ctx.response_fields["energy"]["joules"] == energy["joules"]
    finally:
        await services.close()


async def test_concurrent_requests_share_the_metered_energy(settings: Settings) -> None:
    settings = settings.model_copy(update={"load_embeddings": False})
    services = await Services.start(settings)
    try:
        stage = meter_of(services)
        contexts = [RequestContext(principal=PRINCIPAL, model=MODEL, kind="chat") for _ in "abc"]
        streamed = contexts[0]

        async def stream_one() -> None:
            async for _ in services.gateway.stream(streamed, chat(16)):
                pass

        await asyncio.gather(
            stream_one(), *(services.gateway.generate(c, chat(16)) for c in contexts[1:])
        )
        joules = [c.annotations["energy"]["joules"] for c in contexts]
        assert all(j > 0.0 for j in joules)
        shares = stage.attribution
        # Nothing is counted twice: requests plus idle add up to what the meter read.
        assert sum(joules) + shares.idle_joules == pytest.approx(shares.total_joules, rel=1e-4)
    finally:
        await services.close()


def test_live_request_reports_its_energy(server: LiveServer, member_key: str) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        client.post("/ui/login", data={"key": member_key, "next": "/ui/playground"})
        page = client.get("/ui/playground")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf is not None
        body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}
        with client.stream(
            "POST", "/ui/api/chat", json=body, headers={"x-csrf-token": csrf.group(1)}
        ) as response:
            assert response.status_code == 200
            events = [
                json.loads(line.removeprefix("data: "))
                for line in response.iter_lines()
                if line.startswith("data: {")
            ]
    (done,) = [e for e in events if e.get("done")]
    energy = done["energy"]
    assert energy["joules"] > 0.0
    assert energy["method"]
    assert energy["grid_country"] == "FR" and energy["grid_g_per_kwh"] == 56.0
    assert energy["gco2e"] > 0.0


async def test_unknown_grid_country_stops_start_up(settings: Settings) -> None:
    from aicommons.errors import ConfigError

    with pytest.raises(ConfigError, match="AICOMMONS_GRID_INTENSITY_G_PER_KWH"):
        await Services.start(settings.model_copy(update={"grid_country": "XX"}))
    custom = settings.model_copy(update={"grid_country": "XX", "grid_intensity_g_per_kwh": 12.5})
    stage = MeterStage.from_settings(custom)
    assert (stage.grid.country, stage.grid.g_per_kwh) == ("XX", 12.5)


@pytest.mark.parametrize("fast", [True, False], ids=["read-on-loop", "read-in-thread"])
async def test_a_meter_fault_never_fails_a_request(tmp_path: Path, fast: bool) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    meter = RaplMeter(tmp_path)
    meter.fast = fast  # a slow meter (NVML) is read in a worker thread under the stage's lock
    stage = MeterStage(meter, grid_intensity("FR"))
    first = RequestContext(principal=PRINCIPAL, model=MODEL, kind="chat")
    await stage.admit(first)
    first.dispatched_at = time.perf_counter()
    (zone / "energy_uj").unlink()  # the counter vanishes (driver unloaded, permissions)
    first.finished_at = time.perf_counter()
    await stage.finish(first)
    assert first.annotations["energy"]["joules"] == 0.0
    # Once the counter is back, the energy since the last good read is not lost.
    second = RequestContext(principal=PRINCIPAL, model=MODEL, kind="chat")
    await stage.admit(second)
    second.dispatched_at = time.perf_counter()
    set_energy(zone, 2_000_000)
    second.finished_at = time.perf_counter()
    await stage.finish(second)
    assert second.annotations["energy"]["joules"] == pytest.approx(2.0)
    assert second.annotations["energy"]["method"] == "rapl(package-0)"
