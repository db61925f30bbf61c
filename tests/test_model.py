"""The plant model end to end: balances and physics re-derived from the dispatch table,
costs that add up, step independence, infeasibility diagnosis, model updates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from helpers import EXACT, assets_from, context, grid, index, load, solve_assets
from numpy.testing import assert_allclose

from energyopt import InfeasibleError, load_scenario, run_scenario
from energyopt.assets.chiller import chiller_cop
from energyopt.assets.heat_pump import carnot_cop
from energyopt.errors import ModelBuildError
from energyopt.inputs.weather import pv_power_kw
from energyopt.model import build_model
from energyopt.model.solve import solve
from energyopt.outputs.results import balance_residuals

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example.yaml"
#: energy closes to this at every step [kWh per interval]
BALANCE_TOL_KWH = 1e-6


@pytest.fixture(scope="module")
def example():
    """The bundled example, its full week at 15 min."""
    return run_scenario(load_scenario(EXAMPLE))


def _by_kind(result, kind: str) -> list:
    return [a for a in result.plant.assets.values() if a.kind == kind]


# ------------------------------------------------------------------ balances, physics


def test_example_is_solved_to_the_configured_gap(example):
    assert example.report.status == "optimal"
    assert example.kpis["mip_gap"] <= load_scenario(EXAMPLE).solver.mip_rel_gap + 1e-9
    assert len(example.dispatch) == 7 * 96


def test_every_carrier_balance_closes_at_every_step(example):
    residuals = balance_residuals(example.dispatch)
    assert set(residuals.columns) == {"electricity", "heat_ht", "heat_lt", "cooling"}
    assert residuals.abs().to_numpy().max() * 0.25 < BALANCE_TOL_KWH


def test_electricity_balance_from_the_asset_columns(example):
    """Sources minus sinks, written out from the assets' own columns, not net_ columns."""
    d = example.dispatch
    supply = d["grid.import_kw"] + d["roof_pv.power_kw"] + d["bess.discharge_kw"]
    demand = (
        d["grid.export_kw"]
        + d["bess.charge_kw"]
        + d["hthp.power_el_kw"]
        + d["space_hp.power_el_kw"]
        + d["chiller.power_el_kw"]
        + d["machines.demand_kw"]
    )
    assert np.abs(supply - demand).max() * 0.25 < BALANCE_TOL_KWH


def test_heat_and_cooling_balances_from_the_asset_columns(example):
    d = example.dispatch
    heat_ht = (
        d["hthp.heat_kw"]
        + d["boiler.heat_kw"]
        + d["heat_store.discharge_kw"]
        - d["heat_store.charge_kw"]
        - d["process_heat.demand_kw"]
    )
    heat_lt = d["space_hp.heat_kw"] - d["space_heat.demand_kw"]
    cooling = d["chiller.cooling_kw"] - d["process_cooling.demand_kw"]
    for residual in (heat_ht, heat_lt, cooling):
        assert np.abs(residual).max() * 0.25 < BALANCE_TOL_KWH


def test_storage_levels_follow_charge_discharge_and_efficiency(example):
    d, dt_h = example.dispatch, 0.25
    for asset in _by_kind(example, "battery") + _by_kind(example, "thermal_storage"):
        p, name = asset.params, asset.name
        keep = (1 - p.loss_frac_per_h) ** dt_h
        level = d[f"{name}.level_kwh"].to_numpy()
        before = np.concatenate([[p.soc_initial_frac * p.capacity_kwh], level[:-1]])
        rebuilt = keep * before + dt_h * (
            p.efficiency_charge * d[f"{name}.charge_kw"]
            - d[f"{name}.discharge_kw"] / p.efficiency_discharge
        )
        assert_allclose(level, rebuilt, atol=BALANCE_TOL_KWH, err_msg=name)
        assert level.min() >= p.soc_min_frac * p.capacity_kwh - 1e-6
        assert level.max() <= p.soc_max_frac * p.capacity_kwh + 1e-6
        assert level[-1] >= p.soc_initial_frac * p.capacity_kwh - 1e-6


