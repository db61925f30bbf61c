"""Sizing runs: the capacities marked extendable chosen for the least annual cost.

:func:`size_scenario` solves the scenario's own period in one model (perfect
foresight, like ``energyopt run``) with every extendable capacity a decision
(``energyopt/assets/sizing.py``) and the objective the annual cost: annualised
capex and fixed O&M of the chosen capacities plus the period's operating cost
times the operating weight, 8760 h / modelled hours (:func:`operating_weight`).
A week in June stands for the year: what the week does not show (winter
loads, the year's other prices) the sizing does not see. Typical periods,
checking a sizing by simulating the year, Pareto fronts and the service are
not built yet.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import time
from pathlib import Path

import pandas as pd

from energyopt.assets import create_asset
from energyopt.engine.pipeline import load_inputs, make_context, period_index
from energyopt.errors import ScenarioError
from energyopt.inputs.config import Scenario
from energyopt.inputs.timeseries import fmt_step, index_step
from energyopt.model import build_model
from energyopt.model.solve import SolveReport
from energyopt.outputs.results import compute_kpis
from energyopt.outputs.sizing import capacity_table, sizing_kpis
from energyopt.units import HOURS_PER_YEAR

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class SizingResult:
    """A solved sizing run.

    ``kpis``: the annual figures and chosen capacities (:func:`sizing_kpis`), the
    period and the solver report; ``period_kpis``: the modelled period operated
    at the chosen capacities (the KPIs of ``energyopt run``, amounts over the
    period); ``capacities``: one row per chosen capacity.
    """

    scenario: Scenario
    kpis: dict[str, float | str]
    period_kpis: dict[str, float]
    capacities: pd.DataFrame
    dispatch: pd.DataFrame
    report: SolveReport


def operating_weight(index: pd.DatetimeIndex) -> float:
    """Factor from the operating cost over ``index`` to a year's: 8760 h / modelled hours [-]."""
    modelled_h = len(index) * index_step(index) / pd.Timedelta("1h")
    return HOURS_PER_YEAR / modelled_h


def extendable_capacities(scenario: Scenario) -> list[str]:
    """``<asset>.<capacity>`` of every capacity the scenario marks extendable."""
    return [f"{a.name}.{key}" for a in scenario.plant.assets for key in a.extendable]


def size_scenario(
    scenario: Scenario,
    *,
    start: dt.date | None = None,
    days: int | None = None,
    step: str | None = None,
) -> SizingResult:
    """Choose the extendable capacities of ``scenario`` over its period (see the module).

    Raises
    ------
    ScenarioError
        If no asset has an extendable capacity.
    """
    if not extendable_capacities(scenario):
        msg = (
            f"scenario {scenario.name!r}: no asset has an extendable capacity, so there is "
            "nothing to size (mark one, e.g. extendable: {capacity_kwh: {max: 20000}})"
        )
        raise ScenarioError(msg)
    started = time.perf_counter()
    index = period_index(scenario, start, days, step)
    ctx = dataclasses.replace(
        make_context(scenario, index, load_inputs(scenario, index)), sizing=True
    )
    assets = [create_asset(params) for params in scenario.plant.assets]
    plant = build_model(assets, ctx, operating_weight=operating_weight(index))
    plant.build_s = time.perf_counter() - started
    report = plant.solve(scenario.solver)
    reading = plant.read()
    kpis: dict[str, float | str] = dict(sizing_kpis(reading))
    kpis.update(
        solve_status=report.status,
        objective_eur=report.objective_eur,
        mip_gap=report.mip_gap,
        solve_s=report.solve_s,
        period_start=index[0].isoformat(),
        period_end=(index[-1] + index_step(index)).isoformat(),
        step=fmt_step(index_step(index)),
    )
    logger.info("sizing %s: %s in %.2f s", scenario.name, report.status, report.solve_s)
    return SizingResult(
        scenario=scenario,
        kpis=kpis,
        period_kpis=compute_kpis(reading, scenario.plant.annual_capacity_gwh),
        capacities=capacity_table(reading),
        dispatch=reading.dispatch,
        report=report,
    )


def _jsonable(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_sizing(result: SizingResult, out_dir: str | Path) -> list[Path]:
    """Write ``sizing.json`` (annual figures, capacities, the period's KPIs),
    ``capacities.csv`` and the period's ``dispatch.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "annual": {k: _jsonable(v) for k, v in result.kpis.items()},
        "capacities": [
            {k: _jsonable(v) for k, v in row.items()}
            for row in result.capacities.to_dict(orient="records")
        ],
        "period": {k: _jsonable(v) for k, v in result.period_kpis.items()},
    }
    json_path = out / "sizing.json"
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    csv_path = out / "capacities.csv"
    result.capacities.to_csv(csv_path, index=False)
    dispatch_path = out / "dispatch.csv"
    result.dispatch.to_csv(
        dispatch_path, index_label="timestamp_utc", date_format="%Y-%m-%dT%H:%M:%SZ"
    )
    return [json_path, csv_path, dispatch_path]
