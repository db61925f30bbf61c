"""Dry room: moisture band, loads from psychrometrics, wheel limits, regeneration heat."""

from __future__ import annotations

import dataclasses

import numpy as np
import psychrolib
import pytest
from helpers import EXACT, assets_from, context, grid, index, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.dry_room import DryRoom, DryRoomParams, dry_room_profile
from energyopt.engine.baseline import apply_baseline_rules
from energyopt.errors import ModelBuildError, ScenarioError
from energyopt.inputs.config import Site, scenario_from_dict
from energyopt.inputs.production import ProductionCalendar
from energyopt.inputs.timeseries import fmt_time
from energyopt.model import build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve

psychrolib.SetUnitSystem(psychrolib.SI)

P_PA = 101_325.0
BOILER = {"type": "electric_boiler", "name": "boiler", "heat_max_kw": 5_000.0, "efficiency": 1.0}
CHILLER = {"type": "chiller", "name": "chiller", "cooling_max_kw": 5_000.0}


def room(**extra) -> dict:
    return {"type": "dry_room", "name": "room", **extra}


def params(**extra) -> DryRoomParams:
    return DryRoomParams(**room(**extra))


def weather(temp_degc, rh_frac, price=100.0) -> dict:
    return {
        "price_eur_per_mwh": price,
        "temp_air_degc": temp_degc,
        "relative_humidity_frac": rh_frac,
        "pressure_pa": P_PA,
    }


def solve_room(ctx, **extra):
    return solve_assets([grid(100_000.0), BOILER, CHILLER, room(**extra)], ctx)


def w_dew(dew_point_degc: float) -> float:
    return psychrolib.GetHumRatioFromTDewPoint(dew_point_degc, P_PA)


# ------------------------------------------------------------------ plain functions


@pytest.mark.parametrize(
    ("temp", "rh", "kg_per_1000_m3"),
    [(10.0, 0.8, 7.3), (20.0, 0.6, 10.4), (28.0, 0.7, 19.9), (30.0, 0.8, 25.8)],
)
def test_makeup_load_matches_the_reference_water_loads(temp, rh, kg_per_1000_m3):
    """Water to remove from 1,000 m3 of fresh air to reach -50 degC dew point (rho 1.2),
    as tabulated in the plant reference (section 2.1), without a pre-cooling coil."""
    p = params(
        precool=False,
        supply_air_m3_per_h=1000.0,
        makeup_air_frac=1.0,
        infiltration_m3_per_h=0.0,
        people=0.0,
    )
    one = np.ones(1)
    profile = dry_room_profile(p, one.astype(bool), temp * one, rh * one, P_PA * one)
    assert profile.load_kg_per_h[0] == pytest.approx(kg_per_1000_m3, rel=0.01)


def test_loads_and_coil_by_hand_for_humid_summer_air():
    """30 degC / 60 % outdoors, coil to 6 degC saturated: the coil condenses the water
    above w_sat(6 degC), the wheel takes the rest of the make-up, infiltration and people."""
    p = params()
    one = np.ones(1)
    prof = dry_room_profile(p, one.astype(bool), 30.0 * one, 0.6 * one, P_PA * one)
    w_out = psychrolib.GetHumRatioFromRelHum(30.0, 0.6, P_PA)
    w_coil, w_set = w_dew(6.0), w_dew(-50.0)
    makeup = 1.2 * 0.30 * 290_000.0
    load = makeup * (w_coil - w_set) + 1.2 * 750.0 * (w_out - w_set) + 30 * 0.113
    assert prof.load_kg_per_h[0] == pytest.approx(load, rel=1e-9)
    assert prof.coil_water_kg_per_h[0] == pytest.approx(makeup * (w_out - w_coil), rel=1e-9)
    h_out = psychrolib.GetMoistAirEnthalpy(30.0, w_out)
    h_coil = psychrolib.GetMoistAirEnthalpy(6.0, w_coil)
    assert prof.precool_kw[0] == pytest.approx(makeup * (h_out - h_coil) / 3.6e6, rel=1e-9)
    assert prof.fan_kw[0] == pytest.approx(290_000.0 * 1800.0 / 0.7 / 3.6e6)
    assert prof.regeneration_base_kw[0] == 900.0
    air_kg = 5000.0 * 3.0 * 1.2
    assert prof.moisture_max_kg[0] == pytest.approx(air_kg * w_dew(-45.0))
    assert prof.moisture_min_kg[0] == pytest.approx(air_kg * w_dew(-60.0))


