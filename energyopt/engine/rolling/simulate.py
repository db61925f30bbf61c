"""Simulate a period three ways and compare: rolling horizon, perfect foresight, baseline.

* ``rolling``: daily plans from forecasts (:mod:`energyopt.engine.rolling.engine`),
  the committed parts replayed on actual inputs (:mod:`energyopt.engine.rolling.replay`);
* ``perfect``: one solve of the whole period on the actual inputs (the best
  any planner could do);
* ``baseline``: the rule-based operation (:mod:`energyopt.engine.baseline`) on the
  actual inputs.

All three are priced on the actual inputs with the same cost terms and the
same billing-month weights, so their KPIs compare directly:
``savings_vs_baseline_pct = (1 - rolling / baseline) * 100`` and
``rolling_regret_pct = (rolling / perfect - 1) * 100`` on ``total_cost_eur``.
A perfect-foresight MILP solved to a relative gap ``g`` may cost up to ``g``
more than the true optimum; ``rolling_regret_upper_pct`` measures the rolling
cost against the solver's lower bound instead, an upper limit of the regret.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from energyopt.assets import BuildContext
from energyopt.engine.baseline import BaselineOrder, run_baseline
from energyopt.engine.forecast import ActualSource, ForecastOptions, build_forecasts
from energyopt.engine.pipeline import (
    RunResult,
    build_plant,
    input_coverage,
    load_inputs,
    make_context,
    summarize,
)
from energyopt.engine.rolling.engine import (
    RollingEngine,
    RollingPlan,
    WindowCallback,
    grid_peaks_kw,
)
from energyopt.engine.rolling.replay import replay
from energyopt.engine.rolling.windows import RollingOptions, Window, plan_windows
from energyopt.engine.state import SystemState
from energyopt.errors import DataError, ModelBuildError, ScenarioError, SolveError
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import index_step, make_index
from energyopt.units import PCT_PER_FRAC

logger = logging.getLogger(__name__)

MODES = ("rolling", "perfect", "baseline")
#: the baseline runs first: its monthly peaks are the rolling windows' expected peaks
RUN_ORDER = ("baseline", "rolling", "perfect")


@dataclasses.dataclass
class Simulation:
    """Results of a simulation: one run per mode, the rolling plan, the comparison."""

    scenario: Scenario
    period: pd.DatetimeIndex
    runs: dict[str, RunResult]
    rolling: RollingPlan | None
    comparison: dict[str, float]

    def kpis(self) -> dict[str, object]:
        """Flat KPIs of a single mode, or the comparison plus per-mode KPIs."""
        if len(self.runs) == 1:
            return dict(next(iter(self.runs.values())).kpis)
        return {**self.comparison, **{mode: dict(run.kpis) for mode, run in self.runs.items()}}


def period_of(
    scenario: Scenario, start: dt.date, end: dt.date, step: str | None
) -> pd.DatetimeIndex:
    """Model index of the local days ``start`` to ``end`` (both included)."""
    if end < start:
        raise ScenarioError(f"simulation end {end} is before its start {start}")
    days = (end - start).days + 1
    return make_index(start, days, step or scenario.period.step, scenario.site.timezone)


def load_actuals(
    scenario: Scenario, period: pd.DatetimeIndex, history: pd.Timedelta
) -> pd.DataFrame:
    """Actual inputs over ``period`` plus up to ``history`` before it (as far as data go)."""
    step = index_step(period)
    first = period[0] - history
    coverage = input_coverage(scenario)
    if coverage is not None and coverage[0] > first:
        first += math.ceil((coverage[0] - first) / step) * step
    first = min(first, period[0])
    index = pd.date_range(first, period[-1] + step, freq=step, inclusive="left", name="time")
    return load_inputs(scenario, index)


def simulate(
    scenario: Scenario,
    start: dt.date,
    end: dt.date,
    *,
    modes: tuple[str, ...] = MODES,
    step: str | None = None,
    forecast: ForecastOptions | None = None,
    rolling: RollingOptions | None = None,
    initial: SystemState | None = None,
    on_window: WindowCallback | None = None,
    baseline_order: BaselineOrder | None = None,
) -> Simulation:
    """Run the requested modes over the local days ``start`` to ``end``.

    ``baseline_order`` names the default converters per carrier for the
    baseline (and for the fallback of a failed rolling window).
    """
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ScenarioError(f"unknown mode(s) {unknown}; use {', '.join(MODES)}")
    forecast = forecast or ForecastOptions()
    rolling = rolling or RollingOptions()
    initial = initial or SystemState()
    period = period_of(scenario, start, end, step)
    history = forecast.history(pd.Timedelta(rolling.horizon))
    frame = load_actuals(scenario, period, history)
    actual_ctx = make_context(
        scenario, period, frame.loc[period[0] :].set_axis(period), initial.for_context()
    )
    setup = _Setup(
        scenario, period, frame, actual_ctx, forecast, rolling, initial, on_window, baseline_order
    )
    runs: dict[str, RunResult] = {}
    plan = None
    for mode in (m for m in RUN_ORDER if m in modes):
        started = time.perf_counter()
        try:
            runs[mode], plan = _run_mode(setup, mode, plan, runs.get("baseline"))
        except SolveError as exc:
            span = f"{period[0].tz_convert(scenario.site.timezone):%Y-%m-%d} to {end}"
            raise SolveError(f"{mode} run over {span}: {exc}") from None
        runs[mode].kpis["wall_s"] = time.perf_counter() - started
        logger.info("%s: total cost %.2f EUR", mode, runs[mode].kpis["total_cost_eur"])
    runs = {mode: runs[mode] for mode in MODES if mode in runs}
    return Simulation(scenario, period, runs, plan, compare(runs))


@dataclasses.dataclass(frozen=True)
class _Setup:
    """Everything the modes of one simulation share."""

    scenario: Scenario
    period: pd.DatetimeIndex
    frame: pd.DataFrame
    actual_ctx: BuildContext
    forecast: ForecastOptions
    rolling: RollingOptions
    initial: SystemState
    on_window: WindowCallback | None
    baseline_order: BaselineOrder | None


def _run_mode(
    setup: _Setup, mode: str, plan: RollingPlan | None, baseline: RunResult | None
) -> tuple[RunResult, RollingPlan | None]:
    s = setup
    if mode == "perfect":
        return solve_period(s.scenario, s.actual_ctx), plan
    if mode == "baseline":
        return run_baseline(s.scenario, s.actual_ctx, s.baseline_order), plan
    plan = run_rolling(
        s.scenario,
        s.period,
        s.frame,
        s.forecast,
        s.rolling,
        s.actual_ctx,
        s.initial,
        s.on_window,
        s.baseline_order,
        # the baseline run, when there is one, gives the expected monthly peaks
        peak_floor_kw=None if baseline is None else grid_peaks_kw(s.scenario, baseline.dispatch),
    )
    result = replay(s.scenario, s.actual_ctx, plan.plan)
    result.kpis.update(rolling_kpis(plan, s.forecast, s.rolling))
    return result, plan


def run_rolling(
    scenario: Scenario,
    period: pd.DatetimeIndex,
    frame: pd.DataFrame,
    forecast: ForecastOptions,
    options: RollingOptions,
    actual_ctx: BuildContext,
    initial: SystemState,
    on_window: WindowCallback | None = None,
    baseline_order: BaselineOrder | None = None,
    peak_floor_kw: Mapping[str, Mapping[str, float]] | None = None,
) -> RollingPlan:
    """Plan the period window by window from forecasts built on ``frame``.

    ``peak_floor_kw``: the months' expected peaks per grid asset [kW] (with
    ``options.peak_floor="baseline"``, the baseline's peaks on the period).
    """
    engine, windows = rolling_engine(
        scenario,
        period,
        frame,
        forecast,
        options,
        dict(actual_ctx.demand_charge_month_weight),
        baseline_order=baseline_order,
        peak_floor_kw=peak_floor_kw,
        initial=initial.for_context(),
    )
    return engine.run(windows, initial, on_window)


def rolling_engine(
    scenario: Scenario,
    period: pd.DatetimeIndex,
    frame: pd.DataFrame,
    forecast: ForecastOptions,
    options: RollingOptions,
    month_weight: dict[str, float] | None = None,
    *,
    reuse_model: bool = True,
    baseline_order: BaselineOrder | None = None,
    peak_floor_kw: Mapping[str, Mapping[str, float]] | None = None,
    initial: dict | None = None,
) -> tuple[RollingEngine, list[Window]]:
    """An engine with forecasts built on the actuals ``frame``, and the period's windows.

    ``month_weight``: the period's billing-month weights (None: from the period).
    ``peak_floor_kw``: expected monthly peaks; None with ``peak_floor="baseline"``
    runs the baseline on the period's actuals for them, from the state ``initial``.
    """
    actuals = ActualSource(frame, forecast.day_ahead_rules(list(frame.columns)))
    needs_floors = peak_floor_kw is None and options.peak_floor == "baseline"
    if month_weight is None or needs_floors:
        actual = make_context(scenario, period, frame.loc[period[0] :].set_axis(period), initial)
        if month_weight is None:
            month_weight = dict(actual.demand_charge_month_weight)
        if needs_floors:
            peak_floor_kw = baseline_peaks_kw(scenario, actual, baseline_order)
    engine = RollingEngine(
        scenario,
        build_forecasts(forecast, actuals),
        list(frame.columns),
        month_weight,
        reuse_model=reuse_model,
        demand_charge=options.demand_charge,
        peak_floor=options.peak_floor,
        peak_floor_kw=peak_floor_kw,
        baseline_order=baseline_order,
    )
    return engine, plan_windows(period, scenario.site.timezone, options)


def baseline_peaks_kw(
    scenario: Scenario, ctx: BuildContext, order: BaselineOrder | None = None
) -> dict[str, dict[str, float]]:
    """The baseline's monthly peak import per grid asset over ``ctx`` [kW] (none if it fails)."""
    try:
        baseline = run_baseline(scenario, ctx, order)
    except (SolveError, ModelBuildError, DataError) as exc:
        logger.warning("no expected peaks: the baseline of the period failed (%s)", exc)
        return {}
    return grid_peaks_kw(scenario, baseline.dispatch)


