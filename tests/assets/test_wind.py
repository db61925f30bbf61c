"""Wind: hub-height wind, air density, power curve, curtailment, validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import windpowerlib
from helpers import EXACT, assets_from, context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.wind import (
    Wind,
    air_density_at_hub_kg_per_m3,
    density_normalised_wind_speed_m_per_s,
    library_power_curve,
    wind_power_kw,
)
from energyopt.engine.baseline import apply_baseline_rules
from energyopt.errors import InfeasibleError, ModelBuildError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve
from energyopt.outputs.results import generation_kpis

#: a simple explicit curve: cut-in 3 m/s, linear to 2 MW at 12 m/s, cut-out after 25 m/s
CURVE = {
    "power_curve_wind_speed_m_per_s": [3.0, 12.0, 25.0],
    "power_curve_power_kw": [0, 2000, 2000],
}
WT = {"type": "wind", "name": "wt", "n_turbines": 2, "hub_height_m": 100.0, **CURVE}
#: specific gas constant of dry air [J/(kg K)] and the pressure and temperature gradients
R_DRY = 287.058
PA_PER_M = 12.5
K_PER_M = 0.0065


def air_at_hub(hub_height_m: float, temp_hub_degc: float, pressure_hub_pa: float) -> dict:
    """2 m temperature and surface pressure that give these conditions at the hub."""
    return {
        "temp_air_degc": temp_hub_degc + K_PER_M * (hub_height_m - 2.0),
        "pressure_pa": pressure_hub_pa + PA_PER_M * hub_height_m,
    }


def standard_air_at_hub(hub_height_m: float) -> dict:
    """Weather giving 1.225 kg/m3 at the hub (15 degC there)."""
    return air_at_hub(hub_height_m, 15.0, 1.225 * R_DRY * 288.15)


def curve_kw(v: float) -> float:
    """CURVE by hand at standard density [kW]."""
    if v < 3.0 or v > 25.0:
        return 0.0
    return 2000.0 * min(v - 3.0, 9.0) / 9.0


def day(wind_10m: float | list[float], hub_height_m: float = 100.0, price=100.0, **air) -> tuple:
    idx = index(24 if np.isscalar(wind_10m) else len(wind_10m))
    series = {
        "price_eur_per_mwh": price,
        "wind_speed_m_per_s": wind_10m,
        **(air or standard_air_at_hub(hub_height_m)),
    }
    return idx, context(idx, series)


# ------------------------------------------------------------------ hand computations


def test_power_law_yield_at_standard_density_matches_the_hand_computation():
    """6 m/s at 10 m, alpha 1/7, hub 100 m: v_hub = 6 * 10**(1/7) = 8.337 m/s."""
    v_hub = 6.0 * 10 ** (1 / 7)
    per_turbine = 2000.0 * (v_hub - 3.0) / 9.0  # 1185.99 kW on the rising part
    expected = 2 * per_turbine * 0.97 * (1 - 0.05)
    assert expected == pytest.approx(2185.8, abs=0.1)
    _, ctx = day(6.0)
    solved = solve_assets([grid(), load(5000.0), WT], ctx)
    d = solved.dispatch
    assert_allclose(d["wt.wind_speed_hub_m_per_s"], v_hub, rtol=1e-12)
    assert_allclose(d["wt.available_kw"], expected, rtol=1e-9)
    assert_allclose(d["wt.power_kw"], expected, rtol=1e-7)  # all used on site
    assert_allclose(d["grid.import_kw"], 5000.0 - expected, rtol=1e-7)
    kpis = generation_kpis(solved.plant.assets, d, d["grid.export_kw"], ctx.dt_h)
    assert kpis["wind_generation_kwh"] == pytest.approx(24 * expected, rel=1e-7)
    assert kpis["wind_self_consumption_frac"] == pytest.approx(1.0)


def test_log_profile_by_hand():
    """z0 = 0.15 m: v_hub = 6 * ln(100 / 0.15) / ln(10 / 0.15) = 9.290 m/s."""
    v_hub = 6.0 * math.log(100 / 0.15) / math.log(10 / 0.15)
    assert v_hub == pytest.approx(9.2896, abs=1e-4)
    doc = {**WT, "shear_model": "log_profile", "availability_frac": 1.0, "losses_frac": 0.0}
    _, ctx = day(6.0)
    d = solve_assets([grid(), load(5000.0), doc], ctx).dispatch
    assert_allclose(d["wt.wind_speed_hub_m_per_s"], v_hub, rtol=1e-12)
    assert_allclose(d["wt.available_kw"], 2 * 2000.0 * (v_hub - 3.0) / 9.0, rtol=1e-9)


def test_density_correction_at_0_degc_and_1013_hpa_at_hub():
    """Cold dense air: rho = 101325 / (287.058 * 273.15) = 1.2922 kg/m3 at the hub;
    the curve is read at v_hub * (rho / 1.225) ** (1/3), 1.8 % above v_hub."""
    rho = 101_325.0 / (R_DRY * 273.15)
    assert rho == pytest.approx(1.29224, abs=1e-5)
    air = air_at_hub(100.0, 0.0, 101_325.0)
    at_hub = air_density_at_hub_kg_per_m3(air["temp_air_degc"], air["pressure_pa"], 100.0)
    assert_allclose(at_hub, rho, rtol=1e-12)
    v_hub = 6.0 * 10 ** (1 / 7)
    v_norm = v_hub * (rho / 1.225) ** (1 / 3)
    assert v_norm / v_hub == pytest.approx(1.0180, abs=1e-4)
    assert_allclose(density_normalised_wind_speed_m_per_s(v_hub, rho), v_norm, rtol=1e-12)
    _, ctx = day(6.0, **air)
    d = solve_assets([grid(), load(5000.0), {**WT, "n_turbines": 1}], ctx).dispatch
    assert_allclose(d["wt.available_kw"], curve_kw(v_norm) * 0.97 * 0.95, rtol=1e-9)
    assert curve_kw(v_norm) > curve_kw(v_hub) + 30.0  # the correction matters here


def test_no_power_below_cut_in_or_above_cut_out():
    """Hub at the measurement height, standard density: the curve as it is.

    The curve starts at 100 kW at its cut-in of 3 m/s: zero below it, not 100 kW.
    """
    speeds = [0.0, 2.9, 3.0, 3.9, 12.0, 24.9, 25.0, 25.1, 30.0]
    doc = {**WT, "hub_height_m": 10.0, "availability_frac": 1.0, "losses_frac": 0.0}
    doc["power_curve_power_kw"] = [100.0, 2000.0, 2000.0]
    _, ctx = day(speeds, hub_height_m=10.0)
    d = solve_assets([grid(), load(5000.0), doc], ctx).dispatch
    rising = 100.0 + 1900.0 * 0.9 / 9.0  # 3.9 m/s: a tenth of the way to 12 m/s
    expected = [0.0, 0.0, 100.0, rising, 2000.0, 2000.0, 2000.0, 0.0, 0.0]
    assert_allclose(d["wt.available_kw"], 2 * np.array(expected), atol=1e-9)


# --------------------------------------------------------------------- windpowerlib


@pytest.mark.filterwarnings("ignore::DeprecationWarning:windpowerlib")
def test_power_matches_windpowerlib_modelchain_for_a_library_turbine():
    """E-126/4200 at 135 m: hub wind, density and power as windpowerlib's ModelChain
    (Hellman 1/7, linear temperature gradient, ideal gas, density-corrected curve).

    windpowerlib corrects the curve with Svenningsen's exponent (1/3 up to 7.5 m/s,
    rising to 2/3 at 12.5 m/s), IEC 61400-12-1 with 1/3 throughout: equal where the
    density-normalised speed reads curve points up to 7 m/s and at rated power or
    beyond cut-out; in between, thinner air than 1.225 kg/m3 costs windpowerlib up to
    about 1 % more than here.
    """
    speeds = np.array([2.0, 3.0, 4.5, 5.0, 8.0, 14.0, 16.0, 20.0, 30.0])
    temp = np.array([-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 0.0])
    pressure = np.full(len(speeds), 98_000.0)
    idx = index(len(speeds))
    weather = pd.DataFrame(
        {
            ("wind_speed", 10): speeds,
            ("temperature", 2): temp + 273.15,
            ("pressure", 0): pressure,
            ("roughness_length", 0): 0.15,
        },
        index=idx,
    )
    turbine = windpowerlib.WindTurbine(hub_height=135.0, turbine_type="E-126/4200")
    chain = windpowerlib.ModelChain(
        turbine,
        wind_speed_model="hellman",
        hellman_exp=1 / 7,
        temperature_model="linear_gradient",
        density_model="ideal_gas",
        power_output_model="power_curve",
        density_correction=True,
    ).run_model(weather)
    theirs_kw = chain.power_output.to_numpy() / 1000.0

    wind_speeds, power_kw = library_power_curve("E-126/4200")
    assert_allclose(wind_speeds, turbine.power_curve["wind_speed"])
    assert_allclose(power_kw * 1000.0, turbine.power_curve["value"])
    doc = {"type": "wind", "name": "wt", "n_turbines": 3, "turbine_type": "E-126/4200"}
    doc |= {"hub_height_m": 135.0, "availability_frac": 1.0, "losses_frac": 0.0}
    ctx = context(
        idx,
        {
            "price_eur_per_mwh": 100.0,
            "wind_speed_m_per_s": speeds,
            "temp_air_degc": temp,
            "pressure_pa": pressure,
        },
    )
    d = solve_assets([grid(20_000.0), load(15_000.0), doc], ctx).dispatch
    assert_allclose(d["wt.wind_speed_hub_m_per_s"], chain.wind_speed_hub(weather), rtol=1e-12)
    ours_kw = d["wt.available_kw"].to_numpy() / 3
    rho = chain.density_hub(weather).to_numpy()
    v_norm = d["wt.wind_speed_hub_m_per_s"].to_numpy() * (rho / 1.225) ** (1 / 3)
    same = (v_norm <= 7.0) | (v_norm >= 14.0)
    assert same.sum() >= 6
    assert (~same).sum() >= 2
    assert_allclose(ours_kw[same], theirs_kw[same], rtol=1e-6, atol=1e-9)
    knee = ~same & (rho < 1.225)
    assert knee.any()
    assert np.all(ours_kw[knee] >= theirs_kw[knee])
    assert_allclose(ours_kw[knee], theirs_kw[knee], rtol=0.015)
    assert ours_kw.max() == pytest.approx(4200.0)
    assert ours_kw[-1] == 0.0  # 30 m/s at 10 m: beyond cut-out at the hub


def test_rated_power_is_the_highest_point_of_the_library_curve():
    """The library states 7500 kW for E-126/7500, its curve reaches 7580 kW."""
    (wt,) = assets_from([{**WT, **dict.fromkeys(CURVE), "turbine_type": "E-126/7500"}])
    assert wt.params.rated_power_kw == pytest.approx(7580.0)
    assert wind_power_kw([30.0], [15.0], [101_325.0], *library_power_curve("E-126/7500"), 135.0)[
        0
    ] == pytest.approx(0.0)


# ---------------------------------------------------------------------- curtailment


def test_negative_prices_curtail_a_curtailable_turbine():
    _, ctx = day(6.0, price=-50.0)
    d = solve_assets([grid(export_max_kw=5000.0), load(500.0), WT], ctx).dispatch
    assert d["wt.available_kw"].min() > 2000.0
    assert_allclose(d["wt.power_kw"], 0.0, atol=1e-6)  # importing earns more
    assert_allclose(d["wt.curtailed_kw"], d["wt.available_kw"], atol=1e-6)
    assert_allclose(d["grid.export_kw"], 0.0, atol=1e-6)


def test_must_run_turbine_cannot_curtail_at_negative_prices():
    _, ctx = day(6.0, price=-50.0)
    doc = {**WT, "curtailable": False}
    d = solve_assets([grid(export_max_kw=5000.0), load(500.0), doc], ctx).dispatch
    assert_allclose(d["wt.power_kw"], d["wt.available_kw"], rtol=1e-9)
    assert_allclose(d["wt.curtailed_kw"], 0.0, atol=1e-6)
    with pytest.raises(InfeasibleError, match="electricity balance has surplus it cannot use"):
        solve_assets([grid(), load(500.0), doc], ctx)


def test_setpoint_limits_output_only_where_the_plan_curtails():
    """Load above the wind: all used at 100 EUR/MWh, curtailed to zero at -50 EUR/MWh."""
    _, ctx = day(6.0, price=[100.0] * 12 + [-50.0] * 12)
    d = solve_assets([grid(), load(3000.0), WT], ctx).dispatch
    columns = {c: d[f"wt.{c}"].tolist() for c in ("power_kw", "curtailed_kw")}
    rule = Wind.setpoints["power_limit_kw"]
    limits = [rule(columns, i) for i in range(24)]
    assert limits[:12] == [None] * 12
    assert limits[12:] == [0.0] * 12
    assert Wind.carries_state is False
    assert Wind.generation_kpi == "wind"


def test_baseline_curtails_only_what_the_grid_cannot_take():
    """Negative prices, 500 kW load, 1000 kW export: the baseline curtails the rest."""
    docs = [grid(export_max_kw=1000.0), load(500.0), WT]
    _, ctx = day(6.0, price=-50.0)
    plant = build_model(assets_from(docs), ctx)
    apply_baseline_rules(plant)
    solve(plant, EXACT)
    d = dispatch_table(plant)
    expected = d["wt.available_kw"] - 500.0 - 1000.0
    assert expected.min() > 600.0
    assert_allclose(d["wt.curtailed_kw"], expected, atol=1e-6)


# ----------------------------------------------------------------------- validation


def test_missing_wind_speed_names_the_asset_and_the_column():
    idx = index(4)
    ctx = context(idx, {"price_eur_per_mwh": 100.0, **standard_air_at_hub(100.0)})
    with pytest.raises(ModelBuildError, match="asset 'wt'.*'wind_speed_m_per_s'"):
        solve_assets([grid(), load(100.0), WT], ctx)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {**dict.fromkeys(CURVE), "turbine_type": "E126/4200"},
            "plant.assets[1].turbine_type (asset 'wt'): unknown windpowerlib turbine type "
            "'E126/4200' (close names: E-126/4200",
        ),
        (
            {"power_curve_power_kw": [0, 2000]},
            "power_curve_wind_speed_m_per_s has 3 points, power_curve_power_kw 2",
        ),
        ({"turbine_type": "E-126/4200"}, "give exactly one of turbine_type or an explicit"),
        (dict.fromkeys(CURVE), "give exactly one of turbine_type or an explicit"),
        ({"power_curve_power_kw": None}, "go together"),
        ({"power_curve_wind_speed_m_per_s": [3.0, 12.0, 12.0]}, "increasing speeds"),
        ({"power_curve_power_kw": [0, -1, 2000]}, "power_curve_power_kw[1]"),
        ({"n_turbines": 0}, "n_turbines (asset 'wt'): must be >= 1"),
        ({"availability_frac": 0.0}, "availability_frac (asset 'wt'): must be > 0"),
        ({"shear_model": "log_profile", "roughness_length_m": 12.0}, "roughness_length_m"),
    ],
)
def test_invalid_wind_parameters_are_rejected_naming_the_asset(tmp_path, change, message):
    doc = scenario_doc(tmp_path, [grid(), {**WT, **change}])
    with pytest.raises(ScenarioError, match="asset 'wt'") as info:
        scenario_from_dict(doc, "plant.yaml")
    assert message in str(info.value)
