"""Re-solving the plant model window by window: energyopt's refresh against persistent HiGHS.

Two ways of solving a model whose mutable parameters were re-filled for the
next window (:meth:`~energyopt.model.PlantSession.update`), paired on the
same windows in one run:

* ``custom refresh``: energyopt's own path, as the rolling engine takes it
  (:func:`energyopt.model.solve.start_solve`, what ``PlantSession.solve``
  calls): compiled once to matrices (``energyopt/model/standard_form.py``),
  afterwards only the parameter-dependent entries are re-evaluated, and a
  fresh ``highspy.Highs`` gets the whole problem in one ``passModel``;
* ``pyomo persistent``: Pyomo's persistent HiGHS interface
  (``pyomo.contrib.solver.solvers.highs.Highs``, ``SolverFactory('highs')`` of
  ``pyomo.contrib.solver``) on the same Pyomo model, its automatic updates
  limited to parameter values: it keeps one ``highspy.Highs`` per model and
  pushes the new values entry by entry (``changeCoeff``, ``changeRowBounds``,
  ``changeColBounds``, ``changeColCost``).

The windows' contexts (forecasts, carried state, expected peaks) come from one
pass of the real rolling engine (:meth:`RollingEngine.step`, state carried by
its own plans); both paths then re-solve that same sequence on models of their
own, window by window in alternating order. Timed per window: the parameter
update, the solve (refresh or update, HiGHS, plan loaded into the Pyomo
variables) and reading the objective; building a model is not timed (the same
code for both). A window that does not fit the model (the shorter last window
of a period) gets a new model for both paths; its first solve (compile,
``set_instance``) is timed as for the first window.

Cases (default plant, HiGHS options of ``scenario.solver``):

1. ``hourly year``: the daily windows (48 h at 1 h) over 2023 of
   ``bench_rolling_year.py``; the loop includes the first solve of each model;
2. ``15 min``: daily windows (48 h at 15 min, 192 steps) from 2023-06-05 as in
   ``bench_window.py``: built and solved once, then N consecutive days
   updated and re-solved; per window means over those N re-solves.

Objectives agree when they differ by less than 1e-6 relative, or by no more
than the larger of the two solves' own gaps (incumbent minus bound: both are
within their gap of the same optimum). HiGHS time is HiGHS's own run time
(``getRunTime``; cumulative on a persistent instance, so taken as the
difference per solve).

Usage: ``python benchmarks/bench_persistent.py [--quick] [--scenario FILE]``;
rows go to ``benchmarks/results.json`` under ``persistent``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyomo.environ as pyo  # noqa: E402
from common import YEAR, Row, machine, plant, plant_path, quick, rolling_engine  # noqa: E402
from pyomo.contrib.solver.common.results import TerminationCondition  # noqa: E402
from pyomo.contrib.solver.solvers.highs import Highs  # noqa: E402

from energyopt.assets import BuildContext  # noqa: E402
from energyopt.engine.pipeline import build_plant  # noqa: E402
from energyopt.engine.state import SystemState  # noqa: E402
from energyopt.inputs.config import Scenario, SolverOptions  # noqa: E402
from energyopt.model import PlantSession  # noqa: E402
from energyopt.model.solve import start_solve  # noqa: E402

CUSTOM, PERSISTENT = "custom refresh", "pyomo persistent"
#: the 15-min case starts where bench_window.py does
START_15MIN = dt.date(2023, 6, 5)
REL_TOL = 1e-6


@dataclasses.dataclass
class Solved:
    """One window re-solved by one path; times in seconds."""

    wall_s: float
    update_s: float  # of which PlantSession.update (the same for both paths)
    highs_s: float
    objective: float
    bound: float | None
    status: str
    first: bool  # the first solve of its model (compile / set_instance)
    check: float  # |objective - value(model.objective)| (untimed)


@dataclasses.dataclass
class Recorded:
    """The windows' contexts from one pass of the rolling engine."""

    contexts: list[BuildContext]
    objectives: list[float]
    statuses: list[str]
    wall_s: float


def record_contexts(
    scenario: Scenario, start: dt.date, end: dt.date, step: str, n_windows: int | None = None
) -> Recorded:
    """Step the real engine over the local days ``start``..``end``; keep each window's ctx."""
    engine, windows = rolling_engine(scenario, start, end, step)
    windows = windows[:n_windows] if n_windows else windows
    state = SystemState()
    contexts, objectives, statuses = [], [], []
    started = time.perf_counter()
    for window in windows:
        _, state, report = engine.step(window, state)
        contexts.append(engine.plant.ctx)  # the context the engine updated its model with
        objectives.append(report.objective_eur)
        statuses.append(report.status)
    return Recorded(contexts, objectives, statuses, time.perf_counter() - started)


