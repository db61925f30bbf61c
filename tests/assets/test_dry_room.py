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
BOILER = {"type": "electric_boiler", "name": "boiler", "heat_max_kw": 20_000.0, "efficiency": 1.0}
CHILLER = {"type": "chiller", "name": "chiller", "cooling_max_kw": 5_000.0}
LT_BOILER = {
    "type": "electric_boiler",
    "name": "lt_boiler",
    "carrier": "heat_lt",
    "heat_max_kw": 5_000.0,
    "efficiency": 1.0,
}


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
    return solve_assets([grid(100_000.0), BOILER, LT_BOILER, CHILLER, room(**extra)], ctx)


def w_dew(dew_point_degc: float) -> float:
    return psychrolib.GetHumRatioFromTDewPoint(dew_point_degc, P_PA)


# ------------------------------------------------------------------ plain functions

AIR_KG = 5000.0 * 3.0 * 1.2  # default room: 15,000 m3 of air at 1.2 kg/m3
SUPPLY_M3_PER_H = 20.0 * 5000.0 * 3.0  # 20 air changes per hour
MAKEUP_KG_PER_H = 1.2 * 0.30 * SUPPLY_M3_PER_H
INFILTRATION_KG_PER_H = 1.2 * 0.05 * 5000.0 * 3.0


def profile_at(temp, rh, producing=True, **extra):
    one = np.ones(1)
    p = params(**extra)
    return dry_room_profile(p, np.array([producing]), temp * one, rh * one, P_PA * one)


def load_at_setpoint(prof) -> float:
    """Moisture load with the room held at its set point [kg/h]."""
    return float(
        prof.moisture_in_kg_per_h[0] - prof.exchange_per_h[0] * prof.moisture_setpoint_kg[0]
    )


def h(temp, w):
    return psychrolib.GetMoistAirEnthalpy(temp, w)


@pytest.mark.parametrize(
    ("temp", "rh", "kg_per_1000_m3"),
    [(10.0, 0.8, 7.3), (20.0, 0.6, 10.4), (28.0, 0.7, 19.9), (30.0, 0.8, 25.8)],
)
def test_makeup_load_matches_the_reference_water_loads(temp, rh, kg_per_1000_m3):
    """Water to remove from 1,000 m3 of fresh air to reach -50 degC dew point (rho 1.2),
    as tabulated in the plant reference (section 2.1), without coil or pre-heater."""
    prof = profile_at(
        temp,
        rh,
        precool=False,
        preheat_to_degc=None,
        supply_air_m3_per_h=1000.0,
        makeup_air_frac=1.0,
        infiltration_m3_per_h=0.0,
        people=0.0,
    )
    assert load_at_setpoint(prof) == pytest.approx(kg_per_1000_m3, rel=0.01)


def _sensible_kw(temp_mk, w_mk, temp_out, w_out, gains_w=40.0 * 5000.0):
    """After-cool (> 0) or reheat (< 0) at zero removal, by psychrolib: mixed air brought
    to the room temperature, plus the sensible gains and the infiltration air."""
    w_set = w_dew(-50.0)
    h_mix = 0.3 * h(temp_mk, w_mk) + 0.7 * h(21.0, w_set)
    w_mix = 0.3 * w_mk + 0.7 * w_set
    t_mix = psychrolib.GetTDryBulbFromEnthalpyAndHumRatio(h_mix, w_mix)
    supply_kg_per_s = 1.2 * SUPPLY_M3_PER_H / 3600.0
    infiltration_kg_per_s = INFILTRATION_KG_PER_H / 3600.0
    watts = (
        supply_kg_per_s * (h(t_mix, w_mix) - h(21.0, w_mix))
        + gains_w
        + infiltration_kg_per_s * (h(temp_out, w_out) - h(21.0, w_out))
    )
    return watts / 1e3


def _regeneration_kwh_per_kg_air(temp_out, w_out):
    return (h(140.0, w_out) - h(temp_out, w_out)) / 3.6e6