def test_heat_pump_heat_is_cop_times_power(example):
    d = example.dispatch
    temp = example.plant.ctx.series["temp_air_degc"].to_numpy()
    for asset in _by_kind(example, "heat_pump"):
        p, name = asset.params, asset.name
        source = temp if p.source_temp_degc is None else p.source_temp_degc
        cop = carnot_cop(p.sink_temp_degc, source, p.carnot_efficiency_frac, p.cop_max)
        assert_allclose(d[f"{name}.cop"], np.broadcast_to(cop, len(d)), err_msg=name)
        assert_allclose(d[f"{name}.heat_kw"], cop * d[f"{name}.power_el_kw"], atol=1e-6)
        assert d[f"{name}.heat_kw"].max() <= p.heat_max_kw + 1e-6


def test_boiler_heat_is_efficiency_times_fuel(example):
    d = example.dispatch
    for asset in _by_kind(example, "gas_boiler"):
        name = asset.name
        assert_allclose(d[f"{name}.heat_kw"], asset.params.efficiency * d[f"{name}.fuel_kw"])


def test_chiller_cooling_is_cop_times_power(example):
    d = example.dispatch
    temp = example.plant.ctx.series["temp_air_degc"].to_numpy()
    for asset in _by_kind(example, "chiller"):
        p, name = asset.params, asset.name
        cop = chiller_cop(temp, p.cop_ref, p.temp_ref_degc, p.cop_slope_per_k, p.cop_min, p.cop_max)
        assert_allclose(d[f"{name}.cop"], cop)
        assert_allclose(d[f"{name}.cooling_kw"], cop * d[f"{name}.power_el_kw"], atol=1e-6)


def test_pv_output_stays_within_what_the_weather_allows(example):
    d = example.dispatch
    site = example.scenario.site
    for asset in _by_kind(example, "pv"):
        p, name = asset.params, asset.name
        available = pv_power_kw(
            example.plant.ctx.series,
            site.latitude,
            site.longitude,
            site.altitude_m,
            p.peak_power_kwp,
            p.tilt_deg,
            p.azimuth_deg,
            p.losses_frac,
        )
        assert_allclose(d[f"{name}.available_kw"], available)
        assert (d[f"{name}.power_kw"] <= available + 1e-6).all()


def test_grid_flows_stay_within_the_connection(example):
    d = example.dispatch
    for asset in _by_kind(example, "grid"):
        assert d[f"{asset.name}.import_kw"].max() <= asset.params.import_max_kw + 1e-6
        assert d[f"{asset.name}.export_kw"].max() <= asset.params.export_max_kw + 1e-6


# ---------------------------------------------------------------------- money and CO2


def test_objective_equals_the_sum_of_kpi_costs(example):
    k = example.kpis
    assert k["total_cost_eur"] == pytest.approx(k["objective_eur"], rel=1e-9)
    parts = sum(v for key, v in k.items() if key.startswith("cost_") and key.endswith("_eur"))
    assert k["total_cost_eur"] == pytest.approx(parts - k["revenue_eur"], rel=1e-12)


def test_costs_and_co2_re_derived_from_the_dispatch_table(example):
    d, k, dt_h = example.dispatch, example.kpis, 0.25
    tariffs = example.scenario.tariffs
    energy = (d["grid.import_kw"] * d["grid.price_import_eur_per_kwh"]).sum() * dt_h
    assert k["cost_energy_eur"] == pytest.approx(energy, rel=1e-9)
    fuel_kwh = d["boiler.fuel_kw"].sum() * dt_h
    assert k["cost_fuel_eur"] == pytest.approx(fuel_kwh * tariffs.gas_price_eur_per_mwh / 1000)
    co2_kg = (d["grid.import_kw"] * d["grid.co2_kg_per_kwh"]).sum() * dt_h + 0.202 * fuel_kwh
    assert k["co2_t"] == pytest.approx(co2_kg / 1000, rel=1e-9)
    assert k["cost_co2_eur"] == pytest.approx(co2_kg * tariffs.co2_price_eur_per_t / 1000)
    wear = example.plant.assets["bess"].params.degradation_cost_eur_per_kwh
    assert k["cost_degradation_eur"] == pytest.approx(wear * d["bess.discharge_kw"].sum() * dt_h)


def test_demand_charge_kpi_is_the_peak_times_the_covered_share_of_june(example):
    k = example.kpis
    rate = example.scenario.tariffs.demand_charge_eur_per_kw_month
    assert k["peak_import_kw"] == pytest.approx(example.dispatch["grid.import_kw"].max())
    assert k["cost_demand_charge_eur"] == pytest.approx(rate * k["peak_import_kw"] * 7 / 30)


