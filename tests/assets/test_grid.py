"""Grid connection: energy cost, CO2, export, demand charge, binaries, carried peak."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import (
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

from energyopt.engine.pipeline import run_scenario
from energyopt.errors import InfeasibleError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model


def battery(**extra) -> dict:
    doc = {
        "type": "battery",
        "name": "bess",
        "capacity_kwh": 100.0,
        "charge_max_kw": 50.0,
        "efficiency_charge": 1.0,
        "efficiency_discharge": 1.0,
    }
    return {**doc, **extra}


def test_block_has_flows_peaks_and_cost_terms():
    plant = build_model(assets_from([grid()]), context(index(4), {"price_eur_per_mwh": 50.0}))
    b = plant.block("grid")
    for name in (
        "import_kw",
        "export_kw",
        "peak_kw",
        "peak_tracks_import",
        "price_import_eur_per_kwh",
    ):
        assert isinstance(b.component(name), pyo.Component), name
    assert set(plant.terms["grid"].costs_eur) == {"energy", "revenue", "demand_charge"}


def test_energy_cost_includes_the_grid_fee_and_co2_is_priced():
    """2 h of 100 kW at (80 + 20) EUR/MWh = 20 EUR; CO2 200 kg at 100 EUR/t = 20 EUR."""
    ctx = context(
        index(2),
        {"price_eur_per_mwh": 80.0},
        tariffs={"grid_fee_eur_per_mwh": 20.0, "co2_price_eur_per_t": 100.0},
    )
    solved = solve_assets([grid(co2_g_per_kwh=1000.0), load(100.0)], ctx)
    terms = solved.plant.terms["grid"]
    assert pyo.value(terms.costs_eur["energy"]) == pytest.approx(20.0)
    assert pyo.value(terms.co2_kg) == pytest.approx(200.0)
    assert solved.report.objective_eur == pytest.approx(40.0)
    assert_allclose(solved.dispatch["grid.price_import_eur_per_kwh"], 0.1)


def test_co2_follows_the_named_series():
    ctx = context(index(2), {"price_eur_per_mwh": 0.0, "co2": [100.0, 400.0]})
    solved = solve_assets([grid(co2_series="co2"), load(10.0)], ctx)
    assert pyo.value(solved.plant.terms["grid"].co2_kg) == pytest.approx(10 * 0.1 + 10 * 0.4)
    assert_allclose(solved.dispatch["grid.co2_kg_per_kwh"], [0.1, 0.4])


def test_import_limit_makes_a_larger_load_infeasible_at_its_first_interval():
    ctx = context(index(3), {"price_eur_per_mwh": 50.0, "demand": [50.0, 150.0, 150.0]})
    docs = [
        grid(import_max_kw=100.0),
        {"type": "fixed_load", "name": "machines", "series": "demand"},
    ]
    with pytest.raises(InfeasibleError) as info:
        solve_assets(docs, ctx)
    assert str(info.value).startswith(
        "no feasible plan: plant: electricity balance short of supply: 100.0 kWh from "
        "2023-06-05 01:00 to 2023-06-05 03:00 UTC (up to 50.0 kW; penalty 100,000 EUR); "
        "conflicting (HiGHS IIS): plant: balance[electricity] at 2023-06-05 01:00 UTC; "
        "asset 'grid': bound of import_kw at 2023-06-05 01:00 UTC"
    )


# ---------------------------------------------------------------------------- export


def _full_battery_plant(export_max_kw: float) -> list[dict]:
    return [
        grid(export_max_kw=export_max_kw),
        battery(soc_initial_frac=1.0, soc_terminal_min_frac=0.0),
    ]


def test_export_not_allowed_keeps_energy_on_site():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    solved = solve_assets(_full_battery_plant(0.0), ctx)
    assert_allclose(solved.dispatch["grid.export_kw"], 0.0, atol=1e-9)
    assert solved.report.objective_eur == pytest.approx(0.0, abs=1e-9)


def test_export_allowed_sells_at_the_day_ahead_price():
    """A full 100 kWh battery and 30 kW export: 2 h x 30 kW x 0.1 EUR/kWh = 6 EUR revenue."""
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    solved = solve_assets(_full_battery_plant(30.0), ctx)
    assert_allclose(solved.dispatch["grid.export_kw"], 30.0)
    assert pyo.value(solved.plant.terms["grid"].costs_eur["revenue"]) == pytest.approx(-6.0)
    assert solved.report.objective_eur == pytest.approx(-6.0)


def test_fixed_export_price_replaces_the_day_ahead_price():
    ctx = context(
        index(2), {"price_eur_per_mwh": 100.0}, tariffs={"export_price_eur_per_mwh": 50.0}
    )
    solved = solve_assets(_full_battery_plant(30.0), ctx)
    assert solved.report.objective_eur == pytest.approx(-3.0)
    assert_allclose(solved.dispatch["grid.price_export_eur_per_kwh"], 0.05)


def test_import_and_export_at_once_without_the_binary():
    """A feed-in price above the import price invites buying to sell at the same time."""
    ctx = context(index(2), {"price_eur_per_mwh": 50.0}, tariffs={"export_price_eur_per_mwh": 80.0})
    solved = solve_assets([grid(import_max_kw=100.0, export_max_kw=40.0)], ctx)
    assert_allclose(solved.dispatch["grid.import_kw"], 40.0)
    assert_allclose(solved.dispatch["grid.export_kw"], 40.0)
    assert solved.report.objective_eur == pytest.approx(-2 * 40 * 0.03)


def test_no_simultaneous_binary_forbids_import_and_export_at_once():
    ctx = context(index(2), {"price_eur_per_mwh": 50.0}, tariffs={"export_price_eur_per_mwh": 80.0})
    solved = solve_assets([grid(export_max_kw=40.0, no_simultaneous=True)], ctx)
    d = solved.dispatch
    assert_allclose(np.minimum(d["grid.import_kw"], d["grid.export_kw"]), 0.0, atol=1e-9)
    assert solved.report.objective_eur == pytest.approx(0.0, abs=1e-9)
    assert solved.report.n_binaries == 2


# --------------------------------------------------------------------- demand charge

#: 100 kW all day with a 300 kW spike at 10:00 UTC
SPIKE = [300.0 if h == 10 else 100.0 for h in range(24)]


def _spike_run(tmp_path, rate: float, *extra_assets: dict):
    docs = [
        grid(),
        {"type": "fixed_load", "name": "machines", "series": "demand_kw"},
        *extra_assets,
    ]
    scenario = tiny_scenario(
        tmp_path,
        docs,
        tariffs={"demand_charge_eur_per_kw_month": rate},
        series={"demand_kw": SPIKE},
    )
    return run_scenario(scenario)


def test_demand_charge_is_rate_times_peak_times_covered_month_share(tmp_path):
    """One day of June (30 days): 12 EUR/kW/month * 300 kW * 1/30 = 120 EUR."""
    result = _spike_run(tmp_path, 12.0)
    assert result.kpis["peak_import_kw"] == pytest.approx(300.0)
    assert result.kpis["cost_demand_charge_eur"] == pytest.approx(12.0 * 300.0 / 30.0)
    energy = 0.1 * sum(SPIKE)  # 100 EUR/MWh
    assert result.kpis["total_cost_eur"] == pytest.approx(energy + 120.0)


def test_battery_shaves_the_spike_when_the_charge_is_high_enough(tmp_path):
    """Lossless battery, wear 0.01 EUR/kWh: shaving 1 kW costs 0.01 EUR and saves rate/30.

    High rate: the peak falls until the 23 other hours can refill what the spike
    hour drew, 24 P = 2 * 100 + 300 + 22 * 100 ... i.e. 23 (P - 100) = 300 - P,
    so P = 2600 / 24 = 108.33 kW.
    """
    wear = {"degradation_cost_eur_per_kwh": 0.01}
    high = _spike_run(tmp_path, 12.0, battery(charge_max_kw=250.0, capacity_kwh=500.0, **wear))
    assert high.kpis["peak_import_kw"] == pytest.approx(2600.0 / 24.0, abs=1e-4)
    assert high.kpis["cost_demand_charge_eur"] == pytest.approx(12.0 * 2600.0 / 24.0 / 30.0)


def test_battery_does_not_shave_when_the_charge_is_below_its_wear_cost(tmp_path):
    """0.2 EUR/kW/month / 30 = 0.0067 EUR per kW shaved < 0.01 EUR of wear: idle."""
    wear = {"degradation_cost_eur_per_kwh": 0.01}
    low = _spike_run(tmp_path, 0.2, battery(charge_max_kw=250.0, capacity_kwh=500.0, **wear))
    assert low.kpis["peak_import_kw"] == pytest.approx(300.0)
    assert low.dispatch["bess.discharge_kw"].sum() == pytest.approx(0.0, abs=1e-6)


def test_peak_reached_earlier_in_the_month_is_not_charged_again():
    """Earlier peak 400 kW: today's 300 kW peak adds nothing; the state keeps 400."""
    ctx = context(
        index(24),
        {"price_eur_per_mwh": 100.0, "demand": SPIKE},
        tariffs={"demand_charge_eur_per_kw_month": 10.0},
        state={"grid": {"peak_kw:2023-06": 400.0}},
        month_weight={"2023-06": 1.0},
    )
    docs = [grid(), {"type": "fixed_load", "name": "machines", "series": "demand"}]
    solved = solve_assets(docs, ctx)
    assert pyo.value(solved.plant.terms["grid"].costs_eur["demand_charge"]) == pytest.approx(0.0)
    block = solved.plant.block("grid")
    state = solved.plant.assets["grid"].final_state(block, ctx, 24)
    assert state == {"peak_kw:2023-06": 400.0}


