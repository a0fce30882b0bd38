"""Stop-sequence matching over streamed text, holding back what could begin a stop."""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Feed text piece by piece; get back what is safe to emit and whether a stop was hit.

    Text that ends with the beginning of a stop sequence is held back until the next piece
    shows whether the stop completes, so a client never sees part of a stop sequence.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Add ``text``; return (text safe to emit, whether generation must stop)."""
        if not self._stops:
            return text, False
        pending = self._pending + text
        first = min((i for i in (pending.find(s) for s in self._stops) if i >= 0), default=-1)
        if first >= 0:
            self._pending = ""
            return pending[:first], True
        hold = self._longest_stop_prefix_suffix(pending)
        self._pending = pending[len(pending) - hold :] if hold else ""
        return pending[: len(pending) - hold], False

    def flush(self) -> str:
        """Release held-back text at the end of generation."""
        pending, self._pending = self._pending, ""
        return pending

    def _longest_stop_prefix_suffix(self, text: str) -> int:
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:size]):
                    longest = size
                    break
        return longest
