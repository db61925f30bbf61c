"""Drying ovens: daily area targets, heat and NMP per m2, run times, seams between windows."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers import (
    EXACT,
    assets_from,
    context,
    grid,
    index,
    load,
    scenario_doc,
    solve_assets,
    tiny_scenario,
)
from numpy.testing import assert_allclose
from pyomo.repn import generate_standard_repn

from energyopt.engine.pipeline import run_scenario
from energyopt.errors import InfeasibleError, ModelBuildError, ScenarioError
from energyopt.inputs.config import Site, SolverOptions, scenario_from_dict
from energyopt.inputs.timeseries import make_index
from energyopt.model import build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve
from energyopt.outputs.results import balance_residuals, compute_kpis

BERLIN = Site(name="b", latitude=52.5, longitude=13.4, timezone="Europe/Berlin")
BOILER = {"type": "electric_boiler", "name": "boiler", "heat_max_kw": 50_000.0, "efficiency": 1.0}
CHILLER = {"type": "chiller", "name": "chiller", "cooling_max_kw": 20_000.0, "cop_slope_per_k": 0}


def oven(**extra) -> dict:
    return {"type": "drying_oven", "name": "ov", "area_per_day_m2": 50_000.0, **extra}


def series(prices, temp=25.0) -> dict:
    return {"price_eur_per_mwh": prices, "temp_air_degc": temp}


def solve_oven(ctx, *docs, options=EXACT, **extra):
    return solve_assets([grid(100_000.0), BOILER, CHILLER, oven(**extra), *docs], ctx, options)


def daily_prices(idx: pd.DatetimeIndex, timezone: str = "UTC") -> np.ndarray:
    """Prices with a daily shape in local time (cheap at night, dear in the evening)."""
    hour = np.asarray(idx.tz_convert(timezone).hour)
    return 60.0 + 50.0 * np.sin((hour - 10) / 24 * 2 * np.pi) + 0.1 * np.arange(len(idx)) % 7


def runs(on: np.ndarray) -> list[tuple[int, int, bool]]:
    """(first, length, value) of each run of equal values."""
    edges = np.flatnonzero(np.diff(on)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, len(on)]
    return [(int(a), int(b - a), bool(on[a])) for a, b in zip(starts, stops, strict=True)]


def area_per_local_day(d: pd.DataFrame, timezone: str, dt_h: float) -> pd.Series:
    local = d.index.tz_convert(timezone).date
    return (d["ov.area_m2_per_h"] * dt_h).groupby(local).sum()


# ------------------------------------------------------------------ targets and energy


def test_daily_area_target_is_met_exactly_on_every_local_day():
    """Berlin summer time: local days run 22:00Z to 22:00Z, 96 intervals each."""
    idx = make_index(dt.date(2023, 6, 5), 2, "15min", "Europe/Berlin")
    ctx = context(idx, series(daily_prices(idx, "Europe/Berlin")), site=BERLIN)
    d = solve_oven(ctx, options=SolverOptions(mip_rel_gap=1e-4)).dispatch
    per_day = area_per_local_day(d, "Europe/Berlin", 0.25)
    assert list(per_day.index) == [dt.date(2023, 6, 5), dt.date(2023, 6, 6)]
    assert_allclose(per_day.to_numpy(), 50_000.0, rtol=1e-9)
    assert_allclose(d["ov.area_done_today_m2"].iloc[[95, 191]], 50_000.0, rtol=1e-9)
    assert d["ov.area_done_today_m2"].iloc[96] <= d["ov.area_m2_per_h"].iloc[96] * 0.25 + 1e-6


def test_heat_fans_cooling_and_nmp_follow_the_area_and_starts():
    idx = index(48, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    solved = solve_oven(ctx, heat_on_kw=150.0, fan_on_kw=20.0)
    d = solved.dispatch
    area = d["ov.area_m2_per_h"].sum()
    starts = d["ov.is_starting"].sum()
    on_h = d["ov.is_on"].sum()
    assert area == pytest.approx(100_000.0)
    assert starts >= 1
    assert d["ov.heat_kw"].sum() == pytest.approx(2.3 * area + 1000.0 * starts + 150.0 * on_h)
    assert d["ov.power_el_kw"].sum() == pytest.approx(0.1 * area + 20.0 * on_h)
    assert d["ov.nmp_evaporated_kg_per_h"].sum() == pytest.approx(0.25 * area)
    assert d["ov.cooling_kw"].sum() == pytest.approx(2.2 * 0.25 * area)
    assert_allclose(d["ov.net_heat_ht_kw"], -d["ov.heat_kw"], atol=1e-9)
    assert_allclose(d["ov.net_cooling_kw"], -d["ov.cooling_kw"], atol=1e-9)


def test_heat_is_area_times_kwh_per_m2_plus_start_up_energy():
    """Defaults (no standing heat): heat = area x 2.3 kWh/m2 + 1,000 kWh per start."""
    idx = index(96, "15min")
    d = solve_oven(context(idx, series(daily_prices(idx)))).dispatch
    area_m2 = d["ov.area_m2_per_h"].sum() * 0.25
    starts = d["ov.is_starting"].round().sum()
    assert area_m2 == pytest.approx(50_000.0)
    assert d["ov.heat_kw"].sum() * 0.25 == pytest.approx(area_m2 * 2.3 + starts * 1000.0)


def test_nmp_recovered_is_area_times_solvent_times_recovery_and_credited():
    idx = index(24, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    solved = solve_oven(ctx, nmp_kg_per_m2=0.3, recovery_frac=0.9, nmp_value_eur_per_kg=2.5)
    d = solved.dispatch
    recovered_kg = d["ov.nmp_recovered_kg_per_h"].sum()
    assert recovered_kg == pytest.approx(50_000.0 * 0.3 * 0.9)
    costs = solved.plant.read().costs_eur
    assert costs["revenue"] == pytest.approx(-2.5 * recovered_kg)
    energy = (d["grid.import_kw"] * d["grid.price_import_eur_per_kwh"]).sum()
    assert solved.report.objective_eur == pytest.approx(energy - 2.5 * recovered_kg, rel=1e-9)
    kpis = compute_kpis(solved.plant.read())
    assert kpis["ov.nmp_recovered_kg"] == pytest.approx(recovered_kg)
    assert kpis["ov.area_m2"] == pytest.approx(50_000.0)


def test_nmp_to_a_carrier_is_supplied_in_kg_per_h_and_not_credited():
    """Line forced to 2,000 m2/h around the clock; a neighbour takes 425 kg/h of NMP."""
    idx = index(24, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    taker = load(2_000.0 * 0.25 * 0.85, "nmp", name="neighbour")
    extra = {
        "area_per_day_m2": 48_000.0,
        "area_min_m2_per_h": 2_000.0,
        "area_max_m2_per_h": 2_000.0,
        "nmp_destination": "carrier",
    }
    solved = solve_oven(ctx, taker, **extra)
    assert_allclose(solved.dispatch["ov.net_nmp_kg_per_h"], 425.0, rtol=1e-9)
    assert solved.plant.read().costs_eur["revenue"] == 0.0


def test_nmp_to_a_carrier_without_a_taker_is_diagnosed():
    idx = index(24, "1h")
    with pytest.raises(InfeasibleError, match="nmp balance has surplus it cannot use"):
        solve_oven(context(idx, series(daily_prices(idx))), nmp_destination="carrier")


# ------------------------------------------------------------------ run and down times


def test_minimum_run_time_is_respected():
    """A small target fits into one cheap hour; a 4 h minimum run stretches it."""
    idx = index(96, "15min")
    prices = np.full(96, 200.0)
    prices[40:44] = 10.0
    ctx = context(idx, series(prices))
    small = {"area_per_day_m2": 3_000.0, "area_min_m2_per_h": 500.0}
    free = solve_oven(ctx, min_run_h=0.25, **small).dispatch
    assert free["ov.is_on"].sum() * 0.25 <= 1.0  # unconstrained: at most the cheap hour
    d = solve_oven(ctx, min_run_h=4.0, **small).dispatch
    on = d["ov.is_on"].to_numpy()
    lengths = [length for first, length, value in runs(on) if value and first + length < 96]
    assert lengths
    assert min(lengths) * 0.25 >= 4.0


def test_minimum_down_time_is_respected():
    """Two cheap hours 1 h apart: with a 3 h minimum down time the line cannot stop between."""
    idx = index(48, "15min")
    prices = np.full(48, 200.0)
    prices[8:16] = 10.0
    prices[20:28] = 10.0
    ctx = context(idx, series(prices))
    small = {"area_per_day_m2": 8_000.0, "area_min_m2_per_h": 500.0, "min_run_h": 1.0}
    free = solve_oven(ctx, min_down_h=0.5, **small).dispatch["ov.is_on"].to_numpy()
    assert any(not v and f > 0 and f + n < 48 for f, n, v in runs(free))
    on = solve_oven(ctx, min_down_h=3.0, **small).dispatch["ov.is_on"].to_numpy()
    gaps = [n for f, n, v in runs(on) if not v and f > 0 and f + n < 48]
    assert all(n * 0.25 >= 3.0 for n in gaps)


def test_run_started_before_the_window_continues_across_the_seam():
    """On for 1 h of a 4 h minimum run: on for the first 3 h even though they are dear."""
    idx = index(24, "15min")
    prices = np.full(24, 500.0)
    prices[16:] = 5.0
    state = {"ov": {"is_on": 1.0, "time_in_state_h": 1.0}}
    ctx = context(idx, series(prices), state=state)
    d = solve_oven(ctx, area_per_day_m2=10_000.0, area_min_m2_per_h=500.0).dispatch
    assert (d["ov.is_on"].iloc[:12] == 1.0).all()
    assert d["ov.is_starting"].iloc[:12].sum() == pytest.approx(0.0)


def test_stop_before_the_window_keeps_the_line_down_across_the_seam():
    idx = index(24, "15min")
    prices = np.full(24, 500.0)
    prices[:4] = 1.0
    state = {"ov": {"is_on": 0.0, "time_in_state_h": 0.5}}
    ctx = context(idx, series(prices), state=state)
    d = solve_oven(ctx, area_per_day_m2=5_000.0, area_min_m2_per_h=500.0).dispatch
    assert (d["ov.is_on"].iloc[:6] == 0.0).all()  # 2 h minimum down, 0.5 h done


def test_final_state_carries_state_time_in_state_and_area_done_today():
    idx = index(48, "1h")
    prices = daily_prices(idx)
    solved = solve_oven(context(idx, series(prices)))
    d = solved.dispatch
    asset = solved.plant.assets["ov"]
    state = asset.final_state(solved.plant.block("ov"), solved.plant.ctx, 30)
    on = d["ov.is_on"].to_numpy()[:30]
    segments = runs(on)
    assert len(segments) > 1  # the last run began inside the window
    assert state["is_on"] == on[-1]
    assert state["time_in_state_h"] == pytest.approx(segments[-1][1] * 1.0)
    done_by_hand = d["ov.area_m2_per_h"].iloc[24:30].sum()
    assert state["area_done_m2:2023-06-06"] == pytest.approx(done_by_hand)


def test_rolling_windows_meet_the_day_target_across_the_seam():
    """Window 1 commits 30 h (into day 2); window 2 starts at 06:00 with the carried count
    and finishes day 2's target exactly."""
    idx = index(72, "1h")
    prices = daily_prices(idx)
    first = solve_oven(context(idx[:48], series(prices[:48])))
    state = first.plant.assets["ov"].final_state(first.plant.block("ov"), first.plant.ctx, 30)
    second = solve_oven(context(idx[30:], series(prices[30:]), state={"ov": state}))
    made = first.dispatch["ov.area_m2_per_h"].iloc[24:30].sum()
    made += second.dispatch["ov.area_m2_per_h"].iloc[:18].sum()
    assert made == pytest.approx(50_000.0)
    assert second.dispatch["ov.area_done_today_m2"].iloc[17] == pytest.approx(50_000.0)
    # minimum run across the seam: a run ending window 1's commit continues
    on = np.r_[first.dispatch["ov.is_on"].to_numpy()[:30], second.dispatch["ov.is_on"].to_numpy()]
    lengths = [n for f, n, v in runs(on) if v and f > 0 and f + n < len(on)]
    assert all(n >= 4 for n in lengths)


