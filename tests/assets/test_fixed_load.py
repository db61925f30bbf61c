"""Fixed load: constant and series profiles on any carrier, bad profiles."""

from __future__ import annotations

import pytest
from helpers import assets_from, context, grid, index, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.errors import ModelBuildError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model


def test_constant_load_is_served_by_the_grid():
    ctx = context(index(3), {"price_eur_per_mwh": 100.0})
    doc = {"type": "fixed_load", "name": "machines", "power_kw": 250.0}
    solved = solve_assets([grid(), doc], ctx)
    assert_allclose(solved.dispatch["machines.demand_kw"], 250.0)
    assert_allclose(solved.dispatch["machines.net_electricity_kw"], -250.0)
    assert solved.report.objective_eur == pytest.approx(3 * 25.0)


def test_series_profile_is_scaled():
    ctx = context(index(3), {"price_eur_per_mwh": 100.0, "profile": [1.0, 2.0, 3.0]})
    doc = {"type": "fixed_load", "name": "hall", "series": "profile", "scale": 100.0}
    d = solve_assets([grid(), doc], ctx).dispatch
    assert_allclose(d["hall.demand_kw"], [100.0, 200.0, 300.0])
    assert_allclose(d["grid.import_kw"], [100.0, 200.0, 300.0])


def test_load_on_a_heat_carrier_needs_a_heat_supply():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    docs = [
        grid(),
        {"type": "fixed_load", "name": "space", "carrier": "heat_lt", "power_kw": 40.0},
        {"type": "electric_boiler", "name": "eb", "carrier": "heat_lt", "heat_max_kw": 100.0},
    ]
    d = solve_assets(docs, ctx).dispatch
    assert_allclose(d["space.net_heat_lt_kw"], -40.0)
    assert_allclose(d["eb.heat_kw"], 40.0)


def test_negative_profile_names_the_asset_and_time():
    ctx = context(index(3), {"price_eur_per_mwh": 100.0, "profile": [1.0, -2.0, 3.0]})
    doc = {"type": "fixed_load", "name": "hall", "series": "profile"}
    with pytest.raises(ModelBuildError) as info:
        build_model(assets_from([grid(), doc]), ctx)
    assert str(info.value) == (
        "asset 'hall': negative demand in 'profile' at 2023-06-05T01:00:00+00:00"
    )


def test_unknown_series_names_the_asset_and_the_known_series():
    ctx = context(index(2), {"price_eur_per_mwh": 100.0})
    doc = {"type": "fixed_load", "name": "hall", "series": "demand_kw"}
    with pytest.raises(ModelBuildError) as info:
        build_model(assets_from([grid(), doc]), ctx)
    assert str(info.value) == (
        "asset 'hall': input series 'demand_kw' is not defined (site series: price_eur_per_mwh)"
    )


@pytest.mark.parametrize(
    "profile", [{}, {"power_kw": 5.0, "series": "profile"}], ids=["none", "both"]
)
def test_exactly_one_profile_source(tmp_path, profile):
    doc = scenario_doc(tmp_path, [grid(), {"type": "fixed_load", "name": "hall", **profile}])
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc, "l.yaml")
    assert str(info.value) == (
        "l.yaml: plant.assets[1] (asset 'hall'): give exactly one of power_kw or series"
    )