def test_constant_fan_power_and_process_moisture():
    p = params(fan_power_kw=50.0, process_moisture_kg_per_h=2.0, people=0.0, precool=False)
    q = params(people=0.0, precool=False)
    two = np.ones(2)
    producing = np.array([True, False])
    prof = dry_room_profile(p, producing, 20.0 * two, 0.5 * two, P_PA * two)
    ref = dry_room_profile(q, producing, 20.0 * two, 0.5 * two, P_PA * two)
    assert_allclose(prof.fan_kw, [50.0, 50.0])
    assert_allclose(prof.load_kg_per_h - ref.load_kg_per_h, [2.0, 2.0], rtol=1e-9)


def test_coil_is_idle_for_cold_dry_air_and_preheat_warms_it():
    p = params(preheat_to_degc=5.0)
    one = np.ones(1)
    prof = dry_room_profile(p, one.astype(bool), -5.0 * one, 0.8 * one, P_PA * one)
    w_out = psychrolib.GetHumRatioFromRelHum(-5.0, 0.8, P_PA)
    assert prof.precool_kw[0] == 0.0
    assert prof.coil_water_kg_per_h[0] == 0.0
    makeup = 1.2 * 0.30 * 290_000.0
    warm = psychrolib.GetMoistAirEnthalpy(5.0, w_out) - psychrolib.GetMoistAirEnthalpy(-5.0, w_out)
    assert prof.preheat_kw[0] == pytest.approx(makeup * warm / 3.6e6, rel=1e-9)


# ------------------------------------------------------------------ solved plants


def _removed_and_heat(temp, rh, **extra):
    ctx = context(index(4), weather(temp, rh))
    d = solve_room(ctx, **extra).dispatch
    return d["room.removal_kg_per_h"].sum(), d["room.regeneration_heat_kw"].sum(), d


@pytest.mark.parametrize(("temp", "extra"), [(4.0, {}), (25.0, {"precool": False})])
def test_more_humid_outdoor_air_means_more_water_and_more_regeneration_heat(temp, extra):
    """Relative-humidity sweep where the wheel takes the outdoor moisture: strictly rising."""
    results = [
        _removed_and_heat(temp, rh, wheel_capacity_kg_per_h=4_000.0, **extra)
        for rh in (0.3, 0.5, 0.7, 0.9)
    ]
    removed = np.array([r[0] for r in results])
    heat = np.array([r[1] for r in results])
    assert np.all(np.diff(removed) > 1.0)
    assert np.all(np.diff(heat) > 1.0)
    assert_allclose(heat, 4 * 900.0 + 1.4 * removed, rtol=1e-9)


def test_above_the_coil_dew_point_the_coil_takes_the_extra_water():
    """Humid summer sweep with the pre-cooling coil: total water removed and coil duty rise,
    the wheel's share stays at the coil leaving state plus infiltration."""
    results = [_removed_and_heat(28.0, rh)[2] for rh in (0.5, 0.7, 0.9)]
    total = [
        d["room.removal_kg_per_h"].sum() + d["room.coil_water_kg_per_h"].sum() for d in results
    ]
    coil_kw = [d["room.precool_kw"].sum() for d in results]
    wheel = [d["room.removal_kg_per_h"].sum() for d in results]
    assert np.all(np.diff(total) > 10.0)
    assert np.all(np.diff(coil_kw) > 10.0)
    assert np.all(np.diff(wheel) > 0.0)
    assert np.all(np.diff(wheel) < 0.1 * np.diff(total))


