"""Planning one window: the rolling engine's single step on the warm session,
the plan's KPIs and the baseline's on the same inputs."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from energyopt.engine.baseline import solve_baseline
from energyopt.engine.forecast import ActualSource, build_forecasts
from energyopt.engine.pipeline import month_weights
from energyopt.engine.rolling import RollingEngine, Window
from energyopt.engine.state import SystemState
from energyopt.errors import DataError, SolveError
from energyopt.inputs.config import Scenario, SolverOptions
from energyopt.inputs.timeseries import index_step
from energyopt.model.cache import WARM_MODELS, scenario_key
from energyopt.outputs.results import compute_kpis
from energyopt.service.planning.options import PlanningOptions

logger = logging.getLogger(__name__)

#: solver statuses that mean "an incumbent, not proven optimal"
INCUMBENT_STATUSES = frozenset({"time_limit", "iteration_limit", "interrupted"})
#: how handover instants are written (UTC)
STAMP = "%Y-%m-%dT%H:%M:%SZ"
#: daily operation has no period end: months run to their end
OPEN_END = pd.Timedelta(days=366)
#: one model build and solve at a time per process (planning threads and the
#: plan-versus-actual re-solves share it): Pyomo and its solver I/O are not
#: thread-safe within one process
SOLVE_LOCK = threading.Lock()


@dataclasses.dataclass
class WindowPlan:
    """A planned window: dispatch, how it was obtained, KPIs and the baseline's."""

    dispatch: pd.DataFrame
    status: str
    objective_eur: float
    mip_gap: float | None
    fallback_reason: str | None
    solve_s: float
    kpis: dict[str, Any]
    baseline_kpis: dict[str, Any] | None
    model: str = "build"  # "update": the previous plan's model was updated
    #: requirements the plan misses (``Violation.as_dict`` rows) and the pre-checks
    #: that explain them before the solve
    violations: tuple[dict[str, Any], ...] = ()
    prechecks: tuple[str, ...] = ()
    #: every asset's planned state at interval boundaries (UTC stamp text -> asset ->
    #: state), what an intraday re-plan starts unmeasured assets from
    handover: dict[str, dict[str, dict]] = dataclasses.field(default_factory=dict)

    @property
    def is_fallback(self) -> bool:
        """True when the rule-based baseline stands in for an optimised plan."""
        return self.status == "fallback"

    @property
    def has_violations(self) -> bool:
        """True when the plan misses a process requirement (named in ``violations``)."""
        return bool(self.violations)

    @property
    def is_incumbent(self) -> bool:
        """True when the plan is the solver's best found before a limit (see ``mip_gap``)."""
        return self.status in INCUMBENT_STATUSES


def plan_window(
    scenario: Scenario,
    options: PlanningOptions,
    frame: pd.DataFrame,
    index: pd.DatetimeIndex,
    issued_at: pd.Timestamp,
    state: dict[str, dict[str, Any]],
    grid_position_kw: Mapping[str, pd.Series] | None = None,
    handover_at: Sequence[pd.Timestamp] = (),
    *,
    with_baseline: bool = True,
) -> WindowPlan:
    """Plan one window with the rolling engine's step; KPIs of the plan and of the baseline.

    Planning is soft: a process requirement the plant cannot meet is missed at
    its penalty and named in the plan (``assets/requirements.py``). The solve
    holds :data:`SOLVE_LOCK`. ``with_baseline=False`` skips the comparison
    baseline where the demand-charge rule did not solve it anyway
    (``baseline_kpis`` is then None unless it did).
    ``grid_position_kw`` is the day-ahead position an intraday re-plan holds
    (see :class:`~energyopt.engine.rolling.RollingEngine`); the plan's states at
    the window's interval boundaries ``handover_at`` are kept in ``handover``.
    """
    with SOLVE_LOCK:
        return _plan_window(
            scenario,
            options,
            frame,
            index,
            issued_at,
            state,
            grid_position_kw,
            handover_at,
            with_baseline,
        )


