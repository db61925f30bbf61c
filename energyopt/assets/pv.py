"""Photovoltaic array; available power from pvlib, curtailable.

Available AC power ``available_kw[t]`` comes from the site weather through
the PVWatts chain in :func:`energyopt.weather.pv_power_kw`. The dispatched
power is ``power_kw[t] <= available_kw[t]`` (curtailable) or equal to it.

Defaults: 14 % system losses (PVWatts default), 0.96 inverter efficiency,
-0.37 %/K temperature coefficient (crystalline silicon).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
import pyomo.environ as pyo
from pydantic import Field

from energyopt.assets.base import (
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
    register,
    values,
)
from energyopt.assets.declarations import curtailment_limit_setpoint
from energyopt.weather import pv_power_kw

#: baseline penalty on curtailed PV energy, far above any energy price [EUR/kWh]
BASELINE_CURTAIL_PENALTY_EUR_PER_KWH = 10.0


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
class Pv(Asset):
    """PV array."""

    kind = "pv"
    boundary_column = "power_kw"
    generation_kpi = "pv"
    setpoints = {"power_limit_kw": curtailment_limit_setpoint()}
    Params = PvParams
    params: PvParams

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        T = b.model().T
        available = self.series_param(b, "available_kw", ctx, self.available_kw)
        b.power_kw = pyo.Var(T, bounds=(0, self.params.peak_power_kwp))
        if self.params.curtailable:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] <= available[t])
        else:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] == available[t])
        return AssetTerms(injections={"electricity": {t: b.power_kw[t] for t in T}})

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

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """PV follows the actual weather; nothing to hold to a plan."""
        return {}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext):
        """Not curtailed: a penalty on curtailed energy [EUR] (10 EUR/kWh).

        Fixing the output to the available power would make a plan infeasible
        where the grid connection cannot take a surplus; the penalty curtails
        only there, as an inverter limited by the grid operator would.
        """
        T = b.model().T
        return (
            BASELINE_CURTAIL_PENALTY_EUR_PER_KWH
            * ctx.dt_h
            * sum(b.available_kw[t] - b.power_kw[t] for t in T)
        )

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        n = ctx.n_steps
        power = values(b.power_kw, n)
        available = values(b.available_kw, n)
        return pd.DataFrame(
            {
                "power_kw": power,
                "available_kw": available,
                "curtailed_kw": available - power,
            },
            index=ctx.index,
        )
