"""Sharing metered energy among concurrent requests.

The meter is read whenever a request is admitted or finishes; the energy between two reads is
one *window*. A window's energy is split among the requests that ran during it, in proportion
to how long each ran inside the window (from its dispatch to its end). A window in which no
request ran goes to ``idle_joules``. Every metered joule therefore lands on exactly one request
or on idle: the sum over requests plus idle equals the metered total (conservation).

Why running time and not tokens: non-streamed answers report all their tokens at the end, so
a per-window token split would hand a whole window to whichever request happened to stream in
it; and the embedded engine runs its slots side by side with equal threads each, so equal
power per running request is what the hardware does. Version ``time_share_v1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ATTRIBUTION_VERSION = "time_share_v1"


@dataclass(frozen=True, slots=True)
class Span:
    """When a request ran: from dispatch to its end (``None`` while it still runs)."""

    since: float
    until: float | None = None

    def overlap(self, start: float, end: float) -> float:
        stop = end if self.until is None else min(end, self.until)
        return max(0.0, stop - max(start, self.since))


class WindowAttribution:
    """Splits each window's energy among the requests that ran in it, by running time."""

    def __init__(self) -> None:
        self._joules: dict[str, float] = {}
        self.idle_joules = 0.0
        self.total_joules = 0.0
        self.closed_joules = 0.0

    def open(self, request_id: str) -> None:
        """Start accounting for a request (admitted; it may not run yet)."""
        self._joules.setdefault(request_id, 0.0)

    def close_window(
        self, joules: float, start: float, end: float, spans: Mapping[str, Span]
    ) -> None:
        """Share ``joules`` metered over ``[start, end]`` among the open requests in ``spans``."""
        self.total_joules += joules
        weights = {
            rid: span.overlap(start, end) for rid, span in spans.items() if rid in self._joules
        }
        total = sum(weights.values())
        if total <= 0.0:
            self.idle_joules += joules
            return
        for rid, weight in weights.items():
            self._joules[rid] += joules * weight / total

    def close(self, request_id: str) -> float:
        """Stop accounting for a request and return the joules it was given."""
        joules = self._joules.pop(request_id, 0.0)
        self.closed_joules += joules
        return joules

    @property
    def open_joules(self) -> float:
        """Joules given to requests that have not closed yet."""
        return sum(self._joules.values())