def test_design_follows_from_the_room():
    """Supply from air changes, make-up share, people density; the wheel sized for the
    32 degC / 50 % design state after the coil plus 30 %; regeneration air at 15 g/kg."""
    design = DryRoom(params()).design
    assert design.supply_air_m3_per_h == SUPPLY_M3_PER_H == 300_000.0
    assert design.makeup_air_m3_per_h == pytest.approx(90_000.0)
    assert design.infiltration_m3_per_h == pytest.approx(750.0)
    assert design.people == pytest.approx(30.0)
    w_design = psychrolib.GetHumRatioFromRelHum(32.0, 0.5, P_PA)
    w_set = w_dew(-50.0)
    load = (
        MAKEUP_KG_PER_H * (w_dew(6.0) - w_set)
        + INFILTRATION_KG_PER_H * (w_design - w_set)
        + 30 * 0.113
    )
    assert design.load_kg_per_h == pytest.approx(load, rel=1e-9)
    assert design.wheel_capacity_kg_per_h == pytest.approx(1.3 * load, rel=1e-9)
    assert design.regeneration_air_kg_per_h == pytest.approx(1.3 * load / 0.015, rel=1e-9)
    supply_fan_kw = SUPPLY_M3_PER_H / 3600.0 * 1800.0 / 0.7 / 1e3
    regen_fan_kw = 1.3 * load / 0.015 / 1.2 / 3600.0 * 1000.0 / 0.7 / 1e3
    assert design.fan_kw == pytest.approx(supply_fan_kw + regen_fan_kw, rel=1e-9)
    cooling = h(32.0, w_design) - h(6.0, w_dew(6.0))
    assert design.precool_kw == pytest.approx(MAKEUP_KG_PER_H * cooling / 3.6e6, rel=1e-9)
    # overrides win over the rules
    fixed = DryRoom(params(supply_air_m3_per_h=99_000.0, wheel_capacity_kg_per_h=300.0)).design
    assert (fixed.supply_air_m3_per_h, fixed.wheel_capacity_kg_per_h) == (99_000.0, 300.0)


def test_humid_summer_state_by_hand():
    """30 degC / 60 %: the coil cools and condenses the make-up air to 6 degC saturated;
    the wheel takes the rest; after-cool and regeneration coefficients by psychrolib."""
    prof = profile_at(30.0, 0.6)
    w_out = psychrolib.GetHumRatioFromRelHum(30.0, 0.6, P_PA)
    w_coil = w_dew(6.0)
    assert prof.preheat_kw[0] == 0.0
    assert prof.coil_water_kg_per_h[0] == pytest.approx(MAKEUP_KG_PER_H * (w_out - w_coil))
    cooling = MAKEUP_KG_PER_H * (h(30.0, w_out) - h(6.0, w_coil)) / 3.6e6
    assert prof.precool_kw[0] == pytest.approx(cooling, rel=1e-9)
    inflow = MAKEUP_KG_PER_H * w_coil + INFILTRATION_KG_PER_H * w_out + 30 * 0.113
    assert prof.moisture_in_kg_per_h[0] == pytest.approx(inflow, rel=1e-9)
    exchange = (MAKEUP_KG_PER_H + INFILTRATION_KG_PER_H) / AIR_KG
    assert prof.exchange_per_h[0] == pytest.approx(exchange, rel=1e-12)
    assert prof.sensible_kw[0] == pytest.approx(_sensible_kw(6.0, w_coil, 30.0, w_out), rel=1e-6)
    per_kg_air = _regeneration_kwh_per_kg_air(30.0, w_out)
    assert prof.regeneration_kwh_per_kg[0] == pytest.approx(per_kg_air / 0.015, rel=1e-9)
    air = DryRoom(params()).design.regeneration_air_kg_per_h
    assert prof.regeneration_min_kw[0] == pytest.approx(0.6 * air * per_kg_air, rel=1e-9)
    assert prof.moisture_max_kg[0] == pytest.approx(AIR_KG * w_dew(-45.0))
    assert prof.moisture_min_kg[0] == pytest.approx(AIR_KG * w_dew(-60.0))