class _Path:
    """One way of re-solving: its own model of the plant, rebuilt when a window does not fit."""

    name = ""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.session: PlantSession | None = None
        self.rebuilds = 0
        self.fresh = True  # the model was not solved yet (compile / set_instance due)

    def prepare(self, ctx: BuildContext) -> None:
        """A model for ``ctx`` (untimed): built when there is none or it does not fit."""
        if self.session is None or not self.session.can_update(ctx):
            self.rebuilds += self.session is not None
            self.session = build_plant(self.scenario, ctx)
            self.fresh = True

    def solve(self, ctx: BuildContext) -> Solved:
        """Update, solve, read the objective (timed); check it against the model (untimed)."""
        session, first = self.session, self.fresh
        started = time.perf_counter()
        update_s = session.update(ctx)
        objective, bound, status, highs_s = self._solve(session)
        wall_s = time.perf_counter() - started
        self.fresh = False
        check = abs(objective - pyo.value(session.model.objective))
        return Solved(wall_s, update_s, highs_s, objective, bound, status, first, check)

    def _solve(self, session: PlantSession) -> tuple[float, float | None, str, float]:
        """Objective, bound, status and HiGHS's run time of one solve."""
        raise NotImplementedError


class CustomPath(_Path):
    """energyopt's refresh: ``start_solve(session, options).finish()`` (``session.solve``)."""

    name = CUSTOM

    def _solve(self, session: PlantSession) -> tuple[float, float | None, str, float]:
        pending = start_solve(session, self.scenario.solver)
        report = pending.finish(diagnose=False)
        # a fresh highspy.Highs per solve: its run time is this solve's
        highs = getattr(pending, "_highs", None)
        highs_s = math.nan if highs is None else highs.getRunTime()
        return report.objective_eur, report.bound_eur, report.status, highs_s


class PersistentPath(_Path):
    """Pyomo's persistent HiGHS on ``session.model``, updating parameter values only."""

    name = PERSISTENT

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.solver = persistent_highs(scenario.solver)
        self._runtime = 0.0  # HiGHS's cumulative run time on the current highspy.Highs

    def _solve(self, session: PlantSession) -> tuple[float, float | None, str, float]:
        if self.fresh:  # solve() calls set_instance: a new highspy.Highs, its clock at 0
            self._runtime = 0.0
        results = self.solver.solve(session.model)
        highs_s = results.timing_info.highs_time - self._runtime
        self._runtime = results.timing_info.highs_time
        condition = results.termination_condition
        done = condition == TerminationCondition.convergenceCriteriaSatisfied
        status = "optimal" if done else str(condition)
        if results.incumbent_objective is None:
            raise RuntimeError(f"pyomo persistent HiGHS: no plan ({status})")
        return results.incumbent_objective, results.objective_bound, status, highs_s


def persistent_highs(options: SolverOptions) -> Highs:
    """Pyomo's persistent HiGHS with ``options`` and updates limited to parameter values."""
    solver = Highs()
    config = solver.config
    config.time_limit = float(options.time_limit_s)
    config.rel_gap = float(options.mip_rel_gap)
    if options.mip_abs_gap_eur is not None:
        config.abs_gap = float(options.mip_abs_gap_eur)
    if options.threads:
        config.threads = int(options.threads)
    config.load_solutions = True  # the plan goes into the Pyomo variables, as energyopt's does
    config.raise_exception_on_nonoptimal_result = False  # a time limit keeps its incumbent
    config.solver_options = {
        "output_flag": False,  # the interface switches log_to_console on before every run
        "log_to_console": False,
        "mip_heuristic_run_feasibility_jump": bool(options.mip_feasibility_jump),
        **options.highs_options,
    }
    updates = config.auto_updates
    updates.check_for_new_or_removed_constraints = False
    updates.check_for_new_or_removed_vars = False
    updates.check_for_new_or_removed_params = False
    updates.check_for_new_objective = False
    updates.update_constraints = False
    updates.update_vars = False
    updates.update_named_expressions = False
    updates.update_objective = False
    updates.update_parameters = True
    return solver


@dataclasses.dataclass
class Measured:
    """One case: per path its solves."""

    case: str
    solves: dict[str, list[Solved]]
    rebuilds: dict[str, int]
    initial: dict[str, Solved] | None = None  # case 2: the solve before the measured windows