def test_trailing_partial_day_leaves_only_what_the_line_can_still_make():
    """Window ends at 12:00: at least target - 3,600 m2/h x 12 h must be done by then."""
    idx = index(12, "1h")
    prices = np.full(12, 300.0)
    d = solve_oven(context(idx, series(prices)), area_per_day_m2=60_000.0).dispatch
    assert d["ov.area_m2_per_h"].sum() == pytest.approx(60_000.0 - 3_600.0 * 12)
    assert d["ov.area_done_min_m2"].iloc[-1] == pytest.approx(60_000.0 - 3_600.0 * 12)
    assert d["ov.area_done_max_m2"].iloc[-1] == pytest.approx(60_000.0)


def test_leading_partial_day_finishes_the_carried_remainder():
    idx = index(18, "1h", "2023-06-05T06:00Z")
    state = {"ov": {"area_done_m2:2023-06-05": 20_000.0, "is_on": 0.0, "time_in_state_h": 9.0}}
    ctx = context(idx, series(daily_prices(idx)), state=state)
    d = solve_oven(ctx).dispatch
    assert d["ov.area_m2_per_h"].sum() == pytest.approx(30_000.0)
    assert d["ov.area_done_today_m2"].iloc[-1] == pytest.approx(50_000.0)


# ------------------------------------------------------------------ calendar and plan