def test_cold_winter_state_by_hand():
    """-10 degC / 80 %: the pre-heater warms make-up air to 5 degC, the coil is idle, the
    wheel has little to do and regeneration air needs more heat per kg than in summer."""
    prof = profile_at(-10.0, 0.8)
    summer = profile_at(30.0, 0.6)
    w_out = psychrolib.GetHumRatioFromRelHum(-10.0, 0.8, P_PA)
    assert prof.precool_kw[0] == 0.0
    assert prof.coil_water_kg_per_h[0] == 0.0
    preheat = MAKEUP_KG_PER_H * (h(5.0, w_out) - h(-10.0, w_out)) / 3.6e6
    assert prof.preheat_kw[0] == pytest.approx(preheat, rel=1e-9)
    assert prof.sensible_kw[0] == pytest.approx(_sensible_kw(5.0, w_out, -10.0, w_out), rel=1e-6)
    assert load_at_setpoint(prof) < 0.3 * load_at_setpoint(summer)
    assert prof.regeneration_kwh_per_kg[0] > 1.2 * summer.regeneration_kwh_per_kg[0]


def test_shoulder_season_state_by_hand():
    """12 degC / 70 %: just above the coil's dew point, so the coil cools and condenses a
    little; no pre-heat."""
    prof = profile_at(12.0, 0.7)
    w_out = psychrolib.GetHumRatioFromRelHum(12.0, 0.7, P_PA)
    w_coil = w_dew(6.0)
    assert w_out > w_coil
    assert prof.preheat_kw[0] == 0.0
    cooling = MAKEUP_KG_PER_H * (h(12.0, w_out) - h(6.0, w_coil)) / 3.6e6
    assert prof.precool_kw[0] == pytest.approx(cooling, rel=1e-9)
    assert prof.sensible_kw[0] == pytest.approx(_sensible_kw(6.0, w_coil, 12.0, w_out), rel=1e-6)


def test_constant_fan_power_and_process_moisture():
    extra = {"people": 0.0, "precool": False}
    one, two = np.ones(2), np.ones(2)
    producing = np.array([True, False])
    prof = dry_room_profile(
        params(fan_power_kw=50.0, wheel_drive_kw=0.0, process_moisture_kg_per_h=2.0, **extra),
        producing,
        20.0 * one,
        0.5 * one,
        P_PA * two,
    )
    ref = dry_room_profile(params(**extra), producing, 20.0 * one, 0.5 * one, P_PA * two)
    assert_allclose(prof.fan_kw, [50.0, 50.0])
    assert_allclose(prof.moisture_in_kg_per_h - ref.moisture_in_kg_per_h, [2.0, 2.0], rtol=1e-9)


def test_regeneration_cannot_carry_more_heat_than_it_brings():
    with pytest.raises(ValueError, match="less than sorption_heat_kj_per_kg=2800"):
        params(regeneration_temp_degc=60.0)


# ------------------------------------------------------------------ solved plants


def _removed_and_heat(temp, rh, **extra):
    ctx = context(index(4), weather(temp, rh))
    d = solve_room(ctx, **extra).dispatch
    return d["room.removal_kg_per_h"].sum(), d["room.regeneration_heat_kw"].sum(), d


