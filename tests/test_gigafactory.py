"""The default 20 GWh/a plant: solves a representative week at 15 min, and its
energy per kWh of cells lies in the band of current plants (Degen et al. 2023:
20.3-37.5 kWh/kWh; accepted here: 20-40)."""

import pytest

from energyopt import load_scenario, run_scenario
from energyopt.outputs.plant_kpis import PROCESSES
from energyopt.outputs.results import balance_residuals
from tests.conftest import SCENARIOS

CELLS_KWH_PER_DAY = 54_800


@pytest.fixture(scope="module")
def week():
    """One week of the default plant at 15 min (about a minute on 2 cores)."""
    return run_scenario(load_scenario(SCENARIOS / "gigafactory.yaml"), days=7, step="15min")


def test_default_plant_week_solves_to_the_requested_gap(week):
    assert week.report.status == "optimal"
    assert week.report.mip_gap <= 0.005
    assert week.kpis["total_cost_eur"] == pytest.approx(week.report.objective_eur, rel=1e-6)


def test_default_plant_balances_close_at_every_step(week):
    assert balance_residuals(week.dispatch).abs().to_numpy().max() < 1e-6


def test_default_plant_energy_per_kwh_of_cells_lies_in_the_band_of_current_plants(week):
    kpis = week.kpis
    assert kpis["cells_produced_kwh"] == pytest.approx(7 * CELLS_KWH_PER_DAY)
    assert 20.0 <= kpis["energy_kwh_per_kwh_cell"] <= 40.0
    by_use = sum(kpis[f"energy_kwh_per_kwh_cell_{p}"] for p in (*PROCESSES, "export"))
    assert by_use == pytest.approx(kpis["energy_kwh_per_kwh_cell"], rel=1e-6)
    # the two big consumers of a cell plant dominate: drying and dry rooms
    assert kpis["energy_kwh_per_kwh_cell_ovens"] > kpis["energy_kwh_per_kwh_cell_formation"]
    assert kpis["energy_kwh_per_kwh_cell_dry_room"] > kpis["energy_kwh_per_kwh_cell_aging"]


def test_default_plant_meets_every_daily_oven_target(week):
    ovens = [a for a in week.scenario.plant.assets if a.type == "drying_oven"]
    for oven in ovens:
        assert week.kpis[f"{oven.name}.area_m2"] == pytest.approx(7 * oven.area_per_day_m2)
