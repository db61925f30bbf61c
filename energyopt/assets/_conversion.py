"""Shared conversion core: an output limited by a rating, drawn from an input
at a (possibly time-varying) ratio.

Used by heat pumps and chillers (ratio = COP), electric and gas boilers
(ratio = efficiency)::

    output_kw[t] = ratio[t] * input_kw[t]
    output_kw[t] <= output_max_kw

The rating is the kind's capacity parameter (``heat_max_kw``,
``cooling_max_kw``); in a sizing build of an extendable one it is the variable
``b.<rating>`` and the limit the row ``output_kw_capacity`` (``assets/sizing.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from energyopt.assets.base import Asset, BuildContext, ValueFn, values

if TYPE_CHECKING:
    from energyopt.assets.chiller import ChillerParams
    from energyopt.assets.electric_boiler import ElectricBoilerParams
    from energyopt.assets.gas_boiler import GasBoilerParams
    from energyopt.assets.heat_pump import HeatPumpParams


class ConversionAsset(Asset):
    """Base of converters; subclasses name the columns and supply the ratio."""

    params: ChillerParams | ElectricBoilerParams | GasBoilerParams | HeatPumpParams
    #: dispatch column names for input, output and ratio
    columns: ClassVar[tuple[str, str, str]] = ("input_kw", "output_kw", "ratio")

    def add_conversion(self, b: pyo.Block, ctx: BuildContext, rating: str, ratio: ValueFn) -> None:
        """Add ``input_kw``, ``output_kw`` (limited by capacity ``rating`` [kW]) and the
        mutable ``ratio`` to ``b``."""
        T = b.model().T
        b.input_kw = pyo.Var(T, domain=pyo.NonNegativeReals)
        self.limited_var(b, "output_kw", ctx, rating)
        b_ratio = self.series_param(b, "ratio", ctx, ratio)
        b.conversion = pyo.Constraint(  # output - ratio * input == 0, as one flat row
            T,
            rule=lambda b, t: (
                LinearExpression(
                    [b.output_kw[t], MonomialTermExpression((-b_ratio[t], b.input_kw[t]))]
                )
                == 0
            ),
        )

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """A plan sets the output; the input follows the actual ratio (COP)."""
        return {self.columns[1]: "output_kw"}

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Input, output and ratio under the subclass's column names."""
        n = ctx.n_steps
        name_in, name_out, name_ratio = self.columns
        return pd.DataFrame(
            {
                name_in: values(b.input_kw, n),
                name_out: values(b.output_kw, n),
                name_ratio: values(b.ratio, n),
            },
            index=ctx.index,
        )