@pytest.mark.parametrize(("temp", "extra"), [(4.0, {}), (25.0, {"precool": False})])
def test_more_humid_outdoor_air_means_more_water_and_more_regeneration_heat(temp, extra):
    """Relative-humidity sweep where the wheel takes the outdoor moisture: strictly rising
    removal; regeneration heat is the larger of the turn-down minimum and the per-kg heat."""
    results = [
        _removed_and_heat(temp, rh, wheel_capacity_kg_per_h=4_000.0, **extra)
        for rh in (0.3, 0.5, 0.7, 0.9)
    ]
    removed = np.array([r[0] for r in results])
    heat = np.array([r[1] for r in results])
    assert np.all(np.diff(removed) > 1.0)
    assert np.all(np.diff(heat) >= 0.0)
    assert heat[-1] > heat[0] + 1.0
    for _, _, d in results:
        per_kg = d["room.regeneration_heat_kw"] / d["room.removal_kg_per_h"]
        assert per_kg.min() > 0.0


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


def test_solved_air_path_closes_every_balance():
    """Steady humid weather: the wheel removes the load; regeneration heat is the larger
    of its minimum and the per-kg heat; after-cool minus reheat is the sensible duty plus
    the heat of sorption and the carry-over; every draw sits on its carrier."""
    ctx = context(index(6), weather(26.0, 0.6))
    solved = solve_room(ctx)
    d = solved.dispatch
    prof = solved.plant.assets["room"].profile(ctx)
    removal = d["room.removal_kg_per_h"].to_numpy()
    regen = d["room.regeneration_heat_kw"].to_numpy()
    assert_allclose(removal.sum(), d["room.load_kg_per_h"].sum(), rtol=1e-9)
    expected = np.maximum(prof.regeneration_min_kw, prof.regeneration_kwh_per_kg * removal)
    assert_allclose(regen, expected, rtol=1e-9)
    duty = prof.sensible_kw + 2800.0 / 3600.0 * removal + 0.35 * regen
    assert_allclose(d["room.aftercool_kw"] - d["room.reheat_kw"], duty, rtol=1e-9, atol=1e-6)
    assert (d["room.aftercool_kw"] * d["room.reheat_kw"]).max() < 1e-6  # one at a time
    assert_allclose(d["room.net_heat_ht_kw"], -regen, rtol=1e-12)
    assert_allclose(
        d["room.net_cooling_kw"], -(d["room.precool_kw"] + d["room.aftercool_kw"]), atol=1e-9
    )
    assert_allclose(
        d["room.net_heat_lt_kw"], -(d["room.preheat_kw"] + d["room.reheat_kw"]), atol=1e-9
    )
    assert_allclose(d["room.net_electricity_kw"], -d["room.fan_kw"], atol=1e-9)
    electricity = (
        d["room.fan_kw"]
        + d["room.regeneration_heat_kw"]
        + d["lt_boiler.power_el_kw"]
        + d["chiller.power_el_kw"]
    )
    assert_allclose(d["grid.import_kw"], electricity, rtol=1e-9)
    assert solved.report.objective_eur == pytest.approx(0.1 * d["grid.import_kw"].sum(), rel=1e-9)


def test_winter_plan_reheats_and_pre_heats_on_low_temperature_heat():
    """-8 degC with a room of few people and little sorption: pre-heat and reheat."""
    d = solve_room(context(index(3), weather(-8.0, 0.8)), carryover_frac=0.0).dispatch
    assert (d["room.preheat_kw"] > 100.0).all()
    assert (d["room.reheat_kw"] > 10.0).all()
    assert (d["room.aftercool_kw"] == 0.0).all()
    assert (d["room.precool_kw"] == 0.0).all()


def test_a_room_need_not_sit_at_its_lowest_dew_point():
    """Flat prices: a drier room takes in more water through its make-up air, so the plan
    holds the room at the top of its band (and at the set point at the window's end)."""
    d = solve_room(context(index(6), weather(22.0, 0.6))).dispatch
    m = d["room.moisture_kg"].to_numpy()
    assert_allclose(m[:-1], d["room.moisture_max_kg"].iloc[:-1], rtol=1e-9)
    assert m[-1] == pytest.approx(d["room.moisture_setpoint_kg"].iloc[-1], rel=1e-9)
    assert (d["room.dew_point_degc"].iloc[:-1] > -45.0 - 1e-6).all()


