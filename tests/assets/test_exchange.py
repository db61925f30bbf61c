"""Exchange contracts: break-even against own heat, export revenue, take-or-pay with
carried daily volume, materials in kg, temperature levels and bad input."""

from __future__ import annotations

import dataclasses

import pyomo.environ as pyo
import pytest
from helpers import assets_from, context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.errors import InfeasibleError, ModelBuildError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model
from energyopt.outputs.plant_kpis import energy_flows
from energyopt.outputs.results import compute_kpis

GAS = {"gas_price_eur_per_mwh": 40.0}


def boiler(carrier: str = "heat_lt", **extra) -> dict:
    doc = {"type": "gas_boiler", "name": "boiler", "carrier": carrier, "heat_max_kw": 5000.0}
    return {**doc, **extra}


def contract(**extra) -> dict:
    doc = {
        "type": "exchange",
        "name": "neighbour",
        "direction": "import",
        "carrier": "heat_lt",
        "capacity_kw": 2000.0,
        "price_eur_per_mwh": 30.0,
    }
    return {**doc, **extra}


def costs(solved, name: str = "neighbour") -> dict[str, float]:
    return {k: pyo.value(v) for k, v in solved.plant.terms[name].costs_eur.items()}


# ---------------------------------------------------------------------------- import


@pytest.mark.parametrize(
    ("price", "co2_price", "expected_kw"),
    [
        (30.0, 0.0, 1000.0),
        (42.9, 0.0, 1000.0),  # own heat: 40 / 0.93 = 43.01 EUR/MWh
        (43.1, 0.0, 0.0),
        (60.0, 0.0, 0.0),
        (64.5, 100.0, 1000.0),  # with CO2 at 100 EUR/t: (40 + 0.202 * 100) / 0.93 = 64.73
        (65.0, 100.0, 0.0),
    ],
)
def test_imported_heat_is_used_only_when_cheaper_than_own_heat(price, co2_price, expected_kw):
    ctx = context(index(3), tariffs={**GAS, "co2_price_eur_per_t": co2_price})
    solved = solve_assets(
        [load(1000.0, "heat_lt"), boiler(), contract(price_eur_per_mwh=price)], ctx
    )
    d = solved.dispatch
    assert_allclose(d["neighbour.received_kw"], expected_kw, atol=1e-6)
    assert_allclose(d["boiler.heat_kw"], 1000.0 - expected_kw, atol=1e-6)
    assert costs(solved)["exchange"] == pytest.approx(expected_kw * 3 * price / 1000)


def test_import_co2_and_availability_series():
    """The partner offers 0, 500, 1500 kW (capacity 1000): imports 0, 500, 1000 kW."""
    ctx = context(index(3), {"offer_kw": [0.0, 500.0, 1500.0]}, tariffs=GAS)
    doc = contract(capacity_kw=1000.0, availability_series="offer_kw", co2_kg_per_kwh=0.05)
    solved = solve_assets([load(1200.0, "heat_lt"), boiler(), doc], ctx)
    d = solved.dispatch
    assert_allclose(d["neighbour.received_kw"], [0.0, 500.0, 1000.0], atol=1e-6)
    assert_allclose(d["neighbour.available_kw"], [0.0, 500.0, 1000.0])
    assert pyo.value(solved.plant.terms["neighbour"].co2_kg) == pytest.approx(1500 * 0.05)


def test_bought_heat_is_final_energy_at_the_plant_boundary():
    ctx = context(index(2), tariffs=GAS)
    solved = solve_assets([load(1000.0, "heat_lt"), boiler(), contract()], ctx)
    flows = energy_flows(solved.dispatch, solved.plant.assets, 1.0)
    assert flows.final["neighbour"] == pytest.approx(2000.0)
    assert "neighbour" in flows.boundary


# ---------------------------------------------------------------------------- export