def test_steady_weather_removal_equals_the_load_and_heat_is_per_kg():
    """Flat prices, initial and terminal at the set point: the wheel removes exactly the
    moisture load; regeneration heat is 900 kW plus 1.4 kWh per kg on the heat carrier."""
    ctx = context(index(6), weather(20.0, 0.6))
    solved = solve_room(ctx)
    d = solved.dispatch
    assert_allclose(d["room.removal_kg_per_h"].sum(), d["room.load_kg_per_h"].sum(), rtol=1e-9)
    heat = 900.0 + 1.4 * d["room.removal_kg_per_h"]
    assert_allclose(d["room.net_heat_ht_kw"], -heat, rtol=1e-12)
    assert_allclose(d["room.net_electricity_kw"], -d["room.fan_kw"], atol=1e-9)
    assert_allclose(d["room.net_cooling_kw"], -d["room.precool_kw"], atol=1e-9)
    electricity = d["room.fan_kw"] + d["room.regeneration_heat_kw"] + d["chiller.power_el_kw"]
    assert_allclose(d["grid.import_kw"], electricity, rtol=1e-9)
    assert solved.report.objective_eur == pytest.approx(0.1 * d["grid.import_kw"].sum(), rel=1e-9)


def test_moisture_stays_in_band_and_balance_re_derived_with_predrying():
    """Cheap, dear, cheap prices and a hygroscopic buffer: the room is dried to the lower
    limit before the dear hours, never leaves the band, and the balance closes."""
    prices = [20.0] * 4 + [300.0] * 4 + [20.0] * 4
    ctx = context(index(12, "15min"), weather(24.0, 0.55, prices))
    d = solve_room(ctx, moisture_buffer_factor=200.0).dispatch
    m = d["room.moisture_kg"].to_numpy()
    low, high = d["room.moisture_min_kg"].to_numpy(), d["room.moisture_max_kg"].to_numpy()
    assert np.all(m >= low - 1e-9)
    assert np.all(m <= high + 1e-9)
    initial = d["room.moisture_setpoint_kg"].iloc[0]
    before = np.concatenate([[initial], m[:-1]])
    rebuilt = before + 0.25 * (d["room.load_kg_per_h"] - d["room.removal_kg_per_h"])
    assert_allclose(m, rebuilt, atol=1e-9)
    assert np.all(d["room.removal_kg_per_h"] <= d["room.removal_max_kg_per_h"] + 1e-9)
    assert m[3] == pytest.approx(low[3], abs=1e-9)  # pre-dried before the dear hours
    assert d["room.removal_kg_per_h"].iloc[4:8].sum() < d["room.load_kg_per_h"].iloc[4:8].sum()
    assert m[-1] <= d["room.moisture_setpoint_kg"].iloc[-1] + 1e-9
    assert (d["room.dew_point_degc"] <= -45.0 + 1e-6).all()


def test_energy_does_not_depend_on_the_step():
    hourly_temp = [18.0, 22.0, 27.0, 24.0]
    hourly_rh = [0.7, 0.6, 0.5, 0.6]
    coarse = context(index(4), weather(hourly_temp, hourly_rh))
    fine = context(index(16, "15min"), weather(np.repeat(hourly_temp, 4), np.repeat(hourly_rh, 4)))
    hourly = solve_room(coarse).dispatch
    quarter = solve_room(fine).dispatch
    for column in ("room.regeneration_heat_kw", "room.precool_kw", "room.fan_kw"):
        assert quarter[column].sum() * 0.25 == pytest.approx(hourly[column].sum(), rel=1e-9)


