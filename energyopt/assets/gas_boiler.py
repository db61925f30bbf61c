"""Gas-fired boiler.

heat_kw = efficiency * fuel_kw, heat_kw <= heat_max_kw. Fuel cost =
fuel_kw * dt_h * fuel price; CO2 = fuel_kw * dt_h * co2_kg_per_kwh_fuel.

Defaults: efficiency 0.93 (gas steam boiler, Danish Energy Agency via PyPSA
technology-data); 0.202 kg CO2 per kWh of natural gas (IPCC 2006 default
combustion factor 56.1 t CO2/TJ). Fuel price from the scenario tariffs unless
set here.

A gas meter may report the fuel bought as ``fuel_kw`` (plan versus actual
prices it at these rates, :meth:`GasBoiler.fuel_rates`); ``power_kw`` is the
heat delivered into the carrier.

Sizing (``assets/sizing.py``): ``heat_max_kw``, default 57.6 EUR/kW over 25 a
(gas steam boiler, Danish Energy Agency via PyPSA technology-data, plant
reference §2.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pyomo.environ as pyo
from pydantic import Field

from energyopt.assets._conversion import ConversionAsset
from energyopt.assets.base import (
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
)
from energyopt.assets.declarations import FuelRates, QuantitySpec, column_setpoint
from energyopt.assets.sizing import CapacityDefaults
from energyopt.units import eur_per_mwh_to_eur_per_kwh

if TYPE_CHECKING:
    from energyopt.inputs.config import Tariffs

#: the fuel a gas boiler buys, as a carrier name in reports
GAS = "gas"


class GasBoilerParams(AssetParams):
    """Gas boiler parameters."""

    type: Literal["gas_boiler"]
    carrier: str = carrier_field("heat_ht")
    heat_max_kw: float = Field(gt=0, description="thermal output rating [kW]")
    efficiency: float = Field(0.93, gt=0, le=1, description="heat out per fuel in")
    fuel_price_eur_per_mwh: float | None = Field(
        None, ge=0, description="fuel price; None = tariffs.gas_price_eur_per_mwh"
    )
    co2_kg_per_kwh_fuel: float = Field(0.202, ge=0, description="[kg CO2/kWh fuel]")


@register
class GasBoiler(ConversionAsset):
    """Gas boiler."""

    kind = "gas_boiler"
    boundary_column = "fuel_kw"
    Params = GasBoilerParams
    params: GasBoilerParams
    columns = ("fuel_kw", "heat_kw", "efficiency")
    setpoints = {"output_kw": column_setpoint("heat_kw")}
    quantities = {
        "fuel_kw": QuantitySpec(
            lambda p: (0.0, p.heat_max_kw / p.efficiency), "metered fuel power bought [kW]"
        ),
    }
    baseline_rank = 1  # fuel / 0.93 plus CO2: after heat pumps, before electric boilers
    capacities = {
        "heat_max_kw": CapacityDefaults(
            "kW", 57.6, 25.0, "gas steam boiler, DEA via PyPSA technology-data (§2.4)"
        )
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        self.add_conversion(b, ctx, "heat_max_kw", lambda c: np.full(c.n_steps, p.efficiency))
        T = b.model().T
        price = self.scalar_param(b, "fuel_price_eur_per_kwh", ctx, self._fuel_price)
        fuel_kwh = ctx.dt_h * sum(b.input_kw[t] for t in T)
        b.cost_fuel_eur = pyo.Expression(expr=price * fuel_kwh)
        b.co2_kg = pyo.Expression(expr=p.co2_kg_per_kwh_fuel * fuel_kwh)
        return AssetTerms(
            injections={p.carrier: {t: b.output_kw[t] for t in T}},
            costs_eur={"fuel": b.cost_fuel_eur},
            co2_kg=b.co2_kg,
        )

    def _fuel_price(self, ctx: BuildContext) -> float:
        return self.fuel_rates(ctx.tariffs).price_eur_per_kwh

    def fuel_rates(self, tariffs: Tariffs) -> FuelRates:
        """Gas at the boiler's fuel price (or the tariffs') [EUR/kWh] and CO2 factor [kg/kWh]."""
        price = self.params.fuel_price_eur_per_mwh
        if price is None:
            price = tariffs.gas_price_eur_per_mwh
        return FuelRates(GAS, eur_per_mwh_to_eur_per_kwh(price), self.params.co2_kg_per_kwh_fuel)