def test_export_revenue_adds_up():
    """2,000 kW for 4 h at 50 EUR/MWh = 400 EUR; the boiler burns 8,000 / 0.93 kWh at 40."""
    ctx = context(index(4), tariffs=GAS)
    doc = contract(direction="export", carrier="heat_ht", price_eur_per_mwh=50.0)
    solved = solve_assets([boiler("heat_ht"), doc], ctx)
    d = solved.dispatch
    assert_allclose(d["neighbour.delivered_kw"], 2000.0)
    assert_allclose(d["neighbour.received_kw"], 0.0)
    assert_allclose(d["neighbour.net_heat_ht_kw"], -2000.0)
    assert costs(solved) == {"revenue": pytest.approx(-400.0)}
    fuel = 8000 / 0.93 * 0.040
    assert solved.report.objective_eur == pytest.approx(fuel - 400.0)
    kpis = compute_kpis(solved.plant.read())
    assert kpis["revenue_eur"] == pytest.approx(400.0)
    assert kpis["total_cost_eur"] == pytest.approx(fuel - 400.0)


def test_export_below_own_cost_does_not_run_and_follows_partner_demand():
    ctx = context(index(3), {"dh_demand_kw": [500.0, 3000.0, 0.0]}, tariffs=GAS)
    cheap = contract(direction="export", price_eur_per_mwh=40.0)
    assert_allclose(solve_assets([boiler(), cheap], ctx).dispatch["neighbour.delivered_kw"], 0.0)
    follow = contract(
        direction="export", price_eur_per_mwh=60.0, availability_series="dh_demand_kw"
    )
    d = solve_assets([boiler(), follow], ctx).dispatch
    assert_allclose(d["neighbour.delivered_kw"], [500.0, 2000.0, 0.0], atol=1e-6)


def test_exported_heat_counts_as_export_in_the_plant_kpis():
    ctx = context(index(2), {"price_eur_per_mwh": 50.0})
    hp = {"type": "heat_pump", "name": "hp", "carrier": "heat_lt", "heat_max_kw": 3000, "cop": 4}
    doc = contract(direction="export", price_eur_per_mwh=30.0)
    solved = solve_assets([grid(), hp, doc], ctx)
    kpis = compute_kpis(solved.plant.read())
    assert kpis["final_energy_export_kwh"] == pytest.approx(2 * 2000 / 4)


# ---------------------------------------------------------------------------- take-or-pay


def test_take_or_pay_takes_the_paid_minimum_and_no_more():
    """Import at 60 EUR/MWh (own heat 43): 5 MWh a day are paid anyway, so just they are taken."""
    ctx = context(index(24), tariffs=GAS)
    doc = contract(price_eur_per_mwh=60.0, daily_min_kwh=5000.0)
    solved = solve_assets([load(1000.0, "heat_lt"), boiler(), doc], ctx)
    d = solved.dispatch
    assert d["neighbour.received_kw"].sum() == pytest.approx(5000.0)
    assert d["neighbour.shortfall_kwh"].sum() == pytest.approx(0.0, abs=1e-6)
    assert costs(solved)["exchange"] == pytest.approx(300.0)


def test_take_or_pay_shortfall_is_paid():
    """Only 100 kW offered: 2,400 kWh taken, 2,600 kWh short, all paid at 60 EUR/MWh."""
    ctx = context(index(24), tariffs=GAS)
    doc = contract(price_eur_per_mwh=60.0, daily_min_kwh=5000.0, capacity_kw=100.0)
    solved = solve_assets([load(1000.0, "heat_lt"), boiler(), doc], ctx)
    d = solved.dispatch
    assert d["neighbour.received_kw"].sum() == pytest.approx(2400.0)
    assert d["neighbour.shortfall_kwh"].iloc[-1] == pytest.approx(2600.0)
    assert costs(solved)["exchange"] == pytest.approx(300.0)
    penalty = contract(
        price_eur_per_mwh=60.0,
        daily_min_kwh=5000.0,
        capacity_kw=100.0,
        shortfall_price_eur_per_mwh=20.0,
    )
    solved = solve_assets([load(1000.0, "heat_lt"), boiler(), penalty], ctx)
    assert costs(solved)["exchange"] == pytest.approx(2400 * 0.060 + 2600 * 0.020)


