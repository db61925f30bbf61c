"""Battery energy storage on the electricity carrier.

The level balance, limits and terminal level come from the shared storage
core (``_storage.py``). On top: a throughput degradation cost on discharged
energy, ``degradation_cost_eur_per_kwh * sum(discharge_kw * dt_h)``, and the
optional charge/discharge binary (``no_simultaneous``).

Defaults: Li-ion BESS, 0.96 per conversion (about 0.92 AC round trip), Danish
Energy Agency technology catalogue via PyPSA technology-data (costs_2030).

Sizing (``assets/sizing.py``): the energy ``capacity_kwh`` and the power
``charge_max_kw`` separately; the discharge limit follows the charge power
(one bidirectional inverter) unless ``discharge_max_kw`` is given or sized on
its own (a converter of its own, priced like the inverter). Cost defaults:
store 190 EUR/kWh over 25 a, inverter 214 EUR/kW over 10 a (2030, Danish
Energy Agency via PyPSA technology-data, plant reference §2.4).
"""

from __future__ import annotations

from typing import Literal

import pyomo.environ as pyo
from pydantic import Field

from energyopt.assets._storage import StorageAsset, StorageParams, add_storage
from energyopt.assets.base import AssetTerms, BuildContext, register
from energyopt.assets.sizing import CapacityDefaults

#: source of the cost defaults
BESS_COST_SOURCE = "Li-ion BESS 2030, Danish Energy Agency via PyPSA technology-data (§2.4)"
#: inverter: 214 EUR/kW over 10 a
INVERTER_DEFAULTS = CapacityDefaults("kW", 214.0, 10.0, BESS_COST_SOURCE)


class BatteryParams(StorageParams):
    """Battery parameters (see the storage core for the shared ones)."""

    type: Literal["battery"]
    degradation_cost_eur_per_kwh: float = Field(
        0.0, ge=0, description="wear cost per kWh discharged [EUR/kWh]"
    )


@register
class Battery(StorageAsset):
    """Electric battery storage."""

    kind = "battery"
    Params = BatteryParams
    params: BatteryParams
    capacities = {
        "capacity_kwh": CapacityDefaults("kWh", 190.0, 25.0, BESS_COST_SOURCE),
        "charge_max_kw": INVERTER_DEFAULTS,
        "discharge_max_kw": INVERTER_DEFAULTS,
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        add_storage(self, b, ctx, p)
        T = b.model().T
        b.cost_degradation_eur = pyo.Expression(
            expr=p.degradation_cost_eur_per_kwh * ctx.dt_h * sum(b.discharge_kw[t] for t in T)
        )
        return AssetTerms(
            injections={"electricity": {t: b.discharge_kw[t] - b.charge_kw[t] for t in T}},
            costs_eur={"degradation": b.cost_degradation_eur},
        )
