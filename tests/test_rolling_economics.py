"""Rolling economics: daily plans never cost more than not optimising.

* the month's peak is priced as the bill prices it (a crafted month with a
  negative-price weekend at its start, where the prorated rule raised the
  peak for a few hours of cheap energy);
* a window's end state is valued (a store is not emptied at the end of a
  window that cannot see the dear day after it);
* the gate over short periods of the default plant that contain the July
  2023 weekend of negative prices and a negative-price day in August.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import grid, load, tiny_scenario

from energyopt.engine.rolling import RollingOptions, simulate
from energyopt.engine.rolling.gate import (
    PeriodCheck,
    check_periods,
    gate_failures,
    overall_regret_pct,
)
from energyopt.errors import ScenarioError
from tests.conftest import SCENARIOS

JUNE_1 = dt.date(2023, 6, 1)
JUNE_30 = dt.date(2023, 6, 30)
DEMAND_CHARGE = 10.0  # EUR/kW/month


@pytest.fixture(scope="module")
def negative_weekend(tmp_path_factory):
    """June 2023, 1 MW flat load, a 20 MWh battery; -300 EUR/MWh at noon on the first weekend.

    Absorbing the cheap hours earns about 4.7 EUR per kW of extra peak
    (12 kWh per kW at 0.3 EUR/kWh, plus the energy later discharged), less
    than the 10 EUR/kW the month's bill charges: the optimum keeps the peak.
    """
    hours = np.arange(30 * 24)
    hour, day = hours % 24, hours // 24
    price = np.full(hours.size, 100.0)
    price[np.isin(day, (2, 3)) & (hour >= 10) & (hour < 16)] = -300.0  # Sat 3, Sun 4 June
    battery = {"type": "battery", "name": "bess", "capacity_kwh": 20_000, "charge_max_kw": 2_000}
    return tiny_scenario(
        tmp_path_factory.mktemp("negative_weekend"),
        [grid(10_000), load(1_000.0), battery],
        price_eur_per_mwh=price,
        start=str(JUNE_1),
        days=30,
        tariffs={"demand_charge_eur_per_kw_month": DEMAND_CHARGE},
    )


def _month(scenario, **options):
    sim = simulate(scenario, JUNE_1, JUNE_30, step="1h", rolling=RollingOptions(**options))
    return {mode: run.kpis for mode, run in sim.runs.items()}


def test_rolling_keeps_the_months_peak_and_costs_no_more_than_the_baseline(negative_weekend):
    kpis = _month(negative_weekend)
    rolling, perfect, baseline = kpis["rolling"], kpis["perfect"], kpis["baseline"]
    assert baseline["peak_import_kw"] == pytest.approx(1_000.0)
    assert perfect["peak_import_kw"] == pytest.approx(1_000.0, rel=0.01)
    assert rolling["peak_import_kw"] == pytest.approx(perfect["peak_import_kw"], rel=0.03)
    assert rolling["total_cost_eur"] <= baseline["total_cost_eur"] + 1e-6
    # the bill: the month's highest hour at the full rate
    assert rolling["cost_demand_charge_eur"] == pytest.approx(
        DEMAND_CHARGE * rolling["peak_import_kw"], rel=1e-6
    )


def test_the_prorated_rule_raises_the_peak_for_a_weekend_and_pays_the_month(negative_weekend):
    """The defect the default rule removes: a few cheap hours buy a month of demand charge."""
    kpis = _month(negative_weekend, demand_charge="prorated")
    rolling, baseline = kpis["rolling"], kpis["baseline"]
    assert rolling["peak_import_kw"] > 2_500.0
    assert rolling["total_cost_eur"] > baseline["total_cost_eur"]


def test_rolling_options_name_a_bad_rule():
    with pytest.raises(ScenarioError, match="demand_charge 'monthly'.*full, prorated"):
        RollingOptions(demand_charge="monthly")
    with pytest.raises(ScenarioError, match="peak_floor 'max'.*baseline, window, none"):
        RollingOptions(peak_floor="max")


# ------------------------------------------------------------------- end-of-window state


def _two_one_day_windows(tmp_path, modes: tuple[str, ...], **battery) -> dict:
    """A full 100 kWh / 100 kW battery that may end the period empty, 10 kW load,
    50 EUR/MWh on day 1 and 200 EUR/MWh on day 2, planned in two one-day windows."""
    store = {
        "type": "battery",
        "name": "bess",
        "capacity_kwh": 100.0,
        "charge_max_kw": 100.0,
        "soc_initial_frac": 1.0,
        "soc_terminal_min_frac": 0.0,
        **battery,
    }
    scenario = tiny_scenario(
        tmp_path,
        [grid(1_000), load(10.0), store],
        price_eur_per_mwh=[50.0] * 24 + [200.0] * 24,
        days=2,
    )
    start = dt.date(2023, 6, 5)
    options = RollingOptions(horizon="24h", commit="1D")
    sim = simulate(
        scenario, start, start + dt.timedelta(days=1), modes=modes, step="1h", rolling=options
    )
    return sim.runs


def test_a_store_is_not_emptied_at_the_end_of_a_window_that_cannot_see_the_dear_day(tmp_path):
    """Lossless: emptied in window 1 the battery saves 100 kWh x 0.05 = 5 EUR and
    leaves day 2 to pay 240 kWh x 0.2 = 48 EUR (55 EUR in all). Held to its start
    level at the end of window 1, it covers 100 kWh of day 2: 12 + 140 x 0.2 =
    40 EUR, the optimum of the two days seen at once.
    """
    runs = _two_one_day_windows(
        tmp_path, ("rolling", "perfect"), efficiency_charge=1.0, efficiency_discharge=1.0
    )
    rolling, perfect = runs["rolling"], runs["perfect"]
    assert rolling.kpis["n_windows"] == 2
    assert perfect.kpis["total_cost_eur"] == pytest.approx(40.0, abs=1e-6)
    assert rolling.kpis["total_cost_eur"] == pytest.approx(40.0, abs=1e-6)
    level = rolling.dispatch["bess.level_kwh"].to_numpy()
    assert level[23] == pytest.approx(100.0)  # handed to window 2 as it was received
    assert level[-1] == pytest.approx(0.0, abs=1e-6)  # the period's own terminal: may end empty


def test_a_lossy_store_need_only_keep_what_idling_would_keep(tmp_path):
    """With 1 %/h standing loss, window 1 ends at no less than 100 x 0.99^24 kWh."""
    runs = _two_one_day_windows(tmp_path, ("rolling",), loss_frac_per_h=0.01)
    level = runs["rolling"].dispatch["bess.level_kwh"].to_numpy()
    # keeping more costs day-1 energy at 0.05 / 0.96 for what saves 0.2 x 0.96 tomorrow,
    # but the window cannot see tomorrow: it keeps exactly the idle level
    assert level[23] == pytest.approx(100.0 * 0.99**24, rel=1e-6)


# ---------------------------------------------------------------------- the gate


def test_gate_on_short_periods_of_the_default_plant():
    """The July 2023 weekend of negative prices (to -500 EUR/MWh) and 8 August 2023."""
    from energyopt.inputs.config import load_scenario

    scenario = load_scenario(SCENARIOS / "gigafactory.yaml")
    periods = [
        (dt.date(2023, 7, 1), dt.date(2023, 7, 3)),
        (dt.date(2023, 8, 7), dt.date(2023, 8, 8)),
    ]
    checks = check_periods(scenario, periods)
    assert gate_failures(checks) == []
    for check in checks:
        assert check.savings_eur >= -1.0, check.label
        assert check.regret_pct <= 2.0, check.label
    assert overall_regret_pct(checks) <= 2.0


def _check(rolling: dict[str, float], baseline: dict[str, float], perfect_total: float):
    components = {"rolling": rolling, "baseline": baseline, "perfect": dict(baseline)}
    totals = {
        mode: sum(-v if k == "revenue_eur" else v for k, v in c.items())
        for mode, c in components.items()
    }
    totals["perfect"] = perfect_total
    return PeriodCheck(
        start=dt.date(2023, 7, 1),
        end=dt.date(2023, 7, 31),
        total_eur=totals,
        components_eur=components,
        peak_kw={"rolling": 65_684.0, "baseline": 28_676.0, "perfect": 28_856.0},
    )


def test_gate_failure_names_the_month_and_the_cost_component():
    base = {"cost_energy_eur": 1_000.0, "cost_demand_charge_eur": 300.0, "revenue_eur": 100.0}
    worse = {"cost_energy_eur": 900.0, "cost_demand_charge_eur": 650.0, "revenue_eur": 100.0}
    check = _check(worse, base, perfect_total=1_100.0)
    assert check.label == "2023-07"
    assert check.driver() == ("cost_demand_charge_eur", pytest.approx(350.0))
    failures = gate_failures([check])
    assert len(failures) == 2
    assert failures[0].startswith("2023-07: rolling costs 250 EUR more than the baseline")
    assert "cost_demand_charge_eur (+350 EUR" in failures[0]
    assert failures[1].startswith("overall regret 31.82 % > 2 %; most in 2023-07")


def test_gate_passes_a_month_that_saves():
    base = {"cost_energy_eur": 1_000.0, "cost_demand_charge_eur": 300.0, "revenue_eur": 100.0}
    better = {"cost_energy_eur": 950.0, "cost_demand_charge_eur": 300.0, "revenue_eur": 120.0}
    check = _check(better, base, perfect_total=1_120.0)
    assert check.savings_eur == pytest.approx(70.0)
    assert gate_failures([check]) == []


# ------------------------------------------------------------------ command line, service


def _simulate_cli(tmp_path, *extra: str):
    from typer.testing import CliRunner

    from energyopt.cli import app

    arguments = [
        "simulate",
        str(SCENARIOS / "example.yaml"),
        "--start",
        "2023-06-05",
        "--end",
        "2023-06-05",
        "--step",
        "1h",
        "--out",
        str(tmp_path),
        *extra,
    ]
    return CliRunner().invoke(app, arguments)


def test_simulate_takes_the_demand_charge_rule_and_reports_it(tmp_path):
    import json

    result = _simulate_cli(tmp_path, "--demand-charge", "prorated", "--peak-floor", "none")
    assert result.exit_code == 0, result.output
    kpis = json.loads((tmp_path / "kpis.json").read_text())
    assert kpis["rolling"]["demand_charge_in_windows"] == "prorated"
    assert kpis["rolling"]["peak_floor"] == "none"
    assert kpis["rolling"]["step"] == "1h"


def test_the_comparison_table_shows_energy_and_total_cost_per_kwh_cell():
    from types import SimpleNamespace

    from rich.console import Console

    from energyopt.cli import comparison_table

    kpis = {"energy_cost_eur_per_kwh_cell": 0.031, "total_cost_eur_per_kwh_cell": 0.0225}
    table = comparison_table({"rolling": SimpleNamespace(kpis=kpis)}, {})
    console = Console(width=120, record=True)
    console.print(table)
    rows = [" ".join(line.strip("│ ").split()) for line in console.export_text().splitlines()]
    assert "energy_cost_eur_per_kwh_cell │ 0.0310" in rows
    assert "total_cost_eur_per_kwh_cell │ 0.0225" in rows


def test_simulate_names_a_bad_demand_charge_rule_in_one_line(tmp_path):
    result = _simulate_cli(tmp_path, "--demand-charge", "monthly")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        "error: rolling options: demand_charge 'monthly': use one of full, prorated"
    ]
    assert not (tmp_path / "kpis.json").exists()


def test_planning_options_take_the_rule_and_name_a_bad_one():
    from energyopt.service.planning import PlanningOptions

    assert PlanningOptions.parse({}).demand_charge == "full"
    assert PlanningOptions.parse({}).peak_floor == "window"
    assert PlanningOptions.parse({"demand_charge": "prorated"}).demand_charge == "prorated"
    with pytest.raises(ScenarioError, match=r"^options\.demand_charge: "):
        PlanningOptions.parse({"demand_charge": "monthly"})
    with pytest.raises(ScenarioError, match=r"^options\.peak_floor: "):
        PlanningOptions.parse({"peak_floor": "baseline"})


def test_a_service_plan_solves_the_baseline_once_and_compares_as_billed(monkeypatch):
    """With ``peak_floor: window`` the expected peak's baseline is also the comparison's."""
    import pandas as pd

    import energyopt.service.planning as planning
    from energyopt.engine.pipeline import load_inputs
    from energyopt.engine.rolling import engine as engine_module
    from energyopt.inputs.config import load_scenario
    from energyopt.inputs.timeseries import make_index
    from energyopt.service.planning import window as planning_window

    scenario = load_scenario(SCENARIOS / "example.yaml")
    index = make_index(dt.date(2023, 6, 6), 2, "1h", scenario.site.timezone)
    frame = load_inputs(scenario, index)
    issued_at = index[0] - pd.Timedelta("13h")
    calls = []
    for module in (engine_module, planning_window):
        real = module.solve_baseline

        def counted(*args, _real=real, **kwargs):
            calls.append(1)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, "solve_baseline", counted)
    baselines = {}
    for floor in ("window", "none"):
        calls.clear()
        options = planning.PlanningOptions.parse({"forecast": "perfect", "peak_floor": floor})
        plan = planning.plan_window(scenario, options, frame, index, issued_at, {})
        assert len(calls) == 1, floor
        baselines[floor] = plan.baseline_kpis
    for key in ("total_cost_eur", "cost_demand_charge_eur", "peak_import_kw"):
        assert baselines["window"][key] == pytest.approx(baselines["none"][key], rel=1e-6)