def test_final_state_reports_the_month_to_date_peak():
    ctx = context(
        index(24),
        {"price_eur_per_mwh": 100.0, "demand": SPIKE},
        tariffs={"demand_charge_eur_per_kw_month": 10.0},
        month_weight={"2023-06": 1.0},
    )
    docs = [grid(), {"type": "fixed_load", "name": "machines", "series": "demand"}]
    solved = solve_assets(docs, ctx)
    asset = solved.plant.assets["grid"]
    block = solved.plant.block("grid")
    assert asset.final_state(block, ctx, 10) == {"peak_kw:2023-06": 100.0}
    assert asset.final_state(block, ctx, 11) == {"peak_kw:2023-06": 300.0}
    assert pyo.value(solved.plant.terms["grid"].costs_eur["demand_charge"]) == pytest.approx(3000.0)


def test_each_billing_month_is_charged_on_its_own_peak():
    """June 30 22:00 to July 1 02:00 UTC: June peak 500 kW, July peak 200 kW."""
    idx = index(4, "1h", "2023-06-30T22:00Z")
    ctx = context(
        idx,
        {"price_eur_per_mwh": 0.0, "demand": [500.0, 100.0, 200.0, 150.0]},
        tariffs={"demand_charge_eur_per_kw_month": 10.0},
        month_weight={"2023-06": 0.5, "2023-07": 0.25},
    )
    docs = [grid(), {"type": "fixed_load", "name": "machines", "series": "demand"}]
    solved = solve_assets(docs, ctx)
    assert_allclose(
        sorted(pyo.value(v) for v in solved.plant.block("grid").peak_kw.values()), [200, 500]
    )
    expected = 10.0 * (0.5 * 500.0 + 0.25 * 200.0)
    assert solved.report.objective_eur == pytest.approx(expected)


