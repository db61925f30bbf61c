"""Gas and electric boilers: conversion, fuel cost, CO2, ratings, step independence."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from helpers import context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.errors import InfeasibleError, ScenarioError
from energyopt.inputs.config import scenario_from_dict


def gas_boiler(**extra) -> dict:
    doc = {"type": "gas_boiler", "name": "boiler", "carrier": "heat_ht", "heat_max_kw": 500.0}
    return {**doc, **extra}


def electric_boiler(**extra) -> dict:
    doc = {"type": "electric_boiler", "name": "eboiler", "carrier": "heat_ht", "heat_max_kw": 500.0}
    return {**doc, **extra}


def test_gas_boiler_fuel_cost_and_co2_by_hand():
    """186 kW heat for 2 h at 0.93: 400 kWh fuel; 40 EUR/MWh -> 16 EUR; 0.202 kg/kWh -> 80.8 kg."""
    ctx = context(index(2), {"price_eur_per_mwh": 0.0}, tariffs={"gas_price_eur_per_mwh": 40.0})
    solved = solve_assets([grid(), load(186.0, "heat_ht"), gas_boiler()], ctx)
    d = solved.dispatch
    assert_allclose(d["boiler.fuel_kw"], 200.0)
    assert_allclose(d["boiler.heat_kw"], 0.93 * d["boiler.fuel_kw"])
    assert_allclose(d["boiler.efficiency"], 0.93)
    terms = solved.plant.terms["boiler"]
    assert pyo.value(terms.costs_eur["fuel"]) == pytest.approx(16.0)
    assert pyo.value(terms.co2_kg) == pytest.approx(80.8)
    assert solved.report.objective_eur == pytest.approx(16.0)


def test_gas_boiler_own_fuel_price_overrides_the_tariff():
    ctx = context(index(1), {"price_eur_per_mwh": 0.0}, tariffs={"gas_price_eur_per_mwh": 40.0})
    doc = gas_boiler(efficiency=1.0, fuel_price_eur_per_mwh=100.0, co2_kg_per_kwh_fuel=0.0)
    solved = solve_assets([grid(), load(50.0, "heat_ht"), doc], ctx)
    assert solved.report.objective_eur == pytest.approx(5.0)


def test_gas_boiler_co2_is_priced_in_the_objective():
    ctx = context(
        index(1),
        {"price_eur_per_mwh": 0.0},
        tariffs={"gas_price_eur_per_mwh": 0.0, "co2_price_eur_per_t": 100.0},
    )
    solved = solve_assets([grid(), load(100.0, "heat_ht"), gas_boiler(efficiency=1.0)], ctx)
    assert solved.report.objective_eur == pytest.approx(100.0 * 0.202 * 0.1)


def test_electric_boiler_converts_at_its_efficiency():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    solved = solve_assets([grid(), load(99.0, "heat_lt"), electric_boiler(carrier="heat_lt")], ctx)
    d = solved.dispatch
    assert_allclose(d["eboiler.power_el_kw"], 100.0)
    assert_allclose(d["eboiler.heat_kw"], 0.99 * d["eboiler.power_el_kw"])
    assert_allclose(d["grid.import_kw"], 100.0)
    assert solved.report.objective_eur == pytest.approx(20.0)


def test_cheaper_boiler_covers_first_and_the_other_the_rest():
    """Gas 30 EUR/MWh / 0.93 < electricity 100 / 0.99: gas at its 500 kW rating, then electric."""
    ctx = context(index(2), {"price_eur_per_mwh": 100.0}, tariffs={"gas_price_eur_per_mwh": 30.0})
    d = solve_assets(
        [grid(), load(700.0, "heat_ht"), gas_boiler(), electric_boiler()], ctx
    ).dispatch
    assert_allclose(d["boiler.heat_kw"], 500.0)
    assert_allclose(d["eboiler.heat_kw"], 200.0)


def test_heat_above_both_ratings_is_infeasible():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    with pytest.raises(InfeasibleError, match="heat_ht balance short of supply: .*up to 100.0 kW"):
        solve_assets([grid(), load(1100.0, "heat_ht"), gas_boiler(), electric_boiler()], ctx)


def test_energies_do_not_depend_on_the_step():
    energies = {}
    for step, n, dt_h in (("15min", 8, 0.25), ("1h", 2, 1.0)):
        ctx = context(index(n, step), {"price_eur_per_mwh": 0.0})
        solved = solve_assets([grid(), load(186.0, "heat_ht"), gas_boiler()], ctx)
        energies[step] = (
            solved.dispatch["boiler.fuel_kw"].sum() * dt_h,
            pyo.value(solved.plant.terms["boiler"].costs_eur["fuel"]),
        )
    assert energies["15min"] == pytest.approx(energies["1h"])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (gas_boiler(efficiency=1.1), "plant.assets[1].efficiency (asset 'boiler'): must be <= 1"),
        (gas_boiler(heat_max_kw=-1), "plant.assets[1].heat_max_kw (asset 'boiler'): must be > 0"),
        (
            electric_boiler(efficiency=0),
            "plant.assets[1].efficiency (asset 'eboiler'): must be > 0",
        ),
    ],
)
def test_invalid_boiler_names_the_asset(tmp_path, doc, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scenario_doc(tmp_path, [grid(), doc]), "b.yaml")
    assert message in str(info.value)
