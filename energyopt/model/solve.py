"""Solve a plant model with HiGHS.

The Pyomo model is compiled to matrices (``energyopt/model/standard_form.py``) and
handed to HiGHS through ``highspy`` in one call. A model whose mutable
parameters were updated for the next window is not compiled again: only the
matrix entries, right-hand sides, costs and bounds that depend on parameters
are re-evaluated (:meth:`~energyopt.model.PlantSession.standard_form`).

:func:`start_solve` compiles and starts HiGHS, optionally in a worker thread
(HiGHS releases the interpreter lock, so the caller can read another model
meanwhile); :meth:`PendingSolve.finish` waits and reports. :func:`solve` does
both in one call.

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
import threading
import time
from collections.abc import Sequence
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from energyopt.assets.base import BuildContext
from energyopt.assets.requirements import Violation
from energyopt.errors import InfeasibleError, SolveError
from energyopt.inputs.config import SolverOptions
from energyopt.inputs.highs_options import new_highs
from energyopt.model.iis import IisEntry, infeasible_subset
from energyopt.model.plant import PlantSession, build_model
from energyopt.model.standard_form import StandardForm

logger = logging.getLogger(__name__)

_Status = highspy.HighsModelStatus
_ACCEPTED = {
    _Status.kOptimal: "optimal",
    _Status.kModelEmpty: "optimal",
    _Status.kTimeLimit: "time_limit",
    _Status.kIterationLimit: "iteration_limit",
    _Status.kSolutionLimit: "solution_limit",
    _Status.kInterrupt: "interrupted",
}
_INFEASIBLE = {_Status.kInfeasible, _Status.kUnboundedOrInfeasible}
_FEASIBLE_SOLUTION = 2  # HiGHS kSolutionStatusFeasible


@dataclasses.dataclass(frozen=True)
class SolveReport:
    """What a solve did.

    ``status`` is ``optimal`` or ``time_limit`` (an incumbent, see ``mip_gap``);
    ``mip_gap`` is the relative gap between incumbent and bound [frac].
    ``solve_s`` is the wall time from compiling to the plan in the variables,
    made of ``compile_s`` (the model as matrices), ``handoff_s`` (matrices and
    start to HiGHS), ``highs_s`` (HiGHS's own run time, ``getRunTime``) and
    ``load_s`` (the plan back into the variables). ``start_objective_eur`` and
    ``start_feasible`` describe the MIP start handed to HiGHS, if any
    (``start_feasible``: the values as given within every bound, row and
    integrality, 1e-6; HiGHS keeps a start's integer values and completes the
    continuous ones with an LP, so an infeasible start may still give it an
    incumbent).
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
    compile_s: float = 0.0
    handoff_s: float = 0.0
    highs_s: float = 0.0
    load_s: float = 0.0
    start_objective_eur: float | None = None
    start_feasible: bool | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return dataclasses.asdict(self)


def solver_available() -> bool:
    """True if HiGHS can be loaded."""
    try:
        new_highs()
    except Exception:  # noqa: BLE001 - any failure to load means "not available"
        return False
    return True


@dataclasses.dataclass(frozen=True)
class _Outcome:
    """What HiGHS returned for one run."""

    status: highspy.HighsModelStatus
    objective: float | None
    bound: float | None


def _highs_lp(form: StandardForm) -> highspy.HighsLp:
    """A compiled model as a HiGHS problem (columns in the compiler's order)."""
    matrix = form.matrix
    lp = highspy.HighsLp()  # HiGHS reads +-inf (highspy.kHighsInf) as no bound
    lp.num_col_ = len(form.columns)
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = form.cost
    lp.offset_ = form.offset
    lp.col_lower_ = form.col_lower
    lp.col_upper_ = form.col_upper
    lp.row_lower_ = form.row_lower
    lp.row_upper_ = form.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if form.is_integer.any():
        kind = highspy.HighsVarType
        lp.integrality_ = [kind.kInteger if i else kind.kContinuous for i in form.is_integer]
    return lp


class PendingSolve:
    """A HiGHS run on a compiled plant model, started and not yet collected.

    :func:`start_solve` compiles the model and hands it to HiGHS; with
    ``background=True`` HiGHS runs in a worker thread (it releases the
    interpreter lock), so the caller can do other work, on other models,
    until :meth:`finish`. Only HiGHS runs in the thread: compiling and loading
    the plan into the Pyomo variables happen in the calling thread.
    """

    def __init__(
        self,
        plant: PlantSession,
        options: SolverOptions,
        *,
        background: bool,
        start: PlantSession | None = None,
    ) -> None:
        self.plant, self.options = plant, options
        self.started = time.perf_counter()
        self._outcome: _Outcome | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        #: seconds per phase and what the start was worth (see SolveReport)
        self.timing: dict[str, Any] = {}
        try:
            form = plant.standard_form()
        except InfeasibleConstraintException:
            self._outcome = _Outcome(_Status.kInfeasible, None, None)
            return
        compiled = time.perf_counter()
        self.timing["compile_s"] = compiled - self.started
        self._columns = form.columns
        self._lp = _highs_lp(form)
        self._highs = _configured_highs(options)
        self._highs.passModel(self._lp)
        if start is not None and self._lp.integrality_:
            values = start_values(form.columns, plant, start)
            solution = highspy.HighsSolution()
            solution.col_value = values.tolist()
            solution.value_valid = True
            self._highs.setSolution(solution)
            self.timing.update(start_quality(form, values))
        self.timing["handoff_s"] = time.perf_counter() - compiled
        if background:
            self._thread = threading.Thread(target=self._run, name="highs", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self._highs.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in finish()
            self._error = exc

    def outcome(self) -> _Outcome:
        """Wait for HiGHS; load the values of a found plan into the variables."""
        if self._outcome is not None:
            return self._outcome
        if self._thread is None:
            self._highs.run()
        else:
            self._thread.join()
            if self._error is not None:
                raise self._error
        self.timing["highs_s"] = float(self._highs.getRunTime())
        loading = time.perf_counter()
        self._outcome = _collect(self._highs, self._lp, self._columns)
        self.timing["load_s"] = time.perf_counter() - loading
        return self._outcome

    def finish(self, *, diagnose: bool = True) -> SolveReport:
        """The solve's report (see :func:`solve`)."""
        outcome = self.outcome()
        return _report(self.plant, self.options, outcome, self.started, diagnose, self.timing)


def start_solve(
    plant: PlantSession,
    options: SolverOptions,
    *,
    background: bool = False,
    start: PlantSession | None = None,
) -> PendingSolve:
    """Compile ``plant`` and start HiGHS on it (in a worker thread if ``background``).

    ``start``: a solved session of the same plant and window (the baseline)
    whose plan HiGHS gets as its first incumbent (see :func:`start_values`).
    """
    return PendingSolve(plant, options, background=background, start=start)


def start_values(columns: list, plant: PlantSession, start: PlantSession) -> np.ndarray:
    """Values of ``start``'s variables for ``plant``'s ``columns`` (0 where it has none).

    Variables are matched by asset, component name and index; both sessions
    are built from the same assets and window. HiGHS checks the start itself
    and drops it if it is infeasible.
    """
    by_id: dict[int, float] = {}
    for name in plant.assets:
        ours, theirs = plant.block(name), start.block(name)
        for var in ours.component_objects(pyo.Var, descend_into=True):
            other = theirs.find_component(var.getname(relative_to=ours, fully_qualified=True))
            if other is None:
                continue
            values = other.extract_values()
            for index, data in var.items():
                value = values.get(index)
                if value is not None:
                    by_id[id(data)] = value
    return np.array([by_id.get(id(c), 0.0) for c in columns], dtype=float)


def start_quality(form: StandardForm, values: np.ndarray, tol: float = 1e-6) -> dict[str, Any]:
    """Objective of a MIP start [EUR] and whether it is feasible: within its column
    bounds, every row's bounds and integral where required (absolute ``tol``)."""
    activity = form.matrix @ values
    within = bool(
        np.all(values >= form.col_lower - tol)
        and np.all(values <= form.col_upper + tol)
        and np.all(activity >= form.row_lower - tol)
        and np.all(activity <= form.row_upper + tol)
        and np.all(np.abs(values[form.is_integer] - np.round(values[form.is_integer])) <= tol)
    )
    return {
        "start_objective_eur": float(form.cost @ values + form.offset),
        "start_feasible": within,
    }


def _configured_highs(options: SolverOptions) -> highspy.Highs:
    highs = new_highs()
    highs.setOptionValue("time_limit", float(options.time_limit_s))
    highs.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    if options.mip_abs_gap_eur is not None:
        highs.setOptionValue("mip_abs_gap", float(options.mip_abs_gap_eur))
    if options.threads:
        highs.setOptionValue("threads", int(options.threads))
    highs.setOptionValue("mip_heuristic_run_feasibility_jump", bool(options.mip_feasibility_jump))
    for name, value in options.highs_options.items():  # checked when the options were made
        highs.setOptionValue(name, value)
    return highs


def _collect(highs: highspy.Highs, lp: highspy.HighsLp, columns: list) -> _Outcome:
    """Status, objective and bound of a finished run; the plan goes into the variables."""
    status = highs.getModelStatus()
    info = highs.getInfo()
    if info.primal_solution_status != _FEASIBLE_SOLUTION and status != _Status.kModelEmpty:
        return _Outcome(status, None, None)
    for var, value in zip(columns, highs.getSolution().col_value, strict=True):
        var.set_value(value, skip_validation=True)
    objective = float(info.objective_function_value)
    is_mip = lp.integrality_ and any(k == highspy.HighsVarType.kInteger for k in lp.integrality_)
    bound = float(info.mip_dual_bound) if is_mip else objective
    return _Outcome(status, objective, bound)


def solve(
    plant: PlantSession,
    options: SolverOptions,
    *,
    diagnose: bool = True,
    start: PlantSession | None = None,
) -> SolveReport:
    """Solve ``plant`` and load the plan into its variables (``start``: see :func:`start_solve`).

    Raises
    ------
    InfeasibleError
        No plan meets every constraint; the message says where (``diagnose``).
    SolveError
        HiGHS stopped without any plan (error, unbounded, time limit with no
        incumbent).
    """
    return start_solve(plant, options, start=start).finish(diagnose=diagnose)


def _report(
    plant: PlantSession,
    options: SolverOptions,
    outcome: _Outcome,
    started: float,
    diagnose: bool,
    timing: dict[str, Any],
) -> SolveReport:
    solve_s = time.perf_counter() - started
    size = plant.size()
    if outcome.status in _INFEASIBLE:
        if not diagnose:
            raise InfeasibleError("no feasible plan")
        subset = _subset(plant, options)
        reason = diagnose_infeasibility(plant, options)
        if subset:
            reason += "; conflicting (HiGHS IIS): " + "; ".join(e.text() for e in subset)
        raise InfeasibleError(reason, iis=subset)
    objective = outcome.objective
    if outcome.status not in _ACCEPTED or objective is None or not math.isfinite(objective):
        msg = f"HiGHS stopped without a plan: {outcome.status.name} after {solve_s:.1f} s"
        raise SolveError(msg)
    bound = outcome.bound
    report = SolveReport(
        status=_ACCEPTED[outcome.status],
        objective_eur=objective,
        bound_eur=None if bound is None or not math.isfinite(bound) else bound,
        mip_gap=_gap(objective, bound) if size["n_binaries"] else 0.0,
        build_s=plant.build_s,
        solve_s=solve_s,
        n_variables=size["n_variables"],
        n_constraints=size["n_constraints"],
        n_binaries=size["n_binaries"],
        **timing,
    )
    logger.debug("solved: %s", report)
    return report


def _gap(objective: float, bound: float | None) -> float:
    if bound is None or not math.isfinite(bound):
        return float("nan")
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _subset(plant: PlantSession, options: SolverOptions) -> list[IisEntry]:
    """HiGHS's irreducible infeasible subset of the plant model (see ``model/iis.py``)."""
    try:
        form = plant.standard_form()
    except InfeasibleConstraintException:  # Pyomo found a row infeasible by itself
        return []
    highs = _configured_highs(options)
    highs.passModel(_highs_lp(form))
    highs.run()
    return infeasible_subset(plant, highs)


#: violations a diagnosis lists before summing up the rest
DIAGNOSIS_LINES = 5


def diagnose_infeasibility(plant: PlantSession, options: SolverOptions) -> str:
    """Explain an infeasible plan in plant terms: what must be missed, where, by how much.

    Rebuilds the model with open carrier balances first (which energy or
    material the plant cannot supply or place), then, if the assets' own
    requirements still conflict, with every process requirement soft as well
    (``ctx.soft_limits``), and lists the violations the cheapest relaxed plan
    needs.
    """
    for relaxed_ctx, open_balances in ((plant.ctx, True), (_soft(plant.ctx), False)):
        fresh = [type(a)(a.params) for a in plant.assets.values()]
        relaxed = build_model(fresh, relaxed_ctx, open_balances=open_balances)
        outcome = start_solve(relaxed, options).outcome()
        if outcome.status in _ACCEPTED and outcome.objective is not None:
            return _diagnosis(relaxed.read().violations)
    return (
        "no feasible plan, even with every process requirement and carrier balance "
        "relaxed: an asset's own limits conflict (check initial states, run times "
        "and calendars)"
    )


def _soft(ctx: BuildContext) -> BuildContext:
    return dataclasses.replace(ctx, soft_limits=True)


def _diagnosis(found: Sequence[Violation]) -> str:
    if not found:
        return "no feasible plan, but every requirement can be met: the solver hit a limit"
    lines = [v.text() for v in found[:DIAGNOSIS_LINES]]
    if len(found) > DIAGNOSIS_LINES:
        lines.append(f"and {len(found) - DIAGNOSIS_LINES} more")
    return "no feasible plan: " + "; ".join(lines)