# --------------------------------------------------------------------------- config


def test_grid_needs_a_positive_import_limit(tmp_path):
    doc = scenario_doc(tmp_path, [grid(import_max_kw=0)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "g.yaml")
    assert (
        str(info.value)
        == "g.yaml: plant.assets[0].import_max_kw (asset 'grid'): must be > 0 (got 0)"
    )


def test_long_window_charges_each_month_on_its_own_peak():
    """40 days from June 21 (more than 28: peaks are indexed by each step's month)."""
    idx = index(24 * 40, "1h", "2023-06-21T00:00Z")
    demand = np.full(len(idx), 100.0)
    demand[5] = 400.0  # June 21
    demand[24 * 15] = 250.0  # July 6
    ctx = context(
        idx,
        {"price_eur_per_mwh": 0.0, "demand": demand},
        tariffs={"demand_charge_eur_per_kw_month": 10.0},
        month_weight={"2023-06": 10 / 30, "2023-07": 30 / 31},
    )
    docs = [grid(), {"type": "fixed_load", "name": "machines", "series": "demand"}]
    solved = solve_assets(docs, ctx)
    block = solved.plant.block("grid")
    assert not hasattr(block, "in_month")  # the structural form was used
    assert solved.report.objective_eur == pytest.approx(10.0 * (400 * 10 / 30 + 250 * 30 / 31))
    state = solved.plant.assets["grid"].final_state(block, ctx, len(idx))
    assert state == {"peak_kw:2023-06": 400.0, "peak_kw:2023-07": 250.0}


# ---- intraday: deviations from the day-ahead position ------------------------------------


def _positioned(position_kw, series, **grid_extra):
    """A 100 kW load on a grid holding ``position_kw`` (NaN: none) for 4 hourly intervals."""
    ctx = context(index(4), {"price_eur_per_mwh": 50.0, **series})
    position = np.asarray(position_kw, dtype=float)
    ctx = dataclasses.replace(ctx, grid_position_kw={"grid": position})
    return solve_assets([grid(export_max_kw=500.0, **grid_extra), load(100.0)], ctx)


def test_a_shortfall_against_the_position_pays_the_spread_over_the_day_ahead_price():
    # bought 80 kW day-ahead, the load takes 100 kW: 20 kW short in every hour, settled
    # at 50 + 20 EUR/MWh; the energy term already prices it at 50 EUR/MWh
    solved = _positioned([80.0] * 4, {}, imbalance_spread_eur_per_mwh=20.0)
    assert_allclose(solved.dispatch["grid.deviation_kw"], 20.0, atol=1e-6)
    costs = solved.plant.read().costs_eur
    assert costs["imbalance"] == pytest.approx(4 * 20.0 * 20.0 / 1000)  # 1.60 EUR
    assert costs["energy"] == pytest.approx(4 * 100.0 * 50.0 / 1000)


def test_the_imbalance_price_series_sets_the_reference_of_both_sides():
    # reference 70 EUR/MWh, spread 20: shortfall at 90 (40 above day-ahead), surplus
    # credited at 50 (the day-ahead price: nothing extra)
    series = {"imbalance_eur_per_mwh": 70.0}
    extra = {
        "imbalance_price_series": "imbalance_eur_per_mwh",
        "imbalance_spread_eur_per_mwh": 20.0,
    }
    short = _positioned([80.0] * 4, series, **extra)
    assert short.plant.read().costs_eur["imbalance"] == pytest.approx(4 * 20.0 * 40.0 / 1000)
    long = _positioned([120.0] * 4, series, **extra)
    assert_allclose(long.dispatch["grid.deviation_kw"], -20.0, atol=1e-6)
    assert long.plant.read().costs_eur["imbalance"] == pytest.approx(0.0, abs=1e-9)


def test_intervals_without_a_position_are_free_and_grids_without_one_build_nothing():
    solved = _positioned([80.0, np.nan, np.nan, 80.0], {}, imbalance_spread_eur_per_mwh=20.0)
    assert_allclose(solved.dispatch["grid.deviation_kw"], [20.0, 0.0, 0.0, 20.0], atol=1e-6)
    assert solved.plant.read().costs_eur["imbalance"] == pytest.approx(2 * 20.0 * 20.0 / 1000)
    plain = solve_assets([grid(), load(100.0)], context(index(4), {"price_eur_per_mwh": 50.0}))
    assert "grid.deviation_kw" not in plain.dispatch
    assert plain.plant.block("grid").component("short_kw") is None
    assert plain.plant.read().costs_eur["imbalance"] == 0.0


def test_the_spread_keeps_a_battery_on_the_position_unless_the_price_pays_more():
    # the battery could sell 50 kWh at 80 EUR/MWh in hour 3 after buying it at 50 in
    # hour 0; against a flat position that earns 30 EUR/MWh less two deviations of the
    # spread: worth it at a spread of 10, not at 20
    price = [50.0, 65.0, 65.0, 80.0]
    for spread, moved in ((10.0, 50.0), (20.0, 0.0)):
        docs = [
            grid(export_max_kw=500.0, imbalance_spread_eur_per_mwh=spread),
            load(100.0),
            battery(soc_initial_frac=0.0, soc_terminal_min_frac=0.0),
        ]
        ctx = context(index(4), {"price_eur_per_mwh": price})
        ctx = dataclasses.replace(ctx, grid_position_kw={"grid": np.full(4, 100.0)})
        solved = solve_assets(docs, ctx)
        assert solved.dispatch["grid.deviation_kw"].iloc[0] == pytest.approx(moved, abs=1e-6)
        assert solved.dispatch["grid.deviation_kw"].iloc[3] == pytest.approx(-moved, abs=1e-6)
