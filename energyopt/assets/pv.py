"""Photovoltaic array; available power from pvlib, curtailable (``_generator.py``).

Available AC power ``available_kw[t]`` comes from the site weather through
the PVWatts chain in :func:`energyopt.inputs.weather.pv_power_kw`. The dispatched
power is ``power_kw[t] <= available_kw[t]`` (curtailable) or equal to it.

Defaults: 14 % system losses (PVWatts default), 0.96 inverter efficiency,
-0.37 %/K temperature coefficient (crystalline silicon).

Sizing (``assets/sizing.py``): ``peak_power_kwp``, default 711 EUR/kWp
(commercial rooftop PV, 2030, plant reference §2.4; utility PV: 482 EUR/kWp)
over 40 a (technical lifetime of DEA sheet 22, rooftop PV commercial, in PyPSA
technology-data ``costs_2030.csv``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from energyopt.assets._generator import CurtailableGenerator
from energyopt.assets.base import (
    AssetParams,
    BuildContext,
    register,
)
from energyopt.assets.sizing import CapacityDefaults
from energyopt.inputs.weather import pv_power_kw


class PvParams(AssetParams):
    """PV array parameters."""

    type: Literal["pv"]
    peak_power_kwp: float = Field(gt=0, description="DC rating [kWp]")
    tilt_deg: float = Field(20.0, ge=0, le=90, description="module tilt [deg]")
    azimuth_deg: float = Field(180.0, ge=0, lt=360, description="180 = south [deg]")
    losses_frac: float = Field(0.14, ge=0, lt=1, description="system losses [frac]")
    inverter_efficiency: float = Field(0.96, gt=0, le=1)
    temp_coefficient_per_k: float = Field(-0.0037, le=0, description="[1/K]")
    curtailable: bool = True


@register
class Pv(CurtailableGenerator):
    """PV array."""

    kind = "pv"
    generation_kpi = "pv"
    Params = PvParams
    params: PvParams

    capacity_key = "peak_power_kwp"
    capacities = {
        "peak_power_kwp": CapacityDefaults(
            "kWp", 711.0, 40.0, "commercial rooftop PV, DEA via PyPSA technology-data (docstring)"
        )
    }

    @property
    def power_max_kw_per_unit(self) -> float:
        """The DC rating bounds the AC output: 1 kW per kWp [kW]."""
        return 1.0

    def available_kw(self, ctx: BuildContext):
        """AC power the array could deliver in each interval of the window [kW]."""
        p = self.params
        site = ctx.site
        return pv_power_kw(
            ctx.series,
            site.latitude,
            site.longitude,
            site.altitude_m,
            p.peak_power_kwp,
            p.tilt_deg,
            p.azimuth_deg,
            p.losses_frac,
            p.temp_coefficient_per_k,
            p.inverter_efficiency,
        )