def prepare_rolling(
    scenario: Scenario,
    start: dt.date,
    end: dt.date,
    step: str | None = None,
    *,
    forecast: ForecastOptions | None = None,
    options: RollingOptions | None = None,
    reuse_model: bool = True,
) -> tuple[RollingEngine, list[Window]]:
    """An engine over the local days ``start`` to ``end`` with its actuals loaded
    (benchmarks and tests step through it window by window)."""
    forecast = forecast or ForecastOptions()
    options = options or RollingOptions()
    period = period_of(scenario, start, end, step)
    frame = load_actuals(scenario, period, forecast.history(pd.Timedelta(options.horizon)))
    return rolling_engine(scenario, period, frame, forecast, options, reuse_model=reuse_model)


def solve_period(scenario: Scenario, ctx: BuildContext) -> RunResult:
    """One solve of the whole period of ``ctx`` (perfect foresight)."""
    plant = build_plant(scenario, ctx)
    report = plant.solve(scenario.solver)
    return summarize(scenario, plant, report)


def rolling_kpis(
    plan: RollingPlan, forecast: ForecastOptions, options: RollingOptions
) -> dict[str, float | str]:
    """Settings and per-window timing of a rolling run."""
    kpis: dict[str, float | str] = {
        "forecast": forecast.describe(),
        "horizon": options.horizon,
        "commit": options.commit,
        "plan_time_local": options.plan_time_local or f"lead {options.lead}",
        "demand_charge_in_windows": options.demand_charge,
        "peak_floor": options.peak_floor,
    }
    kpis.update(plan.timing())
    return kpis


