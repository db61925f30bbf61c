"""Battery: hand-computed arbitrage optimum, level balance, losses, binaries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyomo.environ as pyo
import pytest
from helpers import assets_from, context, grid, index, load, scenario_doc, solve_assets
from numpy.testing import assert_allclose

from energyopt.errors import InfeasibleError, ScenarioError
from energyopt.inputs.config import scenario_from_dict
from energyopt.model import build_model


def battery(**extra) -> dict:
    """A battery document named ``bess``."""
    doc = {"type": "battery", "name": "bess", "capacity_kwh": 60.0, "charge_max_kw": 40.0}
    return {**doc, **extra}


#: 0.9 per conversion, empty at start and allowed to end empty, a generous discharge limit
ARBITRAGE = battery(
    discharge_max_kw=100.0,
    efficiency_charge=0.9,
    efficiency_discharge=0.9,
    soc_initial_frac=0.0,
    soc_terminal_min_frac=0.0,
)


def test_block_has_the_storage_components():
    ctx = context(index(4), {"price_eur_per_mwh": 100.0})
    plant = build_model(assets_from([grid(), battery()]), ctx)
    b = plant.block("bess")
    for name in ("charge_kw", "discharge_kw", "level_kwh", "level_balance", "level_terminal"):
        assert isinstance(b.component(name), pyo.Component), name
    assert b.level_initial_kwh.mutable
    assert len(b.level_kwh) == 4
    assert set(plant.terms["bess"].injections) == {"electricity"}
    assert "degradation" in plant.terms["bess"].costs_eur


def test_arbitrage_optimum_equals_the_hand_value():
    """Prices 40, 50, 200 EUR/MWh, 100 kW load, battery 60 kWh / 40 kW, 0.9 each way.

    Hour 1: charge at the 40 kW power limit -> level 36 kWh.
    Hour 2: charge the rest to the 60 kWh capacity: (60 - 36) / 0.9 = 26.667 kW
            (worth it: 0.05 EUR buys 0.81 kWh delivered later, worth 0.162 EUR).
    Hour 3: discharge everything: 60 * 0.9 = 54 kW.
    Cost = 0.04 * 140 + 0.05 * 126.667 + 0.2 * 46 = 21.1333 EUR (29 EUR without battery).
    """
    ctx = context(index(3), {"price_eur_per_mwh": [40.0, 50.0, 200.0]})
    solved = solve_assets([grid(), load(100.0), ARBITRAGE], ctx)
    d = solved.dispatch
    assert_allclose(d["bess.charge_kw"], [40.0, 80.0 / 3.0, 0.0], atol=1e-6)
    assert_allclose(d["bess.discharge_kw"], [0.0, 0.0, 54.0], atol=1e-6)
    assert_allclose(d["bess.level_kwh"], [36.0, 60.0, 0.0], atol=1e-6)
    assert_allclose(d["grid.import_kw"], [140.0, 100.0 + 80.0 / 3.0, 46.0], atol=1e-6)
    expected = 0.04 * 140 + 0.05 * (100 + 80 / 3) + 0.2 * 46
    assert solved.report.objective_eur == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(21.13333, abs=1e-5)


def test_arbitrage_at_15_minutes_gives_the_same_optimum():
    """Same prices held per hour on a 15-min grid: limits scale with dt, so the cost is equal."""
    prices = np.repeat([40.0, 50.0, 200.0], 4)
    ctx = context(index(12, "15min"), {"price_eur_per_mwh": prices})
    solved = solve_assets([grid(), load(100.0), ARBITRAGE], ctx)
    assert solved.report.objective_eur == pytest.approx(21.133333, abs=1e-5)
    assert solved.dispatch["bess.level_kwh"].iloc[7] == pytest.approx(60.0, abs=1e-6)


def test_no_arbitrage_when_the_spread_does_not_pay_the_losses():
    """200 / 170 > 1 / 0.81 is false (1.18 < 1.23): the battery stays idle."""
    ctx = context(index(2), {"price_eur_per_mwh": [170.0, 200.0]})
    solved = solve_assets([grid(), load(100.0), ARBITRAGE], ctx)
    assert_allclose(solved.dispatch["bess.charge_kw"], 0.0, atol=1e-9)
    assert solved.report.objective_eur == pytest.approx(0.17 * 100 + 0.2 * 100, abs=1e-6)


def test_level_balance_re_derived_from_the_dispatch():
    prices = [30, 80, 20, 150, 60, 10, 200, 90]
    doc = battery(loss_frac_per_h=0.01, soc_initial_frac=0.5, efficiency_charge=0.95)
    ctx = context(index(8, "15min"), {"price_eur_per_mwh": prices})
    d = solve_assets([grid(), load(50.0), doc], ctx).dispatch
    dt_h, keep = 0.25, 0.99**0.25
    before = np.concatenate([[30.0], d["bess.level_kwh"].to_numpy()[:-1]])
    rebuilt = keep * before + dt_h * (0.95 * d["bess.charge_kw"] - d["bess.discharge_kw"] / 0.96)
    assert_allclose(d["bess.level_kwh"], rebuilt, atol=1e-6)
    assert (d["bess.level_kwh"] >= -1e-9).all()
    assert (d["bess.level_kwh"] <= 60 + 1e-9).all()
    assert (d["bess.charge_kw"] <= 40 + 1e-9).all()
    assert d["bess.level_kwh"].iloc[-1] >= 30.0 - 1e-6  # terminal level defaults to initial
    assert_allclose(d["bess.soc_frac"], d["bess.level_kwh"] / 60.0)


def test_standing_loss_is_independent_of_the_step():
    """An idle battery loses (1 - loss)^hours of its level whatever the step."""
    doc = battery(loss_frac_per_h=0.02, soc_initial_frac=1.0, soc_terminal_min_frac=0.0)
    levels = {}
    for step, n in (("15min", 8), ("1h", 2)):
        ctx = context(index(n, step), {"price_eur_per_mwh": 100.0})
        d = solve_assets([grid(), doc], ctx).dispatch  # no load: nothing to discharge into
        levels[step] = d["bess.level_kwh"].iloc[-1]
    assert levels["15min"] == pytest.approx(60.0 * 0.98**2, abs=1e-6)
    assert levels["1h"] == pytest.approx(60.0 * 0.98**2, abs=1e-6)


def test_degradation_cost_is_charged_per_discharged_kwh():
    doc = {**ARBITRAGE, "degradation_cost_eur_per_kwh": 0.01}
    ctx = context(index(3), {"price_eur_per_mwh": [40.0, 50.0, 200.0]})
    solved = solve_assets([grid(), load(100.0), doc], ctx)
    cost = pyo.value(solved.plant.terms["bess"].costs_eur["degradation"])
    discharged_kwh = solved.dispatch["bess.discharge_kw"].sum() * 1.0
    assert cost == pytest.approx(0.01 * discharged_kwh, abs=1e-9)
    assert discharged_kwh == pytest.approx(54.0, abs=1e-6)


def test_negative_prices_without_binary_charge_and_discharge_at_once():
    """Burning energy through losses pays at negative prices: the LP does it."""
    doc = battery(efficiency_charge=0.9, efficiency_discharge=0.9, soc_initial_frac=1.0)
    ctx = context(index(4), {"price_eur_per_mwh": -100.0})
    d = solve_assets([grid(), doc], ctx).dispatch
    assert (np.minimum(d["bess.charge_kw"], d["bess.discharge_kw"]) > 1.0).any()


def test_no_simultaneous_binary_forbids_charge_and_discharge_at_once():
    doc = battery(
        efficiency_charge=0.9, efficiency_discharge=0.9, soc_initial_frac=1.0, no_simultaneous=True
    )
    ctx = context(index(4), {"price_eur_per_mwh": -100.0})
    solved = solve_assets([grid(), doc], ctx)
    d = solved.dispatch
    assert_allclose(np.minimum(d["bess.charge_kw"], d["bess.discharge_kw"]), 0.0, atol=1e-6)
    assert solved.report.n_binaries == 4


def test_final_state_is_the_level_after_the_committed_steps():
    ctx = context(index(3), {"price_eur_per_mwh": [40.0, 50.0, 200.0]})
    solved = solve_assets([grid(), load(100.0), ARBITRAGE], ctx)
    asset = solved.plant.assets["bess"]
    assert asset.final_state(solved.plant.block("bess"), ctx, 1) == pytest.approx(
        {"level_kwh": 36.0}
    )


def test_soft_mode_plans_a_battery_measured_below_its_minimum():
    """100 kWh, 10 kW, lossless, minimum 20 kWh, measured at 5 kWh: hard mode has no plan.
    Soft: the first hour charges flat out and ends 5 kWh below the minimum (5 kWh h at
    10 EUR), the second charges the 5 kWh still missing; 15 kWh at 0.1 EUR/kWh."""
    store = battery(
        capacity_kwh=100.0,
        charge_max_kw=10.0,
        efficiency_charge=1.0,
        efficiency_discharge=1.0,
        soc_min_frac=0.2,
        soc_initial_frac=0.2,
        soc_terminal_min_frac=0.2,
    )
    ctx = context(index(4), {"price_eur_per_mwh": 100.0}, state={"bess": {"level_kwh": 5.0}})
    with pytest.raises(InfeasibleError):
        solve_assets([grid(), store], ctx)
    solved = solve_assets([grid(), store], dataclasses.replace(ctx, soft_limits=True))
    assert_allclose(solved.dispatch["bess.level_kwh"], [15.0, 20.0, 20.0, 20.0], atol=1e-6)
    (violation,) = solved.plant.read().violations
    assert (violation.requirement, violation.unit) == ("level outside its limits", "kWh h")
    assert violation.amount == pytest.approx(5.0)
    assert violation.penalty_eur == pytest.approx(50.0)
    assert solved.report.objective_eur == pytest.approx(1.5 + 50.0)


def test_soft_mode_keeps_reachable_limits_as_bounds():
    """A store that can hold its limits from where it starts adds no shortfall rows in
    soft mode, and its model differs from the hard one only by the open balances."""
    ctx = context(index(4), {"price_eur_per_mwh": 100.0}, state={"bess": {"level_kwh": 30.0}})
    soft = build_model(assets_from([grid(), battery()]), dataclasses.replace(ctx, soft_limits=True))
    block = soft.block("bess")
    assert block.component("level_kwh_low") is None
    assert block.level_kwh[0].lb == 0.0  # soc_min_frac 0
    assert [r.asset for r in soft.requirements] == ["plant", "plant"]  # electricity only


def test_initial_level_comes_from_the_carried_state():
    """A carried level of 60 kWh (full) replaces soc_initial_frac = 0."""
    ctx = context(
        index(2), {"price_eur_per_mwh": [100.0, 100.0]}, state={"bess": {"level_kwh": 60.0}}
    )
    d = solve_assets([grid(), load(100.0), ARBITRAGE], ctx).dispatch
    assert d["bess.discharge_kw"].sum() == pytest.approx(54.0, abs=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"capacity_kwh": 0}, "plant.assets[1].capacity_kwh (asset 'bess'): must be > 0 (got 0)"),
        ({"soc_initial_frac": 0.05, "soc_min_frac": 0.1}, "soc_initial_frac=0.05 lies outside"),
        ({"loss_frac_per_h": 1.0}, "plant.assets[1].loss_frac_per_h (asset 'bess'): must be < 1"),
        ({"power_kw": 5}, "plant.assets[1].power_kw (asset 'bess'): unknown key"),
    ],
)
def test_invalid_battery_names_the_asset(tmp_path, extra, message):
    doc = scenario_doc(tmp_path, [grid(), battery(**extra)])
    with pytest.raises(ScenarioError, match="asset 'bess'") as info:
        scenario_from_dict(doc, "plant.yaml")
    assert message in str(info.value)
