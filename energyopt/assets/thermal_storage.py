"""Thermal storage on any heat or cooling carrier (hot-water tank, sand/oil
store for process heat, chilled-water tank).

The level balance, limits, standing loss and terminal level come from the
shared storage core (``_storage.py``). Defaults: large hot-water tank, standing
loss 0.0077 %/h (Danish Energy Agency via PyPSA technology-data).

Sizing (``assets/sizing.py``): ``capacity_kwh``, ``charge_max_kw`` and
``discharge_max_kw``. Cost defaults by carrier (plant reference §2.4): process
heat (``heat_ht``) in a sand store, 8.4 EUR/kWh over 35 a (Viswanathan 2022 via
PyPSA technology-data; concrete: 30 EUR/kWh); any other carrier in a large
water tank, 3.8 EUR/kWh over 40 a (Danish Energy Agency via PyPSA
technology-data; for chilled water the same tank is assumed). The reference
prices the store only: its charging and discharging connections cost 0 EUR/kW
unless the scenario gives a price (an assumption).
"""

from __future__ import annotations

from typing import Literal

import pyomo.environ as pyo
from pydantic import Field

from energyopt.assets._storage import StorageAsset, StorageParams, add_storage
from energyopt.assets.base import AssetTerms, BuildContext, carrier_field, register
from energyopt.assets.sizing import CapacityDefaults

#: process-heat store: sand, 8.4 EUR/kWh over 35 a (concrete: 30 EUR/kWh)
SAND_STORE = CapacityDefaults(
    "kWh", 8.4, 35.0, "sand high-T TES, Viswanathan 2022 via PyPSA technology-data (§2.4)"
)
#: any other carrier: large water tank, 3.8 EUR/kWh over 40 a
WATER_TANK = CapacityDefaults(
    "kWh", 3.8, 40.0, "large hot-water tank, Danish Energy Agency via PyPSA technology-data (§2.4)"
)


def _store_defaults(p: ThermalStorageParams) -> CapacityDefaults:
    return SAND_STORE if p.carrier == "heat_ht" else WATER_TANK


def _connection_defaults(p: ThermalStorageParams) -> CapacityDefaults:
    store = _store_defaults(p)
    source = "included in the store's price (an assumption)"
    return CapacityDefaults("kW", 0.0, store.lifetime_a, source)


class ThermalStorageParams(StorageParams):
    """Thermal storage parameters."""

    type: Literal["thermal_storage"]
    carrier: str = carrier_field("heat_ht")
    efficiency_charge: float = Field(0.99, gt=0, le=1, description="[frac]")
    efficiency_discharge: float = Field(0.99, gt=0, le=1, description="[frac]")
    loss_frac_per_h: float = Field(0.000077, ge=0, lt=1, description="standing loss [1/h]")


@register
class ThermalStorage(StorageAsset):
    """Heat or cold store."""

    kind = "thermal_storage"
    Params = ThermalStorageParams
    params: ThermalStorageParams
    capacities = {
        "capacity_kwh": _store_defaults,
        "charge_max_kw": _connection_defaults,
        "discharge_max_kw": _connection_defaults,
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        add_storage(self, b, ctx, self.params)
        T = b.model().T
        return AssetTerms(
            injections={self.params.carrier: {t: b.discharge_kw[t] - b.charge_kw[t] for t in T}}
        )