def replay(scenario: Scenario, contexts: list[BuildContext], *, initial: bool) -> Measured:
    """Both paths over ``contexts`` in alternating order.

    ``initial``: the first context only builds and solves the models (reported
    apart); the others are the measured re-solves.
    """
    paths = [CustomPath(scenario), PersistentPath(scenario)]
    solves = {p.name: [] for p in paths}
    first_solves = None
    if initial:
        first_solves = {}
        for path in paths:
            path.prepare(contexts[0])
            first_solves[path.name] = path.solve(contexts[0])
        contexts = contexts[1:]
    for k, ctx in enumerate(contexts):
        for path in paths if k % 2 == 0 else paths[::-1]:
            path.prepare(ctx)
            solves[path.name].append(path.solve(ctx))
    rebuilds = {p.name: p.rebuilds for p in paths}
    return Measured("", solves, rebuilds, first_solves)


@dataclasses.dataclass(frozen=True)
class Agreement:
    """How far one path's objectives are from a reference's, window by window."""

    max_abs: float
    max_rel: float
    n_beyond_rel_tol: int
    n_beyond_gap: int  # beyond both 1e-6 relative and the solves' own gaps


def agreement(
    objectives: list[float], reference: list[float], gaps: list[float] | None = None
) -> Agreement:
    """Differences to ``reference``; ``gaps``: per window the tolerance the MIP gaps allow."""
    gaps = gaps or [0.0] * len(objectives)
    max_abs = max_rel = 0.0
    beyond_rel = beyond_gap = 0
    for value, ref, gap in zip(objectives, reference, gaps, strict=True):
        diff = abs(value - ref)
        rel = diff / max(abs(ref), 1.0)
        max_abs, max_rel = max(max_abs, diff), max(max_rel, rel)
        beyond_rel += rel >= REL_TOL
        beyond_gap += rel >= REL_TOL and diff > gap + 1e-6 * max(abs(ref), 1.0)
    return Agreement(max_abs, max_rel, beyond_rel, beyond_gap)


def _own_gap(solved: Solved) -> float:
    if solved.bound is None or not math.isfinite(solved.bound):
        return math.inf
    return max(solved.objective - solved.bound, 0.0)


def run_case(
    scenario: Scenario,
    case: str,
    start: dt.date,
    end: dt.date,
    step: str,
    n: int | None,
    *,
    initial: bool,
) -> tuple[Measured, Recorded]:
    """Record the windows with the engine, then re-solve them with both paths."""
    recorded = record_contexts(scenario, start, end, step, n)
    print(
        f"{case}: engine pass over {len(recorded.contexts)} windows in {recorded.wall_s:.1f} s "
        f"(fallbacks: {recorded.statuses.count('fallback')})",
        flush=True,
    )
    measured = replay(scenario, recorded.contexts, initial=initial)
    measured.case = case
    return measured, recorded


def summarize(measured: Measured, recorded: Recorded) -> tuple[list[dict], list[Row]]:
    """Table lines and result rows of one case."""
    custom, persistent = measured.solves[CUSTOM], measured.solves[PERSISTENT]
    n_skip = 1 if measured.initial else 0
    engine_objectives = recorded.objectives[n_skip:]
    gaps = [max(_own_gap(a), _own_gap(b)) for a, b in zip(custom, persistent, strict=True)]
    vs = {
        # the replay of energyopt's path against the engine's own plans (same code: equal)
        CUSTOM: agreement([s.objective for s in custom], engine_objectives),
        PERSISTENT: agreement(
            [s.objective for s in persistent], [s.objective for s in custom], gaps
        ),
    }
    lines, rows = [], []
    case = measured.case
    for name, solves in measured.solves.items():
        wall = sum(s.wall_s for s in solves)
        highs = sum(s.highs_s for s in solves)
        update = sum(s.update_s for s in solves)
        first = [s.wall_s for s in solves if s.first]
        if measured.initial:
            first = [measured.initial[name].wall_s]
        agree = vs[name]
        line = {
            "case": case,
            "path": name,
            "windows": len(solves),
            "wall_s": wall,
            "per_window_ms": wall / len(solves) * 1000,
            "highs_s": highs,
            "update_ms": update / len(solves) * 1000,
            "interface_ms": (wall - update - highs) / len(solves) * 1000,
            "first_s": sum(first) / len(first) if first else math.nan,
            "n_first": len(first) if not measured.initial else 0,
            "rebuilds": measured.rebuilds[name],
            "agree": agree,
            "check": max(s.check for s in solves),
            "non_optimal": sum(s.status != "optimal" for s in solves),
        }
        lines.append(line)
        label = f"{case}, {name}"
        rows += [
            Row(f"{label}: {len(solves)} windows, update + solve loop", wall, "s"),
            Row("  per window", wall / len(solves), "s"),
            Row("  of which HiGHS run time", highs, "s"),
            Row("  of which parameter update (PlantSession.update)", update, "s"),
            Row(
                "  of which the rest: refresh or interface update, load, read",
                wall - update - highs,
                "s",
            ),
            Row("  first solve of a model (compile / set_instance)", line["first_s"], "s"),
            Row(
                f"  max objective difference (vs {'engine' if name == CUSTOM else CUSTOM})",
                agree.max_abs,
                "EUR",
            ),
            Row("  max relative objective difference", agree.max_rel, "-"),
            Row("  windows beyond 1e-6 and the MIP gaps", float(agree.n_beyond_gap), "-"),
        ]
    return lines, rows


