"""Heat pump: electricity (plus source heat) to heat on a sink carrier.

COP is fixed (``cop``) or follows the temperatures as a fraction of the Carnot
COP::

    cop[t] = min(cop_max, carnot_efficiency_frac * T_sink / (T_sink - T_source[t]))

with temperatures in kelvin; the source is the outdoor air (weather) unless
``source_temp_degc`` is given, and the lift is at least ``lift_min_k``.
Balances: sink += heat_kw, electricity -= heat_kw / cop; with a
``source_carrier`` (waste heat, district heat) the pump also draws
heat_kw - power_el_kw from it.

Defaults: industrial HP up to 125 degC, annual COP 2.7; high-temperature HP
up to 150 degC, COP 3.05 (Danish Energy Agency 302.a/b via PyPSA
technology-data); Carnot fractions of 0.4-0.55 reproduce the HTHP market
survey of Arpagaus et al., Energy 152 (2018) 985.

Sizing (``assets/sizing.py``): ``heat_max_kw``. Cost defaults by sink
temperature (plant reference §2.4, Danish Energy Agency via PyPSA
technology-data): up to 125 degC an industrial heat pump (302.a), 986 EUR/kW_th
over 20 a; above it a high-temperature heat pump (302.b, up to 150 degC),
1183 EUR/kW_th over 20 a (also used above 150 degC, where no figure is at hand).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets._conversion import ConversionAsset
from energyopt.assets.base import (
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
)
from energyopt.assets.declarations import column_setpoint
from energyopt.assets.sizing import CapacityDefaults
from energyopt.units import degc_to_k


class HeatPumpParams(AssetParams):
    """Heat pump parameters."""

    type: Literal["heat_pump"]
    carrier: str = carrier_field("heat_ht")
    source_carrier: str | None = Field(
        None, description="carrier the heat is lifted from; None = ambient air"
    )
    heat_max_kw: float = Field(gt=0, description="thermal output rating [kW]")
    cop: float | None = Field(None, gt=0, description="fixed COP [-]")
    carnot_efficiency_frac: float = Field(0.45, gt=0, le=1)
    sink_temp_degc: float = Field(130.0, description="supply temperature [degC]")
    source_temp_degc: float | None = Field(
        None, description="source temperature [degC]; None = outdoor air"
    )
    cop_max: float = Field(8.0, gt=1, description="upper bound on the COP [-]")
    lift_min_k: float = Field(5.0, gt=0, description="smallest lift used in the Carnot COP [K]")

    @model_validator(mode="after")
    def _source_differs(self) -> HeatPumpParams:
        if self.source_carrier is not None and self.source_carrier == self.carrier:
            raise ValueError("source_carrier must differ from carrier")
        return self


def carnot_cop(
    sink_temp_degc,
    source_temp_degc,
    carnot_efficiency_frac: float,
    cop_max: float = 8.0,
    lift_min_k: float = 5.0,
):
    """Heat-pump COP as a fraction of the Carnot COP [-] (scalars or arrays).

    Parameters
    ----------
    sink_temp_degc, source_temp_degc : numeric
        Supply and source temperatures. [degC]
    carnot_efficiency_frac : float
        Share of the Carnot COP reached. [0-1]
    cop_max : float
        Cap on the result. [-]
    lift_min_k : float
        Smallest lift used, so the COP stays finite. [K]
    """
    sink_k = degc_to_k(np.asarray(sink_temp_degc, dtype=float))
    lift_k = np.maximum(sink_k - degc_to_k(np.asarray(source_temp_degc, dtype=float)), lift_min_k)
    return np.minimum(carnot_efficiency_frac * sink_k / lift_k, cop_max)


#: highest sink temperature of the industrial heat pump's cost figure (DEA 302.a) [degC]
INDUSTRIAL_HP_MAX_SINK_DEGC = 125.0
INDUSTRIAL_HP = CapacityDefaults(
    "kW", 986.0, 20.0, "industrial HP up to 125 degC, DEA 302.a via PyPSA technology-data (§2.4)"
)
HIGH_TEMPERATURE_HP = CapacityDefaults(
    "kW", 1183.0, 20.0, "high-temperature HP up to 150 degC, DEA 302.b via PyPSA (§2.4)"
)


def _heat_pump_defaults(p: HeatPumpParams) -> CapacityDefaults:
    return INDUSTRIAL_HP if p.sink_temp_degc <= INDUSTRIAL_HP_MAX_SINK_DEGC else HIGH_TEMPERATURE_HP


@register
class HeatPump(ConversionAsset):
    """Electric heat pump."""

    kind = "heat_pump"
    Params = HeatPumpParams
    params: HeatPumpParams
    columns = ("power_el_kw", "heat_kw", "cop")
    setpoints = {"output_kw": column_setpoint("heat_kw")}
    baseline_rank = 0  # COP ~3: the cheapest heat per kWh
    capacities = {"heat_max_kw": _heat_pump_defaults}

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        self.add_conversion(b, ctx, "heat_max_kw", self._cop)
        T = b.model().T
        injections = {
            p.carrier: {t: b.output_kw[t] for t in T},
            "electricity": {t: -b.input_kw[t] for t in T},
        }
        if p.source_carrier is not None:
            injections[p.source_carrier] = {t: b.input_kw[t] - b.output_kw[t] for t in T}
        return AssetTerms(injections=injections)

    def _cop(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        if p.cop is not None:
            return np.full(ctx.n_steps, p.cop)
        source: float | np.ndarray | None = p.source_temp_degc
        if source is None:
            source = ctx.column("temp_air_degc", self.name)
        cop = carnot_cop(
            p.sink_temp_degc, source, p.carnot_efficiency_frac, p.cop_max, p.lift_min_k
        )
        return np.broadcast_to(cop, (ctx.n_steps,))