def test_setback_relaxes_the_band_and_flows_outside_production():
    """Production Monday 06:00 to Friday 22:00; a Saturday window is set back."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    setback = {"setpoint_dew_point_degc": -40.0, "upper_dew_point_degc": -35.0, "flow_frac": 0.5}
    idx = index(8, "1h", "2023-06-09T18:00Z")  # Friday 18:00 to Saturday 02:00 (UTC site)
    d = solve_room(context(idx, weather(20.0, 0.6)), calendar=calendar, setback=setback).dispatch
    air_kg = 5000.0 * 3.0 * 1.2
    assert_allclose(d["room.is_production"], [1, 1, 1, 1, 0, 0, 0, 0])
    assert_allclose(d["room.moisture_max_kg"].iloc[4:], air_kg * w_dew(-35.0))
    assert_allclose(d["room.moisture_setpoint_kg"].iloc[4:], air_kg * w_dew(-40.0))
    assert_allclose(d["room.fan_kw"].iloc[4:], 0.5 * d["room.fan_kw"].iloc[0])
    base = d["room.regeneration_heat_kw"] - 1.4 * d["room.removal_kg_per_h"]
    assert_allclose(base, [900.0] * 4 + [450.0] * 4, rtol=1e-9)
    assert d["room.load_kg_per_h"].iloc[5] < 0.6 * d["room.load_kg_per_h"].iloc[0]


def test_pull_down_from_setback_happens_before_production_starts():
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    setback = {"setpoint_dew_point_degc": -40.0, "upper_dew_point_degc": -35.0, "flow_frac": 0.5}
    idx = index(4, "1h", "2023-06-05T04:00Z")  # Monday 04:00 to 08:00
    air_kg = 5000.0 * 3.0 * 1.2
    state = {"room": {"moisture_kg": air_kg * w_dew(-35.0)}}
    ctx = context(idx, weather(20.0, 0.6), state=state)
    d = solve_room(ctx, calendar=calendar, setback=setback).dispatch
    assert d["room.moisture_kg"].iloc[1] <= air_kg * w_dew(-45.0) + 1e-9


def test_too_small_wheel_names_the_first_failing_hour():
    temps = [15.0, 15.0, 15.0, 29.0, 31.0, 31.0, 20.0, 15.0]
    rh = [0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.5, 0.5]
    idx = index(8)
    ctx = context(idx, weather(temps, rh))
    with pytest.raises(ModelBuildError) as info:
        solve_room(ctx, precool=False, wheel_capacity_kg_per_h=1_000.0)
    message = str(info.value)
    assert f"cannot hold the dew-point band at {fmt_time(idx[3])}" in message
    assert "asset 'room'" in message
    assert "wheel_capacity_kg_per_h=1000.0" in message
    assert f"worst interval is {fmt_time(idx[4])}" in message


def test_soft_mode_plans_a_too_small_wheel_and_prices_the_water_above_the_band():
    """The same humid hours in soft mode: the wheel removes what it can (the lowest
    reachable moisture path, cut to the band), the water left above the upper limit is
    named from the first failing hour on and priced at 1,000 EUR per kg h."""
    temps = [15.0, 15.0, 15.0, 29.0, 31.0, 31.0, 20.0, 15.0]
    rh = [0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.5, 0.5]
    idx = index(8)
    ctx = dataclasses.replace(context(idx, weather(temps, rh)), soft_limits=True)
    solved = solve_room(ctx, precool=False, wheel_capacity_kg_per_h=1_000.0)
    profile = solved.plant.assets["room"].profile(ctx)
    lowest, above = float(profile.moisture_setpoint_kg[0]), []
    for t in range(8):
        step = lowest + profile.load_kg_per_h[t] - profile.removal_max_kg_per_h[t]
        lowest = max(step, profile.moisture_min_kg[t])
        above.append(max(lowest - profile.moisture_max_kg[t], 0.0))
    assert above[:3] == [0.0, 0.0, 0.0]
    assert above[3] > 0
    reading = solved.plant.read()
    band = [v for v in reading.violations if v.requirement == "moisture above the dew-point band"]
    assert len(band) == 1
    assert band[0].start == idx[3]
    assert band[0].unit == "kg h"
    assert band[0].amount == pytest.approx(sum(above), rel=1e-6)
    assert band[0].peak == pytest.approx(max(above), rel=1e-6)
    assert reading.costs_eur["violation"] == pytest.approx(
        sum(v.penalty_eur for v in reading.violations)
    )
    assert "cannot hold the dew-point band at" in solved.plant.prechecks()[0]


def test_soft_mode_plans_a_room_measured_far_above_its_band():
    """Measured 300 kg of water above the upper limit (a door left open): hard mode has
    no plan; soft mode runs the wheel flat out, the first hour ends above the band by
    exactly what the wheel cannot take, and the room is back in its band after it."""
    air_kg = 5000.0 * 3.0 * 1.2
    upper = air_kg * w_dew(-45.0)
    state = {"room": {"moisture_kg": upper + 300.0}}
    ctx = context(index(4), weather(20.0, 0.6), state=state)
    with pytest.raises(ModelBuildError, match="cannot hold the dew-point band"):
        solve_room(ctx)
    soft = dataclasses.replace(ctx, soft_limits=True)
    solved = solve_room(soft)
    profile = solved.plant.assets["room"].profile(soft)
    load, removal_max = profile.load_kg_per_h[0], profile.removal_max_kg_per_h[0]
    assert solved.dispatch["room.removal_kg_per_h"].iloc[0] == pytest.approx(removal_max)
    (violation,) = solved.plant.read().violations
    expected = upper + 300.0 + load - removal_max - profile.moisture_max_kg[0]
    assert violation.amount == pytest.approx(expected, rel=1e-6)
    assert violation.penalty_eur == pytest.approx(1000.0 * expected, rel=1e-6)
    assert (violation.start, violation.end) == (ctx.index[0], ctx.index[1])


def test_terminal_set_point_out_of_reach_names_the_last_interval():
    """Starting at the upper limit with 0.1 kg/h of spare wheel capacity, two hours cannot
    bring the room back to the set point: the check names the window's last interval."""
    idx = index(2)
    one = np.ones(1)
    load = dry_room_profile(params(), one.astype(bool), 20.0 * one, 0.6 * one, P_PA * one)
    air_kg = 5000.0 * 3.0 * 1.2
    state = {"room": {"moisture_kg": air_kg * w_dew(-45.0)}}
    ctx = context(idx, weather(20.0, 0.6), state=state)
    capacity = float(load.load_kg_per_h[0]) + 0.1
    with pytest.raises(ModelBuildError, match=f"band at {fmt_time(idx[1])}"):
        solve_room(ctx, wheel_capacity_kg_per_h=capacity)
    solve_room(ctx, wheel_capacity_kg_per_h=capacity, terminal_at_setpoint=False)