def test_electric_regeneration_heater_takes_the_regeneration_when_it_is_cheaper():
    """Gas heat at 80 EUR/MWh against electricity at 20: the electric heater runs at its
    rating and gas covers the rest of the regeneration heat."""
    gas = {"type": "gas_boiler", "name": "boiler", "heat_max_kw": 5_000.0, "efficiency": 1.0}
    series = {**weather(20.0, 0.6, 20.0), "gas_price_eur_per_mwh": 80.0}
    ctx = context(index(3), series)
    room_doc = room(regeneration_electric_max_kw=300.0)
    d = solve_assets([grid(100_000.0), gas, LT_BOILER, CHILLER, room_doc], ctx).dispatch
    assert_allclose(d["room.regeneration_electric_kw"], 300.0)
    assert_allclose(d["boiler.heat_kw"], d["room.regeneration_heat_kw"] - 300.0, rtol=1e-9)
    assert_allclose(d["room.net_electricity_kw"], -(d["room.fan_kw"] + 300.0), rtol=1e-12)


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
        assert quarter[column].sum() * 0.25 == pytest.approx(hourly[column].sum(), rel=1e-3)


def test_setback_relaxes_the_band_and_flows_outside_production():
    """Production Monday 06:00 to Friday 22:00; a Saturday window is set back: half the
    air, an eighth of the fan power, half the regeneration minimum."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    setback = {"setpoint_dew_point_degc": -40.0, "upper_dew_point_degc": -35.0, "flow_frac": 0.5}
    idx = index(8, "1h", "2023-06-09T18:00Z")  # Friday 18:00 to Saturday 02:00 (UTC site)
    solved = solve_room(context(idx, weather(20.0, 0.6)), calendar=calendar, setback=setback)
    d = solved.dispatch
    prof = solved.plant.assets["room"].profile(solved.plant.ctx)
    assert_allclose(d["room.is_production"], [1, 1, 1, 1, 0, 0, 0, 0])
    assert_allclose(d["room.moisture_max_kg"].iloc[4:], AIR_KG * w_dew(-35.0))
    assert_allclose(d["room.moisture_setpoint_kg"].iloc[4:], AIR_KG * w_dew(-40.0))
    drive = DryRoom(params()).design.wheel_drive_kw
    assert_allclose(d["room.fan_kw"].iloc[4:] - drive, (d["room.fan_kw"].iloc[0] - drive) / 8)
    assert_allclose(prof.regeneration_min_kw[4:], prof.regeneration_min_kw[0] / 2, rtol=1e-12)
    assert d["room.load_kg_per_h"].iloc[5] < 0.6 * d["room.load_kg_per_h"].iloc[0]


def test_pull_down_from_setback_happens_before_production_starts():
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    setback = {"setpoint_dew_point_degc": -40.0, "upper_dew_point_degc": -35.0, "flow_frac": 0.5}
    idx = index(4, "1h", "2023-06-05T04:00Z")  # Monday 04:00 to 08:00
    state = {"room": {"moisture_kg": AIR_KG * w_dew(-35.0)}}
    ctx = context(idx, weather(20.0, 0.6), state=state)
    d = solve_room(ctx, calendar=calendar, setback=setback).dispatch
    assert d["room.moisture_kg"].iloc[1] <= AIR_KG * w_dew(-45.0) + 1e-9


HUMID_HOURS = ([15.0, 15.0, 15.0, 29.0, 31.0, 31.0, 20.0, 15.0], [0.5] * 3 + [0.9] * 3 + [0.5] * 2)


def test_too_small_wheel_names_the_first_failing_hour():
    idx = index(8)
    ctx = context(idx, weather(*HUMID_HOURS))
    with pytest.raises(ModelBuildError) as info:
        solve_room(ctx, precool=False, wheel_capacity_kg_per_h=1_000.0)
    message = str(info.value)
    assert f"cannot hold the dew-point band at {fmt_time(idx[3])}" in message
    assert "asset 'room'" in message
    assert "wheel_capacity_kg_per_h=1000" in message
    assert f"worst interval is {fmt_time(idx[4])}" in message


def test_soft_mode_plans_a_too_small_wheel_and_prices_the_water_above_the_band():
    """The same humid hours in soft mode: the wheel removes what it can (the lowest
    reachable moisture path, cut to the band), the water left above the upper limit is
    named from the first failing hour on and priced at 1,000 EUR per kg h."""
    idx = index(8)
    ctx = dataclasses.replace(context(idx, weather(*HUMID_HOURS)), soft_limits=True)
    solved = solve_room(ctx, precool=False, wheel_capacity_kg_per_h=1_000.0)
    profile = solved.plant.assets["room"].profile(ctx)
    lowest, above = float(profile.moisture_setpoint_kg[0]), []
    for t in range(8):
        inflow = profile.moisture_in_kg_per_h[t] - profile.removal_max_kg_per_h[t]
        step = (lowest + inflow) / (1.0 + profile.exchange_per_h[t])
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
    """Measured 600 kg of water above the upper limit in a buffered room (a door left
    open): hard mode has no plan; soft mode runs the wheel flat out until the room is back
    in its band, and the water above it is exactly what the wheel and the exchange could
    not take."""
    buffer = 10.0
    upper = AIR_KG * buffer * w_dew(-45.0)
    state = {"room": {"moisture_kg": upper + 600.0}}
    ctx = context(index(4), weather(20.0, 0.6), state=state)
    with pytest.raises(ModelBuildError, match="cannot hold the dew-point band"):
        solve_room(ctx, moisture_buffer_factor=buffer)
    soft = dataclasses.replace(ctx, soft_limits=True)
    solved = solve_room(soft, moisture_buffer_factor=buffer)
    profile = solved.plant.assets["room"].profile(soft)
    level, above = upper + 600.0, []
    for t in range(4):
        inflow = profile.moisture_in_kg_per_h[t] - profile.removal_max_kg_per_h[t]
        level = max(
            (level + inflow) / (1.0 + profile.exchange_per_h[t]), profile.moisture_max_kg[t]
        )
        above.append(level - profile.moisture_max_kg[t])
    wet = [t for t in range(4) if above[t] > 0]
    assert wet == [0, 1]
    removal = solved.dispatch["room.removal_kg_per_h"].to_numpy()
    assert_allclose(removal[wet], profile.removal_max_kg_per_h[wet], rtol=1e-9)
    violation = solved.plant.read().violations[0]
    assert violation.amount == pytest.approx(sum(above), rel=1e-6)
    assert violation.penalty_eur == pytest.approx(1000.0 * sum(above), rel=1e-6)
    assert (violation.start, violation.end) == (ctx.index[0], ctx.index[2])


def test_terminal_set_point_out_of_reach_names_the_last_interval():
    """Starting at the upper limit of a buffered room with 0.1 kg/h of spare wheel
    capacity, two hours cannot bring it back to the set point: the check names the
    window's last interval."""
    buffer = 1000.0
    idx = index(2)
    prof = profile_at(20.0, 0.6, moisture_buffer_factor=buffer)
    state = {"room": {"moisture_kg": AIR_KG * buffer * w_dew(-45.0)}}
    ctx = context(idx, weather(20.0, 0.6), state=state)
    capacity = load_at_setpoint(prof) + 0.1
    with pytest.raises(ModelBuildError, match=f"band at {fmt_time(idx[1])}"):
        solve_room(ctx, wheel_capacity_kg_per_h=capacity, moisture_buffer_factor=buffer)
    solve_room(
        ctx,
        wheel_capacity_kg_per_h=capacity,
        moisture_buffer_factor=buffer,
        terminal_at_setpoint=False,
    )


