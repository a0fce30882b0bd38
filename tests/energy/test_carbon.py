"""Grid carbon intensity: the table, the override, the conversion."""

from __future__ import annotations

import pytest

from aicommons.energy.carbon import JOULES_PER_KWH, grid_intensity
from aicommons.errors import ConfigError


def test_one_kwh_in_france_and_poland() -> None:
    assert grid_intensity("FR").gco2e(JOULES_PER_KWH) == pytest.approx(56.0)
    assert grid_intensity("PL").gco2e(JOULES_PER_KWH) == pytest.approx(662.0)


def test_table_figures_name_their_source_and_year() -> None:
    france = grid_intensity("fra")
    assert france.country == "FR"
    assert france.year == 2023
    assert "Our World in Data" in france.source


def test_override_replaces_the_table_for_any_country() -> None:
    custom = grid_intensity("IS", override_g_per_kwh=28.0)
    assert custom.g_per_kwh == 28.0
    assert custom.source == "operator setting"
    assert custom.gco2e(3_600.0) == pytest.approx(0.028)


def test_unknown_country_without_override_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="AICOMMONS_GRID_INTENSITY_G_PER_KWH"):
        grid_intensity("XX")
