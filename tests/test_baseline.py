"""Rule-based baseline: loads met, storages idle, PV uncurtailed, heat from the default source."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import EXACT, assets_from, context, grid, index, load
from numpy.testing import assert_allclose

from energyopt.engine.baseline import apply_baseline_rules, merit_order, run_baseline
from energyopt.engine.rolling import simulate
from energyopt.errors import ScenarioError
from energyopt.inputs.config import load_scenario
from energyopt.model import build_model
from energyopt.model.read import dispatch_table
from energyopt.model.solve import solve
from energyopt.outputs.results import balance_residuals
from tests.conftest import SCENARIOS

JUNE_5 = dt.date(2023, 6, 5)


@pytest.fixture(scope="module")
def example():
    return load_scenario(SCENARIOS / "example.yaml")


@pytest.fixture(scope="module")
def three_ways(example):
    return simulate(example, JUNE_5, JUNE_5 + dt.timedelta(days=2), step="1h")


def solved_baseline(docs, ctx):
    plant = build_model(assets_from(docs), ctx)
    apply_baseline_rules(plant)
    report = solve(plant, EXACT)
    return plant, report, dispatch_table(plant)


def solved_optimum(docs, ctx):
    plant = build_model(assets_from(docs), ctx)
    solve(plant, EXACT)
    return dispatch_table(plant)


# ---------------------------------------------------------------- on the example


def test_baseline_costs_at_least_the_optimised_operation_on_actuals(three_ways):
    cost = {mode: run.kpis["total_cost_eur"] for mode, run in three_ways.runs.items()}
    assert cost["baseline"] >= cost["perfect"]
    assert cost["baseline"] >= cost["rolling"]
    assert three_ways.comparison["savings_vs_baseline_pct"] > 0
    expected = (1 - cost["rolling"] / cost["baseline"]) * 100
    assert three_ways.comparison["savings_vs_baseline_pct"] == pytest.approx(expected)
    regret = (cost["rolling"] / cost["perfect"] - 1) * 100
    assert three_ways.comparison["rolling_regret_pct"] == pytest.approx(regret)


def test_baseline_meets_every_load(three_ways, example):
    dispatch = three_ways.runs["baseline"].dispatch
    assert balance_residuals(dispatch).abs().to_numpy().max() < 1e-6
    loads = {a.name: a for a in example.plant.assets if a.type == "fixed_load"}
    for name, params in loads.items():
        assert_allclose(dispatch[f"{name}.demand_kw"], params.power_kw)
        supplied = dispatch.filter(like=f".net_{params.carrier}_kw").clip(lower=0).sum(axis=1)
        assert (supplied >= params.power_kw - 1e-6).all()


def test_baseline_keeps_storages_idle(three_ways, example):
    dispatch = three_ways.runs["baseline"].dispatch
    for name in ("bess", "heat_store"):
        assert dispatch[[f"{name}.charge_kw", f"{name}.discharge_kw"]].abs().max().max() < 1e-9
    store = next(a for a in example.plant.assets if a.name == "heat_store")
    steps = np.arange(1, len(dispatch) + 1)
    expected = store.soc_initial_frac * store.capacity_kwh * (1 - store.loss_frac_per_h) ** steps
    assert_allclose(dispatch["heat_store.level_kwh"], expected, rtol=1e-9)


def test_baseline_takes_process_heat_from_the_heat_pump_first(three_ways):
    dispatch = three_ways.runs["baseline"].dispatch
    # process heat 700 kW < heat pump rating 800 kW: the gas boiler (lag unit) stays off
    assert_allclose(dispatch["hthp.heat_kw"], 700.0, atol=1e-6)
    assert_allclose(dispatch["boiler.heat_kw"], 0.0, atol=1e-6)


def test_baseline_reports_the_cost_paid_not_the_rule_penalties(example):
    from energyopt.engine.pipeline import load_inputs, make_context, period_index

    idx = period_index(example, start=JUNE_5, days=1, step="1h")
    result = run_baseline(example, make_context(example, idx, load_inputs(example, idx)))
    assert result.kpis["objective_eur"] == pytest.approx(result.kpis["total_cost_eur"])
    assert result.kpis["baseline_objective_with_rules_eur"] >= result.kpis["objective_eur"]
    assert result.kpis["baseline_merit_order"] == (
        "heat_ht: hthp > boiler; heat_lt: space_hp; cooling: chiller"
    )


# ---------------------------------------------------------------- rules on tiny plants


TWO_BOILERS = [
    grid(),
    {"type": "electric_boiler", "name": "eboiler", "heat_max_kw": 100, "efficiency": 1.0},
    {"type": "gas_boiler", "name": "gboiler", "heat_max_kw": 500, "efficiency": 1.0},
    {"type": "heat_pump", "name": "hp", "heat_max_kw": 20, "cop": 2.0},
    load(150.0, "heat_ht"),
]


def test_default_merit_order_leads_with_heat_pumps_and_keeps_electric_boilers_last():
    ctx = context(index(4), {"price_eur_per_mwh": 10.0}, tariffs={"gas_price_eur_per_mwh": 40})
    plant, _, dispatch = solved_baseline(TWO_BOILERS, ctx)
    assert merit_order(plant) == {"heat_ht": ["hp", "gboiler", "eboiler"]}
    # cheap electricity would favour the electric boiler; the rule still runs gas after the HP
    assert_allclose(dispatch["hp.heat_kw"], 20.0, atol=1e-6)
    assert_allclose(dispatch["gboiler.heat_kw"], 130.0, atol=1e-6)
    assert_allclose(dispatch["eboiler.heat_kw"], 0.0, atol=1e-6)


def test_explicit_merit_order_puts_named_converters_first_not_by_price():
    """Heat 150 kW: electric boiler named first (100 kW, dear), then gas (cheap)."""
    docs = [d for d in TWO_BOILERS if d.get("name") != "hp"]
    ctx = context(index(4), {"price_eur_per_mwh": 200.0}, tariffs={"gas_price_eur_per_mwh": 40})
    plant = build_model(assets_from(docs), ctx)
    apply_baseline_rules(plant, {"heat_ht": ["eboiler"]})
    solve(plant, EXACT)
    dispatch = dispatch_table(plant)
    assert merit_order(plant, {"heat_ht": ["eboiler"]}) == {"heat_ht": ["eboiler", "gboiler"]}
    assert_allclose(dispatch["eboiler.heat_kw"], 100.0, atol=1e-6)
    assert_allclose(dispatch["gboiler.heat_kw"], 50.0, atol=1e-6)
    total = float(plant.model.total_cost_eur())
    assert total == pytest.approx(4 * (100 * 0.200 + 50 * 0.040))
    optimum = solved_optimum(docs, ctx)
    assert_allclose(optimum["gboiler.heat_kw"], 150.0, atol=1e-6)


def test_explicit_merit_order_must_name_converters_of_the_carrier():
    plant = build_model(assets_from(TWO_BOILERS), context(index(2), {"price_eur_per_mwh": 1.0}))
    with pytest.raises(ScenarioError, match="grid supply no heat_ht"):
        merit_order(plant, {"heat_ht": ["grid"]})


def test_baseline_curtails_pv_only_where_the_grid_cannot_take_it():
    """Negative prices: the optimum curtails; the baseline exports up to the limit."""
    docs = [
        grid(export_max_kw=500.0),
        {"type": "pv", "name": "pv", "peak_power_kwp": 3000},
        load(300.0),
    ]
    idx = index(24, start="2023-06-21T00:00Z")
    weather = {
        "temp_air_degc": 20.0,
        "wind_speed_m_per_s": 2.0,
        "ghi_w_per_m2": np.where((idx.hour >= 8) & (idx.hour < 16), 800.0, 0.0),
        "dni_w_per_m2": np.where((idx.hour >= 8) & (idx.hour < 16), 600.0, 0.0),
        "dhi_w_per_m2": np.where((idx.hour >= 8) & (idx.hour < 16), 150.0, 0.0),
        "price_eur_per_mwh": -50.0,
    }
    ctx = context(idx, weather)
    _, _, dispatch = solved_baseline(docs, ctx)
    available = dispatch["pv.available_kw"]
    assert available.max() > 800.0  # some hours exceed load + export limit
    expected = np.clip(available - 300.0 - 500.0, 0.0, None)
    assert_allclose(dispatch["pv.curtailed_kw"], expected, atol=1e-6)
    optimum = solved_optimum(docs, ctx)
    assert optimum["pv.curtailed_kw"].sum() > dispatch["pv.curtailed_kw"].sum() + 100.0


def test_idle_store_may_decay_below_its_minimum_level():
    docs = [
        grid(),
        {
            "type": "thermal_storage",
            "name": "tank",
            "carrier": "heat_ht",
            "capacity_kwh": 1000,
            "charge_max_kw": 100,
            "soc_min_frac": 0.2,
            "soc_initial_frac": 0.2,
            "loss_frac_per_h": 0.01,
        },
        {"type": "electric_boiler", "name": "eboiler", "heat_max_kw": 100},
        load(50.0, "heat_ht"),
    ]
    ctx = context(index(10), {"price_eur_per_mwh": 100.0})
    _, report, dispatch = solved_baseline(docs, ctx)
    assert report.status == "optimal"
    assert_allclose(dispatch["tank.level_kwh"], 200.0 * 0.99 ** np.arange(1, 11), rtol=1e-9)


def test_comparison_figure_shows_every_mode_and_its_costs(three_ways):
    from energyopt.outputs.plots import comparison_figure

    runs = three_ways.runs
    figure = comparison_figure(
        {m: r.dispatch for m, r in runs.items()}, {m: r.kpis for m, r in runs.items()}
    )
    lines = {t.name for t in figure.data if t.type == "scatter"}
    assert {"rolling", "perfect", "baseline"} <= lines
    assert {"rolling: bess", "baseline: heat_store"} <= lines
    bars = {t.name: list(t.y) for t in figure.data if t.type == "bar"}
    assert bars["energy"] == pytest.approx([r.kpis["cost_energy_eur"] for r in runs.values()])
    stacked = sum(np.array(v) for v in bars.values())
    totals = [r.kpis["total_cost_eur"] for r in runs.values()]
    assert stacked == pytest.approx(totals)


def test_the_baseline_plan_is_handed_to_highs_as_the_first_incumbent():
    """Variables matched by asset, component and index; the start bounds the plan's cost."""
    from energyopt.engine.baseline import solve_baseline
    from energyopt.engine.pipeline import build_plant, load_inputs, make_context, period_index
    from energyopt.model.solve import start_values

    scenario = load_scenario(SCENARIOS / "gigafactory.yaml")
    index = period_index(scenario, dt.date(2023, 6, 6), 2, "15min")
    ctx = make_context(scenario, index, load_inputs(scenario, index))
    base, _ = solve_baseline(scenario, ctx)
    plant = build_plant(scenario, ctx)
    columns = plant.standard_form().columns
    start = start_values(columns, plant, base)
    grid = base.block("grid")
    position = {id(v): j for j, v in enumerate(columns)}
    imports = [start[position[id(plant.block("grid").import_kw[t])]] for t in range(len(index))]
    assert_allclose(imports, [grid.import_kw[t].value for t in range(len(index))])
    bess = [position[id(plant.block("bess").charge_kw[t])] for t in range(len(index))]
    assert not start[bess].any()  # the baseline keeps the battery idle
    options = scenario.solver.model_copy(
        update={"time_limit_s": 3.0, "mip_rel_gap": 0.0, "mip_abs_gap_eur": 0.0}
    )
    report = plant.solve(options, start=base)
    assert report.status in ("time_limit", "optimal")
    assert report.objective_eur <= base.read().total_cost_eur + 1e-6
    # the report says what the start was worth: the baseline's cost; as given it misses
    # the optimisation's terminal store levels (the idle baseline lets them fall), so
    # HiGHS keeps its integer values and completes the rest with an LP
    assert report.start_objective_eur == pytest.approx(base.read().total_cost_eur, rel=1e-9)
    assert report.start_feasible is False
    # the phases of the solve: HiGHS's own time within the wall time
    phases = report.compile_s + report.handoff_s + report.highs_s + report.load_s
    assert 0.0 < report.highs_s < phases <= report.solve_s + 1e-6