def test_replay_follows_the_planned_moisture_not_the_removal():
    plant = build_model(assets_from([room()]), context(index(2), weather(20.0, 0.6)))
    asset = plant.assets["room"]
    columns = ["moisture_kg", "removal_kg_per_h", "regeneration_heat_kw"]
    assert asset.plan_setpoints(plant.block("room"), columns) == {"moisture_kg": "moisture_kg"}


def test_regeneration_heater_rating_limits_the_wheel():
    """A 1,000 kW heater at 25 degC: removal up to 1,000 kW over the heat per kg of water."""
    ctx = context(index(2), weather(25.0, 0.6))
    with pytest.raises(ModelBuildError) as info:
        solve_room(ctx, regeneration_heat_max_kw=1_000.0)
    w_out = psychrolib.GetHumRatioFromRelHum(25.0, 0.6, P_PA)
    limit = 1_000.0 / (_regeneration_kwh_per_kg_air(25.0, w_out) / 0.015)
    assert f"removal capacity of {limit:.1f} kg/h" in str(info.value)
    assert "regeneration_heat_max_kw=1000.0" in str(info.value)


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
    before = [plant.block("room").moisture_in_kg_per_h[t].value for t in range(4)]
    plant.update(context(idx, weather(25.0, 0.8)))
    after = [plant.block("room").moisture_in_kg_per_h[t].value for t in range(4)]
    assert min(after) > max(before)