def test_energy_kpis_re_derived(example):
    d, k = example.dispatch, example.kpis
    assert k["grid_import_kwh"] == pytest.approx(d["grid.import_kw"].sum() * 0.25)
    assert k["pv_generation_kwh"] == pytest.approx(d["roof_pv.power_kw"].sum() * 0.25)
    assert k["cooling_supplied_kwh"] == pytest.approx(500.0 * 7 * 24)
    assert k["heat_lt_supplied_kwh"] == pytest.approx(150.0 * 7 * 24)


# ------------------------------------------------------------------ step independence


def test_15_min_and_1_h_give_the_same_energies_within_2_percent(example):
    """Tolerance: grid import, PV, heat supplied and total cost within 2 %.

    Both runs use the same hourly inputs (prices held, weather interpolated); the
    differences come from the finer weather sampling and the MIP gap (0.5 %).
    """
    hourly = run_scenario(load_scenario(EXAMPLE), step="1h")
    assert len(hourly.dispatch) == 7 * 24
    for key in (
        "grid_import_kwh",
        "pv_generation_kwh",
        "heat_ht_supplied_kwh",
        "cooling_supplied_kwh",
        "total_cost_eur",
    ):
        assert hourly.kpis[key] == pytest.approx(example.kpis[key], rel=0.02), key


# ----------------------------------------------------------------------- infeasibility


def test_heat_load_above_all_heat_supply_names_carrier_and_first_time():
    """Heat supply is 400 kW; the load steps to 500 then 450 kW from the third interval:
    100 kW for 15 min and 50 kW for 15 min are 37.5 kWh short."""
    ctx = context(index(4, "15min"), {"price_eur_per_mwh": 50.0, "heat": [300, 300, 500, 450]})
    docs = [
        grid(),
        {"type": "fixed_load", "name": "ovens", "carrier": "heat_ht", "series": "heat"},
        {"type": "heat_pump", "name": "hp", "heat_max_kw": 400.0, "cop": 3.0},
    ]
    with pytest.raises(InfeasibleError) as info:
        solve_assets(docs, ctx)
    diagnosis, subset = str(info.value).split("; conflicting (HiGHS IIS): ")
    assert diagnosis == (
        "no feasible plan: plant: heat_ht balance short of supply: 37.5 kWh from "
        "2023-06-05 00:30 to 2023-06-05 01:00 UTC (up to 100.0 kW; penalty 37,500 EUR)"
    )
    # the irreducible subset: the heat balance of the first short interval and the
    # heat pump's rating there (the load is a parameter, not a row)
    assert subset == (
        "plant: balance[heat_ht] at 2023-06-05 00:30 UTC; "
        "asset 'hp': bound of output_kw at 2023-06-05 00:30 UTC"
    )
    assert [(e.owner, e.name, e.count) for e in info.value.iis] == [
        ("plant", "balance[heat_ht]", 1),
        ("asset 'hp'", "bound of output_kw", 1),
    ]


def test_example_with_an_oversized_heat_load_is_infeasible_from_its_first_step():
    scenario = load_scenario(EXAMPLE)
    assets = [
        a.model_copy(update={"power_kw": 4000.0}) if a.name == "process_heat" else a
        for a in scenario.plant.assets
    ]
    plant = scenario.plant.model_copy(update={"assets": assets})
    with pytest.raises(
        InfeasibleError,
        match=r"^no feasible plan: plant: heat_ht balance short of supply: [\d,.]+ kWh "
        r"from 2023-06-04 22:00",
    ):
        run_scenario(scenario.model_copy(update={"plant": plant}), days=1)


def test_conflicting_asset_limits_are_named_in_plant_terms():
    """A heat store that must end full, with no heat to charge it: the balances close
    (nothing flows), and the diagnosis names the store's terminal level, 100 kWh short."""
    store = {
        "type": "thermal_storage",
        "name": "store",
        "capacity_kwh": 100.0,
        "charge_max_kw": 10.0,
        "soc_initial_frac": 0.0,
        "soc_terminal_min_frac": 1.0,
        "loss_frac_per_h": 0.0,
    }
    ctx = context(index(1), {"price_eur_per_mwh": 50.0})
    with pytest.raises(
        InfeasibleError,
        match="^no feasible plan: store: level below its terminal minimum: 100.0 kWh",
    ):
        solve_assets([grid(), store], ctx)


# ------------------------------------------------------------------- model structure


