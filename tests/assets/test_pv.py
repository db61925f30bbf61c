"""PV: available power from the weather, curtailment, export, must-run."""

from __future__ import annotations

import pytest
from helpers import SITE, context, grid, load, solve_assets, sunny_day
from numpy.testing import assert_allclose

from energyopt.errors import InfeasibleError
from energyopt.inputs.weather import pv_power_kw

PV = {"type": "pv", "name": "pv", "peak_power_kwp": 100.0, "tilt_deg": 30.0}


@pytest.fixture
def day():
    idx, weather = sunny_day()
    return idx, {"price_eur_per_mwh": 100.0, **weather}


def test_available_power_is_the_pvwatts_chain_on_the_site_weather(day):
    idx, series = day
    ctx = context(idx, series)
    d = solve_assets([grid(), load(500.0), PV], ctx).dispatch
    expected = pv_power_kw(
        ctx.series, SITE.latitude, SITE.longitude, SITE.altitude_m, 100.0, 30.0, 180.0, 0.14
    )
    assert_allclose(d["pv.available_kw"], expected)
    assert d["pv.available_kw"].max() > 60.0  # clear June noon, 100 kWp
    assert_allclose(d["pv.available_kw"].iloc[:2], 0.0)  # night
    assert_allclose(d["pv.power_kw"], d["pv.available_kw"], atol=1e-6)  # all used on site
    assert_allclose(d["grid.import_kw"], 500.0 - d["pv.power_kw"], atol=1e-6)


def test_surplus_is_curtailed_when_export_is_not_allowed(day):
    idx, series = day
    d = solve_assets([grid(), load(20.0), PV], context(idx, series)).dispatch
    assert_allclose(d["pv.power_kw"], d["pv.available_kw"].clip(upper=20.0), atol=1e-6)
    assert_allclose(d["pv.curtailed_kw"], d["pv.available_kw"] - d["pv.power_kw"])
    assert d["pv.curtailed_kw"].max() > 30.0


def test_surplus_is_exported_when_allowed(day):
    """With a grid fee, buying to sell back never pays: export is the PV surplus."""
    idx, series = day
    ctx = context(idx, series, tariffs={"grid_fee_eur_per_mwh": 10.0})
    d = solve_assets([grid(export_max_kw=1000.0), load(20.0), PV], ctx).dispatch
    assert_allclose(d["pv.power_kw"], d["pv.available_kw"], atol=1e-6)
    assert_allclose(d["grid.export_kw"], (d["pv.available_kw"] - 20.0).clip(lower=0), atol=1e-6)


def test_negative_prices_curtail_rather_than_pay_for_export(day):
    idx, series = day
    series["price_eur_per_mwh"] = -50.0
    d = solve_assets([grid(export_max_kw=1000.0), load(20.0), PV], context(idx, series)).dispatch
    assert_allclose(d["grid.export_kw"], 0.0, atol=1e-6)


def test_must_run_pv_with_a_surplus_and_no_export_is_infeasible(day):
    idx, series = day
    with pytest.raises(InfeasibleError, match="electricity balance has surplus it cannot use"):
        solve_assets([grid(), load(20.0), {**PV, "curtailable": False}], context(idx, series))


def test_pv_energy_at_15_minutes_and_1_hour_agree_within_1_percent():
    """Clear-sky days at both steps; the difference comes from sampling the sun path."""
    energies = []
    for step, dt_h in (("15min", 0.25), ("1h", 1.0)):
        idx, weather = sunny_day(step)
        ctx = context(idx, {"price_eur_per_mwh": 100.0, **weather})
        d = solve_assets([grid(), load(500.0), PV], ctx).dispatch
        energies.append(d["pv.power_kw"].sum() * dt_h)
    assert energies[0] == pytest.approx(energies[1], rel=0.01)
    assert 500 < energies[0] < 900  # kWh on a clear June day per 100 kWp
