"""The metering stage: energy and gCO2e for every request, from dispatch to finish.

It reads the meter (in a worker thread) when a request is admitted and when one finishes, and
shares each window's energy among the requests that ran in it (see `attribution`). The result
goes to ``ctx.annotations["energy"]`` for the ledger and the dashboard, and to the response
body as a top-level ``energy`` field.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aicommons.config import Settings
from aicommons.energy.attribution import ATTRIBUTION_VERSION, Span, WindowAttribution
from aicommons.energy.carbon import GridIntensity, grid_intensity
from aicommons.energy.meters import EnergyMeter, MeterToken, select_meter
from aicommons.gateway.pipeline import RequestContext, Stage

logger = logging.getLogger(__name__)


class MeterStage(Stage):
    """Measures each request's energy and carbon; never refuses a request."""

    def __init__(self, meter: EnergyMeter, grid: GridIntensity) -> None:
        self.meter = meter
        self.grid = grid
        self.attribution = WindowAttribution()
        self._lock = asyncio.Lock()
        self._token: MeterToken | None = None
        self._live: dict[str, RequestContext] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> MeterStage:
        meter = select_meter(settings.energy_meter, watts_per_core=settings.cpu_watts_per_core)
        return cls(meter, grid_intensity(settings.grid_country, settings.grid_intensity_g_per_kwh))

    async def admit(self, ctx: RequestContext) -> None:
        await self._close_window()
        # The energy so far belonged to the requests already running; now this one joins.
        self._live[ctx.id] = ctx
        self.attribution.open(ctx.id)

    async def finish(self, ctx: RequestContext) -> None:
        try:
            await self._close_window()
        finally:  # even if cancelled while waiting, stop accounting for this request
            self._live.pop(ctx.id, None)
            joules = self.attribution.close(ctx.id)
        record = self.record(joules)
        ctx.annotations["energy"] = record
        ctx.response_fields["energy"] = {
            k: record[k] for k in ("joules", "gco2e", "method", "grid_country")
        }

    def record(self, joules: float) -> dict[str, Any]:
        """The energy record of one request that used ``joules``."""
        return {
            "joules": round(joules, 6),
            "method": self.meter.method,
            "gco2e": round(self.grid.gco2e(joules), 9),
            "grid_country": self.grid.country,
            "grid_g_per_kwh": self.grid.g_per_kwh,
            "grid_source": self.grid.source,
            "grid_year": self.grid.year,
            "attribution": ATTRIBUTION_VERSION,
        }

    async def _close_window(self) -> None:
        """Read the meter and share the energy since the last read among the running requests."""
        if self.meter.fast:  # read in microseconds on the loop: no await, so no lock needed
            self._advance(self._read())
            return
        async with self._lock:
            self._advance(await asyncio.to_thread(self._read))

    def _read(self) -> tuple[MeterToken, float] | None:
        """A new reading and the joules since the last one; None if the meter failed."""
        try:
            if self._token is None:
                return self.meter.start(), 0.0
            joules, token = self.meter.lap(self._token)
        except Exception:
            # A meter fault must not fail requests; the next good read covers this window.
            logger.warning("energy meter %s could not be read", self.meter.method, exc_info=True)
            return None
        return token, joules

    def _advance(self, reading: tuple[MeterToken, float] | None) -> None:
        if reading is None:
            return
        previous, (self._token, joules) = self._token, reading
        if previous is not None:
            self.attribution.close_window(joules, previous.at, self._token.at, self._spans())

    def _spans(self) -> dict[str, Span]:
        return {
            rid: Span(ctx.dispatched_at, ctx.finished_at)
            for rid, ctx in self._live.items()
            if ctx.dispatched_at is not None
        }