def test_replay_follows_the_planned_moisture_not_the_removal():
    plant = build_model(assets_from([room()]), context(index(2), weather(20.0, 0.6)))
    asset = plant.assets["room"]
    columns = ["moisture_kg", "removal_kg_per_h", "regeneration_heat_kw"]
    assert asset.plan_setpoints(plant.block("room"), columns) == {"moisture_kg": "moisture_kg"}


def test_regeneration_heater_rating_limits_the_wheel():
    ctx = context(index(2), weather(25.0, 0.6))
    with pytest.raises(ModelBuildError) as info:
        solve_room(ctx, regeneration_heat_max_kw=1_500.0)
    # (1,500 - 900 kW base) / 1.4 kWh/kg
    assert "removal capacity of 428.6 kg/h" in str(info.value)
    assert "regeneration_heat_max_kw=1500.0" in str(info.value)


def test_carried_moisture_is_the_initial_state_and_final_state_reports_it():
    idx = index(8, "15min")
    first = context(idx, weather(22.0, 0.6, [20.0] * 4 + [300.0] * 4))
    d1 = solve_room(first, moisture_buffer_factor=200.0)
    state = d1.plant.assets["room"].final_state(d1.plant.block("room"), d1.plant.ctx, 4)
    assert state == {"moisture_kg": pytest.approx(d1.dispatch["room.moisture_kg"].iloc[3])}
    ctx2 = context(idx, weather(22.0, 0.6), state={"room": state})
    d2 = solve_room(ctx2, moisture_buffer_factor=200.0).dispatch
    rebuilt = state["moisture_kg"] + 0.25 * (
        d2["room.load_kg_per_h"].iloc[0] - d2["room.removal_kg_per_h"].iloc[0]
    )
    assert d2["room.moisture_kg"].iloc[0] == pytest.approx(rebuilt, abs=1e-9)


