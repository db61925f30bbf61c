"""Thermal storage on any heat or cooling carrier (hot-water tank, sand/oil
store for process heat, chilled-water tank).

The level balance, limits, standing loss and terminal level come from the
shared storage core (``_storage.py``). Defaults: large hot-water tank, standing
loss 0.0077 %/h (Danish Energy Agency via PyPSA technology-data).
"""

from __future__ import annotations

from typing import Literal

import pyomo.environ as pyo
from pydantic import Field

from energyopt.assets._storage import StorageAsset, StorageParams, add_storage
from energyopt.assets.base import AssetTerms, BuildContext, carrier_field, register


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

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        add_storage(self, b, ctx, self.params)
        T = b.model().T
        return AssetTerms(
            injections={self.params.carrier: {t: b.discharge_kw[t] - b.charge_kw[t] for t in T}}
        )
