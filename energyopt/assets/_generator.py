"""Shared core of weather-driven generators (PV, wind): available power, curtailable.

A subclass supplies ``available_kw(ctx)`` (what the weather allows in each
interval [kW]) and ``power_max_kw`` (the nameplate bound of the output
variable [kW]); this base adds::

    power_kw[t] <= available_kw[t]     (curtailable: true)
    power_kw[t] == available_kw[t]     (curtailable: false)

injects ``power_kw`` into ``electricity``, and gives the dispatch columns
``power_kw``, ``available_kw`` and ``curtailed_kw``. The plan gives a
control system an output cap where it curtails; a replay follows the actual
weather (no setpoint to hold); the baseline curtails only where the grid
cannot take a surplus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.assets.base import Asset, AssetTerms, BuildContext, values
from energyopt.assets.declarations import curtailment_limit_setpoint

if TYPE_CHECKING:
    from energyopt.assets.pv import PvParams
    from energyopt.assets.wind import WindParams

#: baseline penalty on curtailed energy, far above any energy price [EUR/kWh]
BASELINE_CURTAIL_PENALTY_EUR_PER_KWH = 10.0


class CurtailableGenerator(Asset):
    """Base of generators whose available power comes from the site weather."""

    legend_section = "supply"

    params: PvParams | WindParams
    boundary_column = "power_kw"
    setpoints = {"power_limit_kw": curtailment_limit_setpoint()}
    setpoints_are_commands = False  # a cap; the output follows the weather

    @property
    def power_max_kw(self) -> float:
        """Upper bound of the output [kW]."""
        raise NotImplementedError

    def available_kw(self, ctx: BuildContext) -> np.ndarray:
        """Power the weather allows in each interval of the window [kW]."""
        raise NotImplementedError

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        T = b.model().T
        available = self.series_param(b, "available_kw", ctx, self.available_kw)
        b.power_kw = pyo.Var(T, bounds=(0, self.power_max_kw))
        if self.params.curtailable:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] <= available[t])
        else:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] == available[t])
        return AssetTerms(injections={"electricity": {t: b.power_kw[t] for t in T}})

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """The output follows the actual weather; nothing to hold to a plan."""
        return {}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext):
        """Not curtailed: a penalty on curtailed energy [EUR] (10 EUR/kWh).

        Fixing the output to the available power would make a plan infeasible
        where the grid connection cannot take a surplus; the penalty curtails
        only there, as an inverter limited by the grid operator would.
        """
        curtailed_kwh = ctx.dt_h * sum(b.available_kw[t] - b.power_kw[t] for t in b.model().T)
        return BASELINE_CURTAIL_PENALTY_EUR_PER_KWH * curtailed_kwh

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        n = ctx.n_steps
        power = values(b.power_kw, n)
        available = values(b.available_kw, n)
        columns = {"power_kw": power, "available_kw": available, "curtailed_kw": available - power}
        return pd.DataFrame({**columns, **self.extra_columns(ctx)}, index=ctx.index)

    def extra_columns(self, ctx: BuildContext) -> dict[str, np.ndarray]:
        """Further dispatch columns of the kind (default: none)."""
        return {}