def test_model_has_one_balance_per_carrier_and_step():
    ctx = context(index(8, "15min"), {"price_eur_per_mwh": 50.0})
    docs = [
        grid(),
        load(10.0),
        load(5.0, "heat_ht", "heat"),
        {"type": "heat_pump", "name": "hp", "heat_max_kw": 50.0, "cop": 3.0},
    ]
    plant = build_model(assets_from(docs), ctx)
    m = plant.model
    assert len(m.T) == 8
    assert plant.carriers == ["electricity", "heat_ht"]
    assert len(m.balance) == 2 * 8
    assert not hasattr(m, "short_heat_ht")  # hard mode: no shortfall variables
    assert plant.size()["n_binaries"] == 0


def test_update_refills_prices_and_equals_a_fresh_build():
    docs = [
        grid(),
        load(100.0),
        {"type": "battery", "name": "bess", "capacity_kwh": 50.0, "charge_max_kw": 25.0},
    ]
    first = context(index(4), {"price_eur_per_mwh": [10.0, 20.0, 30.0, 40.0]})
    second = context(
        index(4, "1h", "2023-06-06T00:00Z"), {"price_eur_per_mwh": [90.0, 10.0, 80.0, 5.0]}
    )
    plant = build_model(assets_from(docs), first)
    solve(plant, EXACT)
    assert plant.can_update(second)
    plant.update(second)
    updated = solve(plant, EXACT).objective_eur
    fresh = solve_assets(docs, second).report.objective_eur
    assert updated == pytest.approx(fresh, abs=1e-9)
    assert [
        pyo.value(plant.block("grid").price_import_eur_per_kwh[t]) for t in range(4)
    ] == pytest.approx([0.09, 0.01, 0.08, 0.005])


def test_update_refuses_a_window_of_another_length():
    plant = build_model(
        assets_from([grid(), load(1.0)]), context(index(4), {"price_eur_per_mwh": 1.0})
    )
    other = context(index(5), {"price_eur_per_mwh": 1.0})
    assert not plant.can_update(other)
    with pytest.raises(ModelBuildError, match="window has 5 steps, the model was built for 4"):
        plant.update(other)


def test_frankfurt_variant_solves_with_closed_balances():
    """The variant swaps prices, CO2 and weather (irradiance derived from cloud cover)."""
    scenario = load_scenario(EXAMPLE.with_name("example-frankfurt.yaml"))
    result = run_scenario(scenario, days=1)
    assert result.report.status == "optimal"
    assert balance_residuals(result.dispatch).abs().to_numpy().max() * 0.25 < BALANCE_TOL_KWH
    assert result.dispatch.index[0] == pd.Timestamp("2023-06-04T22:00Z")  # 00:00 CEST
    assert result.kpis["pv_generation_kwh"] > 0
    prices = pd.read_csv(EXAMPLE.parent / "data" / "prices_DE-LU_2023.csv", index_col=0)
    day_ahead = prices.loc["2023-06-04T22:00:00Z", "price_eur_per_mwh"]
    fee = scenario.tariffs.grid_fee_eur_per_mwh
    first = result.dispatch["grid.price_import_eur_per_kwh"].iloc[0]
    assert first == pytest.approx((day_ahead + fee) / 1000.0)


def test_absolute_gap_and_feasibility_jump_reach_highs_and_are_validated(monkeypatch):
    import energyopt.model.solve as solve_module
    from energyopt.inputs.config import SolverOptions

    made = []
    original = solve_module.new_highs

    def recording():
        highs = original()
        made.append(highs)
        return highs

    monkeypatch.setattr(solve_module, "new_highs", recording)
    docs = [grid(), load(100.0)]
    ctx = context(index(4), {"price_eur_per_mwh": 50.0})
    solve(build_model(assets_from(docs), ctx), SolverOptions(mip_abs_gap_eur=100.0))
    assert made[-1].getOptionValue("mip_abs_gap")[1] == pytest.approx(100.0)
    assert made[-1].getOptionValue("mip_heuristic_run_feasibility_jump")[1] is False
    solve(build_model(assets_from(docs), ctx), SolverOptions(mip_feasibility_jump=True))
    assert made[-1].getOptionValue("mip_abs_gap")[1] < 1e-3  # HiGHS default: relative gap rules
    assert made[-1].getOptionValue("mip_heuristic_run_feasibility_jump")[1] is True
    with pytest.raises(ValueError, match="mip_abs_gap_eur"):
        SolverOptions(mip_abs_gap_eur=-1.0)
