"""Energy meters behind one small contract: ``start()`` -> token, ``stop(token)`` -> joules.

Three kinds, best first:

- ``nvml``: the GPU's own total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ
  since the driver loaded), summed over all visible GPUs. Windows shorter than the counter's
  update interval (about 100 ms) can read 0; cumulative deltas still add up over time.
- ``rapl``: the CPU packages' RAPL counters under ``/sys/class/powercap/intel-rapl:N``
  (package domains only, so that core/DRAM subdomains are not counted twice), with the
  wrap-around at ``max_energy_range_uj`` undone.
- ``estimate``: this process's CPU time (all its threads, llama.cpp's included) times a
  per-core power figure; ``method`` records the figure used. It ignores GPU, RAM and idle power.

Reads are cheap (a syscall, a sysfs file, an NVML call) but the gateway still makes them from a
worker thread, never from the event loop.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aicommons.errors import ConfigError

logger = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
METER_KINDS = ("auto", "nvml", "rapl", "estimate")


class MeterUnavailableError(Exception):
    """This meter cannot run here (no driver, no readable counter)."""


@dataclass(frozen=True, slots=True)
class MeterToken:
    """One reading of a meter's cumulative counters."""

    counters: tuple[float, ...]
    at: float


class EnergyMeter(Protocol):
    """Measures the energy used between ``start`` and ``stop``."""

    @property
    def method(self) -> str: ...

    @property
    def fast(self) -> bool: ...

    def start(self) -> MeterToken: ...

    def stop(self, token: MeterToken) -> float: ...

    def lap(self, token: MeterToken) -> tuple[float, MeterToken]: ...


class CounterMeter:
    """A meter over cumulative counters: subclasses say how to read them and how to diff."""

    method = "counter"
    # A fast meter is read in microseconds (a clock, a small sysfs file) and may be read on
    # the event loop; a slow one (a driver call) is read in a worker thread.
    fast = False

    def _read(self) -> tuple[float, ...]:
        raise NotImplementedError

    def _joules(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        return sum(e - s for s, e in zip(start, end, strict=True))

    def start(self) -> MeterToken:
        return MeterToken(self._read(), time.perf_counter())

    def stop(self, token: MeterToken) -> float:
        """Joules since ``token`` was taken."""
        return self.lap(token)[0]

    def lap(self, token: MeterToken) -> tuple[float, MeterToken]:
        """Joules since ``token`` and a new token taken at the same instant (no gap)."""
        now = self.start()
        return max(0.0, self._joules(token.counters, now.counters)), now


class EstimateMeter(CounterMeter):
    """CPU seconds of this process times a power per core (a TDP-per-core model)."""

    def __init__(self, watts_per_core: float = 4.0) -> None:
        if watts_per_core <= 0:
            raise ConfigError("cpu_watts_per_core must be positive")
        self.watts_per_core = watts_per_core
        self.method = f"estimate_cpu_time_x_tdp({watts_per_core:g} W/core)"
        self.fast = True

    def _read(self) -> tuple[float, ...]:
        # process_time counts every thread of the process, llama.cpp's worker threads included.
        return (time.process_time(),)

    def _joules(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        return (end[0] - start[0]) * self.watts_per_core


@dataclass(frozen=True, slots=True)
class RaplDomain:
    name: str
    energy_file: Path
    max_range_uj: int


class RaplMeter(CounterMeter):
    """The RAPL package counters, in microjoules, with wrap-around undone."""

    method = "rapl"
    fast = True

    def __init__(self, root: Path = POWERCAP) -> None:
        self.domains = find_rapl_domains(root)
        if not self.domains:
            raise MeterUnavailableError(f"no readable RAPL package counter under {root}")
        names = "+".join(d.name for d in self.domains)
        self.method = f"rapl({names})"

    def _read(self) -> tuple[float, ...]:
        return tuple(float(d.energy_file.read_text().strip()) for d in self.domains)

    def _joules(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        total_uj = 0.0
        for domain, s, e in zip(self.domains, start, end, strict=True):
            # The counter restarts from 0 after max_energy_range_uj; one wrap per window at
            # most, which holds for windows under a minute on any package (tens of minutes).
            total_uj += e - s if e >= s else e + domain.max_range_uj - s
        return total_uj / 1e6


def find_rapl_domains(root: Path = POWERCAP) -> list[RaplDomain]:
    """Top-level RAPL zones (``intel-rapl:0``, ``intel-rapl:1``) whose counter we can read."""
    domains = []
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:
            continue  # a subdomain (core, uncore, dram) is already inside its package
        try:
            (zone / "energy_uj").read_text()
            max_range = int((zone / "max_energy_range_uj").read_text().strip())
            label = (zone / "name").read_text().strip() if (zone / "name").exists() else zone.name
        except (OSError, ValueError):
            continue  # often root-only; then this zone is not ours to read
        domains.append(RaplDomain(label, zone / "energy_uj", max_range))
    return domains


class NvmlMeter(CounterMeter):
    """The GPUs' total-energy counters (mJ), summed; needs the ``nvidia-ml-py`` package."""

    method = "nvml"

    def __init__(self, indices: Sequence[int] | None = None) -> None:
        self._nvml = _load_nvml()
        try:
            count = int(self._nvml.nvmlDeviceGetCount())
            wanted = list(indices) if indices is not None else list(range(count))
            self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in wanted]
            names = [_text(self._nvml.nvmlDeviceGetName(h)) for h in self._handles]
            self._read()
        except Exception as exc:
            raise MeterUnavailableError(f"NVML energy counter unreadable: {exc}") from exc
        if not self._handles:
            raise MeterUnavailableError("NVML sees no GPU")
        self.method = f"nvml({len(names)}x {names[0]})"

    def _read(self) -> tuple[float, ...]:
        return tuple(
            float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles
        )

    def _joules(self, start: tuple[float, ...], end: tuple[float, ...]) -> float:
        return super()._joules(start, end) / 1e3


def _load_nvml() -> Any:
    try:
        nvml = importlib.import_module("pynvml")
    except ImportError as exc:
        raise MeterUnavailableError("nvidia-ml-py is not installed") from exc
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        raise MeterUnavailableError(f"NVML did not start: {exc}") from exc
    return nvml


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def select_meter(
    kind: str = "auto", *, watts_per_core: float = 4.0, rapl_root: Path = POWERCAP
) -> EnergyMeter:
    """The meter asked for, or with ``auto`` the best one that works here."""
    if kind not in METER_KINDS:
        raise ConfigError(f"energy_meter must be one of {', '.join(METER_KINDS)}, not {kind!r}")
    if kind == "estimate":
        return EstimateMeter(watts_per_core)
    builders: dict[str, Callable[[], EnergyMeter]] = {
        "nvml": NvmlMeter,
        "rapl": lambda: RaplMeter(rapl_root),
    }
    for name in ["nvml", "rapl"] if kind == "auto" else [kind]:
        try:
            return builders[name]()
        except MeterUnavailableError as exc:
            if kind != "auto":
                raise ConfigError(f"energy meter {kind!r} is not available here: {exc}") from exc
            logger.info("energy meter %s unavailable: %s", name, exc)
    return EstimateMeter(watts_per_core)
