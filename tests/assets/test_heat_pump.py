"""Heat pump: Carnot COP, conversion re-derived, source carrier, merit order vs gas boiler."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import assets_from, context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.heat_pump import carnot_cop
from energyopt.errors import InfeasibleError, ModelBuildError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model


def heat_pump(**extra) -> dict:
    doc = {"type": "heat_pump", "name": "hp", "carrier": "heat_ht", "heat_max_kw": 500.0}
    return {**doc, **extra}


def boiler(**extra) -> dict:
    doc = {"type": "gas_boiler", "name": "boiler", "carrier": "heat_ht", "heat_max_kw": 500.0}
    return {**doc, **extra}


# ------------------------------------------------------------------------------- COP


def test_carnot_cop_hand_value():
    """130 degC sink, 40 degC source: 0.5 * 403.15 K / 90 K = 2.2397."""
    assert carnot_cop(130.0, 40.0, 0.5) == pytest.approx(0.5 * 403.15 / 90.0)


def test_carnot_cop_uses_the_smallest_lift_and_the_cap():
    assert carnot_cop(60.0, 58.0, 0.5, cop_max=100.0, lift_min_k=5.0) == pytest.approx(
        0.5 * 333.15 / 5.0
    )
    assert carnot_cop(60.0, 58.0, 0.5, cop_max=8.0) == 8.0


def test_carnot_cop_takes_arrays():
    cop = carnot_cop(np.array([55.0, 55.0]), np.array([-5.0, 15.0]), 0.45)
    assert_allclose(cop, 0.45 * 328.15 / np.array([60.0, 40.0]))


def test_cop_follows_the_outdoor_temperature():
    temps = [-5.0, 5.0, 15.0, 25.0]
    ctx = context(index(4), {"price_eur_per_mwh": 100.0, "temp_air_degc": temps})
    doc = heat_pump(carrier="heat_lt", sink_temp_degc=55.0, carnot_efficiency_frac=0.45)
    solved = solve_assets([grid(), load(100.0, "heat_lt"), doc], ctx)
    d = solved.dispatch
    assert_allclose(d["hp.cop"], carnot_cop(55.0, np.array(temps), 0.45))
    assert_allclose(d["hp.heat_kw"], d["hp.cop"] * d["hp.power_el_kw"], rtol=1e-9)
    assert_allclose(d["hp.heat_kw"], 100.0)
    assert d["hp.power_el_kw"].is_monotonic_decreasing  # warmer air, less power


def test_air_source_heat_pump_without_weather_names_the_missing_series():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    with pytest.raises(ModelBuildError, match="asset 'hp': input series 'temp_air_degc'"):
        build_model(assets_from([grid(), heat_pump()]), ctx)


# ------------------------------------------------------------------------ conversion


def test_fixed_cop_conversion_and_rating():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    solved = solve_assets([grid(), load(300.0, "heat_ht"), heat_pump(cop=3.0)], ctx)
    d = solved.dispatch
    assert_allclose(d["hp.power_el_kw"], 100.0)
    assert_allclose(d["hp.net_electricity_kw"], -100.0)
    assert_allclose(d["hp.net_heat_ht_kw"], 300.0)
    assert solved.report.objective_eur == pytest.approx(2 * 100 * 0.1)


def test_heat_above_the_rating_is_infeasible():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    with pytest.raises(InfeasibleError, match="heat_ht balance short of supply: .*up to 100.0 kW"):
        solve_assets([grid(), load(600.0, "heat_ht"), heat_pump(cop=3.0)], ctx)


def test_source_carrier_supplies_heat_minus_electricity():
    """90 kW at COP 3: 30 kW electricity plus 60 kW lifted from heat_lt."""
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    docs = [
        grid(),
        load(90.0, "heat_ht"),
        heat_pump(cop=3.0, source_carrier="heat_lt"),
        boiler(name="waste_heat", carrier="heat_lt", fuel_price_eur_per_mwh=0.0),
    ]
    d = solve_assets(docs, ctx).dispatch
    assert_allclose(d["hp.power_el_kw"], 30.0)
    assert_allclose(d["hp.net_heat_lt_kw"], -60.0)
    assert_allclose(d["waste_heat.heat_kw"], 60.0)


def test_source_carrier_must_differ_from_the_sink(tmp_path):
    doc = scenario_doc(tmp_path, [grid(), heat_pump(cop=3.0, source_carrier="heat_ht")])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "hp.yaml")
    assert str(info.value) == (
        "hp.yaml: plant.assets[1] (asset 'hp'): source_carrier must differ from carrier"
    )


# ------------------------------------------------------------------- merit order


def _runs(gas_eur_per_mwh: float, co2_price: float = 0.0) -> tuple[float, float]:
    """Heat from heat pump and boiler [kWh] for a 100 kW heat load over 2 h."""
    ctx = context(
        index(2),
        {"price_eur_per_mwh": 90.0},
        tariffs={"gas_price_eur_per_mwh": gas_eur_per_mwh, "co2_price_eur_per_t": co2_price},
    )
    docs = [
        grid(co2_g_per_kwh=300.0),
        load(100.0, "heat_ht"),
        heat_pump(cop=3.0),
        boiler(efficiency=0.9),
    ]
    d = solve_assets(docs, ctx).dispatch
    return float(d["hp.heat_kw"].sum()), float(d["boiler.heat_kw"].sum())


#: 90 EUR/MWh / COP 3 = 30 EUR per MWh of heat = gas / 0.9  ->  gas = 27 EUR/MWh
BREAK_EVEN_EUR_PER_MWH = 90.0 / 3.0 * 0.9


@pytest.mark.parametrize("factor", [0.9, 0.999, 0.9999])
def test_boiler_runs_when_gas_is_below_the_break_even(factor):
    hp_kwh, boiler_kwh = _runs(BREAK_EVEN_EUR_PER_MWH * factor)
    assert boiler_kwh == pytest.approx(200.0)
    assert hp_kwh == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("factor", [1.0001, 1.001, 1.1])
def test_heat_pump_runs_when_gas_is_above_the_break_even(factor):
    hp_kwh, boiler_kwh = _runs(BREAK_EVEN_EUR_PER_MWH * factor)
    assert hp_kwh == pytest.approx(200.0)
    assert boiler_kwh == pytest.approx(0.0, abs=1e-9)


def test_co2_price_moves_the_break_even():
    """With 100 EUR/t: heat pump (0.09 + 0.1 * 0.300) / 3 = 0.040 EUR/kWh_heat;
    boiler (gas + 0.1 * 0.202) / 0.9  ->  break-even gas = 0.036 - 0.0202 = 15.8 EUR/MWh."""
    break_even = (0.04 * 0.9 - 0.1 * 0.202) * 1000.0
    assert break_even == pytest.approx(15.8)
    assert _runs(break_even * 0.999, co2_price=100.0) == pytest.approx((0.0, 200.0), abs=1e-6)
    assert _runs(break_even * 1.001, co2_price=100.0) == pytest.approx((200.0, 0.0), abs=1e-6)


def test_heat_pump_block_reports_its_ratio_as_mutable():
    ctx = context(index(3), {"price_eur_per_mwh": 100.0})
    plant = build_model(assets_from([grid(), heat_pump(cop=2.5)]), ctx)
    b = plant.block("hp")
    assert b.ratio.mutable
    assert [pyo.value(b.ratio[t]) for t in range(3)] == [2.5, 2.5, 2.5]
