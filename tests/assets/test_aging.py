"""Aging rooms: fixed load at the set point, thermal-mass band by hand, exact room model,
cooling rooms, carried drift and bad input."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from helpers import assets_from, context, grid, index, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.aging import room_coefficients
from energyopt.errors import ModelBuildError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model
from energyopt.outputs.results import compute_kpis

HEATER = {
    "type": "electric_boiler",
    "name": "heater",
    "carrier": "heat_lt",
    "heat_max_kw": 1000.0,
    "efficiency": 1.0,
}


def room(**extra) -> dict:
    doc = {"type": "aging", "name": "ht_aging", "carrier": "heat_lt", "load_kw": 100.0}
    return {**doc, **extra}


def flexible(**extra) -> dict:
    """2 K band on 50 kWh/K: 100 kWh of heat can be stored in the room."""
    return room(temp_band_k=2.0, heat_capacity_kwh_per_k=50.0, **extra)


def test_without_band_supply_equals_demand_and_counts_as_aging():
    ctx = context(index(3), {"price_eur_per_mwh": [10.0, 100.0, 50.0]})
    solved = solve_assets([grid(), HEATER, room()], ctx)
    d = solved.dispatch
    assert_allclose(d["ht_aging.supply_kw"], 100.0)
    assert_allclose(d["ht_aging.net_heat_lt_kw"], -100.0)
    assert_allclose(d["ht_aging.temp_room_degc"], 45.0)
    kpis = compute_kpis(solved.plant.read())
    assert kpis["final_energy_aging_kwh"] == pytest.approx(300.0)


def test_band_shifts_heating_to_cheap_hours_by_hand():
    """Cheap 2 h then dear 2 h: heat 300 kWh cheaply (100 kWh into the mass), 100 kWh dear.

    Cost 300 * 0.01 + 100 * 0.1 = 13 EUR instead of 22 EUR.
    """
    ctx = context(index(4), {"price_eur_per_mwh": [10.0, 10.0, 100.0, 100.0]})
    solved = solve_assets([grid(), HEATER, flexible()], ctx)
    d = solved.dispatch
    assert solved.report.objective_eur == pytest.approx(13.0)
    assert d["ht_aging.supply_kw"].iloc[:2].sum() == pytest.approx(300.0)
    assert d["ht_aging.temp_deviation_k"].iloc[1] == pytest.approx(2.0)
    theta = np.r_[0.0, d["ht_aging.temp_deviation_k"].to_numpy()]
    residual = 50.0 * np.diff(theta) - (d["ht_aging.supply_kw"] - d["ht_aging.demand_kw"])
    assert_allclose(residual, 0.0, atol=1e-6)
    assert (d["ht_aging.temp_deviation_k"].abs() <= 2.0 + 1e-9).all()
    assert d["ht_aging.temp_deviation_k"].iloc[-1] >= -1e-9
    assert d["ht_aging.supply_kw"].sum() == pytest.approx(d["ht_aging.demand_kw"].sum())


def test_cooling_room_precools_when_cooling_is_cheap():
    ctx = context(
        index(4), {"price_eur_per_mwh": [10.0, 10.0, 100.0, 100.0], "temp_air_degc": 25.0}
    )
    chiller = {"type": "chiller", "name": "chiller", "cooling_max_kw": 500.0}
    nt = flexible(name="nt_aging", carrier="cooling", temp_set_degc=22.0)
    d = solve_assets([grid(), chiller, nt], ctx).dispatch
    assert d["nt_aging.temp_deviation_k"].iloc[1] == pytest.approx(-2.0)
    assert d["nt_aging.supply_kw"].iloc[:2].sum() == pytest.approx(300.0)
    assert_allclose(d["nt_aging.net_cooling_kw"], -d["nt_aging.supply_kw"])
    assert d["nt_aging.temp_room_degc"].min() == pytest.approx(20.0)


def test_room_model_is_exact_for_any_step():
    """Four 15 min steps of the same supply give the 1 h step; the limit is the steady drift."""
    a_q, g_q = room_coefficients(50.0, 10.0, 0.25)
    a_h, g_h = room_coefficients(50.0, 10.0, 1.0)
    assert a_h == pytest.approx(a_q**4)
    assert g_h == pytest.approx(g_q * (1 + a_q + a_q**2 + a_q**3))
    assert a_h == pytest.approx(math.exp(-10.0 / 50.0))
    assert room_coefficients(50.0, 0.0, 1.0) == (1.0, 1.0 / 50.0)
    theta = 0.0
    for _ in range(2000):
        theta = a_h * theta + g_h * 30.0
    assert theta == pytest.approx(30.0 / 10.0)  # C dT/dt = 30 - UA T -> T = 3 K


def test_same_optimum_on_15_min_and_1_h_steps():
    """Without losses the optimum is step-independent; with losses it stays close."""
    hourly = [10.0, 10.0, 100.0, 100.0, 30.0, 80.0]
    for ua, rel in ((0.0, 1e-6), (5.0, 0.05)):
        coarse = solve_assets(
            [grid(), HEATER, flexible(ua_kw_per_k=ua)],
            context(index(6), {"price_eur_per_mwh": hourly}),
        )
        fine = solve_assets(
            [grid(), HEATER, flexible(ua_kw_per_k=ua)],
            context(index(24, "15min"), {"price_eur_per_mwh": np.repeat(hourly, 4)}),
        )
        assert fine.report.objective_eur == pytest.approx(coarse.report.objective_eur, rel=rel)
        supplied = fine.dispatch["ht_aging.supply_kw"].sum() * 0.25
        assert supplied == pytest.approx(coarse.dispatch["ht_aging.supply_kw"].sum(), rel=rel)


def test_room_with_losses_follows_the_exact_recurrence():
    ctx = context(index(6), {"price_eur_per_mwh": [10.0, 10.0, 100.0, 100.0, 30.0, 80.0]})
    d = solve_assets([grid(), HEATER, flexible(ua_kw_per_k=5.0)], ctx).dispatch
    a, g = room_coefficients(50.0, 5.0, 1.0)
    theta = d["ht_aging.temp_deviation_k"].to_numpy()
    before = np.r_[0.0, theta[:-1]]
    net = (d["ht_aging.supply_kw"] - d["ht_aging.demand_kw"]).to_numpy()
    assert_allclose(theta, a * before + g * net, atol=1e-6)
    assert np.abs(theta).max() == pytest.approx(2.0)  # the band is used
    assert theta[-1] >= -1e-9


def test_drift_carries_into_the_next_window():
    ctx = context(index(4), {"price_eur_per_mwh": [10.0, 10.0, 100.0, 100.0]})
    solved = solve_assets([grid(), HEATER, flexible()], ctx)
    asset = solved.plant.assets["ht_aging"]
    state = asset.final_state(solved.plant.block("ht_aging"), ctx, 2)
    assert state == {"temp_deviation_k": pytest.approx(2.0)}
    ctx_b = context(
        index(2, start="2023-06-05T02:00Z"),
        {"price_eur_per_mwh": 100.0},
        state={"ht_aging": state},
    )
    later = solve_assets([grid(), HEATER, flexible()], ctx_b)
    assert later.dispatch["ht_aging.supply_kw"].sum() == pytest.approx(100.0)
    assert later.report.objective_eur == pytest.approx(10.0)


def test_initial_drift_outside_the_band_is_reported():
    ctx = context(
        index(2), {"price_eur_per_mwh": 50.0}, state={"ht_aging": {"temp_deviation_k": 3.0}}
    )
    with pytest.raises(ModelBuildError, match="outside the band"):
        build_model(assets_from([grid(), HEATER, flexible()]), ctx)


def test_soft_mode_plans_a_room_measured_outside_its_band_back_into_it():
    """5 K cold, band 2 K, 50 kWh/K, a 150 kW heater for a 100 kW demand: +1 K an hour.
    Drift beyond the band: 2 K after hour 1, 1 K after hour 2, i.e. 3 K h at 500 EUR."""
    state = {"ht_aging": {"temp_deviation_k": -5.0}}
    ctx = context(index(6), {"price_eur_per_mwh": 50.0}, state=state)
    docs = [grid(), HEATER, flexible(supply_max_kw=150.0)]
    with pytest.raises(ModelBuildError, match="outside the band"):
        build_model(assets_from(docs), ctx)
    solved = solve_assets(docs, dataclasses.replace(ctx, soft_limits=True))
    d = solved.dispatch
    theta = d["ht_aging.temp_deviation_k"].to_numpy()
    assert_allclose(theta[:2], [-4.0, -3.0])  # the heater flat out while beyond the band
    assert theta[2:].min() >= -2.0 - 1e-9
    assert theta[-1] >= -1e-9
    (violation,) = solved.plant.read().violations
    assert violation.requirement == "room temperature outside its band"
    assert (violation.amount, violation.unit, violation.peak) == (
        pytest.approx(3.0),
        "K h",
        pytest.approx(2.0),
    )
    assert violation.penalty_eur == pytest.approx(1500.0)
    assert (violation.start, violation.end) == (ctx.index[0], ctx.index[2])


def test_demand_from_a_site_series():
    ctx = context(index(3), {"price_eur_per_mwh": 50.0, "aging_kw": [10.0, 20.0, 30.0]})
    doc = room(load_kw=None, load_series="aging_kw", load_scale=2.0)
    d = solve_assets([grid(), HEATER, doc], ctx).dispatch
    assert_allclose(d["ht_aging.supply_kw"], [20.0, 40.0, 60.0])
    bad = context(index(3), {"price_eur_per_mwh": 50.0, "aging_kw": [10.0, -1.0, 30.0]})
    with pytest.raises(ModelBuildError, match="negative demand"):
        build_model(assets_from([grid(), HEATER, doc]), bad)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"temp_band_k": 1.0}, "needs heat_capacity_kwh_per_k"),
        ({"temp_set_degc": 95.0}, "cannot hold the room"),
        ({"load_series": "x"}, "exactly one of load_kw or load_series"),
        ({"carrier": "nmp"}, "not an energy carrier"),
        ({"temp_band_k": -1.0}, "temp_band_k"),
    ],
)
def test_invalid_aging_room_names_the_asset(tmp_path, extra, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scenario_doc(tmp_path, [grid(), room(**extra)]), "a.yaml")
    assert message in str(info.value)
    assert "'ht_aging'" in str(info.value)
