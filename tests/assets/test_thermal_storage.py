"""Thermal storage: shifting heat-pump operation to cheap hours, balance re-derived."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.thermal_storage import ThermalStorageParams
from energyopt.errors import ScenarioError
from energyopt.inputs.config import scenario_from_dict

HP = {"type": "heat_pump", "name": "hp", "carrier": "heat_ht", "heat_max_kw": 400.0, "cop": 2.0}


def store(**extra) -> dict:
    doc = {
        "type": "thermal_storage",
        "name": "store",
        "carrier": "heat_ht",
        "capacity_kwh": 300.0,
        "charge_max_kw": 200.0,
        "soc_initial_frac": 0.0,
        "soc_terminal_min_frac": 0.0,
    }
    return {**doc, **extra}


def test_store_shifts_heat_production_to_the_cheap_hour():
    """Cheap hour 1 (20 EUR/MWh), dear hour 2 (200): the HP makes hour 2's heat early.

    Lossless store: hour 1 the HP makes 100 kW for the load plus 100 kW into the
    store; hour 2 the store gives 100 kW and the HP idles. Cost: 200 kWh of heat
    at COP 2 = 100 kWh of electricity at 0.02 EUR/kWh = 2 EUR.
    """
    ctx = context(index(2), {"price_eur_per_mwh": [20.0, 200.0]})
    doc = store(efficiency_charge=1.0, efficiency_discharge=1.0, loss_frac_per_h=0.0)
    solved = solve_assets([grid(), load(100.0, "heat_ht"), HP, doc], ctx)
    d = solved.dispatch
    assert_allclose(d["hp.heat_kw"], [200.0, 0.0], atol=1e-6)
    assert_allclose(d["store.charge_kw"], [100.0, 0.0], atol=1e-6)
    assert_allclose(d["store.discharge_kw"], [0.0, 100.0], atol=1e-6)
    # 200 kWh of heat at COP 2 bought at 20 EUR/MWh
    assert solved.report.objective_eur == pytest.approx(100.0 * 0.02, abs=1e-6)


def test_level_balance_with_losses_re_derived():
    prices = [20.0, 200.0, 30.0, 180.0, 25.0, 210.0, 40.0, 90.0]
    ctx = context(index(8, "15min"), {"price_eur_per_mwh": prices})
    doc = store(loss_frac_per_h=0.01, soc_initial_frac=0.5)
    d = solve_assets([grid(), load(100.0, "heat_ht"), HP, doc], ctx).dispatch
    keep = 0.99**0.25
    before = np.concatenate([[150.0], d["store.level_kwh"].to_numpy()[:-1]])
    rebuilt = keep * before + 0.25 * (0.99 * d["store.charge_kw"] - d["store.discharge_kw"] / 0.99)
    assert_allclose(d["store.level_kwh"], rebuilt, atol=1e-6)
    assert (d["store.level_kwh"] >= -1e-9).all()
    heat = d["hp.heat_kw"] + d["store.discharge_kw"] - d["store.charge_kw"]
    assert_allclose(heat, 100.0, atol=1e-6)


def test_defaults_are_the_hot_water_tank_figures():
    params = ThermalStorageParams(
        type="thermal_storage", name="tank", capacity_kwh=1.0, charge_max_kw=1.0
    )
    assert params.carrier == "heat_ht"
    assert params.loss_frac_per_h == pytest.approx(0.000077)
    assert (params.efficiency_charge, params.efficiency_discharge) == (0.99, 0.99)


def test_cold_store_on_the_cooling_carrier():
    """Chilled-water tank with the default standing loss: the chiller runs in the cheap
    hour only and makes up for the loss, 100 / (1 - 0.000077) kWh into the store."""
    ctx = context(index(2), {"price_eur_per_mwh": [20.0, 200.0], "temp_air_degc": 25.0})
    chiller = {"type": "chiller", "name": "ch", "cooling_max_kw": 400.0}
    doc = store(carrier="cooling", efficiency_charge=1.0, efficiency_discharge=1.0)
    d = solve_assets([grid(), load(100.0, "cooling"), chiller, doc], ctx).dispatch
    stored = 100.0 / (1 - 0.000077)
    assert_allclose(d["ch.cooling_kw"], [100.0 + stored, 0.0], atol=1e-6)
    assert_allclose(d["store.net_cooling_kw"], [-stored, 100.0], atol=1e-6)


def test_initial_level_outside_the_window_is_rejected(tmp_path):
    doc = scenario_doc(tmp_path, [grid(), store(soc_min_frac=0.2, soc_initial_frac=0.1)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "s.yaml")
    assert str(info.value) == (
        "s.yaml: plant.assets[1] (asset 'store'): "
        "soc_initial_frac=0.1 lies outside [soc_min_frac, soc_max_frac]"
    )
