"""Fixed load: a demand profile on any carrier that must be served.

The profile is a constant ``power_kw`` or a site series (``series``) times
``scale``. It injects ``-power_kw[t]`` into its carrier's balance.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets.base import (
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
    series_field,
    values,
)


class FixedLoadParams(AssetParams):
    """Fixed load parameters."""

    type: Literal["fixed_load"]
    carrier: str = carrier_field("electricity")
    power_kw: float | None = Field(None, ge=0, description="constant demand [kW]")
    series: str | None = series_field(description="site series with the demand [kW]")
    scale: float = Field(1.0, ge=0, description="factor on the series [-]")
    process: str = Field("other", description="process group for per-process KPIs")

    @model_validator(mode="after")
    def _one_profile(self) -> FixedLoadParams:
        if (self.power_kw is None) == (self.series is None):
            raise ValueError("give exactly one of power_kw or series")
        return self


@register
class FixedLoad(Asset):
    """Inflexible demand."""

    legend_section = "load"

    kind = "fixed_load"
    Params = FixedLoadParams
    params: FixedLoadParams

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        T = b.model().T
        demand = self.series_param(b, "demand_kw", ctx, self._profile)
        return AssetTerms(injections={self.params.carrier: {t: -demand[t] for t in T}})

    def _profile(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        return ctx.profile(self.name, p.power_kw, p.series, p.scale, what="demand")

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        return pd.DataFrame({"demand_kw": values(b.demand_kw, ctx.n_steps)}, index=ctx.index)
