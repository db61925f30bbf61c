"""Rolling horizon: windows, state carried across every seam, no look-ahead, replay on actuals."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging

import numpy as np
import pandas as pd
import pytest
from helpers import grid, scenario_doc, write_scenario, write_series
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal
from test_forecast import LookAhead, TrapSource

from energyopt.engine.forecast import (
    ActualSource,
    ForecastOptions,
    ForecastSet,
    NoisyForecast,
    PerfectForecast,
    PersistenceForecast,
)
from energyopt.engine.pipeline import month_weights
from energyopt.engine.rolling import (
    RollingEngine,
    RollingOptions,
    plan_windows,
    prepare_rolling,
    simulate,
)
from energyopt.engine.rolling import engine as engine_module
from energyopt.engine.rolling.simulate import load_actuals, period_of
from energyopt.engine.state import SystemState
from energyopt.errors import InfeasibleError, ScenarioError, SolveError
from energyopt.inputs.config import load_scenario
from energyopt.inputs.weather import pv_power_kw
from energyopt.outputs.results import balance_residuals
from tests.conftest import SCENARIOS

PARIS = "Europe/Paris"
JUNE_5 = dt.date(2023, 6, 5)


@pytest.fixture(scope="module")
def example():
    return load_scenario(SCENARIOS / "example.yaml")


def asset_params(scenario, name):
    return next(a for a in scenario.plant.assets if a.name == name)


# ---------------------------------------------------------------- windows


def paris_period(start: str, days: int, step: str = "1h") -> pd.DatetimeIndex:
    first = pd.Timestamp(start).tz_localize(PARIS).tz_convert("UTC")
    last = (pd.Timestamp(start) + pd.Timedelta(days=days)).tz_localize(PARIS).tz_convert("UTC")
    return pd.date_range(first, last, freq=step, inclusive="left", name="time")


def test_daily_windows_start_at_local_midnight_planned_at_11_the_day_before():
    windows = plan_windows(paris_period("2023-06-05", 3), PARIS, RollingOptions())
    assert [w.start for w in windows] == [
        pd.Timestamp(f"2023-06-0{d} 00:00", tz=PARIS).tz_convert("UTC") for d in (5, 6, 7)
    ]
    assert [w.issued_at for w in windows] == [
        pd.Timestamp(f"2023-06-0{d} 11:00", tz=PARIS).tz_convert("UTC") for d in (4, 5, 6)
    ]
    assert [len(w.index) for w in windows] == [48, 48, 24]  # the last stops at the period end
    assert [w.commit_steps for w in windows] == [24, 24, 24]


@pytest.mark.parametrize(
    ("start", "commits"), [("2023-03-25", [96, 92, 96]), ("2023-10-28", [96, 100, 96])]
)
def test_dst_days_commit_their_local_day_with_constant_window_length(start, commits):
    windows = plan_windows(paris_period(start, 4, "15min"), PARIS, RollingOptions())
    assert [w.commit_steps for w in windows[:3]] == commits
    assert len(windows[0].index) == len(windows[1].index) == 192
    assert windows[1].start == windows[0].commit_end


def test_sub_daily_commits_are_planned_lead_before_their_start():
    period = paris_period("2023-06-05", 1, "15min")
    options = RollingOptions(horizon="12h", commit="6h", plan_time_local=None, lead="30min")
    windows = plan_windows(period, PARIS, options)
    assert len(windows) == 4
    assert all(w.issued_at == w.start - pd.Timedelta("30min") for w in windows)
    assert [len(w.index) for w in windows] == [48, 48, 48, 24]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RollingOptions(horizon="12h", commit="1D"), "shorter than commit"),
        (RollingOptions(horizon="24h", commit="6h"), "needs a commit of whole days"),
        (RollingOptions(plan_time_local="11h"), "not a time of day"),
        (RollingOptions(horizon="50min", commit="50min", plan_time_local=None), "multiple of"),
    ],
)
def test_invalid_rolling_options_are_named(options, message):
    with pytest.raises(ScenarioError, match=message):
        plan_windows(paris_period("2023-06-05", 2), PARIS, options)


# ---------------------------------------------------------------- one window = one solve


def test_a_window_over_the_whole_period_equals_the_single_solve(example):
    sim = simulate(
        example,
        JUNE_5,
        JUNE_5 + dt.timedelta(days=1),
        modes=("rolling", "perfect"),
        step="1h",
        rolling=RollingOptions(horizon="48h", commit="2D"),
    )
    rolling, perfect = sim.runs["rolling"], sim.runs["perfect"]
    assert rolling.kpis["n_windows"] == 1
    assert rolling.kpis["total_cost_eur"] == pytest.approx(perfect.kpis["total_cost_eur"], rel=1e-9)
    for column in ("bess.level_kwh", "heat_store.level_kwh", "boiler.heat_kw", "hthp.heat_kw"):
        assert_allclose(rolling.dispatch[column], perfect.dispatch[column], atol=1e-6)
    assert sim.comparison["rolling_regret_pct"] == pytest.approx(0.0, abs=1e-7)
    assert rolling.kpis["deviation_setpoint_kwh"] == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- continuity (noisy plans)


@pytest.fixture(scope="module")
def noisy(example):
    return simulate(
        example,
        JUNE_5,
        JUNE_5 + dt.timedelta(days=3),
        modes=("rolling",),
        step="1h",
        forecast=ForecastOptions(kind="noisy", seed=3),
    )


@pytest.mark.parametrize("storage", ["bess", "heat_store"])
def test_storage_balance_holds_at_every_step_and_every_seam(noisy, example, storage):
    p = asset_params(example, storage)
    plan = noisy.rolling.plan
    level = plan[f"{storage}.level_kwh"].to_numpy()
    before = np.r_[p.soc_initial_frac * p.capacity_kwh, level[:-1]]
    keep = (1 - p.loss_frac_per_h) ** 1.0
    expected = keep * before + (
        p.efficiency_charge * plan[f"{storage}.charge_kw"]
        - plan[f"{storage}.discharge_kw"] / p.efficiency_discharge
    )
    assert_allclose(level, expected, atol=1e-6)


@pytest.mark.parametrize("storage", ["bess", "heat_store"])
def test_carried_level_is_the_committed_level_at_each_seam(noisy, storage):
    plan, windows = noisy.rolling.plan, noisy.rolling.windows
    for window, state in zip(windows, noisy.rolling.states[1:], strict=True):
        end = plan.index.get_loc(window.start) + window.commit_steps - 1
        assert state.get(storage, "level_kwh") == pytest.approx(
            plan[f"{storage}.level_kwh"].iloc[end]
        )
    # the plans really differ from a perfect-foresight run (noisy inputs), so seams are tested
    assert (
        noisy.rolling.plan["grid.price_import_eur_per_kwh"]
        .ne(noisy.runs["rolling"].dispatch["grid.price_import_eur_per_kwh"])
        .any()
    )


def test_month_peak_is_carried_and_never_resets_mid_month(noisy):
    imports = noisy.rolling.plan["grid.import_kw"]
    peaks = []
    for window, state in zip(noisy.rolling.windows, noisy.rolling.states[1:], strict=True):
        so_far = imports[imports.index < window.start + window.commit_steps * pd.Timedelta("1h")]
        assert state.get("grid", "peak_kw:2023-06") == pytest.approx(so_far.max())
        peaks.append(state.get("grid", "peak_kw:2023-06"))
    assert peaks == sorted(peaks)


def test_replay_follows_storage_setpoints_and_prices_on_actuals(noisy, example):
    plan, actual = noisy.rolling.plan, noisy.runs["rolling"].dispatch
    assert_allclose(actual["bess.charge_kw"], plan["bess.charge_kw"], atol=1e-6)
    assert_allclose(actual["heat_store.level_kwh"], plan["heat_store.level_kwh"], atol=1e-6)
    assert balance_residuals(actual).abs().to_numpy().max() < 1e-6
    period = period_of(example, JUNE_5, JUNE_5 + dt.timedelta(days=3), "1h")
    frame = load_actuals(example, period, pd.Timedelta(0))
    fee = example.tariffs.grid_fee_eur_per_mwh
    assert_allclose(
        actual["grid.price_import_eur_per_kwh"], (frame["price_eur_per_mwh"] + fee) / 1000
    )
    # PV forecast errors are balanced by the grid and reported as deviation
    assert noisy.runs["rolling"].kpis["deviation_grid_kwh"] > 100.0


def test_pv_is_forecast_through_the_pvlib_chain_from_forecast_weather(noisy, example):
    period = period_of(example, JUNE_5, JUNE_5 + dt.timedelta(days=3), "1h")
    frame = load_actuals(example, period, pd.Timedelta(0))
    first = noisy.rolling.windows[0]
    weather = ForecastSet(NoisyForecast(ActualSource(frame), seed=3)).frame(
        list(frame.columns), pd.date_range(first.start, periods=48, freq="1h"), first.issued_at
    )
    site, pv = example.site, asset_params(example, "roof_pv")
    expected = pv_power_kw(
        weather,
        site.latitude,
        site.longitude,
        site.altitude_m,
        pv.peak_power_kwp,
        pv.tilt_deg,
        pv.azimuth_deg,
        pv.losses_frac,
        pv.temp_coefficient_per_k,
        pv.inverter_efficiency,
    )
    assert_allclose(noisy.rolling.plan["roof_pv.available_kw"].iloc[:24], expected[:24])
    actual = noisy.runs["rolling"].dispatch["roof_pv.available_kw"]
    assert not np.allclose(actual.iloc[:24], expected[:24])


# ---------------------------------------------------------------- month boundary


def test_peak_of_a_new_month_starts_fresh_and_the_old_one_is_kept(example):
    start = dt.date(2023, 6, 29)
    sim = simulate(example, start, start + dt.timedelta(days=3), modes=("rolling",), step="1h")
    plan, states = sim.rolling.plan, sim.rolling.states
    local = plan.index.tz_convert(PARIS).strftime("%Y-%m")
    june, july = (
        plan["grid.import_kw"][local == "2023-06"],
        plan["grid.import_kw"][local == "2023-07"],
    )
    assert states[2].get("grid", "peak_kw:2023-07") is None
    assert states[3].get("grid", "peak_kw:2023-06") == pytest.approx(june.max())
    assert states[3].get("grid", "peak_kw:2023-07") == pytest.approx(july.iloc[:24].max())
    assert states[4].get("grid", "peak_kw:2023-07") == pytest.approx(july.max())
    # what the replay bills: each month's peak once, weighted by the share of the month covered
    actual = sim.runs["rolling"].dispatch
    weights = month_weights(actual.index, PARIS)
    month = actual.index.tz_convert(PARIS).strftime("%Y-%m")
    rate = example.tariffs.demand_charge_eur_per_kw_month
    billed = sum(rate * w * actual["grid.import_kw"][month == m].max() for m, w in weights.items())
    assert sim.runs["rolling"].kpis["cost_demand_charge_eur"] == pytest.approx(billed, rel=1e-9)


# ---------------------------------------------------------------- no look-ahead in the engine


class Watched:
    """Tells the trap the issue time of every request."""

    def __init__(self, trap: TrapSource, inner) -> None:
        self.trap, self.inner = trap, inner

    def get(self, quantity, index, issued_at):
        self.trap.now = issued_at
        return self.inner.get(quantity, index, issued_at)


def engine_with(example, make_provider, days=3):
    period = period_of(example, JUNE_5, JUNE_5 + dt.timedelta(days=days - 1), "1h")
    frame = load_actuals(example, period, pd.Timedelta("14D"))
    trap = TrapSource(ActualSource(frame, ForecastOptions().day_ahead_rules(frame.columns)))
    forecasts = ForecastSet(Watched(trap, make_provider(trap)))
    engine = RollingEngine(example, forecasts, list(frame.columns), month_weights(period, PARIS))
    return engine, plan_windows(period, PARIS, RollingOptions())


@pytest.mark.parametrize("lag", ["1D", "7D"])
def test_rolling_with_persistence_reads_nothing_after_issue_time(example, lag):
    engine, windows = engine_with(example, lambda s: PersistenceForecast(s, lag=lag))
    plan = engine.run(windows)
    assert len(plan.windows) == 3


def test_rolling_with_perfect_forecasts_trips_the_trap(example):
    engine, windows = engine_with(example, PerfectForecast)
    with pytest.raises(LookAhead):
        engine.run(windows)


# ---------------------------------------------------------------- engine mechanics


def test_model_is_built_once_and_updated_with_one_log_line_per_window(example, caplog):
    caplog.set_level(logging.INFO, logger="energyopt.engine.rolling.engine")
    engine, windows = prepare_rolling(example, JUNE_5, JUNE_5 + dt.timedelta(days=3), "1h")
    engine.overlap = False
    reports = engine.run(windows).windows
    assert [r.action for r in reports] == ["build", "update", "update", "build"]
    lines = [r.getMessage() for r in caplog.records if r.name == "energyopt.engine.rolling.engine"]
    assert [line.split(") ")[0].split("(")[-1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert all(r.build_s > 0 and r.solve_s > 0 for r in reports)


def test_overlapping_loop_alternates_two_models_and_plans_the_same(example):
    """While HiGHS solves a window, the table of the one before is read from the other model."""
    last = JUNE_5 + dt.timedelta(days=4)
    engine, windows = prepare_rolling(example, JUNE_5, last, "1h")
    overlapped = engine.run(windows)
    assert [r.action for r in overlapped.windows] == ["build", "build", "update", "update", "build"]
    engine, windows = prepare_rolling(example, JUNE_5, last, "1h")
    engine.overlap = False
    sequential = engine.run(windows)
    assert_frame_equal(overlapped.plan, sequential.plan, rtol=0, atol=1e-6)
    assert overlapped.plan.index.is_unique
    assert len(overlapped.plan) == 5 * 24
    assert [s.at for s in overlapped.states] == [s.at for s in sequential.states]
    assert [s.values for s in overlapped.states] == [s.values for s in sequential.states]
    sim = simulate(example, JUNE_5, last, modes=("rolling",), step="1h")
    kpis = sim.runs["rolling"].kpis
    assert kpis["n_builds"] == 3
    assert kpis["update_s_total"] == pytest.approx(
        sum(r.build_s for r in sim.rolling.windows if r.action == "update")
    )


def test_a_failed_window_falls_back_to_the_baseline_and_is_reported(example, monkeypatch):
    real_solve = engine_module.start_solve
    calls = {"n": 0}

    def failing_second(plant, options, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise InfeasibleError("no feasible plan: test")
        return real_solve(plant, options, **kwargs)

    monkeypatch.setattr(engine_module, "start_solve", failing_second)
    sim = simulate(example, JUNE_5, JUNE_5 + dt.timedelta(days=2), modes=("rolling",), step="1h")
    reports = sim.rolling.windows
    assert [r.status for r in reports] == ["optimal", "fallback", "optimal"]
    assert reports[1].fallback_reason == "no feasible plan: test"
    assert sim.runs["rolling"].kpis["n_fallbacks"] == 1
    day_two = sim.rolling.plan.iloc[24:48]
    assert (day_two[["bess.charge_kw", "bess.discharge_kw"]].abs() < 1e-9).all().all()
    carried = sim.rolling.states[1].get("bess", "level_kwh")
    assert_allclose(day_two["bess.level_kwh"], carried, atol=1e-9)


def test_a_window_without_plan_or_fallback_stops_the_run_naming_it(example, monkeypatch):
    def fail(*args, **kwargs):
        raise InfeasibleError("no feasible plan: test")

    monkeypatch.setattr(engine_module, "start_solve", fail)
    monkeypatch.setattr(engine_module, "solve_baseline", fail)
    with pytest.raises(
        SolveError, match=r"window 1 \(2023-06-04T22:00Z\).*baseline fallback failed"
    ):
        simulate(example, JUNE_5, JUNE_5, modes=("rolling",), step="1h")


# ---------------------------------------------------------------- forced deviation


def test_replay_deviates_setpoints_only_by_what_actual_loads_need(tmp_path):
    """Heat forecast 80 kW, actual 100 kW: the boiler follows 80 and deviates by 20 kW."""
    days, gas_eur_per_mwh = 2, 40.0
    doc = scenario_doc(
        tmp_path,
        [
            grid(1000.0),
            {"type": "gas_boiler", "name": "boiler", "heat_max_kw": 500, "efficiency": 0.9},
            {"type": "fixed_load", "name": "heat", "carrier": "heat_ht", "series": "heat_kw"},
        ],
        days=days + 1,
        start="2023-06-04",
        tariffs={"gas_price_eur_per_mwh": gas_eur_per_mwh},
    )
    hourly = pd.date_range("2023-06-04", periods=24 * (days + 1), freq="1h", tz="UTC")
    write_series(tmp_path / "heat.csv", hourly, heat_kw=100.0)
    doc["site"]["series"]["heat_kw"] = {"file": "heat.csv", "column": "heat_kw"}
    forecast_file = tmp_path / "heat_forecast.csv"
    pd.DataFrame(
        {
            "issued_at_utc": "2023-06-04T00:00:00Z",
            "timestamp_utc": hourly.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "value": 80.0,
        }
    ).to_csv(forecast_file, index=False)
    scenario = load_scenario(write_scenario(tmp_path / "heat.yaml", doc))
    sim = simulate(
        scenario,
        dt.date(2023, 6, 5),
        dt.date(2023, 6, 4 + days),
        modes=("rolling",),
        forecast=ForecastOptions(files={"heat_kw": str(forecast_file)}),
    )
    run = sim.runs["rolling"]
    assert_allclose(sim.rolling.plan["boiler.heat_kw"], 80.0, atol=1e-6)
    assert_allclose(run.dispatch["boiler.heat_kw"], 100.0, atol=1e-6)
    hours = 24 * days
    assert run.kpis["deviation_setpoint_kwh"] == pytest.approx(20.0 * hours, rel=1e-9)
    assert run.kpis["deviation_setpoint_kwh:boiler"] == pytest.approx(20.0 * hours, rel=1e-9)
    assert run.kpis["cost_fuel_eur"] == pytest.approx(100.0 / 0.9 * hours * gas_eur_per_mwh / 1000)


# ---------------------------------------------------------------- process assets across seams


def night_price_scenario(tmp_path, assets, days):
    """UTC site; electricity cheap 21:00-03:00 (20 EUR/MWh), dear otherwise (150)."""
    hours = np.arange(24 * (days + 1)) % 24
    prices = np.where((hours >= 21) | (hours < 3), 20.0, 150.0)
    base = [grid(5000.0), {"type": "electric_boiler", "name": "eboiler", "heat_max_kw": 5000}]
    base.append({"type": "chiller", "name": "chiller", "cooling_max_kw": 5000, "cop_ref": 4.0})
    doc = scenario_doc(
        tmp_path,
        [*base, *assets],
        price_eur_per_mwh=prices,
        start="2023-06-04",
        days=days + 1,
        weather=True,
    )
    return load_scenario(write_scenario(tmp_path / "night.yaml", doc))


def runs_of(states: np.ndarray, value: int) -> list[tuple[int, int]]:
    """(first, length) of every run of ``value`` in a 0/1 sequence."""
    runs, start = [], None
    for t, s in enumerate([*states, 1 - value]):
        if s == value and start is None:
            start = t
        elif s != value and start is not None:
            runs.append((start, t - start))
            start = None
    return runs


def test_oven_minimum_run_and_down_times_hold_across_the_seams(tmp_path):
    """Target 10,800 m2/day at >= 1,800 m2/h, runs >= 6 h: the cheap night run crosses midnight."""
    oven = {
        "type": "drying_oven",
        "name": "oven",
        "area_per_day_m2": 10800,
        "min_run_h": 6,
        "min_down_h": 3,
        "startup_heat_kwh": 100,
        "nmp_value_eur_per_kg": 0.0,
    }
    days = 4
    scenario = night_price_scenario(tmp_path, [oven], days)
    sim = simulate(scenario, dt.date(2023, 6, 5), dt.date(2023, 6, 4 + days), modes=("rolling",))
    plan, states = sim.rolling.plan, sim.rolling.states
    is_on = np.round(plan["oven.is_on"].to_numpy()).astype(int)
    crossing = 0
    for first, length in runs_of(is_on, 1):
        if first > 0 and first + length < len(is_on):  # runs inside the period
            assert length >= 6
        crossing += any(first < 24 * d < first + length for d in range(1, days))
    for first, length in runs_of(is_on, 0):
        if first > 0 and first + length < len(is_on):
            assert length >= 3
    assert crossing >= 2  # the seams are really crossed by runs
    for day in range(1, days):
        seam = 24 * day
        state = is_on[seam - 1]
        first = next(f for f, n in runs_of(is_on, state) if f < seam <= f + n)
        assert states[day].get("oven", "is_on") == state
        assert states[day].get("oven", "time_in_state_h") == pytest.approx(seam - first)
    # every local day meets its target exactly, also the days a run crosses into
    daily = (plan["oven.area_m2_per_h"]).groupby(plan.index.date).sum()
    assert_allclose(daily.to_numpy(), 10800.0, atol=1e-3)


def test_formation_batch_across_midnight_continues_and_finishes(tmp_path):
    """Releases at 04, 10, 16, 22 h; a 3 h recipe due 3 h after release starts at release."""
    formation = {
        "type": "formation",
        "name": "form",
        "cells_kwh_per_day": 400.0,
        "batches_per_day": 4,
        "first_release_h": 4.0,
        "phases": [
            {"duration_h": 2.0, "charge_kwh_per_kwh_cell": 1.05},
            {"duration_h": 1.0, "discharge_kwh_per_kwh_cell": 0.65},
        ],
        "due_after_release_h": 3.0,
        "racks": 1,
    }
    days = 3
    scenario = night_price_scenario(tmp_path, [formation], days)
    sim = simulate(
        scenario, dt.date(2023, 6, 5), dt.date(2023, 6, 4 + days), modes=("rolling", "perfect")
    )
    plan, states = sim.rolling.plan, sim.rolling.states
    for day in range(1, days):
        running = states[day].get("form", "running")
        assert len(running) == 1  # the 22:00 batch is on its rack at midnight
        assert pd.Timestamp(running[0]["started_at"]).hour == 22
        midnight = 24 * day
        # 22:00-24:00 charge 105 kWh over 2 h; 00:00-01:00 the next window discharges 65 kWh
        assert_allclose(plan["form.charge_dc_kw"].iloc[midnight - 2 : midnight], 52.5)
        assert plan["form.discharge_dc_kw"].iloc[midnight] == pytest.approx(65.0)
        assert plan["form.batches_running"].iloc[midnight] == pytest.approx(1.0)
        assert plan["form.batches_started"].iloc[midnight] == pytest.approx(0.0)
    # every batch of the period charges and discharges its recipe once, seams included
    inside = plan.iloc[1:-2]  # minus the batch carried in at the start and cut at the end
    assert inside["form.charge_dc_kw"].sum() == pytest.approx(105.0 * (4 * days - 1))
    replay = sim.runs["rolling"].dispatch
    assert_allclose(replay["form.charge_dc_kw"], sim.runs["perfect"].dispatch["form.charge_dc_kw"])


# ---------------------------------------------------------------- demand charge in windows


def test_peak_price_factor_is_the_share_of_the_months_remaining_hours():
    from energyopt.engine.rolling.windows import peak_price_factor

    utc = pd.date_range("2023-06-10", periods=48, freq="1h", tz="UTC")
    end = pd.Timestamp("2023-08-01", tz="UTC")
    # 10 June 00:00 UTC: 21 days (504 h) of June remain; the window covers 48 h of them
    assert peak_price_factor(utc, end, "UTC") == {"2023-06": pytest.approx(48 / 504)}
    last = pd.date_range("2023-06-29", periods=72, freq="1h", tz="UTC")
    factors = peak_price_factor(last, end, "UTC")
    assert factors["2023-06"] == 1.0  # the month's last window pays the full rate
    assert factors["2023-07"] == pytest.approx(24 / (31 * 24))
    # the period end limits the remaining hours
    assert peak_price_factor(utc, pd.Timestamp("2023-06-13", tz="UTC"), "UTC") == {
        "2023-06": pytest.approx(48 / 72)
    }


def test_windows_price_the_peak_in_two_parts_below_and_above_the_expected_peak(example):
    """Each window bills June's share; up to the expected peak a rise costs the window's
    share of June's remaining hours, beyond it the full rate (``prorated``: all of it)."""
    end = JUNE_5 + dt.timedelta(days=2)
    share = 3 / 30  # the period bills three of June's thirty days
    for mode in ("full", "prorated"):
        options = RollingOptions(demand_charge=mode)
        engine, windows = prepare_rolling(example, JUNE_5, end, "1h", options=options)
        state = SystemState()
        seen = []
        for window in windows:
            _, state, _ = engine.step(window, state)
            ctx = engine.plant.ctx
            floor = ctx.peak_floor_kw["grid"]["2023-06"]
            seen.append((ctx.demand_charge_month_weight["2023-06"], ctx.peak_below_share, floor))
        assert [w for w, _, _ in seen] == pytest.approx([share] * 3)
        below = [s["2023-06"] for _, s, _ in seen]
        assert below == pytest.approx([48 / 72, 48 / 48, 1.0])
        floors = [f for _, _, f in seen]
        if mode == "prorated":
            assert floors == [np.inf] * 3
        else:  # the baseline's June peak over the period
            base = simulate(example, JUNE_5, end, modes=("baseline",), step="1h")
            assert floors == pytest.approx([base.runs["baseline"].kpis["peak_import_kw"]] * 3)


