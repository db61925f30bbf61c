"""Chiller: electricity to cooling (chilled water), COP falling with outdoor
temperature::

    cop[t] = clip(cop_ref - cop_slope_per_k * (temp_air_degc[t] - temp_ref_degc),
                  cop_min, cop_max)
    cooling_kw[t] = cop[t] * power_el_kw[t],  cooling_kw[t] <= cooling_max_kw

Defaults: water-cooled screw/centrifugal machine, COP 5.5 at 25 degC outdoor
(range 5-6.5 at 6/12 degC chilled water; air-cooled 3-3.5), see the chiller
rows of the plant reference (huazhaochiller terminology page; building.co.uk
chiller technology article). The slope (about 2 % of COP per K) is an
engineering estimate.

Sizing (``assets/sizing.py``): ``cooling_max_kw``, default 186 EUR/kW over
20 a. The plant reference (§2.4) has no chiller cost; the figure is the
building.co.uk chiller technology article's (Davis Langdon with McQuay, the
source of the COPs above) water-cooled screw chiller of 3,900 kW with its
condensing system, GBP 495,000 supplied and installed in central London in
the first quarter of 2006 (127 GBP/kW), at 1.467 EUR/GBP (ECB reference rate,
2006 mean), not inflated; 20 a is the period of Danfoss's life-cycle cost
comparison of water-cooled chillers (Chillventa 2012). Set it from a quote.
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


class ChillerParams(AssetParams):
    """Chiller parameters."""

    type: Literal["chiller"]
    carrier: str = carrier_field("cooling")
    cooling_max_kw: float = Field(gt=0, description="cooling output rating [kW]")
    cop_ref: float = Field(5.5, gt=0, description="COP at temp_ref_degc [-]")
    temp_ref_degc: float = Field(25.0, description="outdoor temperature of cop_ref [degC]")
    cop_slope_per_k: float = Field(0.12, ge=0, description="COP drop per K warmer [1/K]")
    cop_min: float = Field(2.0, gt=0)
    cop_max: float = Field(9.0, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> ChillerParams:
        if self.cop_min > self.cop_max:
            raise ValueError("cop_min must not exceed cop_max")
        return self


def chiller_cop(temp_air_degc, cop_ref, temp_ref_degc, cop_slope_per_k, cop_min, cop_max):
    """Chiller COP at the given outdoor temperature [-] (scalar or array)."""
    cop = cop_ref - cop_slope_per_k * (np.asarray(temp_air_degc, dtype=float) - temp_ref_degc)
    return np.clip(cop, cop_min, cop_max)


@register
class Chiller(ConversionAsset):
    """Electric chiller."""

    kind = "chiller"
    Params = ChillerParams
    params: ChillerParams
    columns = ("power_el_kw", "cooling_kw", "cop")
    setpoints = {"output_kw": column_setpoint("cooling_kw")}
    baseline_rank = 0  # the only cooling source of its kind
    capacities = {
        "cooling_max_kw": CapacityDefaults(
            "kW", 186.0, 20.0, "water-cooled screw chiller 3.9 MW, building.co.uk 2006 (docstring)"
        )
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        self.add_conversion(b, ctx, "cooling_max_kw", self._cop)
        T = b.model().T
        return AssetTerms(
            injections={
                p.carrier: {t: b.output_kw[t] for t in T},
                "electricity": {t: -b.input_kw[t] for t in T},
            }
        )

    def _cop(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        temp = ctx.column("temp_air_degc", self.name)
        return chiller_cop(
            temp, p.cop_ref, p.temp_ref_degc, p.cop_slope_per_k, p.cop_min, p.cop_max
        )
