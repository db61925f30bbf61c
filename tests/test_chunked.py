"""Long baselines and replays solved month by month give the one-model result.

The default plant runs a week across the March/April boundary at hourly
steps, once as one model and once in two monthly parts (the threshold
lowered for the test), in rolling (replayed) and baseline mode.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import energyopt.engine.chunked as chunked
from energyopt.engine.rolling import simulate
from energyopt.inputs.config import load_scenario
from energyopt.model.solve import SolveReport
from tests.conftest import SCENARIOS

COMPARED = (
    "total_cost_eur",
    "co2_t",
    "grid_import_kwh",
    "cost_demand_charge_eur",
    "final_energy_kwh",
    "final_energy_dry_room_kwh",
    "n_violations",
)


@pytest.fixture(scope="module")
def runs():
    """{parts: {mode: RunResult}} for one model and for monthly parts."""
    scenario = load_scenario(SCENARIOS / "gigafactory.yaml")
    out = {}
    saved = chunked.BY_MONTH_AFTER_DAYS
    try:
        for after in (100, 3):
            chunked.BY_MONTH_AFTER_DAYS = after
            sim = simulate(
                scenario,
                dt.date(2023, 3, 28),
                dt.date(2023, 4, 3),
                modes=("rolling", "baseline"),
                step="1h",
            )
            out[1 if after == 100 else 2] = sim.runs
    finally:
        chunked.BY_MONTH_AFTER_DAYS = saved
    return out


def test_months_are_local_calendar_months():
    index = pd.date_range("2023-03-30T22:00Z", "2023-04-02T21:00Z", freq="1h")
    parts = chunked.month_parts(index, "Europe/Berlin")
    assert [(index[p][0], index[p][-1]) for p in parts] == [
        (pd.Timestamp("2023-03-30T22:00Z"), pd.Timestamp("2023-03-31T21:00Z")),
        (pd.Timestamp("2023-03-31T22:00Z"), pd.Timestamp("2023-04-02T21:00Z")),
    ]


@pytest.mark.parametrize("mode", ["rolling", "baseline"])
def test_monthly_parts_give_the_one_model_result(runs, mode):
    whole, parts = runs[1][mode], runs[2][mode]
    assert parts.kpis["n_variables"] < whole.kpis["n_variables"]  # parts are smaller models
    for key in COMPARED:
        assert parts.kpis[key] == pytest.approx(whole.kpis[key], rel=1e-6, abs=1e-3), key
    assert parts.dispatch.index.equals(whole.dispatch.index)
    assert parts.dispatch.columns.equals(whole.dispatch.columns)


def test_stores_carry_their_level_across_the_month_boundary(runs):
    dispatch = runs[2]["baseline"].dispatch
    boundary = dispatch.index.get_loc(pd.Timestamp("2023-03-31T22:00Z"))
    for store in ("bess", "ht_store", "cw_store"):
        level = dispatch[f"{store}.level_kwh"]
        # the level moves by at most one step's charging or discharging across the cut
        charge = dispatch[f"{store}.charge_kw"].iloc[boundary]
        discharge = dispatch[f"{store}.discharge_kw"].iloc[boundary]
        step_kwh = max(charge, discharge) * 1.0 + 1e-6 + 0.01 * abs(level.iloc[boundary - 1])
        assert abs(level.iloc[boundary] - level.iloc[boundary - 1]) <= step_kwh, store


def test_joined_report_sums_objectives_bounds_and_times():
    def report(objective, bound, status="optimal", n=10):
        return SolveReport(status, objective, bound, 0.0, 1.0, 2.0, n, n, 0, highs_s=0.5)

    joined = chunked.joined_report([report(100.0, 99.0), report(300.0, 297.0, "time_limit", 20)])
    assert joined.objective_eur == 400.0
    assert joined.bound_eur == 396.0
    assert joined.mip_gap == pytest.approx(0.01)
    assert joined.status == "time_limit"
    assert (joined.build_s, joined.solve_s, joined.highs_s) == (2.0, 4.0, 1.0)
    assert joined.n_variables == 20
    assert chunked.joined_report([report(1.0, None)]).bound_eur is None
