"""A year of daily rolling plans at 1 h: planning speed, and regret over a year.

The planning loop (forecasts, model update, HiGHS, commit, state) is timed on
the plant under test. The regret against perfect foresight needs one solve of
the whole year; for plants with process MILPs (ovens on/off, formation starts)
that solve does not finish in reasonable time, so the year regret is measured
on the bundled example plant (battery, heat pump, boiler, stores: binaries
only in the battery) and the plant under test gets a month
(``bench_month.py``). Perfect forecasts isolate what the rolling horizon itself
costs (48 h look-ahead, plans made at 11:00 the day before, month peaks seen
one window at a time); noisy forecasts add forecast error. Costs are priced on
actual inputs.
"""

from __future__ import annotations

import datetime as dt

from common import EXAMPLE_PLANT, YEAR, Row, plant, quick, rolling_engine

from energyopt.engine.forecast import ForecastOptions
from energyopt.engine.rolling import simulate
from energyopt.inputs.config import load_scenario


def run(path: str | None = None) -> list[Row]:
    """Measured rows."""
    start, end = YEAR
    if quick():
        end = start + dt.timedelta(days=13)
    days = (end - start).days + 1
    engine, windows = rolling_engine(plant(path), start, end, "1h")
    loop = engine.run(windows)
    per_window = loop.wall_s / len(windows)
    solve_s = sum(w.solve_s for w in loop.windows) / len(windows)
    update_s = sum(w.build_s for w in loop.windows if w.action == "update") / len(windows)
    rows = [
        Row(f"{days} daily windows of 48 h at 1 h: planning loop", loop.wall_s, "s", 60.0),
        Row("  per window", per_window, "s"),
        Row("    of which HiGHS incl. interface update", solve_s, "s"),
        Row("    of which parameter update", update_s, "s"),
        Row("  extrapolated to 365 windows", per_window * 365, "s", 60.0),
    ]
    return rows + regret_rows(load_scenario(EXAMPLE_PLANT), start, end, "example, ")


def regret_rows(scenario, start: dt.date, end: dt.date, label: str) -> list[Row]:
    """Regret and savings with perfect and noisy forecasts (all modes)."""
    sim = simulate(scenario, start, end, step="1h")
    kpis = {mode: run.kpis for mode, run in sim.runs.items()}
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
    perfect, baseline = kpis["perfect"]["total_cost_eur"], kpis["baseline"]["total_cost_eur"]
    days = (end - start).days + 1
    comparison = sim.comparison
    noisy_regret = (noisy["total_cost_eur"] / perfect - 1) * 100
    noisy_savings = (1 - noisy["total_cost_eur"] / baseline) * 100
    head = f"{label}{days} days: rolling regret, perfect forecasts"
    return [
        Row(head, comparison["rolling_regret_pct"], "%", 1.0),
        Row("  upper limit (against the MIP bound)", comparison["rolling_regret_upper_pct"], "%"),
        Row("  perfect-foresight MIP gap", kpis["perfect"]["mip_gap"] * 100, "%"),
        Row("  savings vs baseline, rolling", comparison["savings_vs_baseline_pct"], "%"),
        Row("  savings vs baseline, perfect", comparison["perfect_savings_vs_baseline_pct"], "%"),
        Row("  rolling regret, noisy forecasts (seed 1)", noisy_regret, "%"),
        Row("  savings vs baseline, rolling, noisy", noisy_savings, "%"),
        Row("  grid imbalance against the plan, noisy", noisy["deviation_grid_kwh"] / 1000, "MWh"),
        Row("  wall time, rolling incl. replay", kpis["rolling"]["wall_s"], "s"),
        Row("  wall time, perfect foresight", kpis["perfect"]["wall_s"], "s"),
        Row("  wall time, baseline", kpis["baseline"]["wall_s"], "s"),
    ]
