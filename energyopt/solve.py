"""Solve a plant model with HiGHS through Pyomo's persistent interface.

The solver object stays attached to the :class:`~energyopt.model.PlantModel`,
so a model whose mutable parameters were updated for the next window is
re-solved without being handed to HiGHS again from scratch.

:func:`solve` returns a :class:`SolveReport` when HiGHS found a plan (optimal,
or the incumbent when the time limit was hit) and raises otherwise:
:class:`~energyopt.errors.InfeasibleError` with a diagnosis that names the
carrier and the time stamps where the plan breaks, or
:class:`~energyopt.errors.SolveError`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs

from energyopt.config import SolverOptions
from energyopt.errors import InfeasibleError, SolveError
from energyopt.model import PlantModel, build_model, flow_unit
from energyopt.timeseries import fmt_time

logger = logging.getLogger(__name__)

_ACCEPTED = {
    TerminationCondition.optimal: "optimal",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.maxIterations: "iteration_limit",
    TerminationCondition.interrupted: "interrupted",
}
_INFEASIBLE = {
    TerminationCondition.infeasible,
    TerminationCondition.infeasibleOrUnbounded,
}
SLACK_TOL = 1e-6
#: flow units as written in messages
_UNIT_TEXT = {"kw": "kW", "kg_per_h": "kg/h"}


@dataclasses.dataclass(frozen=True)
class SolveReport:
    """What a solve did.

    ``status`` is ``optimal`` or ``time_limit`` (an incumbent, see ``mip_gap``);
    ``mip_gap`` is the relative gap between incumbent and bound [frac].
    """

    status: str
    objective_eur: float
    bound_eur: float | None
    mip_gap: float
    build_s: float
    solve_s: float
    n_variables: int
    n_constraints: int
    n_binaries: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)


def solver_available() -> bool:
    """True if HiGHS can be loaded."""
    return bool(Highs().available())


def _solver_for(plant: PlantModel, options: SolverOptions) -> Highs:
    if plant.solver is None:
        opt = Highs()
        opt.config.stream_solver = False
        opt.config.load_solution = False
        opt.highs_options = {"output_flag": False, "log_to_console": False}
        if options.threads:
            opt.highs_options["threads"] = options.threads
        plant.solver = opt
    opt = plant.solver
    opt.config.time_limit = options.time_limit_s
    opt.config.mip_gap = options.mip_rel_gap
    return opt


def solve(plant: PlantModel, options: SolverOptions, *, diagnose: bool = True) -> SolveReport:
    """Solve ``plant`` and load the plan into its variables.

    Raises
    ------
    InfeasibleError
        No plan meets every constraint; the message says where (``diagnose``).
    SolveError
        HiGHS stopped without any plan (error, unbounded, time limit with no
        incumbent).
    """
    opt = _solver_for(plant, options)
    started = time.perf_counter()
    results = opt.solve(plant.model)
    solve_s = time.perf_counter() - started
    condition = results.termination_condition
    size = plant.size()
    if condition in _INFEASIBLE:
        reason = diagnose_infeasibility(plant, options) if diagnose else "no feasible plan"
        raise InfeasibleError(reason)
    objective = results.best_feasible_objective
    if condition not in _ACCEPTED or objective is None or not math.isfinite(objective):
        msg = f"HiGHS stopped without a plan: {condition.name} after {solve_s:.1f} s"
        raise SolveError(msg)
    results.solution_loader.load_vars()
    bound = results.best_objective_bound
    report = SolveReport(
        status=_ACCEPTED[condition],
        objective_eur=float(objective),
        bound_eur=None if bound is None or not math.isfinite(bound) else float(bound),
        mip_gap=_gap(objective, bound) if size["n_binaries"] else 0.0,
        build_s=plant.build_s,
        solve_s=solve_s,
        **size,
    )
    logger.debug("solved: %s", report)
    return report


def _gap(objective: float, bound: float | None) -> float:
    if bound is None or not math.isfinite(bound):
        return float("nan")
    return abs(objective - bound) / max(abs(objective), 1e-9)


def diagnose_infeasibility(plant: PlantModel, options: SolverOptions) -> str:
    """Explain an infeasible plan: which balance breaks, where and by how much.

    Rebuilds the model with penalised slack on every carrier balance and
    reports the slack the cheapest relaxed plan needs.
    """
    fresh = [type(a)(a.params) for a in plant.assets.values()]
    relaxed = build_model(fresh, plant.ctx, balance_slack=True)
    opt = _solver_for(relaxed, options)
    results = opt.solve(relaxed.model)
    if results.termination_condition not in _ACCEPTED:
        return (
            "no feasible plan, even with every carrier balance relaxed: an asset's own "
            "limits conflict (check initial and terminal levels, targets and run times)"
        )
    results.solution_loader.load_vars()
    lines = _slack_lines(relaxed)
    if not lines:
        return "no feasible plan, but every carrier balance can close: the solver hit a limit"
    return "no feasible plan: " + "; ".join(lines)


def _slack_lines(relaxed: PlantModel) -> list[str]:
    m = relaxed.model
    index = relaxed.ctx.index
    lines = []
    for carrier in relaxed.carriers:
        for var, word in (
            (m.slack_in, "short of supply"),
            (m.slack_out, "has surplus it cannot use"),
        ):
            amounts = np.array([pyo.value(var[carrier, t]) for t in m.T])
            bad = np.flatnonzero(amounts > SLACK_TOL)
            if bad.size:
                first = int(bad[0])
                unit = _UNIT_TEXT[flow_unit(carrier)]
                lines.append(
                    f"{carrier} balance {word} by {amounts[first]:.1f} {unit} at "
                    f"{fmt_time(index[first])} ({bad.size} intervals, up to "
                    f"{amounts.max():.1f} {unit})"
                )
    return lines
