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
        if self.meter.fast:  # no await: no lock needed, and no thread hop on the hot path
            self._close_window_now()
        else:
            async with self._lock:
                await self._close_window()
        # The energy so far belonged to the requests already running; now this one joins.
        self._live[ctx.id] = ctx
        self.attribution.open(ctx.id)

    async def finish(self, ctx: RequestContext) -> None:
        try:
            if self.meter.fast:
                self._close_window_now()
            else:
                async with self._lock:
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

    def _close_window_now(self) -> None:
        """`_close_window` for a fast meter, read on the event loop."""
        try:
            if self._token is None:
                self._token = self.meter.start()
                return
            start = self._token.at
            joules, self._token = self.meter.lap(self._token)
        except Exception:
            logger.warning("energy meter %s could not be read", self.meter.method, exc_info=True)
            return
        self.attribution.close_window(joules, start, self._token.at, self._spans())

    async def _close_window(self) -> None:
        """Read the meter and share the energy since the last read; call under the lock."""
        if self._token is None:
            try:
                self._token = await asyncio.to_thread(self.meter.start)
            except Exception:
                logger.warning("energy meter %s could not start", self.meter.method, exc_info=True)
            return
        start = self._token.at
        try:
            joules, token = await asyncio.to_thread(self.meter.lap, self._token)
        except Exception:
            # A meter fault must not fail requests; the next good read covers this window.
            logger.warning("energy meter %s could not be read", self.meter.method, exc_info=True)
            return
        self._token = token
        self.attribution.close_window(joules, start, token.at, self._spans())

    def _spans(self) -> dict[str, Span]:
        return {
            rid: Span(ctx.dispatched_at, ctx.finished_at)
            for rid, ctx in self._live.items()
            if ctx.dispatched_at is not None
        }