def _baseline(docs, ctx):
    plant = build_model(assets_from(docs), ctx)
    apply_baseline_rules(plant)
    solve(plant, EXACT)
    return dispatch_table(plant)


def test_baseline_holds_the_set_point_and_does_not_pre_dry():
    prices = [20.0, 300.0, 20.0, 300.0]
    ctx = context(index(4), weather(22.0, 0.6, prices))
    d = _baseline(
        [grid(100_000.0), BOILER, LT_BOILER, CHILLER, room(moisture_buffer_factor=200.0)], ctx
    )
    assert_allclose(d["room.moisture_kg"], d["room.moisture_setpoint_kg"], rtol=1e-12)
    assert_allclose(d["room.removal_kg_per_h"], d["room.load_kg_per_h"], rtol=1e-9)


def test_baseline_follows_a_set_back_as_fast_as_the_load_allows():
    """Into set-back at Friday 22:00 with a large buffer: the wheel stops and the room
    drifts up with the load until it reaches the relaxed set point, then holds it."""
    calendar = {"weekly": [{"start": "mon 06:00", "end": "fri 22:00"}]}
    idx = index(8, "1h", "2023-06-09T20:00Z")  # Friday 20:00 to Saturday 04:00 (UTC site)
    ctx = context(idx, weather(20.0, 0.6))
    doc = room(calendar=calendar, setback={}, moisture_buffer_factor=1_000.0)
    d = _baseline([grid(100_000.0), BOILER, LT_BOILER, CHILLER, doc], ctx)
    m, setpoint = d["room.moisture_kg"].to_numpy(), d["room.moisture_setpoint_kg"].to_numpy()
    load, removal = d["room.load_kg_per_h"].to_numpy(), d["room.removal_kg_per_h"].to_numpy()
    below = np.flatnonzero(m < setpoint - 1e-6)
    assert below[0] == 2  # the set point relaxes at 22:00
    assert below.tolist() == list(range(2, below[-1] + 1))  # one drift, then held
    assert below[-1] < 7
    assert_allclose(removal[below], 0.0, atol=1e-9)
    assert_allclose(m[below], m[below - 1] + load[below], rtol=1e-12)
    held = [t for t in range(8) if t not in below]
    assert_allclose(m[held], setpoint[held], rtol=1e-9)


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
        (
            {"regeneration_base_kw": 900},
            "s.yaml: plant.assets[1].regeneration_base_kw (asset 'room'): unknown key",
        ),
    ],
)
def test_invalid_dry_room_names_the_asset(tmp_path, extra, message):
    doc = scenario_doc(tmp_path, [grid(), room(**extra)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "s.yaml")
    assert str(info.value) == message
