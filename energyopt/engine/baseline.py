"""Rule-based reference operation: what the plant does without optimisation.

The baseline is the same plant model with every flexible decision fixed by a
rule (each asset's :meth:`~energyopt.assets.base.Asset.apply_baseline`):

* loads are served when they occur (fixed loads have no choice anyway);
* batteries and thermal stores stay idle (charge = discharge = 0);
* PV is not curtailed (only where the grid connection cannot take a surplus);
* process assets follow their own rules (batches start at release, the dry
  room regenerates at a constant set point, ...);
* heat, cold and every other converted carrier come from the **default
  source** first, then the next converter covers what it cannot, and so on
  (lead-lag sequencing). The default order follows the typical running cost
  of each kind (``baseline_rank`` on the asset class, by typical running
  cost per kWh delivered): heat pumps and chillers lead, fuel
  boilers follow, electric boilers come last (a plant without optimisation
  keeps power-to-heat for backup); converters of one kind follow the
  scenario's asset order. An explicit order per carrier (``order``, e.g.
  ``{"heat_ht": ["gas_boiler", "hthp"]}``) puts the named converters first,
  in that order.

The merit order is expressed as a penalty of
``rank * MERIT_ORDER_PENALTY_EUR_PER_KWH`` on each converter's output energy,
far above any energy price, so the LP that closes the balances never prefers a
later source for its price. The grid then balances electricity. The
penalties only steer; reported costs are the plain cost terms.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from energyopt.assets._conversion import ConversionAsset
from energyopt.assets.base import BuildContext
from energyopt.engine.chunked import solve_by_parts
from energyopt.engine.pipeline import RunResult, build_plant, summarize
from energyopt.errors import ScenarioError
from energyopt.inputs.config import Scenario, SolverOptions
from energyopt.model import PlantSession
from energyopt.model.solve import SolveReport

logger = logging.getLogger(__name__)

#: penalty per rank step on a converter's output energy [EUR/kWh]; above any price
MERIT_ORDER_PENALTY_EUR_PER_KWH = 10.0
BaselineOrder = Mapping[str, Sequence[str]]


def merit_order(plant: PlantSession, order: BaselineOrder | None = None) -> dict[str, list[str]]:
    """Converters supplying each carrier, first = default source (see the module docstring).

    Raises
    ------
    ScenarioError
        If ``order`` names an asset that is not a converter of that carrier.
    """
    found: dict[str, list[str]] = defaultdict(list)
    for name, asset in plant.assets.items():
        if isinstance(asset, ConversionAsset):
            found[asset.params.carrier].append(name)
    ranked = {}
    for carrier, names in found.items():
        given = list((order or {}).get(carrier, ()))
        ranked[carrier] = given + sorted(
            (n for n in names if n not in given),
            key=lambda n: (plant.assets[n].baseline_rank, names.index(n)),
        )
    for carrier, listed in (order or {}).items():
        stray = sorted(set(listed) - set(found.get(carrier, ())))
        if stray:
            msg = f"baseline order for {carrier}: {', '.join(stray)} supply no {carrier}"
            raise ScenarioError(msg)
    return ranked


def apply_baseline_rules(
    plant: PlantSession, order: BaselineOrder | None = None
) -> dict[str, list[str]]:
    """Turn a built plant session into its rule-based operation (in place).

    Every asset's ``apply_baseline`` plus the merit-order penalty, and the
    objective becomes ``total cost + rule penalties``. Returns the merit
    order used.
    """
    ranked = merit_order(plant, order)
    plant.apply_baseline(ranked, MERIT_ORDER_PENALTY_EUR_PER_KWH)
    return ranked


def solve_baseline(
    scenario: Scenario, ctx: BuildContext, order: BaselineOrder | None = None
) -> tuple[PlantSession, SolveReport]:
    """Build a fresh plant for ``ctx``, apply the rules and solve it.

    The scenario's time limit bounds the optimisation only: the baseline is
    the plan of last resort, so it is solved without a deadline (its rules
    leave HiGHS little to search).

    Raises
    ------
    SolveError
        If the rule-based operation cannot meet the loads (the message says where).
    """
    plant = build_plant(scenario, ctx)
    ranked = apply_baseline_rules(plant, order)
    logger.debug("baseline merit order: %s", ranked)
    report = plant.solve(baseline_solver(scenario.solver))
    return plant, report


def baseline_solver(options: SolverOptions) -> SolverOptions:
    """``options`` without a time limit (the baseline must always exist)."""
    return options.model_copy(update={"time_limit_s": math.inf})


def run_baseline(
    scenario: Scenario, ctx: BuildContext, order: BaselineOrder | None = None
) -> RunResult:
    """Rule-based operation over the period of ``ctx`` (actual inputs), with KPIs;
    a long period month by month (:mod:`energyopt.engine.chunked`).

    ``objective_eur`` is the cost the plant pays; the solver objective with
    the rule penalties is reported as ``baseline_objective_with_rules_eur``.
    """

    def solve_part(plant: PlantSession, _part: slice) -> SolveReport:
        apply_baseline_rules(plant, order)
        return plant.solve(baseline_solver(scenario.solver))

    solved = solve_by_parts(scenario, ctx, solve_part)
    plant, report = solved.plant, solved.report
    result = summarize(scenario, plant, report, solved.reading, solved.prechecks)
    result.kpis["baseline_objective_with_rules_eur"] = report.objective_eur
    result.kpis["objective_eur"] = result.kpis["total_cost_eur"]
    result.kpis["baseline_merit_order"] = "; ".join(
        f"{carrier}: {' > '.join(names)}" for carrier, names in merit_order(plant, order).items()
    )
    return result
