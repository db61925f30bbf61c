"""Replay a committed plan on actual inputs: what the plant really does and pays.

The committed parts of a rolling run were planned on forecasts. The replay
takes the plant model of the whole period with the *actual* prices, weather
and loads, and holds every asset to its plan setpoints
(:meth:`~energyopt.assets.base.Asset.plan_setpoints`: storage charge and
discharge, converter outputs, process decisions); the grid and PV (which
follows the actual weather) balance freely. Assets that follow a plan also
keep their planned discrete states (binaries over time: on/off, charging);
if those cannot meet the actual loads they are released and the replay is
solved again (``replay_discrete_states_held`` says which were held). Where the
plan cannot meet the actual loads, setpoints deviate, at a penalty of
:data:`DEVIATION_PENALTY_EUR_PER_KWH` per kWh of deviation, far above any
energy price, so they move only where physics requires::

    x[t] - plan[t] == up[t] - down[t],   up, down >= 0
    minimise  total cost + penalty * dt_h * sum(up + down)

Reported: the costs and KPIs of the replayed operation (priced on actuals,
as for the perfect-foresight and baseline runs), ``deviation_setpoint_kwh``
(energy by which setpoints moved) and ``deviation_grid_kwh`` (sum of
``|net import - planned net import| * dt_h``, the imbalance the plan causes).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.assets.base import BuildContext
from energyopt.config import Scenario
from energyopt.errors import DataError, InfeasibleError
from energyopt.model import PlantModel
from energyopt.pipeline import RunResult, build_plant, summarize
from energyopt.results import grid_columns
from energyopt.solve import solve
from energyopt.timeseries import fmt_time

logger = logging.getLogger(__name__)

#: penalty on each kWh a setpoint moves away from the plan [EUR/kWh]
DEVIATION_PENALTY_EUR_PER_KWH = 100.0


def _binaries_over_time(block: pyo.Block, T: pyo.Set) -> list[pyo.Var]:
    """The block's own variables indexed by time whose every element is binary."""
    return [
        var
        for var in block.component_objects(pyo.Var, descend_into=False)
        if var.index_set() is T and all(var[t].is_binary() for t in T)
    ]


def discrete_states(plant: PlantModel, steps: int) -> pd.DataFrame:
    """Planned binary decisions over time (first ``steps``), as ``<asset>.<variable>`` columns.

    Kept with the committed plan so that the replay can hold an asset that
    follows the plan to its planned discrete states (on/off, charging or not).
    """
    columns = {}
    T = plant.model.T
    for name in plant.assets:
        block = plant.block(name)
        for var in _binaries_over_time(block, T):
            states = [pyo.value(var[t], exception=False) for t in range(steps)]
            columns[f"{name}.{var.local_name}"] = np.round(np.nan_to_num(states))
    return pd.DataFrame(columns, index=plant.ctx.index[:steps])


def hold_discrete_states(plant: PlantModel, plan: pd.DataFrame) -> list[str]:
    """Fix the binary variables of plan-following assets to their planned values.

    Only assets with setpoints (:meth:`Asset.plan_setpoints`) follow a plan;
    the grid and PV keep their free choice. Returns the fixed components.
    """
    held = []
    for name, asset in plant.assets.items():
        block = plant.block(name)
        prefix = f"{name}."
        own = [c.removeprefix(prefix) for c in plan.columns if c.startswith(prefix)]
        if not asset.plan_setpoints(block, own):
            continue
        for var in _binaries_over_time(block, plant.model.T):
            column = prefix + var.local_name
            if column in plan.columns:
                for t, state in enumerate(plan[column].to_numpy()):
                    var[t].fix(float(state))
                held.append(column)
    return held


def release(plant: PlantModel, held: list[str]) -> None:
    """Undo :func:`hold_discrete_states` for the components named in ``held``."""
    for column in held:
        name, variable = column.split(".", 1)
        plant.block(name).component(variable).unfix()


