"""Shared core of weather-driven generators (PV, wind): available power, curtailable.

A subclass supplies ``available_kw(ctx)`` (what the weather allows in each
interval [kW]), its ``capacity_key`` (the parameter the output scales with:
``peak_power_kwp``, ``n_turbines``) and ``power_max_kw_per_unit`` (the
nameplate output per unit of it [kW]); this base adds::

    power_kw[t] <= available_kw[t]     (curtailable: true)
    power_kw[t] == available_kw[t]     (curtailable: false)

In a sizing build of an extendable capacity (``assets/sizing.py``) the
available power is the weather's per unit of capacity times the chosen
capacity, ``available_kw[t] = available_kw_per_unit[t] * <capacity_key>``
(the output scales linearly with the array's kWp or the number of turbines).

injects ``power_kw`` into ``electricity``, and gives the dispatch columns
``power_kw``, ``available_kw`` and ``curtailed_kw``. The plan gives a
control system an output cap where it curtails; a replay follows the actual
weather (no setpoint to hold); the baseline curtails only where the grid
cannot take a surplus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

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

    #: the capacity parameter the available power scales with
    capacity_key: ClassVar[str]

    @property
    def power_max_kw_per_unit(self) -> float:
        """Nameplate output per unit of ``capacity_key`` [kW]."""
        raise NotImplementedError

    def available_kw(self, ctx: BuildContext) -> np.ndarray:
        """Power the weather allows in each interval of the window [kW]."""
        raise NotImplementedError

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        T = b.model().T
        key = self.capacity_key
        if self.is_sized(ctx, key):
            available = self._sized_available(b, ctx)
        else:
            available = self.series_param(b, "available_kw", ctx, self.available_kw)
        power_max_kw = self.power_max_kw_per_unit * self.capacity_upper(ctx, key)
        b.power_kw = pyo.Var(T, bounds=(0, power_max_kw))
        if self.params.curtailable:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] <= available[t])
        else:
            b.power_limit = pyo.Constraint(T, rule=lambda b, t: b.power_kw[t] == available[t])
        return AssetTerms(injections={"electricity": {t: b.power_kw[t] for t in T}})

    def _sized_available(self, b: pyo.Block, ctx: BuildContext) -> pyo.Expression:
        """``available_kw[t] = available_kw_per_unit[t] * capacity`` (a sizing build)."""
        key = self.capacity_key
        fixed = float(getattr(self.params, key))
        per_unit = self.series_param(
            b, "available_kw_per_unit", ctx, lambda c: self.available_kw(c) / fixed
        )
        capacity = self.capacity(b, ctx, key)
        b.available_kw = pyo.Expression(b.model().T, rule=lambda b, t: per_unit[t] * capacity)
        return b.available_kw

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
