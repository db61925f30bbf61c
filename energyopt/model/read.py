"""Reading a solved session into plain tables.

:func:`read` turns the solved Pyomo model into a :class:`Reading`: the
dispatch table, the costs by category and the emissions. Outputs (KPIs,
plots, comparisons) and the engine work on readings only.

Dispatch table: one row per interval (UTC time stamps), one column per asset
quantity named ``<asset>.<quantity>_<unit>`` (``battery.level_kwh``,
``grid.import_kw``), plus for every asset and carrier it touches its net
injection ``<asset>.net_<carrier>_kw`` (materials: ``_kg_per_h``), positive
when it supplies the carrier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from energyopt.assets.base import COST_CATEGORIES, Asset, BuildContext, flow_unit, values
from energyopt.assets.requirements import Violation
from energyopt.assets.sizing import ChosenCapacity
from energyopt.model.evaluation import reading

if TYPE_CHECKING:
    from energyopt.model.plant import PlantSession


@dataclasses.dataclass(frozen=True)
class Reading:
    """A solved plan as plain data.

    ``costs_eur`` holds every cost category over the window [EUR] (revenues
    negative under ``revenue``, penalties of missed requirements under
    ``violation``) and ``co2`` (the CO2 price times ``co2_kg``);
    ``violations`` names each requirement a soft plan misses, in time order;
    ``assets`` and ``ctx`` are the session's, for the KPIs the asset kinds
    declare. A sizing plan (``ctx.sizing``) adds the ``capacities`` it chose and
    the ``operating_weight`` from the window's operating cost to a year's.
    """

    dispatch: pd.DataFrame
    costs_eur: Mapping[str, float]
    co2_kg: float
    assets: Mapping[str, Asset]
    ctx: BuildContext
    violations: tuple[Violation, ...] = ()
    capacities: tuple[ChosenCapacity, ...] = ()
    operating_weight: float = 1.0

    @property
    def total_cost_eur(self) -> float:
        """What the plan costs, CO2 included [EUR] (the economic objective)."""
        return float(sum(self.costs_eur.values()))


def read(session: PlantSession) -> Reading:
    """The solved plan of ``session`` as a :class:`Reading`."""
    return Reading(
        dispatch=dispatch_table(session),
        costs_eur=cost_breakdown(session),
        co2_kg=co2_kg(session),
        assets=session.assets,
        ctx=session.ctx,
        violations=violations(session),
        capacities=tuple(s.chosen() for s in session.sized),
        operating_weight=session.operating_weight,
    )


def violations(session: PlantSession) -> tuple[Violation, ...]:
    """Every requirement the solved plan misses, by start time, then asset."""
    index = session.ctx.index
    found = [v for r in session.requirements for v in r.violations(index)]
    return tuple(sorted(found, key=lambda v: (v.start, v.asset, v.requirement)))


def dispatch_table(session: PlantSession) -> pd.DataFrame:
    """Solved plan as a DataFrame on the window's UTC index."""
    ctx = session.ctx
    n = ctx.n_steps
    columns: dict[str, np.ndarray] = {}
    # a model updated window after window is read often: evaluate its expressions
    # through cached linear forms (a model solved once: plain evaluation is cheaper)
    with reading(session.value_cache if session.n_updates else None):
        for name, asset in session.assets.items():
            own = _columns(asset.extract(session.block(name), ctx))
            columns.update({f"{name}.{c}": array for c, array in own.items()})
            for carrier, flow in session.terms[name].injections.items():
                columns[f"{name}.net_{carrier}_{flow_unit(carrier)}"] = values(flow, n)
    table = pd.DataFrame(columns, index=ctx.index.copy())
    table.index.name = "time"
    return table


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of an asset's table as arrays (one conversion when all are numbers)."""
    if all(kind in "biuf" for kind in (dtype.kind for dtype in frame.dtypes)):
        matrix = frame.to_numpy(dtype=float)
        return {c: matrix[:, k] for k, c in enumerate(frame.columns)}
    return {c: frame[c].to_numpy() for c in frame.columns}


def cost_breakdown(session: PlantSession) -> dict[str, float]:
    """Costs by category over the window [EUR]; revenues negative under ``revenue``."""
    totals = dict.fromkeys(COST_CATEGORIES, 0.0)
    for terms in session.terms.values():
        for category, expr in terms.costs_eur.items():
            totals[category] += float(pyo.value(expr))
    totals["violation"] = float(pyo.value(session.model.violation_penalty_eur))
    totals["co2"] = float(pyo.value(session.model.co2_price_eur_per_kg)) * co2_kg(session)
    return totals


def co2_kg(session: PlantSession) -> float:
    """Emissions over the window [kg CO2]."""
    return float(sum(pyo.value(t.co2_kg) for t in session.terms.values()))