def print_lines(lines: list[dict]) -> None:
    """The plain table."""
    head = (
        f"{'case':<12} {'path':<17} {'windows':>7} {'total wall s':>12} {'per window ms':>13} "
        f"{'HiGHS s':>8} {'update ms/w':>11} {'rest ms/w':>9} {'first solve s':>13} "
        f"{'max obj diff EUR':>16} {'max rel diff':>12} {'beyond 1e-6':>11} {'beyond gap':>10}"
    )
    print(head)
    print("-" * len(head))
    for ln in lines:
        a = ln["agree"]
        print(
            f"{ln['case']:<12} {ln['path']:<17} {ln['windows']:>7d} {ln['wall_s']:>12.2f} "
            f"{ln['per_window_ms']:>13.1f} {ln['highs_s']:>8.2f} {ln['update_ms']:>11.1f} "
            f"{ln['interface_ms']:>9.1f} "
            f"{ln['first_s']:>13.3f} {a.max_abs:>16.4g} {a.max_rel:>12.3g} "
            f"{a.n_beyond_rel_tol:>11d} {a.n_beyond_gap:>10d}"
        )
    print(
        "max obj diff: custom refresh against the engine's own plan of the window, pyomo "
        "persistent against custom refresh; 'beyond gap': beyond 1e-6 relative and beyond "
        "the larger of the two solves' gaps (incumbent - bound); update: PlantSession.update; "
        "rest: wall - update - HiGHS (refresh and passModel, or the persistent interface's "
        "update, plus loading the plan into the variables)"
    )
    for ln in lines:
        print(
            f"  {ln['case']}, {ln['path']}: rebuilt models {ln['rebuilds']}, non-optimal "
            f"solves {ln['non_optimal']}, max |objective - value(model.objective)| "
            f"{ln['check']:.3g} EUR"
        )


def run(path: str | None = None) -> list[Row]:
    """Measure both cases; prints the table, returns the rows."""
    scenario = plant(path)
    short = quick()
    start, end = YEAR
    if short:
        end = start + dt.timedelta(days=19)  # 20 windows, the last one shorter
    year, year_rec = run_case(scenario, "hourly year", start, end, "1h", None, initial=False)
    n_15 = 3 if short else 10
    # N + 1 windows (the first builds and solves) that all have the full 48 h
    end_15 = START_15MIN + dt.timedelta(days=n_15 + 1)
    q15, q15_rec = run_case(
        scenario, "15 min", START_15MIN, end_15, "15min", n_15 + 1, initial=True
    )
    lines, rows = [], []
    for measured, recorded in ((year, year_rec), (q15, q15_rec)):
        more_lines, more_rows = summarize(measured, recorded)
        lines += more_lines
        rows += more_rows
    print_lines(lines)
    for name, solved in q15.initial.items():
        print(f"  15 min, {name}: build once, first solve {solved.wall_s:.3f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: run, print, merge the rows into results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks, not speed)")
    parser.add_argument("--scenario", help="scenario YAML (default: the default plant)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["ENERGYOPT_BENCH_QUICK"] = "1"
    logging.basicConfig(level=logging.WARNING)
    from run_all import RESULTS, _previous_results  # the results file and how it is merged

    where = machine()
    path = plant_path(args.scenario)
    print(f"plant: {path.name}; machine: {where}", flush=True)
    started = time.perf_counter()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = run(args.scenario)
    print(f"total {time.perf_counter() - started:.0f} s")
    results = _previous_results()
    results["persistent"] = {
        "plant": path.name,
        "machine": where,
        "quick": bool(args.quick),
        "measured_at": stamp,
        "rows": [row.as_dict() for row in rows],
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
