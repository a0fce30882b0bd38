"""Grid carbon intensity and the joules -> gCO2e conversion.

The table holds location-based, lifecycle intensities in gCO2e/kWh for 2023 from Our World in
Data's ``carbon-intensity-electricity`` series (built on Ember's yearly electricity data,
CC BY 4.0), as bundled in CodeCarbon's ``global_energy_mix.json``; the world figure is Ember's
2023 value. Only countries whose figure we have checked are listed; others need the override
(AICOMMONS_GRID_INTENSITY_G_PER_KWH), for example from Ember or the Electricity Maps portal.
"""

from __future__ import annotations

from dataclasses import dataclass

from aicommons.errors import ConfigError

SOURCE = "Our World in Data carbon-intensity-electricity (Ember), via CodeCarbon"
YEAR = 2023
BASIS = "location-based lifecycle"
JOULES_PER_KWH = 3.6e6

# ISO 3166-1 alpha-2 code -> gCO2e/kWh (OWID/Ember, 2023).
GRID_G_PER_KWH: dict[str, float] = {
    "NO": 30.0,
    "FR": 56.0,
    "GB": 238.0,
    "US": 369.0,
    "DE": 381.0,
    "CN": 582.0,
    "PL": 662.0,
    "IN": 713.0,
    "WORLD": 481.0,  # Ember 2023 world average
}
_ALIASES = {"UK": "GB", "NOR": "NO", "FRA": "FR", "GBR": "GB", "USA": "US", "DEU": "DE",
            "CHN": "CN", "POL": "PL", "IND": "IN", "WLD": "WORLD"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GridIntensity:
    """How much CO2e one kWh from this grid carries, and where the figure comes from."""

    country: str
    g_per_kwh: float
    source: str
    year: int | None
    basis: str

    def gco2e(self, joules: float) -> float:
        """Grams of CO2e for ``joules`` of electricity from this grid."""
        return joules / JOULES_PER_KWH * self.g_per_kwh


def grid_intensity(country: str, override_g_per_kwh: float | None = None) -> GridIntensity:
    """The intensity for ``country``; an override replaces the table (any country)."""
    code = country.strip().upper()
    code = _ALIASES.get(code, code)
    if override_g_per_kwh is not None:
        if override_g_per_kwh < 0:
            raise ConfigError("grid_intensity_g_per_kwh must not be negative")
        return GridIntensity(code, override_g_per_kwh, "operator setting", None, "as configured")
    if code not in GRID_G_PER_KWH:
        known = ", ".join(sorted(GRID_G_PER_KWH))
        raise ConfigError(
            f"no grid carbon intensity for {country!r} (known: {known}); "
            "set AICOMMONS_GRID_INTENSITY_G_PER_KWH"
        )
    return GridIntensity(code, GRID_G_PER_KWH[code], SOURCE, YEAR, BASIS)