def test_refresh_re_fills_loads_for_a_new_window():
    idx = index(4)
    asset = DryRoom(params())
    plant = build_model([asset], context(idx, weather(10.0, 0.5)))
    before = [plant.block("room").load_kg_per_h[t].value for t in range(4)]
    plant.update(context(idx, weather(25.0, 0.8)))
    after = [plant.block("room").load_kg_per_h[t].value for t in range(4)]
    assert min(after) > max(before)


def _baseline(docs, ctx):
    plant = build_model(assets_from(docs), ctx)
    apply_baseline_rules(plant)
    solve(plant, EXACT)
    return dispatch_table(plant)


def test_baseline_holds_the_set_point_and_does_not_pre_dry():
    prices = [20.0, 300.0, 20.0, 300.0]
    ctx = context(index(4), weather(22.0, 0.6, prices))
    d = _baseline([grid(100_000.0), BOILER, CHILLER, room(moisture_buffer_factor=200.0)], ctx)
    assert_allclose(d["room.moisture_kg"], d["room.moisture_setpoint_kg"], rtol=1e-12)
    assert_allclose(d["room.removal_kg_per_h"], d["room.load_kg_per_h"], rtol=1e-9)


def test_baseline_follows_a_set_back_as_fast_as_the_load_allows():
    """Into set-back at Friday 22:00 with a large buffer: the wheel stops and the room
    drifts up with the load until it reaches the relaxed set point, then holds it."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    idx = index(8, "1h", "2023-06-09T20:00Z")  # Friday 20:00 to Saturday 04:00 (UTC site)
    ctx = context(idx, weather(20.0, 0.6))
    doc = room(calendar=calendar, setback={}, moisture_buffer_factor=1_000.0)
    d = _baseline([grid(100_000.0), BOILER, CHILLER, doc], ctx)
    m, setpoint = d["room.moisture_kg"].to_numpy(), d["room.moisture_setpoint_kg"].to_numpy()
    load, removal = d["room.load_kg_per_h"].to_numpy(), d["room.removal_kg_per_h"].to_numpy()
    below = np.flatnonzero(m < setpoint - 1e-6)
    assert below.tolist() == [2, 3, 4]  # ~990 kg to gain at ~310 kg/h
    assert_allclose(removal[below], 0.0, atol=1e-9)
    assert_allclose(m[below], m[below - 1] + load[below], rtol=1e-12)
    assert_allclose(m[[0, 1, 5, 6, 7]], setpoint[[0, 1, 5, 6, 7]], rtol=1e-9)


def test_production_calendar_uses_site_local_time():
    """Berlin summer time: production from Monday 06:00 local starts at 04:00 UTC."""
    site = Site(name="b", latitude=52.5, longitude=13.4, timezone="Europe/Berlin")
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    idx = index(4, "1h", "2023-06-05T02:00Z")
    d = solve_room(context(idx, weather(20.0, 0.6), site=site), calendar=calendar).dispatch
    assert_allclose(d["room.is_production"], [0, 0, 1, 1])
    assert ProductionCalendar.model_validate(calendar).weekly is not None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"setpoint_dew_point_degc": -40.0},
            "s.yaml: plant.assets[1] (asset 'room'): need lower_dew_point_degc <= "
            "setpoint_dew_point_degc <= upper_dew_point_degc (got -60.0, -40.0, -45.0)",
        ),
        (
            {"setback": {"upper_dew_point_degc": -70.0}},
            "s.yaml: plant.assets[1] (asset 'room'): need lower_dew_point_degc <= "
            "setback.setpoint_dew_point_degc <= setback.upper_dew_point_degc "
            "(got -60.0, -40.0, -70.0)",
        ),
        (
            {"makeup_air_frac": 1.5},
            "s.yaml: plant.assets[1].makeup_air_frac (asset 'room'): must be <= 1 (got 1.5)",
        ),
        (
            {"wheel_capacity_kg_per_h": 0},
            "s.yaml: plant.assets[1].wheel_capacity_kg_per_h (asset 'room'): must be > 0 (got 0)",
        ),
    ],
)
def test_invalid_dry_room_names_the_asset(tmp_path, extra, message):
    doc = scenario_doc(tmp_path, [grid(), room(**extra)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "s.yaml")
    assert str(info.value) == message
