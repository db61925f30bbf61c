"""Drying oven of an electrode coating line, with NMP recovery.

One asset is one coating line with its convective dryer. The line is on or
off (``is_on[t]``, binary), coats ``area_m2_per_h[t]`` while on and must meet
each local day's area target exactly::

    area_min_m2_per_h * is_on[t] <= area_m2_per_h[t] <= area_max_m2_per_h * is_on[t]
    must_on[t] <= is_on[t] <= is_production[t] * (1 - must_off[t])    (bounds of is_on)
    is_starting[t] - is_stopping[t] = is_on[t] - is_on[t-1]   (is_on[-1] carried)
    is_on[t]     >= sum(is_starting[t-U+1 .. t]),  U = ceil(min_run_h / dt_h)
    1 - is_on[t] >= sum(is_stopping[t-D+1 .. t]),  D = ceil(min_down_h / dt_h)

``is_production`` follows the weekly calendar in site local time; ``must_on``
and ``must_off`` hold a run or a rest carried into the window that has not
lasted its minimum yet.

Energy and material per interval::

    heat_kw[t]     = heat_kwh_per_m2 * area[t] + heat_on_kw * is_on[t]
                     + startup_heat_kwh * is_starting[t] / dt_h   (heat-up in the start interval)
    power_el_kw[t] = fan_kwh_per_m2 * area[t] + fan_on_kw * is_on[t]
    nmp_evaporated_kg_per_h[t] = nmp_kg_per_m2 * area[t]
    nmp_recovered_kg_per_h[t]  = recovery_frac * nmp_evaporated_kg_per_h[t]
    cooling_kw[t]  = recovery_cooling_kwh_per_kg * nmp_evaporated_kg_per_h[t]

Recovered NMP is either credited inside the asset (``nmp_destination: credit``,
revenue ``nmp_value_eur_per_kg`` per kg) or supplied to the material carrier
``nmp_carrier`` in kg/h (``nmp_destination: carrier``), where an ``exchange``
asset takes it to a neighbour.

Daily target. Each local day of the window carries one row on the area it
coats inside the window::

    day_min_m2(d) <= dt_h * sum(area[t] for t in day d) <= day_max_m2(d)

A day that ends in the window meets its target exactly (``day_min = day_max =
target - done before the window``). ``area_done_today_m2`` in the dispatch
table (area coated on the local day of interval ``t`` up to its end,
restarting at local midnight) is computed from the solved speeds.

Partial days at the window edges: a window that starts during a day carries
``area_done_m2:<date>`` (what was made that day before the window) as the
initial count. A day that goes on after the window must end the window with at
least ``target - area_max_m2_per_h * (production hours of that day after the
window)``, so the next window can still finish it, and never more than the
target. Without a carried count a window that starts mid-day assumes nothing
was made earlier that day. Targets come from ``area_per_day_m2``, the output of
a day with 24 production hours, scaled by each local day's production hours
(calendar, 23/25 h daylight-saving days) / 24, so days without production have
none; or from a site series ``area_per_day_series`` that holds each local
day's target [m2] over the whole day (for example an hourly file), used as
given; a series that changes within a local day is an error. At build, a day
whose remaining target exceeds what the line can coat in its remaining
production hours raises ModelBuildError naming the day and both areas.

Soft mode (``ctx.soft_limits``, the service's planning): such a day is a
pre-check finding instead, and each day may end short of its target by
``shortfall[d]`` [m2] at ``shortfall_penalty_eur_per_m2`` (default 40 EUR/m2:
the cells a m2 of cathode sheet makes, ~0.4 kWh at 2.5 m2 per kWh, at a cell
value of ~100 EUR/kWh, an assumption; coating a m2 takes ~0.3 EUR of
energy)::

    day_min_m2(d) <= dt_h * sum(area[t] for t in day d) + shortfall[d] <= day_max_m2(d)

The baseline then runs the line at its fastest speed on such a day.

The on/off state and the time spent in it (``is_on``, ``time_in_state_h``) are
carried across windows, so minimum run and down times hold across the seam: a
line that has run for less than ``min_run_h`` stays on for the rest (unless
the calendar ends production), and likewise for down time.

Defaults: a cathode line with NMP-based slurry, no exhaust heat recovery
(model that with heat pumps or exchange assets). Derived bottom-up [D]:

* NMP 0.25 kg/m2 of coated sheet: ~0.57 kg/m2 of dry cathode coating (NMC,
  ~0.7 Wh/g, 2.5 m2 cathode sheet per kWh) from a slurry with ~70 % solids.
* heat 2.3 kWh_th/m2: per kg NMP the latent heat, ~0.15 kWh/kg (plant reference
  2.2), plus heating the drying air, which dominates: ~300 kg (250 m3) of air
  per kg NMP (exhaust at ~4 g/m3, far below the explosion limit; assumption)
  from 20 to 130 degC (dryer air 80-160 degC, plant reference 2.2):
  300 x 1.006 kJ/(kg K) x 110 K = 9.2 kWh. Together 9.4 kWh/kg, ~60x the
  latent heat, times 0.25 kg/m2.
* recovery 0.85: condensation alone gives 80-90 % (plant reference 2.2;
  Hwang et al. 2016 reach 99.6 % with a hybrid process). Consistent with air at
  10 degC holding ~0.6 g/m3 of NMP (vapour pressure ~15 Pa, property value).
* condensation cooling 2.2 kWh_c per kg evaporated: the 300 kg of exhaust air
  cooled from ~35 degC (after a cooling-water stage, assumption) to 10 degC,
  2.1 kWh, plus the latent heat of the condensed NMP.
* fans 0.1 kWh_el/m2: ~250 m3 of nozzle air per m2 (4x recirculation of the
  fresh air) at 1,000 Pa and 70 % fan efficiency.
* start-up 1,000 kWh_th: heating ~40 t of dryer steel by 110 K plus air and
  insulation. Minimum run 4 h, minimum down 2 h: oven inertia and quality
  requalification after stops (plant reference 1, assumption for the hours).
* line 1,800-3,600 m2/h: 30-60 m/min at 1 m coated width (assumption).
* NMP value 3.0 EUR/kg: 2,800-4,200 USD/t (plant reference 2.2, low-quality
  source), ~3.2 EUR/kg at the midpoint, less purification.

For a 20 GWh/a plant, assuming ~5 m2 of coated electrode sheet per kWh of
cells (both electrodes, half of it cathode; an assumption): 1e8 m2/a, or
12,150 m2/h over 49 weeks of 24/7 operation (8,232 h), i.e. two cathode and two
anode lines at ~84 % of 3,600 m2/h, each 72,900 m2 per day. Cathode lines with
these defaults: 2.3 kWh_th/m2 x 2.5 m2/kWh = 5.8 kWh_th per kWh of cells
(115 GWh_th/a, ~14 MW_th), 0.25 kWh_el/kWh for fans, 1.4 kWh_c/kWh for NMP
condensation and 0.53 kg/kWh of recovered NMP. Water-based anode lines
(``nmp_kg_per_m2: 0``; water needs ~10x less drying energy per kg of solvent,
ANL via plant reference 2.2; ~0.4 kWh_th/m2) add ~1 kWh_th/kWh; with a gas
boiler (0.93) and a chiller the four lines draw ~8.5 kWh of final energy per
kWh of cells (48 h solve, July and January alike). This sits below the
10-15 kWh/kWh that plant-level studies report for coating, drying and NMP
recovery together (plant reference 1), which include idle running and
gas-fired heat; calibrate ``heat_kwh_per_m2`` and ``heat_on_kw`` to a plant's
data where known.

Examples
--------
YAML::

    - type: drying_oven
      name: cathode_line_1
      area_per_day_m2: 72900
      area_min_m2_per_h: 1800
      area_max_m2_per_h: 3600
      min_run_h: 4
      min_down_h: 2
      heat_kwh_per_m2: 2.3
      nmp_kg_per_m2: 0.25
      recovery_frac: 0.85
      nmp_destination: credit
      nmp_value_eur_per_kg: 3.0
      calendar: {weekly: [{start: "sun 22:00", end: "sat 06:00"}]}
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pydantic import Field, model_validator
from pyomo.core.expr.numeric_expr import LinearExpression

from energyopt.assets._process import ProcessAsset, net_injections
from energyopt.assets.base import (
    AssetParams,
    AssetTerms,
    BuildContext,
    carrier_field,
    register,
    series_field,
    values,
)
from energyopt.assets.declarations import (
    QuantitySpec,
    column_setpoint,
    fixed_bounds,
    key_state,
    local_time,
)
from energyopt.assets.requirements import Requirement
from energyopt.errors import ModelBuildError
from energyopt.inputs.production import (
    LocalDay,
    ProductionCalendar,
    TargetNames,
    daily_target_bounds,
    daily_values,
    in_production,
    local_dates,
    scaled_daily_targets,
    window_days,
)
from energyopt.inputs.timeseries import index_step
from energyopt.model.flat import linear_sum

#: tolerance on areas [m2]
AREA_TOL_M2 = 1e-6


class DryingOvenParams(AssetParams):
    """Coating-line dryer parameters (see the module docstring for maths and sources)."""

    type: Literal["drying_oven"]
    process: str = Field("ovens", description="process group for per-process KPIs")
    area_per_day_m2: float | None = Field(
        None, ge=0, description="target of a day with 24 production hours [m2/day]"
    )
    area_per_day_series: str | None = series_field(
        description="site series holding each local day's target [m2/day]"
    )
    area_min_m2_per_h: float = Field(1800.0, gt=0, description="slowest speed when on [m2/h]")
    area_max_m2_per_h: float = Field(3600.0, gt=0, description="fastest speed [m2/h]")
    min_run_h: float = Field(4.0, ge=0, description="[h]")
    min_down_h: float = Field(2.0, ge=0, description="[h]")
    startup_heat_kwh: float = Field(1000.0, ge=0, description="heat-up per start [kWh_th]")
    heat_kwh_per_m2: float = Field(2.3, ge=0, description="[kWh_th/m2]")
    heat_on_kw: float = Field(0.0, ge=0, description="heat while on, any speed [kW]")
    heat_carrier: str = carrier_field("heat_ht")
    fan_kwh_per_m2: float = Field(0.1, ge=0, description="[kWh_el/m2]")
    fan_on_kw: float = Field(0.0, ge=0, description="fan power while on, any speed [kW]")
    nmp_kg_per_m2: float = Field(0.25, ge=0, description="solvent evaporated [kg/m2]")
    recovery_frac: float = Field(0.85, ge=0, le=1, description="NMP recovered [frac]")
    recovery_cooling_kwh_per_kg: float = Field(
        2.2, ge=0, description="cooling per kg NMP evaporated [kWh_c/kg]"
    )
    cooling_carrier: str = carrier_field("cooling")
    nmp_destination: Literal["credit", "carrier"] = "credit"
    nmp_carrier: str = Field("nmp", description="material carrier for recovered NMP [kg/h]")
    nmp_value_eur_per_kg: float = Field(3.0, ge=0, description="credit per kg recovered [EUR/kg]")
    calendar: ProductionCalendar = ProductionCalendar()
    is_on_initial: bool = Field(False, description="line state before the first window")
    shortfall_penalty_eur_per_m2: float = Field(
        40.0, ge=0, description="soft mode: price of a m2 below a day's target [EUR/m2]"
    )

    @model_validator(mode="after")
    def _consistent(self) -> DryingOvenParams:
        if (self.area_per_day_m2 is None) == (self.area_per_day_series is None):
            raise ValueError("give exactly one of area_per_day_m2 or area_per_day_series")
        if self.area_min_m2_per_h > self.area_max_m2_per_h:
            msg = (
                f"area_min_m2_per_h={self.area_min_m2_per_h} exceeds "
                f"area_max_m2_per_h={self.area_max_m2_per_h}"
            )
            raise ValueError(msg)
        return self


@dataclasses.dataclass(frozen=True)
class OvenPlan:
    """Per-interval production plan of a line over one window."""

    is_production: np.ndarray
    day_spans: tuple[tuple[int, int], ...]  # (first, stop) of each local day in the window
    day_min_m2: np.ndarray  # per local day: least area to coat in the window [m2]
    day_max_m2: np.ndarray  # per local day: most area to coat in the window [m2]
    done_min_m2: np.ndarray
    done_max_m2: np.ndarray
    done_initial_m2: float
    is_on_min: np.ndarray  # 1 where a carried run must go on
    is_on_max: np.ndarray  # 0 outside production and where a carried rest must go on
    is_on_initial: float
    time_in_state_initial_h: float
    baseline_area_m2_per_h: np.ndarray
    findings: tuple[str, ...] = ()  # days whose target cannot be met (soft mode)


def steps_for(hours: float, dt_h: float) -> int:
    """Whole intervals needed to cover ``hours`` [-] (0 for none)."""
    return max(0, math.ceil(hours / dt_h - 1e-9))


def window_sum(var, t: int, span: int):
    """Sum of ``var`` over the ``span`` intervals ending at ``t`` (within the window)."""
    return LinearExpression([var[k] for k in range(max(0, t - span + 1), t + 1)])


@register
class DryingOven(ProcessAsset):
    """Electrode coating line dryer with NMP recovery."""

    kind = "drying_oven"
    process = "ovens"
    Params = DryingOvenParams
    params: DryingOvenParams
    carries_state = True
    setpoints = {
        "is_on": column_setpoint("is_on", 0),
        "area_m2_per_h": column_setpoint("area_m2_per_h"),
    }
    quantities = {
        "is_on": QuantitySpec(
            fixed_bounds(0.0, 1.0), "line running [0/1]", True, key_state("is_on")
        ),
        "time_in_state_h": QuantitySpec(
            fixed_bounds(0.0, 24.0 * 366),
            "hours since the last on/off change [h]",
            False,
            key_state("time_in_state_h"),
        ),
        "area_done_today_m2": QuantitySpec(
            fixed_bounds(0.0, math.inf),
            "electrode area coated since local midnight [m2]",
            to_state=lambda _p, value, at, c: {
                f"area_done_m2:{local_time(at, c.timezone).date().isoformat()}": float(value)
            },
        ),
    }

    def build(self, b: pyo.Block, ctx: BuildContext) -> AssetTerms:
        p = self.params
        T = b.model().T
        on_min = self.series_param(b, "is_on_min", ctx, self._field("is_on_min"))
        on_max = self.series_param(b, "is_on_max", ctx, self._field("is_on_max"))
        b.is_on = pyo.Var(T, domain=pyo.Binary, bounds=lambda b, t: (on_min[t], on_max[t]))
        b.is_starting = pyo.Var(T, bounds=(0, 1))
        b.is_stopping = pyo.Var(T, bounds=(0, 1))
        b.area_m2_per_h = pyo.Var(T, bounds=(0, p.area_max_m2_per_h))
        self._add_commitment(b, ctx)
        self._add_daily_target(b, ctx)
        self._add_flows(b, ctx)
        flows = [
            (p.heat_carrier, -1.0, b.heat_kw),
            ("electricity", -1.0, b.power_el_kw),
            (p.cooling_carrier, -1.0, b.cooling_kw),
        ]
        costs = {}
        if p.nmp_destination == "carrier":
            flows.append((p.nmp_carrier, 1.0, b.nmp_recovered_kg_per_h))
        else:
            b.revenue_eur = pyo.Expression(
                expr=-p.nmp_value_eur_per_kg
                * ctx.dt_h
                * sum(b.nmp_recovered_kg_per_h[t] for t in T)
            )
            costs["revenue"] = b.revenue_eur
        return AssetTerms(injections=net_injections(T, flows), costs_eur=costs)

    def _add_commitment(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Speed range, switching, minimum run and down times (calendar: bounds of is_on)."""
        p = self.params
        T = b.model().T
        on_before = self.scalar_param(b, "is_on_initial", ctx, self._field("is_on_initial"))
        run = max(1, steps_for(p.min_run_h, ctx.dt_h))
        down = max(1, steps_for(p.min_down_h, ctx.dt_h))
        b.speed_min = pyo.Constraint(
            T,
            rule=lambda b, t: (
                linear_sum([(1.0, b.area_m2_per_h[t]), (-p.area_min_m2_per_h, b.is_on[t])]) >= 0
            ),
        )
        b.speed_max = pyo.Constraint(
            T,
            rule=lambda b, t: (
                linear_sum([(1.0, b.area_m2_per_h[t]), (-p.area_max_m2_per_h, b.is_on[t])]) <= 0
            ),
        )

        @b.Constraint(T)
        def switching(b, t):
            # is_starting[t] - is_stopping[t] = is_on[t] - is_on[t-1]
            terms = [(1.0, b.is_starting[t]), (-1.0, b.is_stopping[t]), (-1.0, b.is_on[t])]
            if t == 0:
                return linear_sum(terms) == -on_before
            return linear_sum([*terms, (1.0, b.is_on[t - 1])]) == 0

        b.min_run = pyo.Constraint(
            T, rule=lambda b, t: b.is_on[t] >= window_sum(b.is_starting, t, run)
        )
        b.min_down = pyo.Constraint(
            T, rule=lambda b, t: 1 - b.is_on[t] >= window_sum(b.is_stopping, t, down)
        )

    def _add_daily_target(self, b: pyo.Block, ctx: BuildContext) -> None:
        """One row per local day: the area coated in the window within the day's bounds
        (soft mode: up to a priced shortfall below the lower bound)."""
        spans = self.plan(ctx).day_spans
        days = range(len(spans))
        day_min = self.table_param(b, "day_min_m2", days, ctx, self._per_day("day_min_m2"))
        day_max = self.table_param(b, "day_max_m2", days, ctx, self._per_day("day_max_m2"))
        requirement = Requirement(
            self.name,
            "daily area target not met",
            "m2",
            spans,
            None,
            self.params.shortfall_penalty_eur_per_m2,
        )
        short = self.shortfall(b, ctx, requirement)

        @b.Constraint(days)
        def day_target(b, k):
            first, stop = spans[k]
            coated = ctx.dt_h * sum(b.area_m2_per_h[t] for t in range(first, stop))
            return pyo.inequality(day_min[k], coated + short[k], day_max[k])

    def _add_flows(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Heat, electricity, cooling and NMP per interval as expressions."""
        p = self.params
        T = b.model().T
        dt_h = ctx.dt_h
        area, on = b.area_m2_per_h, b.is_on
        b.heat_kw = pyo.Expression(
            T,
            rule=lambda b, t: (
                p.heat_kwh_per_m2 * area[t]
                + p.heat_on_kw * on[t]
                + p.startup_heat_kwh * b.is_starting[t] / dt_h
            ),
        )
        b.power_el_kw = pyo.Expression(
            T, rule=lambda b, t: p.fan_kwh_per_m2 * area[t] + p.fan_on_kw * on[t]
        )
        b.nmp_evaporated_kg_per_h = pyo.Expression(T, rule=lambda b, t: p.nmp_kg_per_m2 * area[t])
        b.nmp_recovered_kg_per_h = pyo.Expression(
            T, rule=lambda b, t: p.recovery_frac * b.nmp_evaporated_kg_per_h[t]
        )
        b.cooling_kw = pyo.Expression(
            T, rule=lambda b, t: p.recovery_cooling_kwh_per_kg * b.nmp_evaporated_kg_per_h[t]
        )

    # ---- production plan ------------------------------------------------------------

    def plan(self, ctx: BuildContext) -> OvenPlan:
        """Per-interval plan for ``ctx`` (checked against the line's capacity)."""
        return self.cached(ctx, self._compute_plan)

    def _field(self, name: str):
        return lambda ctx: getattr(self.plan(ctx), name)

    def _per_day(self, name: str):
        return lambda ctx: dict(enumerate(getattr(self.plan(ctx), name)))

    def _compute_plan(self, ctx: BuildContext) -> OvenPlan:
        p = self.params
        tz = ctx.site.timezone
        days = window_days(ctx.index, tz)
        before = 0.0
        if days[0].starts_before:
            key = f"area_done_m2:{days[0].date.isoformat()}"
            before = ctx.initial(self.name, key, 0.0)
        bounds = daily_target_bounds(
            ctx.index,
            tz,
            p.calendar,
            self._targets(ctx, days),
            before,
            p.area_max_m2_per_h,
            TargetNames(f"drying_oven {self.name!r}", "m2", "area_max_m2_per_h"),
            soft=ctx.soft_limits,
        )
        producing = in_production(ctx.index, tz, p.calendar)
        is_on, time_in_state_h = self._carried_state(ctx)
        must_on, must_off = self._carried_limits(producing, is_on, time_in_state_h, ctx.dt_h)
        lasts = [day.last for day in days]
        carried_in = np.zeros(len(days))
        carried_in[0] = bounds.done_initial
        return OvenPlan(
            is_production=producing.astype(float),
            day_spans=tuple((day.first, day.stop) for day in days),
            day_min_m2=bounds.done_min[lasts] - carried_in,
            day_max_m2=bounds.done_max[lasts] - carried_in,
            done_min_m2=bounds.done_min,
            done_max_m2=bounds.done_max,
            done_initial_m2=bounds.done_initial,
            is_on_min=must_on,
            is_on_max=producing * (1.0 - must_off),
            is_on_initial=float(is_on),
            time_in_state_initial_h=time_in_state_h,
            baseline_area_m2_per_h=bounds.even_rate,
            findings=bounds.findings,
        )

    def _targets(self, ctx: BuildContext, days: list[LocalDay]) -> dict:
        """Area target of every local day the window touches [m2]."""
        p = self.params
        if p.area_per_day_m2 is not None:
            step = index_step(ctx.index)
            return scaled_daily_targets(
                days, ctx.site.timezone, p.calendar, step, p.area_per_day_m2
            )
        assert p.area_per_day_series is not None  # exactly one of the two (the params' validator)
        what = f"asset {self.name!r}: series {p.area_per_day_series!r}"
        targets = daily_values(ctx.column(p.area_per_day_series, self.name), days, ctx.index, what)
        negative = [day for day, value in targets.items() if value < 0]
        if negative:
            msg = f"{what}: negative daily target on {negative[0]}"
            raise ModelBuildError(msg)
        return targets

    def _carried_state(self, ctx: BuildContext) -> tuple[bool, float]:
        """Line state before the window and hours spent in it."""
        p = self.params
        is_on = ctx.initial(self.name, "is_on", float(p.is_on_initial)) >= 0.5
        hours = ctx.initial(self.name, "time_in_state_h", max(p.min_run_h, p.min_down_h))
        return is_on, hours

    def _carried_limits(
        self, producing: np.ndarray, is_on: bool, time_in_state_h: float, dt_h: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Intervals the line must stay on (run not finished) or off (rest not finished)."""
        p = self.params
        must_on, must_off = np.zeros(len(producing)), np.zeros(len(producing))
        if is_on:
            needed = steps_for(p.min_run_h - time_in_state_h, dt_h)
            stops = np.flatnonzero(~producing[:needed])
            must_on[: int(stops[0]) if stops.size else needed] = 1.0
        else:
            must_off[: steps_for(p.min_down_h - time_in_state_h, dt_h)] = 1.0
        return must_on, must_off

    def prechecks(self, ctx: BuildContext) -> tuple[str, ...]:
        """Days whose target cannot be met in their remaining production hours."""
        return self.plan(ctx).findings

    def structure_key(self, ctx: BuildContext) -> tuple:
        """Run and down windows count intervals and each local day has a row over its
        intervals, so the step and where days begin are structure."""
        return ctx.dt_h, self.plan(ctx).day_spans

    # ---- results and state ----------------------------------------------------------

    def extract(self, b: pyo.Block, ctx: BuildContext) -> pd.DataFrame:
        """Line state, speed, day progress and its bounds, energy and NMP flows."""
        n = ctx.n_steps
        plan = self.plan(ctx)
        names = (
            "is_on",
            "is_starting",
            "area_m2_per_h",
            "heat_kw",
            "power_el_kw",
            "cooling_kw",
            "nmp_evaporated_kg_per_h",
            "nmp_recovered_kg_per_h",
        )
        frame = pd.DataFrame({name: values(b.component(name), n) for name in names}, ctx.index)
        frame["is_on"] = frame["is_on"].round() + 0.0  # no -0.0
        frame.insert(3, "area_done_today_m2", self._done_today(frame["area_m2_per_h"], ctx))
        frame.insert(4, "area_done_min_m2", plan.done_min_m2)
        frame.insert(5, "area_done_max_m2", plan.done_max_m2)
        frame["is_production"] = plan.is_production
        return frame

    def _done_today(self, area_m2_per_h, ctx: BuildContext) -> np.ndarray:
        """Area coated on each interval's local day up to its end [m2] (carried count included)."""
        plan = self.plan(ctx)
        coated = np.maximum(np.asarray(area_m2_per_h, dtype=float), 0.0) * ctx.dt_h
        done = np.empty(len(coated))
        for k, (first, stop) in enumerate(plan.day_spans):
            carried = plan.done_initial_m2 if k == 0 else 0.0
            done[first:stop] = carried + np.cumsum(coated[first:stop])
        return done

    def final_state(self, b: pyo.Block, ctx: BuildContext, steps: int) -> dict[str, float]:
        """Line state, hours in it, and area done on the current local day [m2]."""
        on = np.round(values(b.is_on, ctx.n_steps)[:steps])
        last = on[-1]
        changes = np.flatnonzero(on != last)
        run = steps - (int(changes[-1]) + 1 if changes.size else 0)
        hours = run * ctx.dt_h
        plan = self.plan(ctx)
        if run == steps and last == plan.is_on_initial:
            hours += plan.time_in_state_initial_h
        day = local_dates(ctx.index, ctx.site.timezone)[steps - 1]
        done = float(self._done_today(values(b.area_m2_per_h, ctx.n_steps), ctx)[steps - 1])
        return {"is_on": float(last) + 0.0, "time_in_state_h": hours, f"area_done_m2:{day}": done}

    def apply_baseline(self, b: pyo.Block, ctx: BuildContext) -> None:
        """Rule-based operation: each day's target at constant speed over its production hours."""
        rate = self.series_param(b, "baseline_area_m2_per_h", ctx, self._baseline_area)
        b.baseline_speed = pyo.Constraint(
            b.model().T, rule=lambda b, t: b.area_m2_per_h[t] == rate[t]
        )

    def plan_setpoints(self, b: pyo.Block, columns: list[str]) -> dict[str, str]:
        """Line state and speed are the setpoints; starts and day progress follow from them."""
        return {c: c for c in ("is_on", "area_m2_per_h") if c in columns}

    def _baseline_area(self, ctx: BuildContext) -> np.ndarray:
        p = self.params
        rate = self.plan(ctx).baseline_area_m2_per_h
        slow = np.flatnonzero((rate > 0) & (rate < p.area_min_m2_per_h - AREA_TOL_M2))
        if slow.size:
            day = local_dates(ctx.index, ctx.site.timezone)[slow[0]]
            msg = (
                f"asset {self.name!r}: the baseline spreads day {day}'s target at "
                f"{rate[slow[0]]:.0f} m2/h, below area_min_m2_per_h={p.area_min_m2_per_h:g}"
            )
            raise ModelBuildError(msg)
        return rate

    def kpis(self, dispatch: pd.DataFrame, ctx: BuildContext) -> dict[str, float]:
        """Area coated [m2], starts, heat [kWh_th] and NMP recovered [kg]."""

        def total(column: str) -> float:
            return float(dispatch[f"{self.name}.{column}"].sum() * ctx.dt_h)

        totals = {
            "area_m2": total("area_m2_per_h"),
            "starts": float(dispatch[f"{self.name}.is_starting"].round().sum()),
            "heat_kwh": total("heat_kw"),
            "nmp_recovered_kg": total("nmp_recovered_kg_per_h"),
        }
        return {f"{self.name}.{key}": float(value) for key, value in totals.items()}