# ---------------------------------------------------------------- day-ahead gate in the engine


@pytest.mark.parametrize(("plan_time", "known"), [("11:00", False), ("13:00", True)])
def test_committed_day_prices_are_forecasts_until_the_auction(example, plan_time, known):
    """Planned at 11:00 (before the 12:00 auction) tomorrow's prices are forecasts; 13:00 actual."""
    sim = simulate(
        example,
        JUNE_5,
        JUNE_5 + dt.timedelta(days=1),
        modes=("rolling",),
        step="1h",
        forecast=ForecastOptions(kind="noisy", seed=5),
        rolling=RollingOptions(plan_time_local=plan_time),
    )
    planned = sim.rolling.plan["grid.price_import_eur_per_kwh"]
    actual = sim.runs["rolling"].dispatch["grid.price_import_eur_per_kwh"]
    same = np.isclose(planned, actual, rtol=0, atol=1e-12)
    assert same.all() == known
    assert not same.any() or known


# ---------------------------------------------------------------- command line


def test_simulate_command_writes_the_comparison(tmp_path):
    from typer.testing import CliRunner

    from energyopt.cli import app

    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(SCENARIOS / "example.yaml"),
            "--start",
            "2023-06-05",
            "--end",
            "2023-06-06",
            "--step",
            "1h",
            "--forecast",
            "noisy",
            "--baseline-order",
            "heat_ht=boiler,hthp",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    kpis = json.loads((out / "kpis.json").read_text())
    for key in ("savings_vs_baseline_pct", "rolling_regret_pct"):
        assert isinstance(kpis[key], float)
    assert kpis["baseline"]["baseline_merit_order"].startswith("heat_ht: boiler > hthp;")
    cost = {mode: kpis[mode]["total_cost_eur"] for mode in ("rolling", "perfect", "baseline")}
    assert kpis["rolling_regret_pct"] == pytest.approx(
        (cost["rolling"] / cost["perfect"] - 1) * 100
    )
    for name in (
        "dispatch.csv",
        "dispatch_perfect.csv",
        "dispatch_baseline.csv",
        "plan.csv",
        "windows.csv",
        "state.json",
        "comparison.html",
    ):
        assert (out / name).stat().st_size > 0
    windows = pd.read_csv(out / "windows.csv")
    assert list(windows["action"]) == ["build", "build"]
    assert windows[["build_s", "solve_s"]].gt(0).all().all()
    dispatch = pd.read_csv(out / "dispatch.csv", index_col="timestamp_utc")
    assert len(dispatch) == 48