def test_line_runs_only_in_production_hours_and_the_target_scales_with_them():
    """14 production hours: the day's target is 14/24 of the 24-hour figure."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "mon 20:00"}]}
    idx = index(24, "1h")  # Monday 2023-06-05 (UTC site)
    d = solve_oven(context(idx, series(daily_prices(idx))), calendar=calendar).dispatch
    assert (d["ov.is_on"].iloc[:6] == 0).all()
    assert (d["ov.is_on"].iloc[20:] == 0).all()
    assert_allclose(d["ov.is_production"], [0] * 6 + [1] * 14 + [0] * 4)
    assert d["ov.area_m2_per_h"].sum() == pytest.approx(50_000.0 * 14 / 24)


def test_days_without_production_have_no_target_and_dst_days_scale():
    """Berlin, Mon-Fri calendar: Saturday 28 and Sunday 29 Oct 2023 (a 25 h day) make
    nothing; with 24/7 production the 25 h day makes 25/24 of the daily figure."""
    idx = make_index(dt.date(2023, 10, 28), 3, "1h", "Europe/Berlin")
    ctx = context(idx, series(daily_prices(idx, "Europe/Berlin")), site=BERLIN)
    weekdays = {"weekly": [{"start": "mon 00:00", "end": "sat 00:00"}]}
    d = solve_oven(ctx, calendar=weekdays).dispatch
    per_day = area_per_local_day(d, "Europe/Berlin", 1.0)
    assert_allclose(per_day.to_numpy(), [0.0, 0.0, 50_000.0], atol=1e-6)
    d = solve_oven(ctx).dispatch
    per_day = area_per_local_day(d, "Europe/Berlin", 1.0)
    assert_allclose(per_day.to_numpy(), [50_000.0, 50_000.0 * 25 / 24, 50_000.0], rtol=1e-9)


def test_series_target_per_local_day():
    idx = index(48, "1h")
    target = np.r_[np.full(24, 40_000.0), np.full(24, 20_000.0)]
    ctx = context(idx, {**series(daily_prices(idx)), "coating_plan_m2_per_day": target})
    d = solve_oven(ctx, area_per_day_m2=None, area_per_day_series="coating_plan_m2_per_day")
    per_day = area_per_local_day(d.dispatch, "UTC", 1.0)
    assert_allclose(per_day.to_numpy(), [40_000.0, 20_000.0])


def test_series_target_changing_within_a_day_is_an_error():
    idx = index(24, "1h")
    target = np.r_[np.full(12, 40_000.0), np.full(12, 20_000.0)]
    ctx = context(idx, {**series(daily_prices(idx)), "plan": target})
    with pytest.raises(ModelBuildError) as info:
        solve_oven(ctx, area_per_day_m2=None, area_per_day_series="plan")
    assert str(info.value) == (
        "asset 'ov': series 'plan': value changes within local day 2023-06-05 at "
        "2023-06-05T12:00Z (40000.0 -> 20000.0); a daily value must be held over the whole "
        "local day"
    )


def test_target_beyond_the_line_capacity_names_the_day():
    calendar = {"weekly": [{"start": "mon 06:00", "end": "mon 18:00"}]}
    idx = index(24, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    with pytest.raises(ModelBuildError) as info:
        solve_oven(ctx, calendar=calendar, area_per_day_m2=100_000.0)
    assert str(info.value) == (
        "drying_oven 'ov': 50,000 m2 due on 2023-06-05 but 12 production hours at "
        "area_max_m2_per_h=3,600 m2/h make 43,200 m2"
    )


def test_soft_mode_plans_a_day_beyond_the_line_capacity_and_prices_the_shortfall():
    """12 production hours at 3,600 m2/h make 43,200 of 50,000 m2: the line runs flat
    out, 6,800 m2 are missed at 40 EUR/m2, and the plan names day, amount and price."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "mon 18:00"}]}
    idx = index(24, "1h")
    ctx = dataclasses.replace(context(idx, series(80.0)), soft_limits=True)
    solved = solve_oven(ctx, calendar=calendar, area_per_day_m2=100_000.0)
    d = solved.dispatch
    assert solved.plant.prechecks() == [
        "drying_oven 'ov': 50,000 m2 due on 2023-06-05 but 12 production hours at "
        "area_max_m2_per_h=3,600 m2/h make 43,200 m2"
    ]
    assert_allclose(d["ov.area_m2_per_h"].to_numpy()[6:18], 3600.0)
    reading = solved.plant.read()
    (violation,) = reading.violations
    assert (violation.asset, violation.requirement, violation.unit) == (
        "ov",
        "daily area target not met",
        "m2",
    )
    assert violation.amount == pytest.approx(6_800.0)
    assert violation.penalty_eur == pytest.approx(6_800.0 * 40.0)
    assert (violation.start, violation.end) == (idx[0], idx[-1] + pd.Timedelta("1h"))
    assert reading.costs_eur["violation"] == pytest.approx(violation.penalty_eur)
    assert solved.report.objective_eur == pytest.approx(reading.total_cost_eur, rel=1e-9)


