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
from collections.abc import Mapping

import pandas as pd

from energyopt.assets.base import Asset, BuildContext
from energyopt.engine.chunked import solve_by_parts
from energyopt.engine.pipeline import RunResult, summarize
from energyopt.errors import InfeasibleError
from energyopt.inputs.config import Scenario
from energyopt.model import PlantSession
from energyopt.model.solve import SolveReport
from energyopt.outputs.results import grid_columns

logger = logging.getLogger(__name__)

#: penalty on each kWh a setpoint moves away from the plan [EUR/kWh]
DEVIATION_PENALTY_EUR_PER_KWH = 100.0


def deviation_kpis(
    dt_h: float,
    moved: dict[str, float],
    plan: pd.DataFrame,
    actual: pd.DataFrame,
    assets: Mapping[str, Asset],
) -> dict:
    """Setpoint (``moved``, per asset) and grid deviations of the replayed operation
    from the plan [kWh]; ``dt_h`` is the step [h]."""
    grid = 0.0
    for bought, sold in grid_columns(assets):
        net_plan = plan[bought] - plan[sold]
        net_actual = actual[bought] - actual[sold]
        grid += float((net_actual - net_plan).abs().sum() * dt_h)
    kpis = {"deviation_setpoint_kwh": sum(moved.values()), "deviation_grid_kwh": grid}
    kpis.update({f"deviation_setpoint_kwh:{a}": v for a, v in moved.items() if v > 1e-6})
    return kpis


def replay(scenario: Scenario, ctx: BuildContext, plan: pd.DataFrame) -> RunResult:
    """The committed ``plan`` operated on the actual inputs of ``ctx``, with KPIs.

    ``ctx`` covers the whole period with actual inputs and the state the plan
    started from; a long period is replayed month by month
    (:mod:`energyopt.engine.chunked`). ``objective_eur`` is the cost paid; the
    deviation penalty is in ``replay_deviation_penalty_eur``.
    """
    held_parts: list[str] = []
    moved: dict[str, float] = {}
    penalties: list[float] = []

    def solve_part(plant: PlantSession, part: slice) -> SolveReport:
        piece = plan.iloc[part]
        plant.track(piece, DEVIATION_PENALTY_EUR_PER_KWH)
        held = plant.hold_discrete_states(piece)
        try:
            report = plant.solve(scenario.solver, diagnose=False)
        except InfeasibleError:
            logger.warning("replay: planned on/off states do not fit the actual inputs; released")
            plant.release(held)
            held = []
            report = plant.solve(scenario.solver)
        held_parts.extend(h for h in held if h not in held_parts)
        for asset, kwh in plant.deviation_kwh().items():
            moved[asset] = moved.get(asset, 0.0) + kwh
        penalties.append(plant.penalty_eur())
        return report

    solved = solve_by_parts(scenario, ctx, solve_part)
    result = summarize(scenario, solved.plant, solved.report, solved.reading, solved.prechecks)
    result.kpis["replay_discrete_states_held"] = ", ".join(held_parts) or "none"
    result.kpis.update(deviation_kpis(ctx.dt_h, moved, plan, result.dispatch, solved.plant.assets))
    result.kpis["replay_deviation_penalty_eur"] = sum(penalties)
    result.kpis["objective_eur"] = result.kpis["total_cost_eur"]
    return result