def test_simulate_command_names_a_bad_mode(tmp_path):
    from typer.testing import CliRunner

    from energyopt.cli import app

    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(SCENARIOS / "example.yaml"),
            "--start",
            "2023-06-05",
            "--end",
            "2023-06-05",
            "--mode",
            "best",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "--mode 'best'" in result.output


def test_a_failed_full_period_solve_names_the_mode_and_period(example, monkeypatch):
    simulate_module = importlib.import_module("energyopt.engine.rolling.simulate")

    def no_plan(*args, **kwargs):
        raise SolveError("HiGHS stopped without a plan: maxTimeLimit after 120.0 s")

    monkeypatch.setattr(simulate_module, "solve_period", no_plan)
    expected = r"perfect run over 2023-06-05 to 2023-06-06: HiGHS stopped without a plan"
    with pytest.raises(SolveError, match=expected):
        simulate(example, JUNE_5, JUNE_5 + dt.timedelta(days=1), modes=("perfect",), step="1h")


def test_replay_of_a_plan_off_the_period_is_refused(noisy, example):
    from energyopt.engine.rolling import replay
    from energyopt.errors import DataError

    period = period_of(example, JUNE_5, JUNE_5 + dt.timedelta(days=3), "1h")
    frame = load_actuals(example, period, pd.Timedelta(0))
    from energyopt.engine.pipeline import make_context

    ctx = make_context(example, period, frame)
    with pytest.raises(DataError, match=r"plan \(72 steps from 2023-06-04T22:00Z\) does not cover"):
        replay(example, ctx, noisy.rolling.plan.iloc[:72])