def test_soft_mode_changes_nothing_where_the_target_can_be_met():
    idx = index(24, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    hard = solve_oven(ctx)
    soft = solve_oven(dataclasses.replace(ctx, soft_limits=True))
    assert soft.plant.read().violations == ()
    assert soft.report.objective_eur == pytest.approx(hard.report.objective_eur, rel=1e-9)
    assert_allclose(soft.dispatch["ov.area_m2_per_h"], hard.dispatch["ov.area_m2_per_h"])


def test_carried_area_above_the_target_is_an_error():
    idx = index(12, "1h", "2023-06-05T12:00Z")
    state = {"ov": {"area_done_m2:2023-06-05": 60_000.0}}
    expected = "60,000 m2 made on 2023-06-05 before the window exceed its target of 50,000 m2"
    with pytest.raises(ModelBuildError, match=expected):
        solve_oven(context(idx, series(daily_prices(idx)), state=state))


def test_baseline_spreads_the_daily_target_evenly_over_production_hours():
    calendar = {"weekly": [{"start": "mon 04:00", "end": "mon 24:00"}]}
    idx = index(24, "1h")
    ctx = context(idx, series(daily_prices(idx)))
    docs = [grid(100_000.0), BOILER, CHILLER, oven(calendar=calendar)]
    plant = build_model(assets_from(docs), ctx)
    plant.assets["ov"].apply_baseline(plant.block("ov"), ctx)
    solve(plant, EXACT)
    d = dispatch_table(plant)
    assert_allclose(d["ov.area_m2_per_h"], [0.0] * 4 + [50_000.0 / 24] * 20, atol=1e-6)
    assert d["ov.is_starting"].sum() == pytest.approx(1.0)


def test_structure_follows_the_step_and_where_days_begin():
    idx = index(24, "1h")
    asset = assets_from([oven()])[0]
    plant = build_model([asset], context(idx, series(100.0)))
    assert plant.can_update(context(index(24, "1h", "2023-06-06T00:00Z"), series(100.0)))
    assert not plant.can_update(context(index(24, "1h", "2023-06-05T07:00Z"), series(100.0)))
    assert not plant.can_update(context(index(24, "15min"), series(100.0)))


def test_one_target_row_per_local_day():
    idx = index(48, "1h", "2023-06-05T06:00Z")
    plant = build_model(assets_from([oven()]), context(idx, series(100.0)))
    rows = plant.block("ov").day_target
    assert [len(generate_standard_repn(rows[k].body).linear_vars) for k in rows] == [18, 24, 6]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"area_per_day_m2": None},
            "s.yaml: plant.assets[1] (asset 'ov'): "
            "give exactly one of area_per_day_m2 or area_per_day_series",
        ),
        (
            {"area_per_day_series": "plan"},
            "s.yaml: plant.assets[1] (asset 'ov'): "
            "give exactly one of area_per_day_m2 or area_per_day_series",
        ),
        (
            {"area_min_m2_per_h": 4_000.0},
            "s.yaml: plant.assets[1] (asset 'ov'): "
            "area_min_m2_per_h=4000.0 exceeds area_max_m2_per_h=3600.0",
        ),
        (
            {"recovery_frac": 1.2},
            "s.yaml: plant.assets[1].recovery_frac (asset 'ov'): must be <= 1 (got 1.2)",
        ),
    ],
)
def test_invalid_oven_names_the_asset(tmp_path, extra, message):
    doc = scenario_doc(tmp_path, [grid(), oven(**extra)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "s.yaml")
    assert str(info.value) == message


def test_twenty_gwh_plant_solves_to_half_a_percent_in_seconds():
    """20 GWh/a: two cathode and two anode lines (72,900 m2/day each), six 5,000 m2 dry
    rooms, heat pump, boilers, heat store, battery and chiller; 48 h at 15 min."""
    idx = make_index(dt.date(2023, 7, 3), 2, "15min", "Europe/Berlin")
    hours = np.arange(len(idx)) * 0.25
    inputs = {
        "price_eur_per_mwh": daily_prices(idx, "Europe/Berlin"),
        "temp_air_degc": 20.0 + 7.0 * np.sin((hours - 9.0) / 24.0 * 2 * np.pi),
        "relative_humidity_frac": 0.6,
        "pressure_pa": 101_325.0,
    }
    docs = [
        grid(150_000.0),
        {"type": "heat_pump", "name": "hthp", "heat_max_kw": 15_000.0, "cop": 3.05},
        {"type": "electric_boiler", "name": "eboiler", "heat_max_kw": 30_000.0},
        {"type": "gas_boiler", "name": "gboiler", "heat_max_kw": 40_000.0},
        {
            "type": "thermal_storage",
            "name": "tes",
            "carrier": "heat_ht",
            "capacity_kwh": 60_000.0,
            "charge_max_kw": 20_000.0,
        },
        {"type": "battery", "name": "bess", "capacity_kwh": 40_000.0, "charge_max_kw": 20_000.0},
        {"type": "chiller", "name": "chiller", "cooling_max_kw": 40_000.0},
        load(10_000.0, name="machines"),
    ]
    docs += [{"type": "dry_room", "name": f"dry_room_{i}"} for i in range(1, 7)]
    for i in (1, 2):
        docs.append({**oven(name=f"cathode_{i}"), "area_per_day_m2": 72_900.0})
        anode = {"nmp_kg_per_m2": 0.0, "heat_kwh_per_m2": 0.4, "area_per_day_m2": 72_900.0}
        docs.append({**oven(name=f"anode_{i}"), **anode})
    ctx = context(idx, inputs, site=BERLIN)
    solved = solve_assets(docs, ctx, SolverOptions(time_limit_s=120.0, mip_rel_gap=0.005))
    assert solved.report.status == "optimal"
    assert solved.report.mip_gap <= 0.005
    assert solved.report.n_binaries == 4 * len(idx)
    assert solved.report.solve_s < 30.0
    per_day = solved.dispatch["cathode_1.area_m2_per_h"].groupby(
        idx.tz_convert(BERLIN.timezone).date
    )
    assert_allclose((per_day.sum() * 0.25).to_numpy(), 72_900.0, rtol=1e-9)


def test_scenario_file_with_a_dry_room_and_ovens_runs_end_to_end(tmp_path):
    """YAML -> weather file -> model -> HiGHS: balances close, process KPIs are reported."""
    calendar = {"weekly": [{"start": "mon 00:00", "end": "sat 00:00"}]}
    assets = [
        grid(50_000.0),
        {"type": "gas_boiler", "name": "boiler", "heat_max_kw": 30_000.0},
        {"type": "chiller", "name": "chiller", "cooling_max_kw": 10_000.0},
        {"type": "dry_room", "name": "room", "calendar": calendar, "setback": {}},
        {**oven(name="cathode"), "calendar": calendar},
    ]
    # Friday and Saturday: the line makes Friday's target only, the room is set back Saturday
    options = {"weather": True, "start": "2023-06-09", "days": 2, "step": "15min"}
    result = run_scenario(tiny_scenario(tmp_path, assets, **options))
    assert result.report.status == "optimal"
    assert balance_residuals(result.dispatch).abs().to_numpy().max() < 1e-6
    assert result.kpis["cathode.area_m2"] == pytest.approx(50_000.0)
    assert result.dispatch["room.is_production"].tolist() == [1.0] * 96 + [0.0] * 96
    assert result.kpis["final_energy_dry_room_kwh"] > 0
    assert result.kpis["final_energy_ovens_kwh"] > 0
    regeneration_kwh = result.dispatch["room.regeneration_heat_kw"].sum() * 0.25
    assert result.kpis["room.regeneration_heat_kwh"] == pytest.approx(regeneration_kwh)
