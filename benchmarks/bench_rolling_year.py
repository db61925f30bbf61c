"""A year of daily rolling plans at 1 h: speed, regret against perfect foresight, savings.

Perfect forecasts isolate what the rolling horizon itself costs (48 h look-ahead,
day-ahead planning at 11:00, month peaks seen one window at a time); noisy
forecasts add forecast error. All costs are priced on actual inputs.
"""

from __future__ import annotations

import datetime as dt

from common import YEAR, Row, plant, quick

from energyopt.forecast import ForecastOptions
from energyopt.rolling import simulate


def run(path: str | None = None) -> list[Row]:
    """Measured rows."""
    scenario = plant(path)
    start, end = YEAR
    if quick():
        end = start + dt.timedelta(days=13)
    days = (end - start).days + 1
    sim = simulate(scenario, start, end, step="1h")
    rolling, perfect, baseline = (sim.runs[m].kpis for m in ("rolling", "perfect", "baseline"))
    per_window = rolling["planning_wall_s"] / rolling["n_windows"]
    rows = [
        Row(
            f"{days} daily windows of 48 h at 1 h: planning loop",
            rolling["planning_wall_s"],
            "s",
            60.0,
        ),
        Row("  per window (forecasts, update, solve, commit)", per_window, "s"),
        Row("  extrapolated to 365 windows", per_window * 365, "s", 60.0),
        Row(
            "  replay of the committed year on actuals",
            rolling["wall_s"] - rolling["planning_wall_s"],
            "s",
        ),
        Row("perfect foresight, one solve of the period", perfect["wall_s"], "s"),
        Row("  its MIP gap", perfect["mip_gap"] * 100, "%"),
        Row("baseline, one solve of the period", baseline["wall_s"], "s"),
        Row("rolling regret, perfect forecasts", sim.comparison["rolling_regret_pct"], "%", 1.0),
        Row(
            "  upper limit (against the perfect run's MIP bound)",
            sim.comparison.get("rolling_regret_upper_pct", float("nan")),
            "%",
        ),
        Row(
            "savings vs baseline, rolling (perfect forecasts)",
            sim.comparison["savings_vs_baseline_pct"],
            "%",
        ),
        Row(
            "savings vs baseline, perfect foresight",
            sim.comparison["perfect_savings_vs_baseline_pct"],
            "%",
        ),
    ]
    noisy = (
        simulate(
            scenario,
            start,
            end,
            step="1h",
            modes=("rolling",),
            forecast=ForecastOptions(kind="noisy", seed=1),
        )
        .runs["rolling"]
        .kpis
    )
    regret = (noisy["total_cost_eur"] / perfect["total_cost_eur"] - 1) * 100
    savings = (1 - noisy["total_cost_eur"] / baseline["total_cost_eur"]) * 100
    rows += [
        Row("rolling regret, noisy forecasts (seed 1)", regret, "%"),
        Row("savings vs baseline, rolling (noisy forecasts)", savings, "%"),
        Row("  grid imbalance vs plan (noisy)", noisy["deviation_grid_kwh"] / 1000, "MWh"),
        Row("  planning loop (noisy)", noisy["planning_wall_s"], "s"),
    ]
    return rows