def _plan_window(
    scenario: Scenario,
    options: PlanningOptions,
    frame: pd.DataFrame,
    index: pd.DatetimeIndex,
    issued_at: pd.Timestamp,
    state: dict[str, dict[str, Any]],
    grid_position_kw: Mapping[str, pd.Series] | None,
    handover_at: Sequence[pd.Timestamp],
    with_baseline: bool,
) -> WindowPlan:
    scenario = scenario.model_copy(update={"process_limits": "soft"})
    if options.time_limit_s is not None:
        solver = SolverOptions(
            **{**scenario.solver.model_dump(), "time_limit_s": options.time_limit_s}
        )
        scenario = scenario.model_copy(update={"solver": solver})
    forecast = options.forecast_options()
    actuals = ActualSource(frame, forecast.day_ahead_rules(list(frame.columns)))
    weights = dict.fromkeys(month_weights(index, scenario.site.timezone), 1.0)
    engine = RollingEngine(
        scenario,
        build_forecasts(forecast, actuals),
        list(frame.columns),
        weights,
        demand_charge=options.demand_charge,
        peak_floor=options.peak_floor,
        grid_position_kw=grid_position_kw,
    )
    key = scenario_key(scenario)
    engine.plant = WARM_MODELS.take(key)  # the last plan's model, updated if it fits
    window = Window(
        number=1,
        issued_at=issued_at,
        index=index,
        commit_steps=len(index),
        period_end=index[-1] + OPEN_END,
    )
    dispatch, _, report = engine.step(window, SystemState(at=index[0], values=state))
    handover = _handover(engine, index, handover_at)
    assert engine.plant is not None  # step() builds or updates it
    WARM_MODELS.keep(key, engine.plant)
    baseline: dict[str, Any] | None
    if engine.window_baseline is not None:  # solved on these inputs for the expected peak
        solved = engine.window_baseline
        baseline = compute_kpis(solved.read())
    elif not with_baseline:
        baseline = None
    else:  # priced as billed: without expected peaks
        baseline = _baseline(scenario, dataclasses.replace(engine.plant.ctx, peak_floor_kw={}))
    fallback = report.status == "fallback"
    kpis = (baseline or {}) if fallback else compute_kpis(engine.plant.read())
    return WindowPlan(
        dispatch=dispatch,
        status=report.status,
        objective_eur=report.objective_eur,
        mip_gap=report.mip_gap,
        fallback_reason=report.fallback_reason,
        solve_s=report.solve_s,
        kpis=dict(kpis),
        baseline_kpis=baseline,
        model=report.action,
        violations=report.violations,
        prechecks=report.prechecks,
        handover=handover,
    )


def _handover(
    engine: RollingEngine, index: pd.DatetimeIndex, boundaries: Sequence[pd.Timestamp]
) -> dict[str, dict[str, dict]]:
    """The planned states at those ``boundaries`` that end an interval of ``index``."""
    step = index_step(index)
    steps = {int((b - index[0]) / step): b for b in boundaries if index[0] < b <= index[-1] + step}
    states = engine.states_after(sorted(steps))
    ends = engine.end_conditions()
    return {
        steps[k].strftime(STAMP): {
            asset: {**state, **ends.get(asset, {})} for asset, state in by_asset.items()
        }
        for k, by_asset in states.items()
    }


def _baseline(scenario: Scenario, ctx) -> dict[str, Any] | None:
    """KPIs of the rule-based operation on the same inputs and state (None if it fails)."""
    try:
        plant, _ = solve_baseline(scenario, ctx)
    except (SolveError, DataError) as exc:
        logger.warning("baseline for comparison failed: %s", exc)
        return None
    return compute_kpis(plant.read())


def comparison_kpis(plan: WindowPlan) -> dict[str, Any]:
    """Window KPIs of the plan, the baseline's and the saving [EUR, frac]."""
    kpis = {k: v for k, v in plan.kpis.items() if isinstance(v, int | float)}
    out: dict[str, Any] = {"window": kpis, "baseline": None, "savings_vs_baseline": None}
    if plan.baseline_kpis is not None:
        base = {k: v for k, v in plan.baseline_kpis.items() if isinstance(v, int | float)}
        out["baseline"] = base
        plan_cost, base_cost = kpis.get("total_cost_eur"), base.get("total_cost_eur")
        if plan_cost is not None and base_cost is not None:
            saved = base_cost - plan_cost
            out["savings_vs_baseline"] = {
                "total_cost_eur": saved,
                "total_cost_frac": saved / abs(base_cost) if abs(base_cost) > 1e-9 else None,
                "co2_t": base.get("co2_t", 0.0) - kpis.get("co2_t", 0.0),
            }
    return out
