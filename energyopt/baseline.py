"""Rule-based reference operation: what the plant does without optimisation.

The baseline is the same plant model with every flexible decision fixed by a
rule (each asset's :meth:`~energyopt.assets.base.Asset.apply_baseline`):

* loads are served when they occur (fixed loads have no choice anyway);
* batteries and thermal stores stay idle (charge = discharge = 0);
* PV is not curtailed (only where the grid connection cannot take a surplus);
* process assets follow their own rules (batches start at release, the dry
  room regenerates at a constant set point, ...);
* heat, cold and every other converted carrier come from the **default
  source**: the converters supplying a carrier are taken in the order the
  scenario lists them; the first is the default source and covers what it
  can, the next one covers the rest, and so on (merit order by asset order --
  list the heat pump before the gas boiler if the plant runs it first).

The merit order is expressed as a penalty of
``rank * MERIT_ORDER_PENALTY_EUR_PER_KWH`` on each converter's output energy,
far above any energy price, so the LP that closes the balances never prefers a
later source for its price. The grid then balances electricity. The
penalties only steer; reported costs are the plain cost terms.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import pyomo.environ as pyo

from energyopt.assets._conversion import ConversionAsset
from energyopt.assets.base import BuildContext
from energyopt.config import Scenario
from energyopt.model import PlantModel
from energyopt.pipeline import RunResult, build_plant, summarize
from energyopt.solve import SolveReport, solve

logger = logging.getLogger(__name__)

#: penalty per rank step on a converter's output energy [EUR/kWh]; above any price
MERIT_ORDER_PENALTY_EUR_PER_KWH = 10.0


def merit_order(plant: PlantModel) -> dict[str, list[str]]:
    """Converters supplying each carrier, in scenario order (first = default source)."""
    order: dict[str, list[str]] = defaultdict(list)
    for name, asset in plant.assets.items():
        if isinstance(asset, ConversionAsset):
            order[asset.params.carrier].append(name)
    return dict(order)


def apply_baseline_rules(plant: PlantModel) -> dict[str, list[str]]:
    """Turn a built plant model into its rule-based operation (in place).

    Calls every asset's ``apply_baseline``, adds the merit-order penalty and
    replaces the objective by ``total cost + rule penalties``. Returns the
    merit order used.
    """
    m = plant.model
    penalties = []
    for name, asset in plant.assets.items():
        extra = asset.apply_baseline(plant.block(name), plant.ctx)
        if extra is not None:
            penalties.append(extra)
    order = merit_order(plant)
    weight = MERIT_ORDER_PENALTY_EUR_PER_KWH * plant.ctx.dt_h
    for names in order.values():
        for rank, name in enumerate(names):
            if rank:
                block = plant.block(name)
                penalties.append(rank * weight * sum(block.output_kw[t] for t in m.T))
    m.objective.deactivate()
    m.baseline_rules_eur = pyo.Expression(expr=sum(penalties) if penalties else 0.0)
    m.baseline_objective = pyo.Objective(
        expr=m.total_cost_eur + m.baseline_rules_eur, sense=pyo.minimize
    )
    return order


def solve_baseline(scenario: Scenario, ctx: BuildContext) -> tuple[PlantModel, SolveReport]:
    """Build a fresh plant for ``ctx``, apply the rules and solve it.

    Raises
    ------
    SolveError
        If the rule-based operation cannot meet the loads (the message says where).
    """
    plant = build_plant(scenario, ctx)
    order = apply_baseline_rules(plant)
    logger.debug("baseline merit order: %s", order)
    report = solve(plant, scenario.solver)
    return plant, report


def run_baseline(scenario: Scenario, ctx: BuildContext) -> RunResult:
    """Rule-based operation over the period of ``ctx`` (actual inputs), with KPIs.

    ``objective_eur`` is the cost the plant pays; the solver objective with
    the rule penalties is reported as ``baseline_objective_with_rules_eur``.
    """
    plant, report = solve_baseline(scenario, ctx)
    result = summarize(scenario, plant, report)
    result.kpis["baseline_objective_with_rules_eur"] = report.objective_eur
    result.kpis["objective_eur"] = float(pyo.value(plant.model.total_cost_eur))
    order = merit_order(plant)
    result.kpis["baseline_merit_order"] = "; ".join(
        f"{carrier}: {' > '.join(names)}" for carrier, names in order.items()
    )
    return result
