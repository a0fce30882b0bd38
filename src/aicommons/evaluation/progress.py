"""Progress reporting for the runner: any object with ``update(n)`` and ``close()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


ProgressFactory = Callable[[int, str], ProgressBar]


class SilentProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def silent(total: int, description: str) -> ProgressBar:
    return SilentProgress()


def terminal(total: int, description: str) -> ProgressBar:
    """A tqdm bar on stderr, counting requests (cached ones included)."""
    from tqdm import tqdm

    bar: ProgressBar = tqdm(total=total, desc=description, unit="req", dynamic_ncols=True)
    return bar
