"""Meters: RAPL on a fake sysfs tree, the CPU estimate on real work, selection."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aicommons.energy.meters import (
    EstimateMeter,
    MeterUnavailableError,
    NvmlMeter,
    RaplMeter,
    find_rapl_domains,
    select_meter,
)
from aicommons.errors import ConfigError

MAX_RANGE_UJ = 262_143_328_850


def make_zone(root: Path, name: str, label: str, energy_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(f"{label}\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    return zone


def set_energy(zone: Path, energy_uj: int) -> None:
    (zone / "energy_uj").write_text(f"{energy_uj}\n")


def test_rapl_reads_package_zones_and_skips_subdomains(tmp_path: Path) -> None:
    package = make_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    dram = make_zone(tmp_path, "intel-rapl:0:0", "dram", 5_000_000)
    meter = RaplMeter(tmp_path)
    assert [d.name for d in meter.domains] == ["package-0"]
    assert meter.method == "rapl(package-0)"
    token = meter.start()
    set_energy(package, 3_500_000)
    set_energy(dram, 9_000_000)  # inside the package already: must not be added
    assert meter.stop(token) == pytest.approx(2.5)


def test_rapl_undoes_wrap_around(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", "package-0", MAX_RANGE_UJ - 1_000_000)
    meter = RaplMeter(tmp_path)
    token = meter.start()
    set_energy(zone, 2_000_000)  # went past max_energy_range_uj and restarted from 0
    assert meter.stop(token) == pytest.approx(3.0)


def test_rapl_sums_sockets_and_laps_without_a_gap(tmp_path: Path) -> None:
    first = make_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    second = make_zone(tmp_path, "intel-rapl:1", "package-1", 10_000_000)
    meter = RaplMeter(tmp_path)
    token = meter.start()
    set_energy(first, 1_000_000)
    set_energy(second, 12_000_000)
    joules, token = meter.lap(token)
    assert joules == pytest.approx(3.0)
    set_energy(first, 1_500_000)
    assert meter.stop(token) == pytest.approx(0.5)


def test_rapl_unreadable_counter_is_unavailable(tmp_path: Path) -> None:
    zone = tmp_path / "intel-rapl:0"
    (zone / "energy_uj").mkdir(parents=True)  # present but not a readable file
    (zone / "max_energy_range_uj").write_text(f"{MAX_RANGE_UJ}\n")
    assert find_rapl_domains(tmp_path) == []
    with pytest.raises(MeterUnavailableError):
        RaplMeter(tmp_path)


def test_rapl_absent_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailableError):
        RaplMeter(tmp_path / "powercap")


def test_estimate_meter_measures_real_cpu_work() -> None:
    meter = EstimateMeter(watts_per_core=10.0)
    token = meter.start()
    data = b"x" * 1_000_000
    for _ in range(200):
        data = hashlib.sha256(data).digest() * 31_250
    joules = meter.stop(token)
    assert joules > 0.0
    assert meter.method == "estimate_cpu_time_x_tdp(10 W/core)"


def test_estimate_meter_scales_with_the_tdp_setting() -> None:
    low, high = EstimateMeter(1.0), EstimateMeter(100.0)
    counters = low.start().counters
    later = (counters[0] + 2.0,)
    assert low._joules(counters, later) == pytest.approx(2.0)
    assert high._joules(counters, later) == pytest.approx(200.0)


def test_nvml_is_detected_cleanly_when_absent() -> None:
    try:
        meter = NvmlMeter()
    except MeterUnavailableError:
        return  # no nvidia-ml-py or no driver here: a clean refusal
    assert meter.method.startswith("nvml(")


def test_auto_selection_falls_back_to_a_working_meter(tmp_path: Path) -> None:
    meter = select_meter("auto", watts_per_core=3.0, rapl_root=tmp_path)
    assert meter.method.startswith(("nvml(", "estimate_cpu_time_x_tdp(3 W/core)"))


def test_auto_selection_prefers_rapl_over_the_estimate(tmp_path: Path) -> None:
    make_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    meter = select_meter("auto", rapl_root=tmp_path)
    assert meter.method.startswith(("nvml(", "rapl("))


def test_explicit_meter_choice_is_honoured_or_refused(tmp_path: Path) -> None:
    assert select_meter("estimate").method.startswith("estimate")
    with pytest.raises(ConfigError, match="not available"):
        select_meter("rapl", rapl_root=tmp_path)
    with pytest.raises(ConfigError, match="must be one of"):
        select_meter("wattmeter")


class FakeNvml:
    """Stands in for the third-party ``pynvml`` module: two GPUs whose counters (mJ) we set."""

    def __init__(self) -> None:
        self.millijoules = [1_000_000, 5_000_000]

    def nvmlInit(self) -> None:  # noqa: N802 - NVML's names
        return None

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.millijoules)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes:  # noqa: N802
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:  # noqa: N802
        return self.millijoules[handle]


def test_nvml_sums_gpus_in_joules(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    fake = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    meter = NvmlMeter()
    assert meter.method == "nvml(2x NVIDIA H100 80GB HBM3)"
    token = meter.start()
    fake.millijoules = [1_250_000, 5_500_000]
    assert meter.stop(token) == pytest.approx(750.0)
    assert select_meter("auto").method.startswith("nvml(")
