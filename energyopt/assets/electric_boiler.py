"""Electric boiler (resistive or electrode steam boiler).

heat_kw = efficiency * power_el_kw, heat_kw <= heat_max_kw. Default
efficiency 0.99 (electric steam boiler, Danish Energy Agency via PyPSA
technology-data).

Sizing (``assets/sizing.py``): ``heat_max_kw``, default 88.6 EUR/kW over 25 a
(electric steam boiler, Danish Energy Agency via PyPSA technology-data, plant
reference §2.4).
"""

from __future__ import annotations

from typing import Literal

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
from energyopt.assets.declarations import column_setpoint
from energyopt.assets.sizing import CapacityDefaults


class ElectricBoilerParams(AssetParams):
    """Electric boiler parameters."""

    type: Literal["electric_boiler"]
    carrier: str = carrier_field("heat_ht")
    heat_max_kw: float = Field(gt=0, description="thermal output rating [kW]")
    efficiency: float = Field(0.99, gt=0, le=1, description="heat out per electricity in")


@register
class ElectricBoiler(ConversionAsset):
    """Electric boiler."""

    kind = "electric_boiler"
    Params = ElectricBoilerParams
    params: ElectricBoilerParams
    columns = ("power_el_kw", "heat_kw", "efficiency")
    setpoints = {"output_kw": column_setpoint("heat_kw")}
    baseline_rank = 2  # electricity / 0.99: the dearest heat
    capacities = {
        "heat_max_kw": CapacityDefaults(
            "kW", 88.6, 25.0, "electric steam boiler, DEA via PyPSA technology-data (§2.4)"
        )
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        self.add_conversion(b, ctx, "heat_max_kw", lambda c: np.full(c.n_steps, p.efficiency))
        T = b.model().T
        return AssetTerms(
            injections={
                p.carrier: {t: b.output_kw[t] for t in T},
                "electricity": {t: -b.input_kw[t] for t in T},
            }
        )
