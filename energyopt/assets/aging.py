"""Aging room: cells stored after formation at a set temperature.

High-temperature (HT) aging holds the cells at about 30-50 degC, which needs
low-temperature heat (``carrier: heat_lt``); normal-temperature (NT) aging at
about 22 degC needs cooling (``carrier: cooling``). The room's demand at the
set point is a constant ``load_kw`` or a site series (``load_series``, e.g. a
production calendar's profile) times ``load_scale``.

With a temperature band (``temp_band_k > 0``) the thermal mass of the stored
cells (``heat_capacity_kwh_per_k``) is a store: the room may drift from its
set point by up to the band and pre-heat or pre-cool when energy is cheap.
Deviation ``temp_deviation_k[t]`` (end of interval, initial value carried
between windows) follows the first-order room model::

    C * d(theta)/dt = sign * (supply_kw - demand_kw) - ua_kw_per_k * theta

discretised exactly for a constant supply over a step::

    theta[t] = a * theta[t-1] + g * sign * (supply_kw[t] - demand_kw[t])
    a = exp(-ua * dt_h / C),  g = (1 - a) / ua   (g = dt_h / C without losses)
    -temp_band_k <= theta[t] <= temp_band_k
    sign * theta[last] >= 0      (the window ends at the set point or with energy stored)

Soft mode (``ctx.soft_limits``, the service's planning): a room measured
outside its band is planned from there; where the band may not hold (a room
measured outside it, or a rated ``supply_max_kw``) the band and the terminal
row hold up to priced drift beyond them at ``band_penalty_eur_per_k_h`` (default
500 EUR per K h, an assumption: cells aged off their temperature may need a
longer aging or re-testing; holding a room of 400 kWh/K one K closer takes
about 400 kWh, far less)::

    -temp_band_k - low[t] <= theta[t] <= temp_band_k + high[t]

``sign`` is +1 for heating and -1 for cooling. Without a band the supply
equals the demand. ``ua_kw_per_k`` is the extra loss per K above the set
point (heating) or the smaller gain per K below it (cooling); 0 keeps the
store lossless.

Sources (battery-plant reference, formation and aging): aging lasts up to
three weeks, HT first (about 30-50 degC) then NT (about 22 degC), starting at
80-100 % SOC (PEM RWTH Aachen / VDMA, "Lithium-ion battery cell production
process", 2018); the large thermal mass of up to three weeks of output makes
the HT rooms a thermal store that can shift heating by hours within a band
(an engineering estimate; no band or time constant was found in a published
source). There is no default heat capacity: for a rough figure take the cells
in the room [kWh] / 0.25 kWh per kg x about 1 kJ/(kg K) (typical Li-ion cell
values, an assumption), e.g. 1 GWh of cells is about 1,100 kWh/K.

Example::

    - type: aging
      name: ht_aging
      carrier: heat_lt
      temp_set_degc: 45
      load_kw: 800
      temp_band_k: 2
      heat_capacity_kwh_per_k: 400
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets.base import (
    CARRIER_TEMPERATURES_DEGC,
    CARRIERS,
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
    series_field,
    values,
)
from energyopt.assets.requirements import Requirement, held
from energyopt.errors import ModelBuildError


class AgingParams(AssetParams):
    """Aging room parameters."""

    type: Literal["aging"]
    carrier: str = carrier_field("heat_lt")
    temp_set_degc: float = Field(45.0, description="room set point [degC]")
    load_kw: float | None = Field(None, ge=0, description="demand at the set point [kW]")
    load_series: str | None = series_field(description="site series with the demand [kW]")
    load_scale: float = Field(1.0, ge=0, description="factor on the series [-]")
    temp_band_k: float = Field(0.0, ge=0, description="allowed drift from the set point [K]")
    heat_capacity_kwh_per_k: float | None = Field(
        None, gt=0, description="thermal mass of room and stored cells [kWh/K]"
    )
    ua_kw_per_k: float = Field(0.0, ge=0, description="loss change per K of drift [kW/K]")
    supply_max_kw: float | None = Field(None, gt=0, description="heater/cooler rating [kW]")
    band_penalty_eur_per_k_h: float = Field(
        500.0, ge=0, description="soft mode: price of drift beyond the band [EUR/(K h)]"
    )
    process: str = Field("aging", description="process group for per-process KPIs")

    @model_validator(mode="after")
    def _consistent(self) -> AgingParams:
        if (self.load_kw is None) == (self.load_series is None):
            raise ValueError("give exactly one of load_kw or load_series")
        if self.temp_band_k > 0 and self.heat_capacity_kwh_per_k is None:
            raise ValueError("temp_band_k > 0 needs heat_capacity_kwh_per_k")
        if self.carrier not in CARRIERS:
            raise ValueError(f"carrier {self.carrier!r} is not an energy carrier")
        span = CARRIER_TEMPERATURES_DEGC.get(self.carrier)
        if span is not None and span[1] < self.temp_set_degc:
            msg = (
                f"{self.carrier} ({span[0]:g}-{span[1]:g} degC) cannot hold the room at "
                f"temp_set_degc={self.temp_set_degc}"
            )
            raise ValueError(msg)
        return self

    @property
    def sign(self) -> float:
        """+1 when the carrier heats the room, -1 when it cools it."""
        return -1.0 if self.carrier == "cooling" else 1.0


def room_coefficients(
    heat_capacity_kwh_per_k: float, ua_kw_per_k: float, dt_h: float
) -> tuple[float, float]:
    """Exact step coefficients ``(a, g)`` of the first-order room model.

    Parameters
    ----------
    heat_capacity_kwh_per_k : float
        Thermal mass. [kWh/K]
    ua_kw_per_k : float
        Loss coefficient towards the set point. [kW/K]
    dt_h : float
        Model step. [h]

    Returns
    -------
    tuple of float
        Retained share of the deviation ``a`` [-] and the deviation per kW of
        net supply over one step ``g`` [K/kW].
    """
    if ua_kw_per_k == 0:
        return 1.0, dt_h / heat_capacity_kwh_per_k
    a = math.exp(-ua_kw_per_k * dt_h / heat_capacity_kwh_per_k)
    return a, (1.0 - a) / ua_kw_per_k


@register
class Aging(Asset):
    """Aging room held at a set temperature, optionally with a drift band."""

    legend_section = "process"

    kind = "aging"
    process = "aging"
    Params = AgingParams
    params: AgingParams

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        """Supply, demand and (with a band) the room deviation."""
        p = self.params
        T = b.model().T
        b.supply_kw = pyo.Var(T, bounds=(0, p.supply_max_kw))
        demand = self.series_param(b, "demand_kw", ctx, self._demand)
        if p.temp_band_k == 0:
            b.supply_meets_demand = pyo.Constraint(T, rule=lambda b, t: b.supply_kw[t] == demand[t])
        else:
            self._add_room(b, ctx, demand)
        return AssetTerms(injections={p.carrier: {t: -b.supply_kw[t] for t in T}})

    def _add_room(self, b: pyo.Block, ctx: BuildContext, demand: pyo.Param) -> None:
        p = self.params
        T = b.model().T
        assert p.heat_capacity_kwh_per_k is not None  # a band needs it (the params' validator)
        a, g = room_coefficients(p.heat_capacity_kwh_per_k, p.ua_kw_per_k, ctx.dt_h)
        initial = self.scalar_param(b, "temp_deviation_initial_k", ctx, self._initial)
        if self._needs_soft_band(ctx):
            b.temp_deviation_k = pyo.Var(T)
            name, penalty = "room temperature outside its band", p.band_penalty_eur_per_k_h
            requirement = held(self.name, name, "K", penalty, ctx.dt_h, ctx.n_steps)
            band = (-p.temp_band_k, p.temp_band_k)
            self.soft_band(b, ctx, b.temp_deviation_k, band, requirement)
        else:
            b.temp_deviation_k = pyo.Var(T, bounds=(-p.temp_band_k, p.temp_band_k))

        @b.Constraint(T)
        def room_balance(b, t):
            before = initial if t == 0 else b.temp_deviation_k[t - 1]
            net = b.supply_kw[t] - demand[t]
            return b.temp_deviation_k[t] == a * before + g * p.sign * net

        if not ctx.free_end:  # else the next part of the period carries the room on
            requirement = Requirement(
                self.name,
                "room short of its set point at the window's end",
                "K",
                ((T.last(), T.last() + 1),),
                None,
                p.band_penalty_eur_per_k_h,  # as if held for an hour
            )
            soft = self._needs_soft_band(ctx)
            late = self.shortfall(b, ctx, requirement) if soft else {0: 0.0}
            b.room_terminal = pyo.Constraint(
                expr=p.sign * b.temp_deviation_k[T.last()] + late[0] >= 0
            )

    def _needs_soft_band(self, ctx: BuildContext) -> bool:
        """Soft mode: the band gets priced rows where it may not hold: a room measured
        outside it, or a rated heater or cooler that may not keep up."""
        if not ctx.soft_limits or self.params.temp_band_k == 0:
            return False
        drift = abs(ctx.initial(self.name, "temp_deviation_k", 0.0))
        return drift > self.params.temp_band_k + 1e-9 or self.params.supply_max_kw is not None

    def structure_key(self, ctx: BuildContext) -> bool:
        """Whether the band is priced rows (see :meth:`_needs_soft_band`)."""
        return self._needs_soft_band(ctx)

    def _demand(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        return ctx.profile(self.name, p.load_kw, p.load_series, p.load_scale, what="demand")

    def _initial(self, ctx: BuildContext) -> float:
        value = ctx.initial(self.name, "temp_deviation_k", 0.0)
        band = self.params.temp_band_k
        if abs(value) > band + 1e-9 and not ctx.soft_limits:
            msg = (
                f"asset {self.name!r}: initial temp_deviation_k={value} lies outside the "
                f"band of +/-{band} K"
            )
            raise ModelBuildError(msg)
        return value

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Supply, demand, drift and room temperature."""
        n = ctx.n_steps
        deviation = self._deviation(b, n)
        return pd.DataFrame(
            {
                "supply_kw": values(b.supply_kw, n),
                "demand_kw": values(b.demand_kw, n),
                "temp_deviation_k": deviation,
                "temp_room_degc": self.params.temp_set_degc + deviation,
            },
            index=ctx.index,
        )

    def _deviation(self, b: pyo.Block, n: int) -> np.ndarray:
        if self.params.temp_band_k == 0:
            return np.zeros(n)
        return values(b.temp_deviation_k, n)

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, Any]:
        """Drift from the set point after ``steps`` intervals [K]."""
        if self.params.temp_band_k == 0:
            return {}
        band = self.params.temp_band_k
        value = float(pyo.value(b.temp_deviation_k[steps - 1]))
        return {"temp_deviation_k": float(np.clip(value, -band, band))}