def test_take_mode_is_a_hard_minimum():
    ctx = context(index(24), tariffs=GAS)
    hard = contract(price_eur_per_mwh=60.0, daily_min_kwh=5000.0, daily_min_mode="take")
    d = solve_assets([load(1000.0, "heat_lt"), boiler(), hard], ctx).dispatch
    assert d["neighbour.received_kw"].sum() == pytest.approx(5000.0)
    short = contract(
        price_eur_per_mwh=60.0, daily_min_kwh=5000.0, daily_min_mode="take", capacity_kw=100.0
    )
    with pytest.raises(InfeasibleError):
        solve_assets([load(1000.0, "heat_lt"), boiler(), short], ctx)


def test_soft_mode_names_a_take_minimum_it_cannot_meet():
    """Only 100 kW offered against a 5 MWh take minimum: 2,600 kWh missed, named and
    priced at the contract's 60 EUR/MWh as a violation instead of leaving no plan."""
    ctx = dataclasses.replace(context(index(24), tariffs=GAS), soft_limits=True)
    short = contract(
        price_eur_per_mwh=60.0, daily_min_kwh=5000.0, daily_min_mode="take", capacity_kw=100.0
    )
    solved = solve_assets([load(1000.0, "heat_lt"), boiler(), short], ctx)
    reading = solved.plant.read()
    (missed,) = reading.violations
    assert (missed.asset, missed.requirement, missed.unit) == (
        "neighbour",
        "daily minimum not taken",
        "kWh",
    )
    assert missed.amount == pytest.approx(2600.0)
    assert missed.penalty_eur == pytest.approx(2600 * 0.060)
    assert reading.costs_eur["violation"] == pytest.approx(2600 * 0.060)
    assert costs(solved)["exchange"] == pytest.approx(2400 * 0.060)


def test_deliver_or_pay_export_minimum():
    """An export below own cost still delivers the daily minimum, since the shortfall costs more."""
    ctx = context(index(24), tariffs=GAS)
    doc = contract(direction="export", price_eur_per_mwh=30.0, daily_min_kwh=4000.0)
    solved = solve_assets([boiler(), doc], ctx)
    assert solved.dispatch["neighbour.delivered_kw"].sum() == pytest.approx(4000.0)
    assert costs(solved) == {"revenue": pytest.approx(-120.0), "exchange": pytest.approx(0.0)}


def test_volume_taken_today_carries_into_the_next_window():
    """Two 12 h windows of one day: the morning takes 3 MWh cheaply, the afternoon the rest."""
    doc = contract(price_eur_per_mwh=None, price_series="heat_price", daily_min_kwh=5000.0)
    morning = context(index(12), {"heat_price": 20.0}, tariffs=GAS)
    m = solve_assets([load(250.0, "heat_lt"), boiler(), doc], morning)
    assert m.dispatch["neighbour.received_kw"].sum() == pytest.approx(3000.0)
    assert_allclose(m.dispatch["neighbour.shortfall_kwh"], 0.0)  # the day ends after the window
    asset = m.plant.assets["neighbour"]
    state = asset.final_state(m.plant.block("neighbour"), morning, 12)
    assert state == {"day": "2023-06-05", "used_today_kwh": pytest.approx(3000.0)}
    afternoon = context(
        index(12, start="2023-06-05T12:00Z"),
        {"heat_price": 60.0},
        tariffs=GAS,
        state={"neighbour": state},
    )
    a = solve_assets([load(1000.0, "heat_lt"), boiler(), doc], afternoon)
    assert a.dispatch["neighbour.received_kw"].sum() == pytest.approx(2000.0)
    assert costs(a)["exchange"] == pytest.approx(2000 * 0.060)
    after = a.plant.assets["neighbour"].final_state(a.plant.block("neighbour"), afternoon, 12)
    assert after == {"day": "2023-06-06", "used_today_kwh": 0.0}


def test_window_entering_a_day_without_state_owes_the_minimum_pro_rata():
    ctx = context(index(12, start="2023-06-05T12:00Z"), tariffs=GAS)
    doc = contract(price_eur_per_mwh=60.0, daily_min_kwh=5000.0)
    d = solve_assets([load(1000.0, "heat_lt"), boiler(), doc], ctx).dispatch
    assert d["neighbour.received_kw"].sum() == pytest.approx(2500.0)


