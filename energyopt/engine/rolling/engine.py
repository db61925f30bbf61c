"""The rolling-horizon loop: plan each window from forecasts, commit its start, carry state.

Per window:

1. forecasts of every input quantity as known at the window's issue time;
2. a build context with those forecasts and the carried state;
3. the plant model: built for the first window, then only its mutable
   parameters are re-filled (:meth:`~energyopt.model.PlantSession.update`);
   rebuilt when :meth:`~energyopt.model.PlantSession.can_update` says the
   structure changed (e.g. the shorter last window);
4. HiGHS on the updated model (its parameter-dependent matrix entries
   refreshed, see ``solve.py``);
5. the first ``commit_steps`` of the plan are committed, and every asset's
   ``final_state`` after them becomes the state of the next window.

The loop alternates between two models of the plant: while HiGHS solves one
window, the committed table of the window before is read from the other
model (HiGHS runs in a worker thread and releases the interpreter lock).

A window without a plan (infeasible, or a time limit without incumbent) falls
back to the rule-based baseline for that window (``energyopt/engine/baseline.py``)
on the same forecasts and state; the fallback and its reason are reported. If
the fallback fails too, the run stops with a :class:`SolveError` naming the
window.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import cast

import numpy as np
import pandas as pd

from energyopt.assets import ASSET_TYPES, BuildContext
from energyopt.assets.grid import monthly_peaks_kw
from energyopt.engine.baseline import BaselineOrder, solve_baseline
from energyopt.engine.forecast import ForecastSet
from energyopt.engine.pipeline import build_plant, make_context
from energyopt.engine.rolling.windows import Window, peak_price_factor
from energyopt.engine.state import SystemState
from energyopt.errors import DataError, ModelBuildError, SolveError
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import fmt_time, index_step
from energyopt.model import PlantSession
from energyopt.model.solve import start_solve

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WindowReport:
    """What happened in one window; times in seconds."""

    number: int
    start: pd.Timestamp
    end: pd.Timestamp
    issued_at: pd.Timestamp
    n_steps: int
    commit_steps: int
    action: str  # "build" or "update"
    forecast_s: float
    build_s: float  # model build, or parameter update
    solve_s: float  # compile, hand-off, HiGHS and reading the plan back
    highs_s: float  # HiGHS's own run time (getRunTime) within solve_s
    status: str  # solver status, or "fallback"
    objective_eur: float
    fallback_reason: str | None = None
    mip_gap: float | None = None  # relative gap of the plan [frac]; None for a fallback
    #: requirements the committed plan misses (soft mode; ``Violation.as_dict`` rows)
    violations: tuple[dict[str, object], ...] = ()
    #: what the assets found they cannot meet before the solve (soft mode)
    prechecks: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Plain dict with ISO time stamps (for JSON/CSV)."""
        row = dataclasses.asdict(self)
        for key in ("start", "end", "issued_at"):
            row[key] = fmt_time(row[key])
        return row


@dataclasses.dataclass
class RollingPlan:
    """Committed plans of every window and the states between them."""

    plan: pd.DataFrame
    windows: list[WindowReport]
    states: list[SystemState]
    wall_s: float = 0.0  # the whole planning loop

    def timing(self) -> dict[str, float]:
        """Totals and medians of the per-window times [s] and counts."""
        frame = pd.DataFrame([w.as_dict() for w in self.windows])
        built = frame["action"] == "build"
        return {
            "n_windows": len(frame),
            "n_builds": int(built.sum()),
            "n_fallbacks": int((frame["status"] == "fallback").sum()),
            "forecast_s_total": float(frame["forecast_s"].sum()),
            "build_s_total": float(frame.loc[built, "build_s"].sum()),
            "update_s_total": float(frame.loc[~built, "build_s"].sum()),
            "solve_s_total": float(frame["solve_s"].sum()),
            "highs_s_total": float(frame["highs_s"].sum()),
            "window_s_median": float((frame["build_s"] + frame["solve_s"]).median()),
            "solve_s_median": float(frame["solve_s"].median()),
            "planning_wall_s": self.wall_s,
        }


