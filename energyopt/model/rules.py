"""Operations that change what a built session optimises or may choose.

The engine's baseline and replay work through these (as methods of
:class:`~energyopt.model.PlantSession`), never on Pyomo objects:

* :func:`apply_baseline` -- every asset's rule-based operation plus a merit
  order among converters, as penalties on top of the plant's cost;
* :func:`track` -- hold setpoint variables to a plan with penalised deviation;
* :func:`hold_discrete_states` / :func:`release` -- fix binary decisions to a
  plan and free them again; :func:`discrete_states` reads them.

Each replaces the economic objective by ``total cost + penalties``; the
plan's cost is still read from the cost terms alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.errors import DataError
from energyopt.inputs.timeseries import fmt_time

if TYPE_CHECKING:
    from energyopt.model.plant import PlantSession


def _replace_objective(session: PlantSession, name: str, penalty: object) -> None:
    """Deactivate the economic objective; minimise ``total cost + penalty`` instead."""
    m = session.model
    m.objective.deactivate()
    m.add_component(f"{name}_penalty_eur", pyo.Expression(expr=penalty))
    m.add_component(
        f"{name}_objective",
        pyo.Objective(
            expr=m.total_cost_eur + m.component(f"{name}_penalty_eur"), sense=pyo.minimize
        ),
    )


def apply_baseline(
    session: PlantSession, ranked: Mapping[str, Sequence[str]], penalty_eur_per_kwh: float
) -> None:
    """Turn the session into its rule-based operation (in place).

    Calls every asset's ``apply_baseline`` and adds, for the converters of
    each carrier in ``ranked`` order, ``rank * penalty_eur_per_kwh`` on each
    kWh of output (the first converter of a carrier is free).
    """
    m = session.model
    penalties = []
    for name, asset in session.assets.items():
        extra = asset.apply_baseline(session.block(name), session.ctx)
        if extra is not None:
            penalties.append(extra)
    weight = penalty_eur_per_kwh * session.ctx.dt_h
    for names in ranked.values():
        for rank, name in enumerate(names):
            if rank:
                block = session.block(name)
                penalties.append(rank * weight * sum(block.output_kw[t] for t in m.T))
    _replace_objective(session, "baseline_rules", sum(penalties) if penalties else 0.0)


def setpoint_targets(
    session: PlantSession, plan: pd.DataFrame
) -> dict[tuple[str, str], np.ndarray]:
    """Planned values of every setpoint variable: ``{(asset, variable): values over T}``.

    Raises
    ------
    DataError
        If ``plan`` is not on the session's time index step by step.
    """
    index = session.ctx.index
    if not plan.index.equals(index):
        msg = (
            f"replay: the plan ({len(plan)} steps from {fmt_time(plan.index[0])}) does not cover "
            f"the period step by step ({len(index)} steps from {fmt_time(index[0])})"
        )
        raise DataError(msg)
    targets = {}
    for name, asset in session.assets.items():
        prefix = f"{name}."
        own = [c.removeprefix(prefix) for c in plan.columns if c.startswith(prefix)]
        for column, variable in asset.plan_setpoints(session.block(name), own).items():
            targets[(name, variable)] = plan[prefix + column].to_numpy(dtype=float)
    return targets


def track(session: PlantSession, plan: pd.DataFrame, penalty_eur_per_kwh: float) -> None:
    """Hold every setpoint variable to ``plan``, deviation penalised (in place)::

    x[t] - plan[t] == up[t] - down[t],   up, down >= 0
    minimise  total cost + penalty_eur_per_kwh * dt_h * sum(up + down)
    """
    targets = setpoint_targets(session, plan)
    m = session.model
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

    weight = penalty_eur_per_kwh * session.ctx.dt_h
    penalty = weight * sum(m.deviation_up[k] + m.deviation_down[k] for k in m.deviation_up)
    _replace_objective(session, "deviation", penalty)


def deviation_kwh(session: PlantSession) -> dict[str, float]:
    """Energy by which each tracked asset's power setpoints moved [kWh], after :func:`track`."""
    m = session.model
    moved: dict[str, float] = {}
    for asset, variable in m.SETPOINTS:
        if variable.endswith("_kw"):
            amount = sum(
                pyo.value(m.deviation_up[asset, variable, t] + m.deviation_down[asset, variable, t])
                for t in m.T
            )
            moved[asset] = moved.get(asset, 0.0) + max(float(amount), 0.0) * session.ctx.dt_h
    return moved


def penalty_eur(session: PlantSession) -> float:
    """Value of the active rule or tracking penalty [EUR] (0 for the economic objective)."""
    for name in ("deviation_penalty_eur", "baseline_rules_penalty_eur"):
        component = session.model.component(name)
        if component is not None:
            return max(float(pyo.value(component)), 0.0)
    return 0.0


def _binaries_over_time(block: pyo.Block, T: pyo.Set) -> list[pyo.Var]:
    """The block's own variables indexed by time whose every element is binary."""
    return [
        var
        for var in block.component_objects(pyo.Var, descend_into=False)
        if var.index_set() is T and all(var[t].is_binary() for t in T)
    ]


def discrete_states(session: PlantSession, steps: int) -> pd.DataFrame:
    """Planned binary decisions over time (first ``steps``), as ``<asset>.<variable>`` columns."""
    columns = {}
    T = session.model.T
    for name in session.assets:
        for var in _binaries_over_time(session.block(name), T):
            states = [pyo.value(var[t], exception=False) for t in range(steps)]
            columns[f"{name}.{var.local_name}"] = np.round(np.nan_to_num(states))
    return pd.DataFrame(columns, index=session.ctx.index[:steps])


def hold_discrete_states(session: PlantSession, plan: pd.DataFrame) -> list[str]:
    """Fix the binary variables of plan-following assets to their planned values.

    Only assets with setpoints (``Asset.plan_setpoints``) follow a plan; the
    grid and PV keep their free choice. Returns the fixed components.
    """
    held = []
    for name, asset in session.assets.items():
        block = session.block(name)
        prefix = f"{name}."
        own = [c.removeprefix(prefix) for c in plan.columns if c.startswith(prefix)]
        if not asset.plan_setpoints(block, own):
            continue
        for var in _binaries_over_time(block, session.model.T):
            column = prefix + var.local_name
            if column in plan.columns:
                for t, state in enumerate(plan[column].to_numpy()):
                    var[t].fix(float(state))
                held.append(column)
    return held


def release(session: PlantSession, held: Sequence[str]) -> None:
    """Undo :func:`hold_discrete_states` for the components named in ``held``."""
    for column in held:
        name, variable = column.split(".", 1)
        session.block(name).component(variable).unfix()
