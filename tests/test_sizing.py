"""Capacities as decisions: hand-solved sizing cases, costs, validation, unchanged models."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import (
    EXACT,
    SITE,
    assets_from,
    context,
    grid,
    index,
    load,
    scenario_doc,
    sunny_day,
    write_scenario,
)
from typer.testing import CliRunner

from energyopt.assets import ASSET_TYPES, create_asset
from energyopt.assets.sizing import capital_recovery_factor
from energyopt.cli import app
from energyopt.engine.pipeline import build_plant, load_inputs, make_context, period_index
from energyopt.errors import ModelBuildError, ScenarioError
from energyopt.inputs.config import load_scenario, scenario_from_dict
from energyopt.inputs.weather import pv_power_kw
from energyopt.model import build_model
from energyopt.model.solve import solve
from energyopt.outputs.sizing import sizing_kpis
from energyopt.studies.sizing import operating_weight, size_scenario
from tests.conftest import SCENARIOS

#: one modelled day stands for 365
DAY_WEIGHT = 365.0


def sized(docs, ctx, weight: float = DAY_WEIGHT):
    """Build and solve ``docs`` as a sizing build; returns (plant, report, reading)."""
    plant = build_model(
        assets_from(docs), dataclasses.replace(ctx, sizing=True), operating_weight=weight
    )
    report = solve(plant, EXACT)
    return plant, report, plant.read()


def chosen(reading) -> dict[str, float]:
    """``<asset>.<key>`` -> chosen capacity."""
    return {c.name: c.value for c in reading.capacities}


def option(max_value: float, capex: float, lifetime_a: float = 10.0, **extra) -> dict:
    """An extendable entry with no interest, so that the annual cost is capex / lifetime."""
    return {
        "max": max_value,
        "capex_eur_per_unit": capex,
        "lifetime_a": lifetime_a,
        "wacc_frac": 0.0,
        **extra,
    }


# ---------------------------------------------------------------- capital recovery factor


@pytest.mark.parametrize(("wacc", "lifetime_a"), [(0.07, 25.0), (0.05, 40.0), (0.1, 10.0)])
def test_capital_recovery_factor_is_the_annuity_formula(wacc, lifetime_a):
    growth = (1 + wacc) ** lifetime_a
    assert capital_recovery_factor(wacc, lifetime_a) == pytest.approx(
        wacc * growth / (growth - 1), rel=1e-12
    )


def test_capital_recovery_factor_by_hand_and_without_interest():
    """7 % over 10 a: 0.07 * 1.967151 / 0.967151 = 0.142378; 0 % over 20 a: 1/20."""
    assert capital_recovery_factor(0.07, 10.0) == pytest.approx(0.142378, abs=1e-6)
    assert capital_recovery_factor(0.0, 20.0) == 0.05
    assert capital_recovery_factor(1e-9, 20.0) == pytest.approx(0.05, rel=1e-6)


def test_one_day_weighs_365_at_any_step():
    assert operating_weight(index(24)) == DAY_WEIGHT
    assert operating_weight(index(96, "15min")) == DAY_WEIGHT
    assert operating_weight(index(24 * 7)) == pytest.approx(52.142857, abs=1e-6)


# ------------------------------------------------------------------------------- PV


PV = {"type": "pv", "name": "pv", "peak_power_kwp": 1.0, "tilt_deg": 30.0}


def pv_day():
    """A clear June day at 100 EUR/MWh flat, 50 kW of load, exports paid the same price."""
    idx, weather = sunny_day()
    ctx = context(idx, {"price_eur_per_mwh": 100.0, **weather})
    yield_kwh_per_kwp = pv_power_kw(
        ctx.series, SITE.latitude, SITE.longitude, SITE.altitude_m, 1.0, 30.0, 180.0, 0.14
    ).sum()  # 1 h steps
    return ctx, float(yield_kwh_per_kwp)


def test_pv_cheaper_than_the_grid_in_every_hour_is_built_to_its_upper_bound():
    """500 EUR/kWp over 20 a without interest: 25 EUR/kWp/a. A kWp yields Y kWh a day
    (clear June day), worth 0.1 EUR/kWh on site or exported: 36.5 * Y EUR/a > 25.
    With no export limit every kWp pays, so PV goes to max = 1000 kWp, and
    annual cost = 365 * (50 kW * 24 h * 0.1 - 0.1 * Y * 1000) + 25 * 1000."""
    ctx, y = pv_day()
    assert 0.1 * y * DAY_WEIGHT > 25.0  # the hand condition
    pv = {**PV, "extendable": {"peak_power_kwp": option(1000.0, 500.0, 20.0)}}
    docs = [grid(export_max_kw=10_000.0), load(50.0), pv]
    _, report, reading = sized(docs, ctx)
    assert chosen(reading) == {"pv.peak_power_kwp": pytest.approx(1000.0, abs=1e-6)}
    expected = DAY_WEIGHT * (50.0 * 24 * 0.1 - 0.1 * y * 1000.0) + 25.0 * 1000.0
    assert report.objective_eur == pytest.approx(expected, rel=1e-9)
    assert reading.dispatch["pv.available_kw"].sum() == pytest.approx(1000.0 * y, rel=1e-9)


def test_pv_dearer_than_the_grid_stays_at_its_lower_bound():
    """1500 EUR/kWp over 5 a: 300 EUR/kWp/a, above 36.5 * Y: only min = 10 kWp is built."""
    ctx, y = pv_day()
    assert 0.1 * y * DAY_WEIGHT < 300.0
    pv = {**PV, "extendable": {"peak_power_kwp": option(1000.0, 1500.0, 5.0, min=10.0)}}
    _, _, reading = sized([grid(export_max_kw=10_000.0), load(50.0), pv], ctx)
    assert chosen(reading)["pv.peak_power_kwp"] == pytest.approx(10.0, abs=1e-6)


# -------------------------------------------------------------------------- battery


def battery(**extra) -> dict:
    """A lossless battery, empty at start and allowed to end empty; sizes set by tests."""
    doc = {
        "type": "battery",
        "name": "bess",
        "capacity_kwh": 1.0,
        "charge_max_kw": 1.0,
        "efficiency_charge": 1.0,
        "efficiency_discharge": 1.0,
        "soc_initial_frac": 0.0,
        "soc_terminal_min_frac": 0.0,
    }
    return {**doc, **extra}


def spread_day():
    """20 h at 50 EUR/MWh, then 4 h at 150 EUR/MWh; 100 kW of load; no export."""
    return context(index(24), {"price_eur_per_mwh": [50.0] * 20 + [150.0] * 4})


#: the energy at 190 EUR/kWh over 10 a (19 EUR/kWh/a), the inverter at 214 EUR/kW (21.4)
STORE = option(5000.0, 190.0)
INVERTER = option(5000.0, 214.0)


def test_battery_without_a_price_spread_is_not_built():
    """Flat 100 EUR/MWh: nothing to earn, any size costs: zero energy and zero power."""
    ctx = context(index(24), {"price_eur_per_mwh": 100.0})
    bess = battery(extendable={"capacity_kwh": STORE, "charge_max_kw": INVERTER})
    _, report, reading = sized([grid(), load(100.0), bess], ctx)
    assert chosen(reading) == {
        "bess.capacity_kwh": pytest.approx(0.0, abs=1e-9),
        "bess.charge_max_kw": pytest.approx(0.0, abs=1e-9),
    }
    assert report.objective_eur == pytest.approx(DAY_WEIGHT * 100.0 * 24 * 0.1)


def test_battery_with_one_known_spread_gets_the_hand_size():
    """Each kWh stored in the cheap hours displaces a kWh bought at the 0.1 EUR/kWh dearer
    price: 36.5 EUR/a per kWh of capacity, against 19 EUR/a for the store and, per kWh,
    0.25 kW of inverter (4 h of discharge) at 21.4 EUR/kW/a: 24.35 EUR/a. It pays up to
    what the load can take in the dear hours, 100 kW * 4 h = 400 kWh, at 100 kW.
    Annual cost = 365 * (160 - 40) EUR + 400 * 19 + 100 * 21.4 = 53,540 EUR."""
    bess = battery(extendable={"capacity_kwh": STORE, "charge_max_kw": INVERTER})
    _, report, reading = sized([grid(), load(100.0), bess], spread_day())
    assert chosen(reading) == {
        "bess.capacity_kwh": pytest.approx(400.0, abs=1e-6),
        "bess.charge_max_kw": pytest.approx(100.0, abs=1e-6),
    }
    assert report.objective_eur == pytest.approx(53_540.0, abs=1e-6)
    kpis = sizing_kpis(reading)
    assert kpis["cost_capex_eur_per_a"] == pytest.approx(400 * 19.0 + 100 * 21.4)
    assert kpis["cost_operating_eur_per_a"] == pytest.approx(DAY_WEIGHT * 120.0)
    assert kpis["total_cost_eur_per_a"] == pytest.approx(report.objective_eur, rel=1e-9)
    assert kpis["capacity.bess.capacity_kwh"] == pytest.approx(400.0, abs=1e-6)


def test_battery_whose_store_costs_more_than_the_spread_earns_is_not_built():
    """400 EUR/kWh over 10 a: 40 EUR/kWh/a > 36.5 EUR/kWh/a earned."""
    bess = battery(charge_max_kw=1000.0, extendable={"capacity_kwh": option(5000.0, 400.0)})
    _, _, reading = sized([grid(), load(100.0), bess], spread_day())
    assert chosen(reading)["bess.capacity_kwh"] == pytest.approx(0.0, abs=1e-9)


def test_module_sizes_give_a_whole_number_of_modules():
    """150 kWh modules around the 400 kWh optimum: 3 modules (450 kWh, 50 unused) cost
    365 * 120 + 450 * 19 + 100 * 21.4 = 54,490 EUR/a; 2 (300 kWh at 75 kW) cost
    365 * 130 + 300 * 19 + 75 * 21.4 = 54,755 EUR/a: three modules."""
    store = {**STORE, "module_size": 150.0}
    bess = battery(extendable={"capacity_kwh": store, "charge_max_kw": INVERTER})
    plant, report, reading = sized([grid(), load(100.0), bess], spread_day())
    assert chosen(reading)["bess.capacity_kwh"] == pytest.approx(450.0, abs=1e-6)
    assert plant.block("bess").capacity_kwh_modules.value == pytest.approx(3.0)
    assert report.objective_eur == pytest.approx(54_490.0, abs=1e-6)


def test_an_initial_level_as_a_fraction_stays_linear_in_the_chosen_capacity():
    """Half full at start and at the end: a capacity C can shift only C / 2 (charge from
    C / 2 to C, discharge back). At 10 EUR/kWh/a (< 36.5 / 2) it pays up to the 400 kWh
    the load takes: C = 800 kWh, 100 kW; 365 * 120 + 800 * 10 + 100 * 21.4 = 53,940."""
    bess = battery(
        soc_initial_frac=0.5,
        soc_terminal_min_frac=0.5,
        extendable={"capacity_kwh": option(5000.0, 100.0), "charge_max_kw": INVERTER},
    )
    plant, report, reading = sized([grid(), load(100.0), bess], spread_day())
    assert chosen(reading)["bess.capacity_kwh"] == pytest.approx(800.0, abs=1e-6)
    assert report.objective_eur == pytest.approx(53_940.0, abs=1e-6)
    assert reading.dispatch["bess.soc_frac"].iloc[-1] == pytest.approx(0.5, abs=1e-9)


def test_a_sized_store_refuses_a_rolling_window_naming_the_asset():
    ctx = dataclasses.replace(spread_day(), open_end=True, sizing=True)
    bess = battery(extendable={"capacity_kwh": STORE})
    with pytest.raises(ModelBuildError, match="asset 'bess': a sized capacity_kwh needs one"):
        build_model(assets_from([grid(), load(100.0), bess]), ctx)


def test_no_simultaneous_uses_the_upper_bound_as_big_m_and_keeps_the_hand_size():
    bess = battery(
        no_simultaneous=True, extendable={"capacity_kwh": STORE, "charge_max_kw": INVERTER}
    )
    plant, report, reading = sized([grid(), load(100.0), bess], spread_day())
    assert chosen(reading)["bess.capacity_kwh"] == pytest.approx(400.0, abs=1e-6)
    assert report.objective_eur == pytest.approx(53_540.0, abs=1e-6)
    row = plant.block("bess").charge_only[0]
    assert row.body.to_string().count("5000") == 1  # charge <= max * is_charging


def test_a_discharge_converter_of_its_own_is_sized_separately():
    """Charging 400 kWh over 20 cheap hours needs only 20 kW; discharging 100 kW."""
    bess = battery(
        extendable={"capacity_kwh": STORE, "charge_max_kw": INVERTER, "discharge_max_kw": INVERTER}
    )
    _, report, reading = sized([grid(), load(100.0), bess], spread_day())
    sizes = chosen(reading)
    assert sizes["bess.charge_max_kw"] == pytest.approx(20.0, abs=1e-6)
    assert sizes["bess.discharge_max_kw"] == pytest.approx(100.0, abs=1e-6)
    assert report.objective_eur == pytest.approx(
        DAY_WEIGHT * 120.0 + 400 * 19.0 + 120 * 21.4, abs=1e-6
    )


# -------------------------------------------------------------------- other kinds


HEAT = {"price_eur_per_mwh": 100.0, "temp_air_degc": 25.0}


@pytest.mark.parametrize(
    ("doc", "carrier"),
    [
        ({"type": "heat_pump", "cop": 3.0, "heat_max_kw": 1.0}, "heat_ht"),
        ({"type": "electric_boiler", "heat_max_kw": 1.0}, "heat_ht"),
        ({"type": "gas_boiler", "heat_max_kw": 1.0}, "heat_ht"),
        ({"type": "chiller", "cooling_max_kw": 1.0}, "cooling"),
    ],
)
def test_a_sole_converter_is_sized_to_the_load_it_serves(doc, carrier):
    """The only source of a 200 kW load: its rating is the load, at its default cost."""
    key = next(k for k in doc if k.endswith("_max_kw"))
    converter = {**doc, "name": "conv", "extendable": {key: {"max": 5000.0}}}
    plant, report, reading = sized(
        [grid(), load(200.0, carrier), converter], context(index(4), HEAT)
    )
    assert chosen(reading) == {f"conv.{key}": pytest.approx(200.0, abs=1e-6)}
    asset = plant.assets["conv"]
    per_kw_a = asset.capacity_defaults(key).capex_eur_per_unit * capital_recovery_factor(
        0.07, asset.capacity_defaults(key).lifetime_a
    )
    assert sizing_kpis(reading)["cost_capex_eur_per_a"] == pytest.approx(200.0 * per_kw_a)


def test_grid_connection_is_sized_to_the_peak_import():
    """300 kW of load and nothing else: the import limit is the peak, 300 kW."""
    doc = grid(extendable={"import_max_kw": {"max": 10_000.0}})
    _, _, reading = sized([doc, load(300.0)], context(index(4), {"price_eur_per_mwh": 100.0}))
    assert chosen(reading) == {"grid.import_max_kw": pytest.approx(300.0, abs=1e-6)}


def test_thermal_store_is_sized_to_shift_the_boiler_out_of_the_dear_hours():
    """A lossless water tank between an electric boiler and 100 kW of heat: the boiler
    runs in the cheap hours and the tank covers the 4 dear ones, 400 kWh."""
    tank = {
        "type": "thermal_storage",
        "name": "tank",
        "carrier": "heat_lt",
        "capacity_kwh": 1.0,
        "charge_max_kw": 1000.0,
        "efficiency_charge": 1.0,
        "efficiency_discharge": 1.0,
        "loss_frac_per_h": 0.0,
        "soc_initial_frac": 0.0,
        "soc_terminal_min_frac": 0.0,
        "extendable": {"capacity_kwh": {"max": 5000.0}},
    }
    boiler = {
        "type": "electric_boiler",
        "name": "eboiler",
        "carrier": "heat_lt",
        "heat_max_kw": 1000.0,
    }
    docs = [grid(), load(100.0, "heat_lt"), boiler, tank]
    _, _, reading = sized(docs, spread_day())
    assert chosen(reading) == {"tank.capacity_kwh": pytest.approx(400.0, abs=1e-6)}


def test_wind_turbines_are_a_whole_number():
    """A 2 MW turbine in a steady 12.5 m/s at its 10 m hub (above the 12 m/s rated speed
    at standard density, about 1.22 kg/m3 here): each delivers 2000 kW * 0.97 * 0.95 =
    1843 kW, worth 0.1 EUR/kWh exported: 1.6 MEUR/a against 1383 EUR/kW * 2000 kW / 30 a
    = 92,200 EUR/a per turbine: the 3 whole turbines the bound of 3.4 allows."""
    turbine = {
        "type": "wind",
        "name": "wind",
        "n_turbines": 1,
        "hub_height_m": 10.0,
        "power_curve_wind_speed_m_per_s": [3.0, 12.0, 25.0],
        "power_curve_power_kw": [0.0, 2000.0, 2000.0],
        "extendable": {"n_turbines": {"max": 3.4, "wacc_frac": 0.0}},
    }
    weather = {"wind_speed_m_per_s": 12.5, "temp_air_degc": 15.0, "pressure_pa": 101_325.0}
    ctx = context(index(4), {"price_eur_per_mwh": 100.0, **weather})
    plant, report, reading = sized([grid(export_max_kw=10_000.0), load(10.0), turbine], ctx)
    assert chosen(reading) == {"wind.n_turbines": 3.0}
    assert plant.assets["wind"].capacity_defaults("n_turbines").capex_eur_per_unit == 1383.0 * 2000
    assert sizing_kpis(reading)["cost_capex_eur_per_a"] == pytest.approx(3 * 1383.0 * 2000 / 30)


def test_every_sizable_capacity_is_a_parameter_with_sourced_defaults():
    scenario = load_scenario(SCENARIOS / "example.yaml")
    found = []
    for kind, cls in ASSET_TYPES.items():
        for key in cls.capacities:
            assert key in cls.Params.model_fields, f"{kind}.{key}"
            found.append(f"{kind}.{key}")
    expected = {
        "battery.capacity_kwh",
        "battery.charge_max_kw",
        "battery.discharge_max_kw",
        "thermal_storage.capacity_kwh",
        "thermal_storage.charge_max_kw",
        "thermal_storage.discharge_max_kw",
        "pv.peak_power_kwp",
        "wind.n_turbines",
        "heat_pump.heat_max_kw",
        "electric_boiler.heat_max_kw",
        "gas_boiler.heat_max_kw",
        "chiller.cooling_max_kw",
        "grid.import_max_kw",
    }
    assert set(found) == expected
    for params in scenario.plant.assets:  # the example's assets give their defaults
        asset = create_asset(params)
        for key in type(asset).capacities:
            defaults = asset.capacity_defaults(key)
            assert defaults.capex_eur_per_unit >= 0
            assert defaults.lifetime_a > 0
            assert defaults.source


def test_defaults_follow_the_technology_the_parameters_describe():
    heat_pump = {"type": "heat_pump", "name": "hp", "heat_max_kw": 1.0}
    lt, ht = assets_from(
        [{**heat_pump, "sink_temp_degc": 90.0}, {**heat_pump, "sink_temp_degc": 140.0}]
    )
    assert lt.capacity_defaults("heat_max_kw").capex_eur_per_unit == 986.0
    assert ht.capacity_defaults("heat_max_kw").capex_eur_per_unit == 1183.0
    store = {"type": "thermal_storage", "name": "ts", "capacity_kwh": 1.0, "charge_max_kw": 1.0}
    sand, tank = assets_from([store, {**store, "carrier": "cooling"}])
    assert sand.capacity_defaults("capacity_kwh").capex_eur_per_unit == 8.4
    assert tank.capacity_defaults("capacity_kwh").capex_eur_per_unit == 3.8


# --------------------------------------------------------------------- validation


BASE = {
    "name": "n",
    "site": {"name": "s", "latitude": 50.0, "longitude": 3.0, "timezone": "UTC"},
    "period": {"start": "2023-06-05", "days": 1, "step": "1h"},
}


def with_asset(asset: dict) -> dict:
    return {
        **BASE,
        "plant": {"assets": [{"type": "grid", "name": "g", "import_max_kw": 1.0}, asset]},
    }


BESS = {"type": "battery", "name": "bess", "capacity_kwh": 1.0, "charge_max_kw": 1.0}


@pytest.mark.parametrize(
    ("extendable", "message"),
    [
        (
            {"capacity_kwh": {"min": 30.0, "max": 20.0}},
            "plant.assets[1].extendable.capacity_kwh (asset 'bess'): min=30 exceeds max=20",
        ),
        (
            {"capacity_kwh": {"max": 20.0, "capex_eur_per_unit": -5.0}},
            "plant.assets[1].extendable.capacity_kwh.capex_eur_per_unit (asset 'bess'): "
            "must be >= 0 (got -5.0)",
        ),
        (
            {"capacity_kw": {"max": 20.0}},
            "plant.assets[1].extendable (asset 'bess'): 'capacity_kw' cannot be sized; battery "
            "assets size capacity_kwh, charge_max_kw, discharge_max_kw",
        ),
        (
            {"capacity_kwh": {"min": 11.0, "max": 14.0, "module_size": 5.0}},
            "plant.assets[1].extendable.capacity_kwh (asset 'bess'): module_size=5 fits no "
            "whole number of modules between min=11 and max=14",
        ),
        (
            {"capacity_kwh": {"min": 1.0}},
            "plant.assets[1].extendable.capacity_kwh.max (asset 'bess'): required key is missing",
        ),
    ],
)
def test_invalid_extendable_names_the_asset_and_the_key(extendable, message):
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(with_asset({**BESS, "extendable": extendable}))
    assert str(caught.value) == f"<scenario>: {message}"


def test_a_kind_that_cannot_be_sized_is_refused_naming_the_asset_and_the_key():
    doc = {
        "type": "fixed_load",
        "name": "base",
        "power_kw": 1.0,
        "extendable": {"power_kw": {"max": 5}},
    }
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(with_asset(doc))
    assert str(caught.value) == (
        "<scenario>: plant.assets[1].extendable (asset 'base'): 'power_kw' cannot be sized: "
        "fixed_load assets have no capacity to size"
    )


# ------------------------------------------------------------ the model stays the same


def example_day(document_change=None, sizing: bool = False):
    scenario = load_scenario(SCENARIOS / "example.yaml")
    if document_change is not None:
        document = copy.deepcopy(scenario.model_dump(mode="json"))
        document_change(document)
        scenario = scenario_from_dict(document)
    idx = period_index(scenario, days=1, step="1h")
    ctx = dataclasses.replace(
        make_context(scenario, idx, load_inputs(scenario, idx)), sizing=sizing
    )
    return build_plant(scenario, ctx)


#: the example plant on one hourly day, as built before capacities could be sized
EXAMPLE_DAY_SIZE = {"n_variables": 438, "n_constraints": 366, "n_binaries": 24}


def _extend_the_battery(document: dict) -> None:
    bess = next(a for a in document["plant"]["assets"] if a["name"] == "bess")
    bess["extendable"] = {"capacity_kwh": {"max": 10_000.0}}


def test_a_scenario_without_extendable_builds_the_model_it_built_before():
    assert example_day().size() == EXAMPLE_DAY_SIZE
    assert example_day(sizing=True).size() == EXAMPLE_DAY_SIZE


def test_extendable_capacities_are_fixed_outside_a_sizing_build():
    """run, simulate and the service operate the given capacity_kwh."""
    plant = example_day(_extend_the_battery)
    assert plant.size() == EXAMPLE_DAY_SIZE
    assert plant.block("bess").component("capacity_kwh") is None
    sized_plant = example_day(_extend_the_battery, sizing=True)
    assert sized_plant.block("bess").capacity_kwh.bounds == (0.0, 10_000.0)
    assert sized_plant.size()["n_variables"] == EXAMPLE_DAY_SIZE["n_variables"] + 1


# ------------------------------------------------------------------ energyopt size


runner = CliRunner()


def spread_scenario(directory, **battery_extra) -> Path:
    """The battery hand case as a scenario file: 20 h at 50, 4 h at 150 EUR/MWh."""
    bess = battery(extendable={"capacity_kwh": STORE, "charge_max_kw": INVERTER}, **battery_extra)
    document = scenario_doc(
        directory, [grid(), load(100.0), bess], price_eur_per_mwh=[50.0] * 20 + [150.0] * 4
    )
    return write_scenario(directory / "spread.yaml", document)


def test_size_prints_and_writes_the_hand_sizes(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["size", str(spread_scenario(tmp_path)), "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "bess.capacity_kwh │ 400.0 │ kWh" in text
    assert "total_cost_eur_per_a │ 53,540.0" in text
    document = json.loads((out / "sizing.json").read_text(encoding="utf-8"))
    assert document["annual"]["capacity.bess.capacity_kwh"] == pytest.approx(400.0, abs=1e-6)
    assert document["annual"]["total_cost_eur_per_a"] == pytest.approx(53_540.0, abs=1e-6)
    assert document["annual"]["objective_eur"] == pytest.approx(53_540.0, abs=1e-6)
    assert document["period"]["total_cost_eur"] == pytest.approx(120.0, abs=1e-6)
    table = pd.read_csv(out / "capacities.csv")
    assert list(table["capacity"]) == ["capacity_kwh", "charge_max_kw"]
    assert table["crf_per_a"].tolist() == pytest.approx([0.1, 0.1])
    assert len(pd.read_csv(out / "dispatch.csv")) == 24


def test_size_without_anything_extendable_exits_2_naming_the_scenario(tmp_path):
    path = write_scenario(tmp_path / "fixed.yaml", scenario_doc(tmp_path, [grid(), load(10.0)]))
    result = runner.invoke(app, ["size", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: scenario 'tiny': no asset has an extendable capacity, so there is nothing to "
        "size (mark one, e.g. extendable: {capacity_kwh: {max: 20000}})"
    ]


def test_run_operates_the_given_capacities_of_a_sizing_scenario(tmp_path):
    """capacity_kwh: 1 and charge_max_kw: 1 as given: the battery shifts 1 kWh a day."""
    result = runner.invoke(
        app, ["run", str(spread_scenario(tmp_path)), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 0, result.output
    kpis = json.loads((tmp_path / "r" / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["total_cost_eur"] == pytest.approx(160.0 - 0.1, abs=1e-9)


def test_the_example_sizing_scenario_chooses_what_the_readme_says():
    """PV to its 5 MWp bound, two 500 kWh battery modules, no heat pump and no heat store
    (at 40 EUR/MWh gas); the annual figures add up to the objective."""
    scenario = load_scenario(SCENARIOS / "example-sizing.yaml")
    exact = scenario.solver.model_copy(update={"mip_rel_gap": 1e-4})
    result = size_scenario(scenario.model_copy(update={"solver": exact}))
    k = result.kpis
    assert k["capacity.roof_pv.peak_power_kwp"] == pytest.approx(5000.0, abs=1e-6)
    assert k["capacity.bess.capacity_kwh"] == pytest.approx(1000.0, abs=1e-6)
    assert k["capacity.hthp.heat_max_kw"] == pytest.approx(0.0, abs=1e-6)
    assert k["capacity.heat_store.capacity_kwh"] == pytest.approx(0.0, abs=1e-6)
    parts = ("cost_capex_eur_per_a", "cost_fixed_om_eur_per_a", "cost_operating_eur_per_a")
    assert sum(k[p] for p in parts) == pytest.approx(k["objective_eur"], rel=1e-9)
    assert k["operating_weight"] == pytest.approx(8760 / 168)
    assert result.capacities["capex_eur_per_a"].sum() == pytest.approx(k["cost_capex_eur_per_a"])