def compare(runs: dict[str, RunResult]) -> dict[str, float]:
    """Savings and regret on ``total_cost_eur`` (priced on actuals) [%]."""
    cost = {mode: float(run.kpis["total_cost_eur"]) for mode, run in runs.items()}
    out: dict[str, float] = {}
    if "baseline" in cost:
        base = cost["baseline"]
        for mode, key in (
            ("rolling", "savings_vs_baseline_pct"),
            ("perfect", "perfect_savings_vs_baseline_pct"),
        ):
            if mode in cost:
                out[key] = _ratio_pct(base - cost[mode], abs(base))
    if "rolling" in cost and "perfect" in cost:
        out["rolling_regret_pct"] = _ratio_pct(
            cost["rolling"] - cost["perfect"], abs(cost["perfect"])
        )
        bound = runs["perfect"].report.bound_eur
        if bound is not None:
            # the perfect run may stop within its MIP gap; its bound caps the true regret
            out["rolling_regret_upper_pct"] = _ratio_pct(cost["rolling"] - bound, abs(bound))
    for mode, value in cost.items():
        out[f"total_cost_eur:{mode}"] = value
    return out


def _ratio_pct(numerator: float, denominator: float) -> float:
    if denominator < 1e-9:
        return float("nan")
    return float(np.float64(numerator) / denominator * PCT_PER_FRAC)