def test_state_of_another_day_is_reported():
    state = {"day": "2023-06-04", "used_today_kwh": 100.0}
    ctx = context(index(12, start="2023-06-05T12:00Z"), tariffs=GAS, state={"neighbour": state})
    with pytest.raises(ModelBuildError, match="2023-06-04"):
        build_model(assets_from([load(1.0, "heat_lt"), boiler(), contract(daily_min_kwh=1.0)]), ctx)


# ---------------------------------------------------------------------------- materials


def test_recovered_nmp_is_traded_in_kg():
    """Buy at 1.5 EUR/kg (<= 100 kg/h), sell at 2.0 EUR/kg (<= 50 kg/h), use 30 kg/h."""
    ctx = context(index(2))
    buy = {
        "type": "exchange",
        "name": "nmp_in",
        "direction": "import",
        "carrier": "nmp",
        "capacity_kg_per_h": 100.0,
        "price_eur_per_kg": 1.5,
        "co2_kg_per_kg": 0.5,
    }
    sell = {**buy, "name": "nmp_out", "direction": "export", "capacity_kg_per_h": 50.0}
    sell.update(price_eur_per_kg=2.0, co2_kg_per_kg=None)
    use = {"type": "fixed_load", "name": "coating", "carrier": "nmp", "power_kw": 30.0}
    solved = solve_assets([buy, sell, use], ctx)
    d = solved.dispatch
    assert_allclose(d["nmp_in.received_kg_per_h"], 80.0)
    assert_allclose(d["nmp_out.delivered_kg_per_h"], 50.0)
    assert_allclose(d["nmp_in.net_nmp_kg_per_h"], 80.0)
    assert_allclose(d["nmp_in.price_eur_per_kg"], 1.5)
    assert costs(solved, "nmp_in")["exchange"] == pytest.approx(2 * 80 * 1.5)
    assert costs(solved, "nmp_out")["revenue"] == pytest.approx(-2 * 50 * 2.0)
    assert pyo.value(solved.plant.terms["nmp_in"].co2_kg) == pytest.approx(2 * 80 * 0.5)
    assert solved.plant.assets["nmp_in"].boundary_column is None


# ---------------------------------------------------------------------------- validation


def test_block_has_flow_limit_and_daily_minimum():
    ctx = context(index(48, "15min"))
    plant = build_model(assets_from([contract(daily_min_kwh=10.0)]), ctx)
    b = plant.block("neighbour")
    for name in ("flow", "available", "price", "availability_limit", "shortfall", "daily_minimum"):
        assert b.component(name) is not None, name
    assert len(b.DAYS) == 2  # a 12 h window can touch two local days
    asset = plant.assets["neighbour"]
    assert asset.plan_setpoints(b, ["received_kw", "delivered_kw"]) == {"received_kw": "flow"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"direction": "export", "supply_temp_min_degc": 110.0}, "feed it from heat_ht"),
        ({"supply_temp_degc": 30.0}, "below heat_lt"),
        ({"carrier": "cooling", "supply_temp_degc": 8.0}, "applies to heat carriers"),
        ({"supply_temp_min_degc": 70.0}, "does not apply to an import"),
        ({"capacity_kg_per_h": 10.0}, "capacity_kg_per_h does not fit carrier 'heat_lt'"),
        ({"carrier": "nmp"}, "capacity_kw does not fit carrier 'nmp'"),
        ({"price_series": "p"}, "exactly one of price_eur_per_mwh or price_series"),
        ({"direction": "export", "co2_kg_per_kwh": 0.1}, "imports only"),
        ({"daily_min_mode": "take"}, "need daily_min_kwh"),
        ({"capacity_kw": None}, "give capacity_kw or availability_series"),
        ({"direction": "both"}, "direction"),
    ],
)
def test_invalid_contract_names_the_asset(tmp_path, extra, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(scenario_doc(tmp_path, [grid(), contract(**extra)]), "x.yaml")
    assert message in str(info.value)
    assert "'neighbour'" in str(info.value)


def test_heat_export_to_district_heating_from_the_right_carrier_is_accepted(tmp_path):
    doc = contract(direction="export", carrier="heat_ht", supply_temp_min_degc=110.0)
    scenario = scenario_from_dict(scenario_doc(tmp_path, [grid(), doc]), "x.yaml")
    assert scenario.plant.assets[1].supply_temp_min_degc == 110.0