WindowCallback = Callable[[WindowReport, int], None]


@dataclasses.dataclass
class _Planned:
    """A window planned and solved, its committed table not read yet."""

    window: Window
    source: PlantSession  # the model holding the plan (the baseline's after a fallback)
    next_state: SystemState
    report: WindowReport


class RollingEngine:
    """Plans windows one after the other, reusing one model while its structure holds.

    ``reuse_model=False`` builds a fresh model for every window (to measure
    what the parameter updates save). ``baseline_order`` is the converter order
    of the baseline a failed window falls back to (:mod:`energyopt.engine.baseline`).

    ``demand_charge`` and ``peak_floor`` are :class:`RollingOptions` fields.
    ``peak_floor_kw`` (``{grid asset: {"YYYY-MM": kW}}``) are the months'
    expected peaks given from outside (with ``peak_floor="baseline"``: the
    baseline's peaks over the period); with ``peak_floor="window"`` the engine
    runs the baseline on each window's forecasts and keeps the highest peak
    of each month seen so far.

    ``grid_position_kw`` (``{grid asset: net import [kW] by interval start}``)
    is the position bought day-ahead that an intraday re-plan holds: each
    window's grid prices its deviations from it (``assets/grid.py``);
    intervals it does not cover are free.

    With ``overlap`` (the default, when models are reused) :meth:`run` keeps
    two models of the plant and alternates between them: while HiGHS solves
    window k on one (in a worker thread), the committed table of window k-1 is
    read from the other. The plans are the same as without overlap.
    """

    def __init__(
        self,
        scenario: Scenario,
        forecasts: ForecastSet,
        quantities: list[str],
        month_weight: dict[str, float],
        *,
        reuse_model: bool = True,
        demand_charge: str = "full",
        peak_floor: str = "none",
        peak_floor_kw: Mapping[str, Mapping[str, float]] | None = None,
        baseline_order: BaselineOrder | None = None,
        overlap: bool = True,
        grid_position_kw: Mapping[str, pd.Series] | None = None,
    ) -> None:
        self.scenario = scenario
        self.forecasts = forecasts
        self.quantities = quantities
        self.month_weight = month_weight
        self.reuse_model = reuse_model
        self.demand_charge = demand_charge
        self.peak_floor = peak_floor
        self.peak_floor_kw = {a: dict(m) for a, m in (peak_floor_kw or {}).items()}
        #: with ``peak_floor="window"``: the baseline solved on the last window's forecasts
        self.window_baseline: PlantSession | None = None
        self.baseline_order = baseline_order
        self.overlap = overlap and reuse_model
        self.grid_position_kw = dict(grid_position_kw or {})
        #: the model holding the plan of the last :meth:`step`
        self.last_source: PlantSession | None = None
        self._models: list[PlantSession | None] = [None, None]
        self._slot = 0

    @property
    def plant(self) -> PlantSession | None:
        """The model of the window planned last (the next sequential step updates it)."""
        return self._models[self._slot]

    @plant.setter
    def plant(self, plant: PlantSession | None) -> None:
        self._models[self._slot] = plant

    def run(
        self,
        windows: list[Window],
        initial: SystemState | None = None,
        on_window: WindowCallback | None = None,
    ) -> RollingPlan:
        """Plan every window in turn; returns the committed plan and the states."""
        started = time.perf_counter()
        state = initial or SystemState()
        states = [state]
        reports: list[WindowReport] = []
        parts: list[pd.DataFrame] = []
        pending: _Planned | None = None
        for window in windows:
            if self.overlap:
                self._slot = 1 - self._slot
            read = None if pending is None else functools.partial(_read, parts, pending)
            planned = self._plan(window, state, read)
            state = planned.next_state
            states.append(state)
            reports.append(planned.report)
            _log(planned.report, len(windows))
            if on_window is not None:
                on_window(planned.report, len(windows))
            pending = planned
            if not self.overlap:  # the next window updates this model: read it now
                parts.append(self._committed(planned))
                pending = None
        if pending is not None:
            parts.append(self._committed(pending))
        plan = pd.concat(parts)
        # pandas-stubs type ``freq`` read-only; pandas sets it, validated
        cast(pd.DatetimeIndex, plan.index).freq = windows[0].index.freq  # type: ignore[misc]
        wall_s = time.perf_counter() - started
        return RollingPlan(plan=plan, windows=reports, states=states, wall_s=wall_s)

    def step(
        self, window: Window, state: SystemState
    ) -> tuple[pd.DataFrame, SystemState, WindowReport]:
        """Plan one window from ``state``: committed plan, next state, report."""
        planned = self._plan(window, state)
        self.last_source = planned.source
        return self._committed(planned), planned.next_state, planned.report

    def states_after(self, steps: list[int]) -> dict[int, dict[str, dict]]:
        """Every asset's state after each of ``steps`` intervals of the window
        :meth:`step` planned last (the baseline's after a fallback)."""
        if self.last_source is None:
            raise RuntimeError("states_after() needs a planned step")
        return {k: self.last_source.final_states(k) for k in steps}

    def end_conditions(self) -> dict[str, dict[str, float]]:
        """The end-of-window conditions of the window :meth:`step` planned last."""
        if self.last_source is None:
            raise RuntimeError("end_conditions() needs a planned step")
        return self.last_source.end_conditions()

    def _plan(
        self, window: Window, state: SystemState, meanwhile: Callable[[], None] | None = None
    ) -> _Planned:
        """Forecasts, model, solve (``meanwhile`` runs while HiGHS does), next state."""
        started = time.perf_counter()
        series = self.forecasts.frame(self.quantities, window.index, window.issued_at)
        ctx = make_context(
            self.scenario, window.index, series, state.for_context(), self.month_weight
        )
        open_end = window.index[-1] + index_step(window.index) < window.period_end
        ctx = self._peak_pricing(window, dataclasses.replace(ctx, open_end=bool(open_end)))
        if self.grid_position_kw:
            ctx = dataclasses.replace(ctx, grid_position_kw=self._positions(window.index))
        forecast_s = time.perf_counter() - started
        if self.plant is None or not self.reuse_model or not self.plant.can_update(ctx):
            self.plant = build_plant(self.scenario, ctx)
            action, build_s = "build", self.plant.build_s
        else:
            action, build_s = "update", self.plant.update(ctx)
        source, reason, gap, highs_s = self.plant, None, None, 0.0
        started = time.perf_counter()
        pending, failed = None, None
        try:
            pending = start_solve(
                self.plant,
                self.scenario.solver,
                background=bool(meanwhile),
                start=self.window_baseline,  # a time-out then still has the baseline's plan
            )
        except SolveError as exc:
            failed = exc
        if meanwhile is not None:  # while HiGHS runs in its thread
            meanwhile()
        try:
            if pending is None:
                assert failed is not None  # start_solve returned or raised
                raise failed
            solved = pending.finish()
            status, objective, gap = solved.status, solved.objective_eur, solved.mip_gap
            highs_s = solved.highs_s
        except SolveError as exc:
            reason = str(exc)
            logger.warning("window %d: no plan (%s); using the baseline", window.number, reason)
            source, status, objective = self._fallback(window, ctx, reason)
        solve_s = time.perf_counter() - started
        updates = source.final_states(window.commit_steps)
        report = WindowReport(
            number=window.number,
            start=window.start,
            end=window.index[-1] + index_step(window.index),
            issued_at=window.issued_at,
            n_steps=len(window.index),
            commit_steps=window.commit_steps,
            action=action,
            forecast_s=forecast_s,
            build_s=build_s,
            solve_s=solve_s,
            highs_s=highs_s,
            status=status,
            objective_eur=objective,
            fallback_reason=reason,
            mip_gap=gap,
            violations=tuple(
                v.as_dict() for v in source.violations() if v.start < window.commit_end
            ),
            prechecks=tuple(source.prechecks()),
        )
        return _Planned(window, source, state.advance(window.commit_end, updates), report)

    @staticmethod
    def _committed(planned: _Planned) -> pd.DataFrame:
        """The committed part of a planned window's table, with its discrete states."""
        source, steps = planned.source, planned.window.commit_steps
        committed = source.read().dispatch.iloc[:steps]
        states = source.discrete_states(steps)
        return committed.join(states.drop(columns=committed.columns, errors="ignore"))

    def _positions(self, index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
        """The held positions on a window's intervals [kW], NaN where none."""
        return {
            name: position.reindex(index).to_numpy(dtype=float)
            for name, position in self.grid_position_kw.items()
        }

    def _peak_pricing(self, window: Window, ctx: BuildContext) -> BuildContext:
        """``ctx`` with the window's expected peaks and its share of each month.

        ``full``: a rise up to the expected peak costs the share of the month's
        remaining hours the window covers (:func:`peak_price_factor`), beyond
        it the full rate; ``prorated``: every rise costs that share.
        """
        share = peak_price_factor(window.index, window.period_end, self.scenario.site.timezone)
        if self.demand_charge == "prorated":
            floors = {name: dict.fromkeys(share, math.inf) for name in _grid_imports(self.scenario)}
        else:
            floors = self._peak_floors(ctx)
        return dataclasses.replace(ctx, peak_below_share=share, peak_floor_kw=floors)

    def _peak_floors(self, ctx: BuildContext) -> dict[str, dict[str, float]]:
        """Expected monthly peaks per grid asset [kW].

        With ``peak_floor="window"`` the baseline's peaks on this window's
        forecasts raise the floors kept for their months (a failed baseline
        leaves them as they are).
        """
        if self.peak_floor == "window":
            self.window_baseline = None
            try:
                plant, _ = solve_baseline(self.scenario, ctx, self.baseline_order)
            except (SolveError, ModelBuildError, DataError) as exc:
                logger.warning("expected peak: the window's baseline failed (%s)", exc)
            else:
                self.window_baseline = plant
                peaks = grid_peaks_kw(self.scenario, plant.read().dispatch)
                for name, months in peaks.items():
                    floors = self.peak_floor_kw.setdefault(name, {})
                    for month, peak in months.items():
                        floors[month] = max(floors.get(month, 0.0), peak)
        if self.peak_floor == "none":
            return {}
        return {name: dict(months) for name, months in self.peak_floor_kw.items()}

    def _fallback(self, window: Window, ctx, reason: str) -> tuple[PlantSession, str, float]:
        try:
            plant, report = solve_baseline(self.scenario, ctx, self.baseline_order)
        except SolveError as exc:
            msg = (
                f"window {window.number} ({fmt_time(window.start)}): no plan ({reason}) "
                f"and the baseline fallback failed too ({exc})"
            )
            raise SolveError(msg) from None
        return plant, "fallback", report.objective_eur


def grid_peaks_kw(scenario: Scenario, dispatch: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Monthly peak import of every grid asset of ``scenario`` in a dispatch table [kW]."""
    timezone = scenario.site.timezone
    return {
        name: monthly_peaks_kw(dispatch[column], timezone)
        for name, column in _grid_imports(scenario).items()
    }


def _grid_imports(scenario: Scenario) -> dict[str, str]:
    """Import column of every public-grid connection, by asset name."""
    kinds = {a.name: ASSET_TYPES[a.type] for a in scenario.plant.assets}
    return {
        name: f"{name}.{kind.import_column}"
        for name, kind in kinds.items()
        if kind.import_column is not None
    }


def _read(parts: list[pd.DataFrame], planned: _Planned) -> None:
    parts.append(RollingEngine._committed(planned))


def _log(report: WindowReport, total: int) -> None:
    logger.info(
        "[%s:%s] (%d/%d) issued %s, %s %.3f s, solve %.3f s, %s",
        fmt_time(report.start),
        fmt_time(report.end),
        report.number,
        total,
        fmt_time(report.issued_at),
        report.action,
        report.build_s,
        report.solve_s,
        report.status,
    )
