"""Chiller: COP against outdoor temperature, cooling re-derived, limits."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.assets.chiller import chiller_cop
from energyopt.errors import InfeasibleError, ScenarioError
from energyopt.inputs.config import scenario_from_dict


def chiller(**extra) -> dict:
    return {"type": "chiller", "name": "chiller", "cooling_max_kw": 600.0, **extra}


def test_cop_hand_values_and_clipping():
    """5.5 at 25 degC, 0.12 per K: 35 degC -> 4.3; 0 degC -> 8.5; clipped at 2 and 9."""
    temps = np.array([25.0, 35.0, 0.0, 60.0, -30.0])
    cop = chiller_cop(temps, 5.5, 25.0, 0.12, 2.0, 9.0)
    assert_allclose(cop, [5.5, 4.3, 8.5, 2.0, 9.0])


def test_cooling_equals_cop_times_power_at_every_step():
    temps = [10.0, 20.0, 30.0, 40.0]
    ctx = context(index(4, "15min"), {"price_eur_per_mwh": 100.0, "temp_air_degc": temps})
    solved = solve_assets([grid(), load(500.0, "cooling"), chiller()], ctx)
    d = solved.dispatch
    assert_allclose(d["chiller.cop"], chiller_cop(np.array(temps), 5.5, 25.0, 0.12, 2.0, 9.0))
    assert_allclose(d["chiller.cooling_kw"], d["chiller.cop"] * d["chiller.power_el_kw"])
    assert_allclose(d["chiller.cooling_kw"], 500.0)
    assert_allclose(d["chiller.net_electricity_kw"], -d["chiller.power_el_kw"])
    energy_kwh = (d["chiller.power_el_kw"] * 0.25).sum()
    assert solved.report.objective_eur == pytest.approx(0.1 * energy_kwh)


def test_cooling_above_the_rating_is_infeasible():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0, "temp_air_degc": 20.0})
    with pytest.raises(InfeasibleError, match="cooling balance short of supply: .*up to 100.0 kW"):
        solve_assets([grid(), load(700.0, "cooling"), chiller()], ctx)


def test_cop_bounds_must_be_ordered(tmp_path):
    doc = scenario_doc(tmp_path, [grid(), chiller(cop_min=6.0, cop_max=4.0)])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "c.yaml")
    assert (
        str(info.value)
        == "c.yaml: plant.assets[1] (asset 'chiller'): cop_min must not exceed cop_max"
    )