def setpoint_targets(plant: PlantModel, plan: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Planned values of every setpoint variable: ``{(asset, variable): values over T}``."""
    index = plant.ctx.index
    if not plan.index.equals(index):
        msg = (
            f"replay: the plan ({len(plan)} steps from {fmt_time(plan.index[0])}) does not cover "
            f"the period step by step ({len(index)} steps from {fmt_time(index[0])})"
        )
        raise DataError(msg)
    targets = {}
    for name, asset in plant.assets.items():
        prefix = f"{name}."
        own = [c.removeprefix(prefix) for c in plan.columns if c.startswith(prefix)]
        for column, variable in asset.plan_setpoints(plant.block(name), own).items():
            targets[(name, variable)] = plan[prefix + column].to_numpy(dtype=float)
    return targets


def add_tracking(plant: PlantModel, targets: dict[tuple[str, str], np.ndarray]) -> None:
    """Hold setpoint variables to their targets with penalised deviation (in place)."""
    m = plant.model
    m.SETPOINTS = pyo.Set(initialize=list(targets), dimen=2, ordered=True)
    m.setpoint_target = pyo.Param(
        m.SETPOINTS,
        m.T,
        initialize={(a, v, t): float(x[t]) for (a, v), x in targets.items() for t in m.T},
    )
    m.deviation_up = pyo.Var(m.SETPOINTS, m.T, domain=pyo.NonNegativeReals)
    m.deviation_down = pyo.Var(m.SETPOINTS, m.T, domain=pyo.NonNegativeReals)

    @m.Constraint(m.SETPOINTS, m.T)
    def follow_plan(m, asset, variable, t):
        value = m.asset[asset].component(variable)[t]
        return value - m.setpoint_target[asset, variable, t] == (
            m.deviation_up[asset, variable, t] - m.deviation_down[asset, variable, t]
        )

    weight = DEVIATION_PENALTY_EUR_PER_KWH * plant.ctx.dt_h
    m.deviation_penalty_eur = pyo.Expression(
        expr=weight * sum(m.deviation_up[k] + m.deviation_down[k] for k in m.deviation_up)
    )
    m.objective.deactivate()
    m.replay_objective = pyo.Objective(
        expr=m.total_cost_eur + m.deviation_penalty_eur, sense=pyo.minimize
    )


def deviation_kpis(plant: PlantModel, plan: pd.DataFrame, actual: pd.DataFrame) -> dict:
    """Setpoint and grid deviations of the replayed operation from the plan [kWh]."""
    m = plant.model
    dt_h = plant.ctx.dt_h
    moved = {}
    for asset, variable in m.SETPOINTS:
        if variable.endswith("_kw"):
            amount = sum(
                pyo.value(m.deviation_up[asset, variable, t] + m.deviation_down[asset, variable, t])
                for t in m.T
            )
            moved[asset] = moved.get(asset, 0.0) + max(float(amount), 0.0) * dt_h
    grid = 0.0
    for bought, sold in grid_columns(plant.assets):
        net_plan = plan[bought] - plan[sold]
        net_actual = actual[bought] - actual[sold]
        grid += float((net_actual - net_plan).abs().sum() * dt_h)
    kpis = {"deviation_setpoint_kwh": sum(moved.values()), "deviation_grid_kwh": grid}
    kpis.update({f"deviation_setpoint_kwh:{a}": v for a, v in moved.items() if v > 1e-6})
    return kpis


def replay(scenario: Scenario, ctx: BuildContext, plan: pd.DataFrame) -> RunResult:
    """The committed ``plan`` operated on the actual inputs of ``ctx``, with KPIs.

    ``ctx`` covers the whole period with actual inputs and the state the plan
    started from. ``objective_eur`` is the cost paid; the deviation penalty
    is in ``replay_deviation_penalty_eur``.
    """
    plant = build_plant(scenario, ctx)
    add_tracking(plant, setpoint_targets(plant, plan))
    held = hold_discrete_states(plant, plan)
    try:
        report = solve(plant, scenario.solver, diagnose=False)
    except InfeasibleError:
        logger.warning("replay: planned on/off states do not fit the actual inputs; released")
        release(plant, held)
        held = []
        report = solve(plant, scenario.solver)
    result = summarize(scenario, plant, report)
    result.kpis["replay_discrete_states_held"] = ", ".join(held) or "none"
    result.kpis.update(deviation_kpis(plant, plan, result.dispatch))
    penalty = max(float(pyo.value(plant.model.deviation_penalty_eur)), 0.0)
    result.kpis["replay_deviation_penalty_eur"] = penalty
    result.kpis["objective_eur"] = float(pyo.value(plant.model.total_cost_eur))
    return result
