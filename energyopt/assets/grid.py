"""Grid connection: import and export of electricity.

Variables: ``import_kw[t]``, ``export_kw[t]`` >= 0, ``peak_kw[s]`` per
billing-month slot ``s`` (slot 0 is the month of the window's first interval,
slot 1 the next, in site local time) and its rise above the peak billed
already, split at the month's expected peak: ``rise_below_kw[s]`` up to it,
``rise_above_kw[s]`` beyond. Month membership is a 0/1 mutable
parameter ``in_month[s, t]`` so that the model keeps one structure for every
window of the same length.

Constraints::

    import_kw[t] <= import_max_kw
    export_kw[t] <= export_max_kw                (0 if export is not allowed)
    peak_kw[s]  >= in_month[s, t] * import_kw[t]
    peak_kw[s]  == peak_initial_kw[s] + rise_below_kw[s] + rise_above_kw[s]
    rise_below_kw[s] <= below_cap_kw[s] = max(0, expected_peak_kw[s] - peak_initial_kw[s])
    with no_simultaneous, a binary forbids importing and exporting at once.

Sizing (``assets/sizing.py``): the import limit ``import_max_kw`` (the
connection capacity bought from the network operator) is the variable
``b.import_max_kw`` and the limit the row ``import_kw_capacity``; its largest
value bounds the peak and is the big-M of ``no_simultaneous``. Cost default:
80.41 EUR/kW, the construction cost contribution (Baukostenzuschuss) of one
German distribution operator (KEEP GmbH, valid from 2017-01-01) for the 20 kV
medium-voltage network, 80.41 EUR/kVA read as EUR/kW at unity power factor; a
one-off payment, spread over 40 a (an assumption: the life of the network
assets it pays for). Contributions differ widely between operators and
voltage levels: set it from the operator's price sheet.

Costs: energy = sum(import_kw * dt_h * (day_ahead + grid_fee)) [EUR];
revenue = -sum(export_kw * dt_h * export_price); demand charge =
demand_charge_eur_per_kw_month * sum_s weight[s] * (below_share[s] * rise_below_kw[s]
+ rise_above_kw[s]), where weight[s] is the share of that month the run bills
(1 in rolling operation; the covered share of the month for a single study
period) and peak_initial_kw is the peak billed already (carried in the state).

A rolling window sees a few days of a month whose peak is billed once. Up to
the month's expected peak (``BuildContext.peak_floor_kw``) a rise would most
likely be paid by the unseen rest of the month anyway, so it costs only
``below_share`` of the rate (``BuildContext.peak_below_share``: the share of
the month's remaining hours the window covers); beyond it the window pays the
full rate, as the bill does. Without an expected peak, or with a share of 1
(single solves, replays, the baseline), the charge is the bill's exactly.
CO2 = import * grid intensity.

Intraday: a re-plan during the delivery day holds the net import bought
day-ahead (``BuildContext.grid_position_kw``, NaN where nothing was bought)
as its reference. The deviation from it is split into ``short_kw[t]`` (more
bought than the position) and ``long_kw[t]`` (less), both >= 0::

    short_kw[t] - long_kw[t] == held[t] * (import_kw[t] - export_kw[t] - position_kw[t])

with ``held[t]`` 1 where a position exists. The balancing group settles a
shortfall at ``up = reference + spread`` and a surplus at
``down = reference - spread``, where the reference is the site series
``imbalance_price_series`` (the published imbalance price) or, without one,
the day-ahead price, and ``spread = imbalance_spread_eur_per_mwh``. The energy
terms above already price the deviation at the day-ahead price, so the
``imbalance`` cost adds what settlement differs from it:
``sum((up - day_ahead) * short_kw + (day_ahead - down) * long_kw) * dt_h``.
The spread default (20 EUR/MWh) is a planning assumption, not a market
figure: set it from the balancing contract. Grids without a position (every
day-ahead plan, study and replay) build none of this.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator

from energyopt.assets.base import (
    Asset,
    AssetParams,
    AssetTerms,
    BuildContext,
    register,
    series_field,
    values,
)
from energyopt.assets.declarations import QuantitySpec, difference_setpoint, local_time
from energyopt.assets.sizing import CapacityDefaults
from energyopt.units import eur_per_mwh_to_eur_per_kwh, g_per_kwh_to_kg_per_kwh


class GridParams(AssetParams):
    """Grid connection parameters."""

    type: Literal["grid"]
    import_max_kw: float = Field(gt=0, description="connection import limit [kW]")
    export_max_kw: float = Field(0.0, ge=0, description="export limit [kW]; 0 = no export")
    price_series: str = series_field(
        "price_eur_per_mwh",
        description="site series with the day-ahead price [EUR/MWh]",
    )
    co2_series: str | None = series_field(description="site series with grid CO2 intensity [g/kWh]")
    co2_g_per_kwh: float | None = Field(
        None, ge=0, description="constant grid CO2 intensity if no series [g/kWh]"
    )
    no_simultaneous: bool = Field(
        False, description="binary: never import and export in the same interval"
    )
    imbalance_price_series: str | None = series_field(
        description="site series with the imbalance settlement price [EUR/MWh]; "
        "default: the day-ahead price"
    )
    imbalance_spread_eur_per_mwh: float = Field(
        20.0,
        ge=0,
        description="intraday deviations from the day-ahead position settle this far above "
        "(shortfall) and below (surplus) the imbalance reference price [EUR/MWh]",
    )

    @model_validator(mode="after")
    def _one_co2_source(self) -> GridParams:
        if self.co2_series is not None and self.co2_g_per_kwh is not None:
            raise ValueError("give co2_series or co2_g_per_kwh, not both")
        return self


def month_slots(duration_h: float) -> int:
    """Billing-month slots a window of ``duration_h`` hours can touch."""
    return int(np.ceil(duration_h / (28 * 24))) + 1


def month_keys(ctx: BuildContext) -> np.ndarray:
    """Billing month (``YYYY-MM``, site local time) of every interval."""
    return np.asarray(ctx.local_index().strftime("%Y-%m"))


def monthly_peaks_kw(import_kw: pd.Series, timezone: str) -> dict[str, float]:
    """Highest import of each billing month (``YYYY-MM``, local time) of a series [kW]."""
    months = cast(pd.DatetimeIndex, import_kw.index).tz_convert(timezone).strftime("%Y-%m")
    return {str(m): float(v) for m, v in import_kw.groupby(months).max().items()}


@register
class Grid(Asset):
    """Public grid connection."""

    legend_section = "supply"

    kind = "grid"
    boundary_column = "import_kw"
    import_column = "import_kw"
    export_column = "export_kw"
    #: planned exchange, positive = import (for monitoring, not a command)
    setpoints = {"exchange_kw": difference_setpoint("import_kw", "export_kw")}
    setpoints_are_commands = False  # the grid balances the plant
    quantities = {
        "peak_import_month_kw": QuantitySpec(
            lambda p: (0.0, p.import_max_kw),
            "highest import of the current billing month so far [kW]",
            to_state=lambda _p, value, at, c: {
                f"peak_kw:{local_time(at, c.timezone):%Y-%m}": float(value)
            },
        ),
    }
    Params = GridParams
    params: GridParams
    capacities = {
        "import_max_kw": CapacityDefaults(
            "kW", 80.41, 40.0, "Baukostenzuschuss 20 kV, KEEP GmbH 2017 (module docstring)"
        )
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        T = b.model().T
        dt_h = ctx.dt_h
        b.SLOTS = pyo.RangeSet(0, month_slots(ctx.n_steps * dt_h) - 1)
        import_max_kw = self.capacity_upper(ctx, "import_max_kw")
        self.limited_var(b, "import_kw", ctx, "import_max_kw")
        b.export_kw = pyo.Var(T, bounds=(0, p.export_max_kw))
        b.peak_kw = pyo.Var(b.SLOTS, bounds=(0, import_max_kw))
        b.rise_below_kw = pyo.Var(b.SLOTS, bounds=(0, import_max_kw))
        b.rise_above_kw = pyo.Var(b.SLOTS, bounds=(0, import_max_kw))
        price_import = self.series_param(b, "price_import_eur_per_kwh", ctx, self._import_price)
        price_export = self.series_param(b, "price_export_eur_per_kwh", ctx, self._export_price)
        co2 = self.series_param(b, "co2_kg_per_kwh", ctx, self._co2)
        weight = self.table_param(b, "month_weight", b.SLOTS, ctx, self._weights)
        peak_before = self.table_param(b, "peak_initial_kw", b.SLOTS, ctx, self._peak_before)
        below_cap = self.table_param(b, "peak_below_cap_kw", b.SLOTS, ctx, self._below_cap)
        below_share = self.table_param(b, "peak_below_share", b.SLOTS, ctx, self._below_share)
        self._add_peak_tracking(b, ctx)

        @b.Constraint(b.SLOTS)
        def peak_rise(b, s):
            return b.peak_kw[s] - b.rise_below_kw[s] - b.rise_above_kw[s] == peak_before[s]

        @b.Constraint(b.SLOTS)
        def rise_below_expected(b, s):
            return b.rise_below_kw[s] <= below_cap[s]

        if p.no_simultaneous:
            b.is_importing = pyo.Var(T, domain=pyo.Binary)
            b.import_only = pyo.Constraint(
                T,
                rule=lambda b, t: b.import_kw[t] <= import_max_kw * b.is_importing[t],
            )
            b.export_only = pyo.Constraint(
                T,
                rule=lambda b, t: b.export_kw[t] <= p.export_max_kw * (1 - b.is_importing[t]),
            )

        rate = ctx.tariffs.demand_charge_eur_per_kw_month
        b.cost_energy_eur = pyo.Expression(
            expr=sum(b.import_kw[t] * price_import[t] for t in T) * dt_h
        )
        b.revenue_eur = pyo.Expression(
            expr=-sum(b.export_kw[t] * price_export[t] for t in T) * dt_h
        )
        b.cost_demand_charge_eur = pyo.Expression(
            expr=rate
            * sum(
                weight[s] * (below_share[s] * b.rise_below_kw[s] + b.rise_above_kw[s])
                for s in b.SLOTS
            )
        )
        b.co2_kg = pyo.Expression(expr=sum(b.import_kw[t] * co2[t] for t in T) * dt_h)
        costs = {
            "energy": b.cost_energy_eur,
            "revenue": b.revenue_eur,
            "demand_charge": b.cost_demand_charge_eur,
        }
        if self.holds_position(ctx):
            costs["imbalance"] = self._add_imbalance(b, ctx)
        return AssetTerms(
            injections={"electricity": {t: b.import_kw[t] - b.export_kw[t] for t in T}},
            costs_eur=costs,
            co2_kg=b.co2_kg,
        )

    def holds_position(self, ctx: BuildContext) -> bool:
        """True when the window holds a day-ahead position for this grid (intraday)."""
        return self.name in ctx.grid_position_kw

    def _add_imbalance(self, b: pyo.Block, ctx: BuildContext) -> pyo.Expression:
        """Deviations from the day-ahead position and their settlement (module docstring)."""
        p = self.params
        T = b.model().T
        limit_kw = self.capacity_upper(ctx, "import_max_kw") + p.export_max_kw
        b.short_kw = pyo.Var(T, bounds=(0, None))
        b.long_kw = pyo.Var(T, bounds=(0, None))
        held = self.series_param(b, "position_held", ctx, self._position_held)
        position = self.series_param(b, "position_kw", ctx, self._position)
        up = self.series_param(b, "imbalance_up_eur_per_kwh", ctx, self._imbalance_up)
        down = self.series_param(b, "imbalance_down_eur_per_kwh", ctx, self._imbalance_down)

        @b.Constraint(T)
        def deviation(b, t):
            net = b.import_kw[t] - b.export_kw[t] - position[t]
            return b.short_kw[t] - b.long_kw[t] == held[t] * net

        @b.Constraint(T)
        def deviation_bound(b, t):  # keeps both sides finite where settlement is one price
            return b.short_kw[t] + b.long_kw[t] <= 2 * limit_kw

        b.cost_imbalance_eur = pyo.Expression(
            expr=sum(b.short_kw[t] * up[t] + b.long_kw[t] * down[t] for t in T) * ctx.dt_h
        )
        return b.cost_imbalance_eur

    def _position_kw(self, ctx: BuildContext) -> np.ndarray:
        return np.asarray(ctx.grid_position_kw.get(self.name, np.full(ctx.n_steps, np.nan)))

    def _position_held(self, ctx: BuildContext) -> np.ndarray:
        return np.isfinite(self._position_kw(ctx)).astype(float)

    def _position(self, ctx: BuildContext) -> np.ndarray:
        return np.nan_to_num(self._position_kw(ctx), nan=0.0)

    def _imbalance_reference(self, ctx: BuildContext) -> np.ndarray:
        """Imbalance price reference minus the day-ahead price [EUR/MWh]."""
        p = self.params
        if p.imbalance_price_series is None:
            return np.zeros(ctx.n_steps)
        day_ahead = ctx.column(p.price_series, self.name)
        return ctx.column(p.imbalance_price_series, self.name) - day_ahead

    def _imbalance_up(self, ctx: BuildContext) -> np.ndarray:
        """Shortfall settlement above the day-ahead price [EUR/kWh]."""
        spread = self.params.imbalance_spread_eur_per_mwh
        return eur_per_mwh_to_eur_per_kwh(self._imbalance_reference(ctx) + spread)

    def _imbalance_down(self, ctx: BuildContext) -> np.ndarray:
        """Surplus settlement below the day-ahead price [EUR/kWh]."""
        spread = self.params.imbalance_spread_eur_per_mwh
        return eur_per_mwh_to_eur_per_kwh(spread - self._imbalance_reference(ctx))

    def _import_price(self, ctx: BuildContext) -> np.ndarray:
        day_ahead = ctx.column(self.params.price_series, self.name)
        return eur_per_mwh_to_eur_per_kwh(day_ahead + ctx.tariffs.grid_fee_eur_per_mwh)

    def _export_price(self, ctx: BuildContext) -> np.ndarray:
        fixed = ctx.tariffs.export_price_eur_per_mwh
        if fixed is not None:
            return np.full(ctx.n_steps, eur_per_mwh_to_eur_per_kwh(fixed))
        return eur_per_mwh_to_eur_per_kwh(ctx.column(self.params.price_series, self.name))

    def _co2(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        if p.co2_series is not None:
            return g_per_kwh_to_kg_per_kwh(ctx.column(p.co2_series, self.name))
        return np.full(ctx.n_steps, g_per_kwh_to_kg_per_kwh(p.co2_g_per_kwh or 0.0))

    def _add_peak_tracking(self, b: pyo.Block, ctx: BuildContext) -> None:
        """peak_kw[slot] >= import_kw[t] for the slot (month) of every interval.

        Windows of up to 28 days (rolling operation) use a 0/1 mutable
        membership parameter so the same model serves every window; longer
        single solves index the constraint by each interval's own month.
        """
        T = b.model().T
        if len(b.SLOTS) <= 2:
            in_month = self.table_param(b, "in_month", b.SLOTS * T, ctx, self._in_month)
            b.peak_tracks_import = pyo.Constraint(
                b.SLOTS,
                T,
                rule=lambda b, s, t: b.peak_kw[s] >= in_month[s, t] * b.import_kw[t],
            )
            return
        slot_of_step = np.unique(month_keys(ctx), return_inverse=True)[1]
        b.peak_tracks_import = pyo.Constraint(
            T, rule=lambda b, t: b.peak_kw[int(slot_of_step[t])] >= b.import_kw[t]
        )

    def structure_key(self, ctx: BuildContext) -> tuple[bool, tuple[int, ...] | None]:
        """Whether a position is held, and for long windows the month partition
        (peak tracking is indexed by month there)."""
        if month_slots(ctx.n_steps * ctx.dt_h) <= 2:
            return self.holds_position(ctx), None
        months = np.unique(month_keys(ctx), return_inverse=True)[1]
        return self.holds_position(ctx), tuple(months.tolist())

    def _in_month(self, ctx: BuildContext) -> dict[tuple[int, int], float]:
        slot_of_step = np.unique(month_keys(ctx), return_inverse=True)[1]
        n_slots = month_slots(ctx.n_steps * ctx.dt_h)
        return {
            (s, t): float(slot_of_step[t] == s) for s in range(n_slots) for t in range(ctx.n_steps)
        }

    def _slot_months(self, ctx: BuildContext) -> list[str | None]:
        months = sorted(set(month_keys(ctx)))
        n_slots = month_slots(ctx.n_steps * ctx.dt_h)
        return months + [None] * (n_slots - len(months))

    def _weights(self, ctx: BuildContext) -> dict[int, float]:
        return {
            s: 0.0 if m is None else float(ctx.demand_charge_month_weight.get(m, 1.0))
            for s, m in enumerate(self._slot_months(ctx))
        }

    def _peak_before(self, ctx: BuildContext) -> dict[int, float]:
        return {
            s: 0.0 if m is None else ctx.initial(self.name, f"peak_kw:{m}", 0.0)
            for s, m in enumerate(self._slot_months(ctx))
        }

    def _below_cap(self, ctx: BuildContext) -> dict[int, float]:
        """Room between the peak billed already and the month's expected peak [kW]."""
        before = self._peak_before(ctx)
        floors = ctx.peak_floor_kw.get(self.name, {})
        return {
            s: 0.0
            if m is None
            else max(
                0.0, min(floors.get(m, 0.0), self.capacity_upper(ctx, "import_max_kw")) - before[s]
            )
            for s, m in enumerate(self._slot_months(ctx))
        }

    def _below_share(self, ctx: BuildContext) -> dict[int, float]:
        return {
            s: 1.0 if m is None else float(ctx.peak_below_share.get(m, 1.0))
            for s, m in enumerate(self._slot_months(ctx))
        }

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """The grid balances whatever actual conditions differ from the plan."""
        return {}

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        n = ctx.n_steps
        return pd.DataFrame(
            {
                "import_kw": values(b.import_kw, n),
                "export_kw": values(b.export_kw, n),
                "price_import_eur_per_kwh": values(b.price_import_eur_per_kwh, n),
                "price_export_eur_per_kwh": values(b.price_export_eur_per_kwh, n),
                "co2_kg_per_kwh": values(b.co2_kg_per_kwh, n),
                **self._extract_position(b, ctx),
            },
            index=ctx.index,
        )

    def _extract_position(self, b: pyo.Block, ctx: BuildContext) -> dict[str, np.ndarray]:
        """``deviation_kw``: net import above the day-ahead position, 0 where none is
        held (intraday windows only) [kW]."""
        if not self.holds_position(ctx):
            return {}
        n = ctx.n_steps
        return {"deviation_kw": values(b.short_kw, n) - values(b.long_kw, n)}

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, float]:
        """Month-to-date peak import after ``steps`` intervals, per billing month."""
        months = month_keys(ctx)[:steps]
        imports = values(b.import_kw, ctx.n_steps)[:steps]
        state = dict(ctx.state.get(self.name, {}).items())
        for month in sorted(set(months)):
            earlier = state.get(f"peak_kw:{month}", 0.0)
            state[f"peak_kw:{month}"] = max(earlier, float(imports[months == month].max()))
        return state
