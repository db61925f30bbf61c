"""Units and the naming grammar.

Names read ``<quantity>[_<qualifier>...]_<unit>``: ``power_kw``,
``capacity_kwh``, ``price_eur_per_mwh``, ``co2_kg_per_kwh``, ``temp_air_degc``,
``soc_min_frac`` (fractions 0-1, never percent), ``dt_h``. Inside the model
everything is kW, kWh, EUR, kg and hours; the only conversions live here.
"""

from __future__ import annotations

KWH_PER_MWH = 1000.0
KG_PER_T = 1000.0
G_PER_KG = 1000.0
PCT_PER_FRAC = 100.0
ZERO_CELSIUS_K = 273.15
W_PER_KW = 1000.0
J_PER_KWH = 3_600_000.0
#: hours of a (non-leap) year: amounts over a period scale to a year by this per period hour
HOURS_PER_YEAR = 8760.0


def eur_per_mwh_to_eur_per_kwh(value):
    """Convert a price from EUR/MWh to EUR/kWh (scalar or array)."""
    return value / KWH_PER_MWH


def g_per_kwh_to_kg_per_kwh(value):
    """Convert an emission factor from g/kWh to kg/kWh (scalar or array)."""
    return value / G_PER_KG


def eur_per_t_to_eur_per_kg(value):
    """Convert a CO2 price from EUR/t to EUR/kg (scalar or array)."""
    return value / KG_PER_T


def pct_to_frac(value):
    """Convert a percentage (0-100) to a fraction (0-1)."""
    return value / PCT_PER_FRAC


def degc_to_k(value):
    """Convert a temperature from degrees Celsius to kelvin."""
    return value + ZERO_CELSIUS_K
